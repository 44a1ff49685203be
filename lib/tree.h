/* SPDX-License-Identifier: MIT */
#pragma once
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Every access to an image tree goes through here.
 *
 * Paths inside a tree are resolved as if chrooted into it, like the
 * kernel's openat2(RESOLVE_IN_ROOT) and systemd's chase(): an absolute
 * symlink target is taken relative to the root, and ".." never climbs above
 * the root (it clamps there, as it does at a real "/").  The tree is an
 * image being built from untrusted input (an import tarball, a package's
 * files), so a symlink such as /dev -> /home/me or /boot/vmlinuz ->
 * /etc/shadow must resolve inside the tree, never to the host's files.
 *
 * Resolution works on file descriptors relative to the tree's root fd:
 * each directory is opened with O_NOFOLLOW below the one before, so no
 * host path is ever interpreted by the kernel (openat2 with RESOLVE_IN_ROOT
 * does the same in one call where the kernel has it).  An operation then
 * acts on (directory fd, last name) with the *at() calls and
 * AT_SYMLINK_NOFOLLOW: a symlink in the last place is replaced, removed or
 * chowned itself, never followed out.  Recursive removal never follows a
 * symlink and never crosses into another filesystem. */

enum {
        /* Missing components are fine: the rest of the path is appended as
         * given (normalised).  Used to find where a new file will go. */
        TREE_NONEXISTENT = 1 << 0,
        /* Do not follow a symlink in the last component (for creating,
         * replacing or removing the link itself). */
        TREE_NOFOLLOW = 1 << 1,
        /* Refuse (-EXDEV) instead of clamping when ".." or a symlink would
         * climb above the root. */
        TREE_REFUSE_ESCAPE = 1 << 2,
};

/* Older names, kept for the callers that only want the canonical path. */
#define ROOTPATH_NONEXISTENT TREE_NONEXISTENT
#define ROOTPATH_NOFOLLOW_LAST TREE_NOFOLLOW
#define ROOTPATH_REFUSE_ESCAPE TREE_REFUSE_ESCAPE

/* Opens a tree's root directory (O_DIRECTORY, close-on-exec).  The fd is
 * what every function below takes.  fd or a negative errno. */
int tree_root_open(const char *root);

/* Resolves PATH (absolute or relative to the root) inside the tree.
 * *ret_dir_fd (optional) is an fd of the directory holding the last
 * component, *ret_name (optional) that component ("." for the root itself,
 * never "" or ".."; it may not exist with TREE_NONEXISTENT, and is a
 * symlink only with TREE_NOFOLLOW), *ret_canon (optional) the canonical
 * path inside the root ("/" or "/a/b").  With TREE_NONEXISTENT and a
 * missing directory on the way, *ret_dir_fd is -1 (there is no directory
 * to act in yet) but the name and canonical path are given.
 * Errors: -ELOOP (more than 40 symlinks), -ENOENT (a component is missing
 * without TREE_NONEXISTENT), -ENOTDIR (a non-directory has components
 * after it), -EXDEV (an escape with TREE_REFUSE_ESCAPE), -ENAMETOOLONG, or
 * an errno from openat/readlinkat. */
int tree_resolve(int root_fd, const char *path, unsigned flags, int *ret_dir_fd, char **ret_name, char **ret_canon);

/* open(2) inside the tree: OFLAGS as for openat (O_NOFOLLOW means: the
 * last component must not be a symlink), always close-on-exec.  Uses
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) and falls back to the
 * walk of tree_resolve() where the kernel lacks it.  fd or -errno. */
int tree_open(int root_fd, const char *path, int oflags, mode_t mode);
/* The same, always by the O_NOFOLLOW walk (for tests and comparisons). */
int tree_open_walk(int root_fd, const char *path, int oflags, mode_t mode);

/* stat (following a last symlink inside the tree) and lstat. */
int tree_stat(int root_fd, const char *path, struct stat *ret);
int tree_lstat(int root_fd, const char *path, struct stat *ret);
/* True when PATH exists (after following symlinks inside the tree). */
bool tree_exists(int root_fd, const char *path);

/* The directory PATH (following symlinks inside the tree), for readdir. */
int tree_opendir(int root_fd, const char *path, DIR **ret);
/* A DIR for the directory open at DIR_FD (which stays open and the
 * caller's: readdir() gets a duplicate), or for NAME in it when NAME is
 * not NULL (opened O_NOFOLLOW).  NULL with errno set. */
DIR *tree_fdopendir(int dir_fd, const char *name);
/* The names in directory PATH but "." and "..", sorted by strcmp; NULL
 * when there are none. */
int tree_dir_entries_sorted(int root_fd, const char *path, char ***ret);

/* Reads a whole regular file, at most MAX bytes (-EFBIG beyond: a file in
 * an untrusted tree may be anything). */
int tree_read_file(int root_fd, const char *path, size_t max, char **ret, size_t *ret_len);
/* Writes a file atomically: a temporary name in the target's directory,
 * fchown (uid/gid (uid_t)-1 to keep root's), fchmod, then renameat over
 * the target.  A symlink in the last place is followed (inside the tree),
 * so /etc/resolv.conf -> ../run/... writes the link's target. */
int tree_write_file(int root_fd, const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid);
/* Creates directory PATH and missing parents (each one MODE). */
int tree_mkdir_p(int root_fd, const char *path, mode_t mode);
/* Replaces PATH with a symlink to TARGET (atomically, by renameat). */
int tree_symlink(int root_fd, const char *target, const char *path);
/* Reads the symlink PATH itself. */
int tree_readlink(int root_fd, const char *path, char **ret);
/* Removes PATH itself (a file, a symlink, or with TREE_RM_DIR also a
 * directory and everything below it).  0 when it does not exist. */
#define TREE_RM_DIR 1u
int tree_remove(int root_fd, const char *path, unsigned rm_flags);
/* Removes everything inside the directory open at DIR_FD, not the
 * directory itself; never follows a symlink, never leaves DIR_FD's
 * filesystem (-EXDEV).  *ret_count (optional) gets the entries removed at
 * the top level. */
int tree_remove_contents(int dir_fd, unsigned *ret_count);
/* Removes NAME in the directory open at DIR_FD, the same way. */
int tree_remove_at(int dir_fd, const char *name, unsigned rm_flags);
/* chmod and lchown of PATH itself (a symlink is not followed; its mode
 * cannot be changed: -ELOOP). */
int tree_chmod(int root_fd, const char *path, mode_t mode);
int tree_lchown(int root_fd, const char *path, uid_t uid, gid_t gid);
/* Renames OLD to NEW, both inside the tree (neither last component is
 * followed). */
int tree_rename(int root_fd, const char *old_path, const char *new_path);

/* The canonical host path of PATH: the tree's host path joined with the
 * resolved path inside it.  Only for handing a file to an external tool
 * that takes a path (mke2fs -d, xorriso, ukify); what it names contains no
 * symlink when resolved. */
int tree_host_path(const char *root, const char *path, unsigned flags, char **ret);

/* Resolves `path` inside the tree at host path `root` (tree_resolve by
 * name).  *ret_rel (optional) is the canonical path inside the root,
 * *ret_host (optional) root joined with it. */
int root_resolve(const char *root, const char *path, unsigned flags, char **ret_rel, char **ret_host);

/* True when a profile path is absolute and has no "." or ".." component
 * and no empty component other than a trailing slash. */
bool root_path_is_clean(const char *path);
