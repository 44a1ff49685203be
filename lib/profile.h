/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The profile model.
 *
 * A profile is loaded in two layers:
 *  1. a generic tree (struct pnode) of the merged YAML, where every node
 *     remembers its origin (file:line:col) and an optional `reason:`;
 *  2. the typed model (struct slw_profile) that stages read.
 * Stages that need to name the profile line of a value (for an error or for
 * build.json) ask profile_origin() with the value's dotted path. */

struct slw_origin {
        const char *file;       /* path as given/resolved, or "command line", or "default" */
        unsigned line, col;     /* 1-based; 0 when not from a file */
};

enum pnode_kind { PNODE_SCALAR, PNODE_SEQ, PNODE_MAP };

struct pnode {
        enum pnode_kind kind;
        char *key;                  /* key in parent map, or NULL */
        char *value;                /* PNODE_SCALAR */
        struct pnode **items;       /* PNODE_SEQ items / PNODE_MAP entries, in order */
        size_t n_items;
        struct slw_origin origin;   /* where the value was (last) set */
        struct slw_origin key_origin;
        char *reason;               /* `reason:` attached to this value, or NULL */
        bool quoted;                /* PNODE_SCALAR: written quoted or as a block
                                     * scalar, so "true"/"0644" stay strings */
};

/* A plain empty scalar, `~` or `null`: YAML's null. */
bool pnode_is_null(const struct pnode *n);
/* Child of a map by key, or NULL. */
struct pnode *pnode_get(const struct pnode *map, const char *key);
/* Node by dotted path ("disk.partitions[1].size"), or NULL. */
struct pnode *pnode_lookup(const struct pnode *root, const char *dotted_path);
void pnode_free(struct pnode *n);

enum slw_backend { BACKEND_APT, BACKEND_DNF, BACKEND_IMPORT };
/* PART_ROOT_VERITY and PART_VAR are only made by the immutable layout (no
 * profile `type:` names them). */
enum slw_part_type { PART_BIOS_BOOT, PART_ESP, PART_ROOT, PART_LINUX, PART_SWAP, PART_ROOT_VERITY, PART_VAR };
/* FS_EROFS and FS_SQUASHFS: the immutable root (not a `fs:` value). */
enum slw_fs { FS_NONE, FS_EXT4, FS_VFAT, FS_EROFS, FS_SQUASHFS };
enum slw_ro_compression { ROC_NONE, ROC_LZ4, ROC_LZ4HC, ROC_GZIP, ROC_XZ, ROC_ZSTD };
/* immutable.etc, in the order of the schema's values */
enum slw_etc_mode { ETC_READ_ONLY, ETC_VOLATILE, ETC_OVERLAY };
/* immutable.etc: overlay: the upper and work directories of the /etc
 * overlay, on the /var partition (so they survive reboots and updates) */
#define SLW_ETC_OVERLAY_DIR "/var/lib/slipway/etc-overlay"
enum slw_output { OUT_RAW, OUT_VHD, OUT_VHD_DYNAMIC, OUT_QCOW2, OUT_ISO, OUT_TAR, _OUT_MAX };
enum slw_compression { COMP_NONE, COMP_ZLIB, COMP_ZSTD };

struct slw_repo {           /* extra package repositories (dnf, apt) */
        char *name, *baseurl;
        bool gpgcheck;
        char *gpgkey;
        char *suite;            /* apt: default distribution.release */
        char **components;      /* apt: default distribution.components */
};

struct slw_file {
        char *path;             /* absolute path inside the image, validated */
        char *content;          /* or NULL when source is set */
        char *source;           /* host path, resolved relative to the declaring profile */
        uint32_t mode;          /* default 0644 */
        char *owner, *group;    /* default root */
        char *reason;
        char *origin_path;      /* dotted path for profile_origin(), e.g. "files[3]" */
};

/* scripts.post-install[] / scripts.finalize[]: a program next to the
 * profile, run inside the image tree (assembler/configure_scripts.c). */
struct slw_script {
        char *source;           /* host path, resolved relative to the declaring profile */
        bool network;           /* the host's network; default: a network namespace of its own */
        char *reason;
        char *origin_path;      /* "scripts.post-install[0]" */
};

/* extra-trees[].paths[]: the owner and mode of one path of the tree in the image. */
struct slw_tree_path {
        char *path;             /* absolute, inside the image, at or below the tree's target */
        uint32_t mode;          /* permission bits; only when has_mode */
        bool has_mode;
        char *owner, *group;    /* NULL: the tree's */
        char *origin_path;
};

/* extra-trees[]: a host directory copied into the image. */
struct slw_extra_tree {
        char *source;           /* host directory, resolved relative to the declaring profile */
        char *target;           /* absolute directory in the image, default "/" */
        char *owner, *group;    /* default root */
        struct slw_tree_path *paths; size_t n_paths;
        char *reason;
        char *origin_path;      /* "extra-trees[0]" */
};

struct slw_user {
        char *name;
        int64_t uid;            /* -1 = allocate */
        int64_t gid;            /* -1 = same as user's own group */
        bool system;
        char *shell, *home, *comment;
        char *password;         /* NULL/"locked" = locked, or a crypt(3) hash */
        char **ssh_authorized_keys;
        char **groups;          /* supplementary */
        bool autologin;         /* logged in on the serial console and tty1 without a password */
        char *origin_path;
};

struct slw_group {
        char *name;
        int64_t gid;            /* -1 = allocate */
        bool system;
        char *origin_path;
};

struct slw_partition {
        enum slw_part_type type;
        uint64_t size;          /* bytes; 0 with size_auto */
        bool size_auto;         /* root only: content + headroom */
        enum slw_fs fs;
        char *label;            /* GPT partition name */
        char *mountpoint;       /* for extra partitions */
        int slot;               /* immutable layout: 0 = A, 1 = B, -1 otherwise */
        char *origin_path;
};

/* Where a relative include was found: next to the including file, then in
 * each directory of $SLIPWAY_PROFILE_PATH, then in the installed profiles
 * (slipway_datadir()/profiles: the checkout's profiles/ when run from one). */
enum profile_include_place { INCLUDE_ABSOLUTE, INCLUDE_NEXT_TO_FILE, INCLUDE_PROFILE_PATH, INCLUDE_INSTALLED };

struct slw_include {
        char *name;                /* as written in include: */
        struct slw_origin site;    /* the include entry (file:line:col) */
        char *resolved;            /* the file it resolved to */
        enum profile_include_place place;
};

struct slw_profile {
        struct pnode *root;        /* merged generic tree */
        char *path;                /* top-level profile file */
        char **files_loaded;       /* every file of the include chain, in load order */
        struct slw_include *includes;  /* every include entry in load order, with what it resolved to */
        size_t n_includes;

        char *name, *version;      /* image.name, image.version */

        struct {
                enum slw_backend backend;
                char *release;         /* apt suite / dnf releasever */
                char **components;     /* apt */
                char *variant;         /* mmdebstrap variant, default "minbase" */
                char *mirror;          /* NULL = host's sources */
                char *image_mirror;    /* apt: the sources written into the image; NULL = the distribution's archive */
                char *architecture;    /* default "amd64" / "x86_64" */
                char *source;          /* import: directory or tarball */
                struct slw_repo *repos; size_t n_repos;  /* dnf: the repositories; apt: added to the mirror */
        } distribution;

        struct {
                char **install;
                char **exclude_paths;  /* dpkg path-exclude globs */
                char **include_paths;  /* dpkg path-include globs (exceptions) */
                bool recommends;
        } packages;

        struct {
                char **enable, **disable, **mask;
                char *default_target;
        } systemd;

        struct {
                char **cmdline;
                char **initramfs_modules;
        } kernel;

        struct slw_file *files; size_t n_files;
        struct slw_user *users; size_t n_users;
        struct slw_group *groups; size_t n_groups;

        struct slw_script *post_install; size_t n_post_install;
        struct slw_script *finalize; size_t n_finalize;
        struct slw_extra_tree *extra_trees; size_t n_extra_trees;

        char *hostname, *locale, *timezone;

        struct {
                bool docs;
                char **keep_locales;       /* NULL = prune none; empty = all but C */
                char **kernel_modules;     /* allow-list globs; NULL = keep all */
                bool caches;
        } prune;

        bool generalize;

        struct {
                bool bios, uefi, secure_boot;
                /* immutable images: the PEM key and certificate that sign the
                 * UKI and systemd-boot (host paths, resolved against the
                 * profile file that names them), and whether systemd-boot
                 * enrolls the certificate in firmware in setup mode */
                char *secure_boot_key, *secure_boot_certificate;
                bool secure_boot_enroll;
                unsigned timeout;
                bool serial;               /* serial terminal in grub, default true */
        } bootloader;

        struct {
                uint64_t size;             /* 0 = auto (`size: auto` or `size: 0`) */
                uint64_t root_headroom;    /* 0 = the default: max(20 % of the content, 64 MiB) */
                struct slw_partition *partitions; size_t n_partitions;
        } disk;

        bool outputs[_OUT_MAX];
        enum slw_compression qcow2_compression;

        struct {
                uint64_t root_used;        /* 0 = none */
                uint64_t artifact[_OUT_MAX];
        } budget;

        bool verify_azure;             /* run verify --azure on the VHD as a last step */

        struct {
                bool checksums;            /* SHA256SUMS over the images (default true) */
        } report;

        /* immutable: read-only root with dm-verity, A/B slots, /var partition.
         * When enabled, disk.partitions is the fixed layout below (built by
         * the profile loader): ESP, root-A, verity-A, root-B, verity-B, var. */
        struct {
                bool enabled;
                enum slw_fs filesystem;            /* FS_EROFS (default) or FS_SQUASHFS */
                enum slw_ro_compression compression;
                uint64_t slot_size;                /* 0 = auto: the first image + max(25 %, 64 MiB) */
                uint64_t var_size, esp_size;
                char *update_source;               /* systemd-sysupdate's source: a directory or an http(s) URL */
                char *signing_key;                 /* OpenPGP secret key signing SHA256SUMS (SHA256SUMS.gpg), or NULL */
                unsigned tries;                    /* boot counting: tries of a new version before it falls back */
                enum slw_etc_mode etc;             /* read-only: part of the verity root; volatile: / (so /etc)
                                                      is an overlay with a tmpfs on top, changes lost at reboot;
                                                      overlay: /etc is an overlay whose upper layer is
                                                      SLW_ETC_OVERLAY_DIR on /var, changes kept */
        } immutable;
};

/* A profile error, with its location.  Loading collects all of them. */
struct profile_error {
        struct slw_origin origin;
        char *message;
};

struct profile_errors {
        struct profile_error *items;
        size_t n;
        char **strings;         /* owns the origin file names of the items */
        size_t n_strings;
};

/* Adds an error (printf-style message); copies o.file. */
void profile_errors_add(struct profile_errors *errs, struct slw_origin o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

void profile_errors_print(const struct profile_errors *errs, FILE *f);
void profile_errors_free(struct profile_errors *errs);

/* Loads, merges, validates and types a profile.  `sets` are "dotted.key=value"
 * overrides (origin "command line").  On error returns -EINVAL (or another
 * negative errno) and fills errs; on success *ret is the profile. */
int profile_load(const char *path, char *const *sets, struct slw_profile **ret, struct profile_errors *errs);
/* PROFILE_LOAD_STRICT: as if the profile said `strict: true` (validate
 * --strict): every deviation from upstream without a reason is an error. */
enum { PROFILE_LOAD_STRICT = 1 << 0 };
int profile_load_flags(const char *path, char *const *sets, unsigned flags, struct slw_profile **ret,
                       struct profile_errors *errs);
/* "next to the including file", "SLIPWAY_PROFILE_PATH", ... */
const char *profile_include_place_name(enum profile_include_place place);
void profile_free(struct slw_profile *p);

/* What a build with these outputs needs of the profile beyond its values
 * (a disk's root, bios-boot and esp partitions; a disk for the root-used
 * budget).  profile_load() checks the profile's own outputs; a build with
 * --output checks its own before it writes anything, and stage_resolve
 * before it plans.  0, or -EINVAL with errs filled. */
int profile_check_outputs(const struct slw_profile *p, const bool outputs[_OUT_MAX], struct profile_errors *errs);

/* Origin of a value by dotted path ("kernel.cmdline", "files[2].path"), or
 * a static "default" origin when the value came from a default. */
struct slw_origin profile_origin(const struct slw_profile *p, const char *dotted_path);
/* Formats an origin as "file:line:col" into buf. */
const char *origin_format(struct slw_origin o, char *buf, size_t n);

/* Prints the merged profile with origins and reasons (summary command). */
int profile_print_summary(const struct slw_profile *p, FILE *f);
int profile_print_summary_json(const struct slw_profile *p, FILE *f);

/* Names of outputs / partition types as the profile writes them. */
const char *output_name(enum slw_output o);
const char *output_extension(enum slw_output o);   /* "raw", "vhd", "qcow2", "iso", "tar.zst" */
const char *part_type_name(enum slw_part_type t);

/* Account names and passwd/shadow fields as the configure stage writes
 * them; validation refuses the same (one rule, two callers). */
bool profile_account_name_ok(const char *s);
bool profile_passwd_field_ok(const char *s);
/* users[].password: NULL when S is one the configure stage writes (a
 * crypt(3) hash, "!"+hash, or a lock: "locked", "!", "*"), else why not,
 * in words that never repeat S (it may be a plain-text password). */
const char *profile_password_problem(const char *s);
bool profile_password_locks(const char *s);     /* NULL, "locked", "!" or "*" */
/* A systemd unit name (NAME.service, .socket, .target, ...), as the
 * configure stage takes it (configure_systemd.c has its own copy). */
bool profile_unit_name_ok(const char *u);
