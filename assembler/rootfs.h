/* SPDX-License-Identifier: MIT */
#pragma once
#include "build.h"
#include "cache.h"
#include "manifest.h"

/* A rootfs backend: how to install a root filesystem, and which inputs
 * decide what it installs (the rootfs cache key). */
struct rootfs_backend {
        const char *name;      /* "apt", "dnf", "import" */
        /* Adds everything that changes the installed tree to the key
         * (the stage adds the format version and the backend name). */
        int (*key_inputs)(const struct build_ctx *ctx, struct cache_key *key);
        /* Installs into dest_dir, which does not exist yet (its parent does).
         * On failure logs once; the caller removes dest_dir. */
        int (*install)(const struct build_ctx *ctx, const char *dest_dir);
        /* The package manifest of an installed tree. */
        int (*manifest)(const char *tree, struct pkg_list *ret);
};

extern const struct rootfs_backend rootfs_backend_apt;
extern const struct rootfs_backend rootfs_backend_dnf;
extern const struct rootfs_backend rootfs_backend_import;

const struct rootfs_backend *rootfs_backend_for(enum slw_backend b);

/* The cache directory the stage uses: ctx->cache_dir or the default. */
char *rootfs_cache_dir(const struct build_ctx *ctx);

/* apt: the first URI of the host's apt sources that serves Debian's main
 * component and is not a -security or -updates-only archive.  `root` is "/"
 * normally (a different root for tests).  -ENOENT when there is none. */
int apt_host_mirror(const char *root, char **ret);
/* The mirror this build uses: --mirror, the profile's, else the host's. */
int apt_resolve_mirror(const struct build_ctx *ctx, char **ret);
/* Removes from a tree mmdebstrap just made what it took from the build
 * host: its resolv.conf and hostname (and packages' backups of them), the
 * build's sources.list and 99mmdebstrap apt options (rootfs_apt.c). */
int apt_scrub_host_files(const char *dest);
/* dnf: removes dnf's logs and transaction history (the build mirror's
 * URLs, this run's command line and times) from the tree (rootfs_dnf.c). */
int dnf_remove_build_traces(const char *dest);
/* The first "E: " line of apt/mmdebstrap stderr output, or NULL. */
char *apt_error_line(const char *stderr_text);

/* dnf: removes what dnf 4 leaves at <tree>/<cachedir> (and the parents it
 * made, not the FHS directories), inside the tree only; exposed for the
 * tests. */
void dnf_remove_cachedir_leak(const char *tree, const char *cachedir);

/* import: 0 for a directory, 1 for a tarball; -errno when neither. */
int import_source_kind(const char *source);
/* Extracts a tarball (plain, gzip, zstd, xz) into dest (created), keeping
 * owners, modes, xattrs, ACLs and file flags; refuses entries that would
 * escape dest ("..", absolute paths, symlinks on the way). */
int import_extract_tarball(const char *tarball, const char *dest);
