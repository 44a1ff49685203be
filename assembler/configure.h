/* SPDX-License-Identifier: MIT */
#pragma once
/* Internals of the configure stage (stage_configure.c and configure_*.c).
 *
 * The stage runs in two passes over the profile: every step first
 * validates against the tree (collecting every error, each naming its
 * profile line), and only when nothing failed does any step write. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "build.h"

/* One colon-separated database (/etc/passwd, shadow, group, gshadow), kept
 * line by line so untouched lines are written back byte for byte. */
struct acc_file {
        const char *rel;        /* "/etc/passwd" */
        char **lines;           /* without "\n" */
        size_t n_lines;
        bool present, dirty;
};

struct acc_db {
        struct acc_file passwd, shadow, group, gshadow;
};

struct cfg {
        struct build_ctx *ctx;
        const struct slw_profile *p;
        const char *tree;       /* host path, for external tools only */
        int tree_fd;            /* the tree's root: every access resolves against it */
        unsigned n_errors;
        char *kver;             /* the installed kernel's version, or NULL */
        struct acc_db acc;
        /* Planned by validation, carried out by apply. */
        bool regenerate_initramfs;
        /* "origin_path value" lines of what the declarative keys do not
         * show (extra trees' contents, post-install scripts): part of the
         * initramfs inputs (cfg_inputs_add). */
        char *inputs;
        size_t inputs_len;
};

/* The stage's state for CTX (its tree opened); cfg_close releases it. */
int cfg_open(struct cfg *c, struct build_ctx *ctx);
void cfg_close(struct cfg *c);

/* Logs "file:line:col: message" for the profile value at origin_path,
 * counts it, returns -EINVAL. */
int cfg_error(struct cfg *c, const char *origin_path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_warning(struct cfg *c, const char *origin_path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records a change in build.json (when the build provides the recorder). */
void cfg_change(struct cfg *c, const char *what, const char *where, const char *origin_path);

/* Adds a line to c->inputs. */
void cfg_inputs_add(struct cfg *c, const char *origin_path, const char *value);

/* Every access to the tree goes through these (lib/tree.h): paths are
 * inside the tree, resolved against its root fd, so no symlink in the
 * tree can lead a read or a write out to the host.  Each logs its error. */
/* The canonical path of PATH inside the tree ("/a/b"); TREE_* flags.  Does not log. */
int cfg_resolve(struct cfg *c, const char *path, unsigned flags, char **ret_canon);
/* The canonical host path, only for handing to an external tool. */
int cfg_host_path(struct cfg *c, const char *path, unsigned flags, char **ret_host);
/* The text of PATH in the image, or FALLBACK when it does not exist.  A
 * FIFO, directory or oversized file there is an error (logged). */
int cfg_read_text(struct cfg *c, const char *path, const char *fallback, char **ret_text);
/* A whole file of the image (not logged: callers decide what a missing file means). */
int cfg_read_file(struct cfg *c, const char *path, char **ret, size_t *ret_len);
/* Writes PATH atomically (temp + rename in its directory); its directory must exist. */
int cfg_write_file(struct cfg *c, const char *path, const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid);
/* Creates directory PATH and missing parents. */
int cfg_mkdir(struct cfg *c, const char *path, mode_t mode);
/* Replaces PATH with a symlink to target (creating its directory). */
int cfg_symlink(struct cfg *c, const char *target, const char *linkpath);
/* Removes PATH itself (a directory with everything below it when RECURSIVE). */
int cfg_remove(struct cfg *c, const char *path, bool recursive);
/* Removes what a glob matches inside the tree; symlinks are never
 * followed below the pattern's fixed directories. */
int cfg_remove_glob(struct cfg *c, const char *pattern, bool keep_dirs, unsigned *ret_count);

/* Accounts (configure_accounts.c). */
int accounts_load(struct cfg *c);
void accounts_free(struct acc_db *db);
int accounts_validate(struct cfg *c);
int accounts_apply(struct cfg *c);
/* Name → ID through the tree's databases after the profile's changes. */
int accounts_user_id(struct cfg *c, const char *name, uid_t *ret_uid, gid_t *ret_gid);
int accounts_group_id(struct cfg *c, const char *name, gid_t *ret_gid);

/* Systemd (configure_systemd.c). */
int systemd_validate(struct cfg *c);
int systemd_apply(struct cfg *c);
/* Enables one unit as systemctl --root would; used by generalize too. */
int systemd_enable_unit(struct cfg *c, const char *unit, const char *origin_path);
bool systemd_unit_exists(struct cfg *c, const char *unit);

/* Kernel: modules, initramfs (configure_kernel.c). */
int kernel_find_version(struct cfg *c);
int kernel_validate(struct cfg *c);
int kernel_prune_modules(struct cfg *c);
int kernel_apply_initramfs(struct cfg *c);
/* Module presence for the installed kernel: 1 = module file, 2 = built in, 0 = absent. */
int kernel_module_state(struct cfg *c, const char *name);

/* Prune and generalize (configure_prune.c). */
int prune_validate(struct cfg *c);
int prune_apply(struct cfg *c);
int generalize_apply(struct cfg *c);

/* Small keys: files, hostname, locale, timezone, fstab, cmdline
 * (configure_files.c). */
int files_validate(struct cfg *c);
int files_apply(struct cfg *c);
int system_settings_validate(struct cfg *c);
int system_settings_apply(struct cfg *c);
/* /etc/fstab by UUID, only when the build writes a disk. */
int fstab_apply(struct cfg *c);
/* apt: the image's /etc/apt/sources.list.d/debian.sources (distribution.image-mirror). */
int image_sources_apply(struct cfg *c);
/* immutable.enabled: os-release IMAGE_ID/IMAGE_VERSION, the sysupdate.d transfers, and for
 * immutable.etc: overlay the dracut module that mounts /etc in the initrd (configure_immutable.c). */
int immutable_apply(struct cfg *c);
/* That dracut module (add_dracutmodules name: slipway-etc-overlay); part of the initramfs's inputs. */
#define IMMUTABLE_ETC_DRACUT_MODULE "/usr/lib/dracut/modules.d/90slipway-etc-overlay"

/* extra-trees and scripts (configure_scripts.c).  Trees are copied after
 * the accounts, post-install scripts run before prune, finalize scripts
 * last (see there). */
int extra_trees_validate(struct cfg *c);
int extra_trees_apply(struct cfg *c);
int scripts_validate(struct cfg *c);
int scripts_run(struct cfg *c, bool finalize);
