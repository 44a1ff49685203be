/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>

/* A reproducible root filesystem tarball (WSL's `wsl --import`, `docker
 * import`, `podman import`, `machinectl import-tar`):
 *  - pax (restricted: an extended header only where ustar cannot say it:
 *    long names, xattrs, large ids), zstd-compressed by libarchive;
 *  - entries "./path", depth first with the names of each directory in
 *    byte order (GNU tar's --sort=name), hard links kept as links;
 *  - owners numeric, with user and group names from the TREE's
 *    /etc/passwd and /etc/group (never the build host's);
 *  - modes, xattrs (security.capability and friends) and ACLs kept; no
 *    file flags, no atime/ctime, whole-second mtimes clamped to `epoch`;
 *  - the contents of dev, proc, sys and run are left out (their
 *    directories stay): every runtime mounts its own there, and device
 *    nodes cannot be created by an unprivileged importer (rootless podman,
 *    WSL's import as a user); sockets cannot be stored in tar at all.
 * The file at out_path is created (mode 0644) or truncated.
 * zstd_level: 1..19 (0 = libarchive's default). */
int tarball_write_tree(const char *tree, const char *out_path, uint64_t epoch, int zstd_level);

/* 1 when path (relative to the tree, no leading "./" or "/") is one of the
 * pseudo-filesystem contents left out above; exposed for the tests. */
int tarball_path_excluded(const char *relpath);
