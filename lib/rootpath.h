/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>

/* Resolving paths inside an image tree as if chrooted into it, like
 * systemd's chase() with CHASE_PREFIX_ROOT: an absolute symlink target is
 * taken relative to the root, and ".." never climbs above the root (it
 * clamps there, as it does at a real "/").  The tree is an image being
 * built, so a symlink such as /etc/localtime -> /usr/share/zoneinfo/UTC
 * must resolve to TREE/usr/share/zoneinfo/UTC and never to the host's. */

enum {
        /* Missing components are fine: the rest of the path is appended as
         * given (normalised).  Used to find where a new file will go. */
        ROOTPATH_NONEXISTENT = 1 << 0,
        /* Do not follow a symlink in the last component (for creating,
         * replacing or removing the link itself). */
        ROOTPATH_NOFOLLOW_LAST = 1 << 1,
        /* Refuse (-EXDEV) instead of clamping when ".." or a symlink would
         * climb above the root. */
        ROOTPATH_REFUSE_ESCAPE = 1 << 2,
};

/* Resolves `path` (absolute or relative to the root) inside `root`.
 * On success *ret_rel (optional) is the canonical path inside the root
 * ("/" for the root itself, else "/a/b") and *ret_host (optional) is root
 * joined with it.  Errors: -ELOOP (more than 40 symlinks), -ENOENT (a
 * component is missing without ROOTPATH_NONEXISTENT), -ENOTDIR (a
 * non-directory has components after it), -EXDEV (escape with
 * ROOTPATH_REFUSE_ESCAPE), or another errno from lstat/readlink. */
int root_resolve(const char *root, const char *path, unsigned flags, char **ret_rel, char **ret_host);

/* True when a profile path is absolute and has no "." or ".." component
 * and no empty component other than a trailing slash. */
bool root_path_is_clean(const char *path);
