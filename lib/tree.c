/* SPDX-License-Identifier: MIT */
#include "tree.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#define TREE_MAX_FOLLOW 40      /* like the kernel's MAXSYMLINKS */

bool root_path_is_clean(const char *path) {
        if (!path || path[0] != '/')
                return false;
        const char *p = path + 1;
        while (*p) {
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return p[0] == '/' ? false : true;
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
                if (*p == '/') {
                        p++;
                        if (*p == '\0')
                                return true;   /* trailing slash */
                        if (*p == '/')
                                return false;
                }
        }
        return true;
}

int tree_root_open(const char *root) {
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* The directories walked so far: fds[0] is the root (not ours), fds[i] the
 * O_PATH fd of the i-th component of `canon`. */
struct tree_walk {
        int *fds;
        size_t depth, cap;
        char *canon;            /* "" (the root) or "/a/b" */
        size_t canon_cap;
};

static void walk_pop(struct tree_walk *w) {
        if (w->depth > 0) {
                close(w->fds[w->depth]);
                w->depth--;
        }
        char *slash = strrchr(w->canon, '/');
        if (slash)
                *slash = '\0';
}

static void walk_append(struct tree_walk *w, const char *comp, size_t n) {
        size_t l = strlen(w->canon);
        if (l + n + 2 > w->canon_cap) {
                w->canon_cap = (l + n + 2) * 2;
                w->canon = xrealloc(w->canon, w->canon_cap);
        }
        w->canon[l] = '/';
        memcpy(w->canon + l + 1, comp, n);
        w->canon[l + 1 + n] = '\0';
}

static void walk_push_fd(struct tree_walk *w, int fd) {
        if (w->depth + 2 > w->cap) {
                w->cap = (w->depth + 2) * 2;
                w->fds = xrealloc(w->fds, w->cap * sizeof(int));
        }
        w->fds[++w->depth] = fd;
}

static void walk_done(struct tree_walk *w) {
        while (w->depth > 0)
                close(w->fds[w->depth--]);
        free(w->fds);
        free(w->canon);
}

/* readlinkat() of an O_PATH fd of a symlink, whole. */
static int readlink_fd(int fd, char **ret) {
        size_t cap = 256;
        for (;;) {
                _cleanup_free_ char *buf = xmalloc(cap);
                ssize_t k = readlinkat(fd, "", buf, cap);
                if (k < 0)
                        return -errno;
                if ((size_t)k < cap) {
                        buf[k] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
                if (cap >= PATH_MAX)
                        return -ENAMETOOLONG;
                cap *= 2;
        }
}

int tree_resolve(int root_fd, const char *path, unsigned flags, int *ret_dir_fd, char **ret_name, char **ret_canon) {
        if (root_fd < 0 || !path)
                return -EINVAL;
        if (strlen(path) >= PATH_MAX)
                return -ENAMETOOLONG;

        struct tree_walk w = { .canon = xcalloc(1, 64), .canon_cap = 64 };
        w.cap = 16;
        w.fds = xcalloc(w.cap, sizeof(int));
        w.fds[0] = root_fd;
        _cleanup_free_ char *todo = xstrdup(path);
        const char *rest = todo;
        unsigned follows = 0;
        /* Once a component is missing (TREE_NONEXISTENT) the rest is only
         * normalised: `missing_at` is the depth of canon where it began. */
        bool missing = false;
        size_t missing_at = 0, ncomp = 0;
        int r = 0;

        for (;;) {
                while (*rest == '/')
                        rest++;
                if (*rest == '\0')
                        break;
                size_t n = strcspn(rest, "/");
                const char *comp = rest;
                rest += n;
                bool last = true;
                for (const char *q = rest; *q; q++)
                        if (*q != '/') { last = false; break; }

                if (n == 1 && comp[0] == '.')
                        continue;
                if (n == 2 && comp[0] == '.' && comp[1] == '.') {
                        if (ncomp == 0) {
                                if (flags & TREE_REFUSE_ESCAPE) { r = -EXDEV; goto out; }
                                continue;       /* clamp at the root, as "/.." is "/" */
                        }
                        if (missing) {
                                char *slash = strrchr(w.canon, '/');
                                *slash = '\0';
                                ncomp--;
                                if (ncomp <= missing_at)
                                        missing = false;        /* back where things exist */
                        } else {
                                walk_pop(&w);
                                ncomp--;
                        }
                        continue;
                }
                if (n > NAME_MAX) { r = -ENAMETOOLONG; goto out; }

                walk_append(&w, comp, n);
                ncomp++;
                if (missing)
                        continue;       /* below a missing directory nothing exists */

                _cleanup_free_ char *name = xstrndup(comp, n);
                int fd = openat(w.fds[w.depth], name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT && (flags & TREE_NONEXISTENT)) {
                                missing = true;
                                missing_at = ncomp - 1;
                                continue;
                        }
                        r = -errno;
                        goto out;
                }
                struct stat st;
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        close(fd);
                        goto out;
                }

                if (S_ISLNK(st.st_mode) && !(last && (flags & TREE_NOFOLLOW))) {
                        _cleanup_free_ char *target = NULL;
                        r = ++follows > TREE_MAX_FOLLOW ? -ELOOP : readlink_fd(fd, &target);
                        close(fd);
                        if (r < 0)
                                goto out;
                        if (target[0] == '\0') { r = -ENOENT; goto out; }
                        /* The link's own name is not part of the result. */
                        char *slash = strrchr(w.canon, '/');
                        *slash = '\0';
                        ncomp--;
                        if (target[0] == '/') {
                                while (w.depth > 0)     /* absolute: from the image's root */
                                        walk_pop(&w);
                                w.canon[0] = '\0';
                                ncomp = 0;
                        }
                        char *next = xasprintf("%s/%s", target, rest);
                        if (strlen(next) >= PATH_MAX) {
                                free(next);
                                r = -ENAMETOOLONG;
                                goto out;
                        }
                        free(todo);
                        todo = next;
                        rest = todo;
                        continue;
                }
                if (!last && !S_ISDIR(st.st_mode)) {
                        close(fd);
                        r = -ENOTDIR;
                        goto out;
                }
                walk_push_fd(&w, fd);
        }

        /* The result: the last component's parent and its name. */
        if (ret_dir_fd) {
                *ret_dir_fd = -1;
                int parent = -1;
                if (ncomp == 0)
                        parent = root_fd;
                else if (!missing)
                        parent = w.fds[w.depth - 1];
                else if (missing_at == ncomp - 1)
                        parent = w.fds[w.depth];        /* only the last one is missing */
                if (parent >= 0) {
                        int d = fcntl(parent, F_DUPFD_CLOEXEC, 3);
                        if (d < 0) { r = -errno; goto out; }
                        *ret_dir_fd = d;
                }
        }
        if (ret_name)
                *ret_name = ncomp == 0 ? xstrdup(".") : xstrdup(strrchr(w.canon, '/') + 1);
        if (ret_canon)
                *ret_canon = xstrdup(ncomp == 0 ? "/" : w.canon);
out:
        walk_done(&w);
        return r;
}

int tree_open_walk(int root_fd, const char *path, int oflags, mode_t mode) {
        unsigned flags = 0;
        if (oflags & O_CREAT)
                flags |= TREE_NONEXISTENT;
        if (oflags & O_NOFOLLOW)
                flags |= TREE_NOFOLLOW;
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, flags, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        if (dir_fd < 0)
                return -ENOENT;
        /* The name is no symlink unless TREE_NOFOLLOW kept one, and then
         * O_NOFOLLOW makes opening it fail as it must; if the tree changed
         * since, O_NOFOLLOW still keeps the open from following. */
        int fd = openat(dir_fd, name, oflags | O_NOFOLLOW | O_CLOEXEC, mode);
        return fd < 0 ? -errno : fd;
}

int tree_open(int root_fd, const char *path, int oflags, mode_t mode) {
        struct open_how how = {
                .flags = (uint64_t)(oflags | O_CLOEXEC),
                .mode = (oflags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        if (fd >= 0)
                return (int)fd;
        /* No openat2 (kernel < 5.6, or a seccomp filter that refuses it), or
         * a concurrent rename it will not resolve through: walk instead. */
        if (errno == ENOSYS || errno == EPERM || errno == E2BIG || errno == EAGAIN)
                return tree_open_walk(root_fd, path, oflags, mode);
        return -errno;
}

static int stat_at(int root_fd, const char *path, unsigned flags, struct stat *ret) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, flags, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        return fstatat(dir_fd, name, ret, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int tree_stat(int root_fd, const char *path, struct stat *ret) {
        return stat_at(root_fd, path, 0, ret);
}

int tree_lstat(int root_fd, const char *path, struct stat *ret) {
        return stat_at(root_fd, path, TREE_NOFOLLOW, ret);
}

bool tree_exists(int root_fd, const char *path) {
        struct stat st;
        return tree_stat(root_fd, path, &st) == 0;
}

DIR *tree_fdopendir(int dir_fd, const char *name) {
        int fd = name ? openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return NULL;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                errno = e;
        }
        return d;
}

int tree_opendir(int root_fd, const char *path, DIR **ret) {
        int fd = tree_open(root_fd, path, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return fd;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret = d;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int tree_dir_entries_sorted(int root_fd, const char *path, char ***ret) {
        DIR *d = NULL;
        int r = tree_opendir(root_fd, path, &d);
        if (r < 0)
                return r;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                names = xrealloc(names, (n + 2) * sizeof(char *));
                names[n++] = xstrdup(de->d_name);
                names[n] = NULL;
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(char *), cmp_str);
        *ret = names;
        return 0;
}

int tree_read_file(int root_fd, const char *path, size_t max, char **ret, size_t *ret_len) {
        /* O_NONBLOCK: a FIFO in the tree must not block the open; anything
         * but a regular file is refused below. */
        _cleanup_close_ int fd = tree_open(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t)st.st_size > max)
                return -EFBIG;
        size_t cap = (size_t)st.st_size + 1, len = 0;
        _cleanup_free_ char *buf = xmalloc(cap);
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap > max)
                                return -EFBIG;  /* it grew while we read */
                        cap = MIN(cap * 2, max + 1);
                        buf = xrealloc(buf, cap);
                }
                ssize_t k = read(fd, buf + len, cap - 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* A name for a temporary file beside NAME in one directory. */
static char *temp_name(const char *name, unsigned attempt) {
        return xasprintf(".#%.200s.slipway-%d-%u", name, (int)getpid(), attempt);
}

int tree_write_file(int root_fd, const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NONEXISTENT, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        if (dir_fd < 0)
                return -ENOENT;
        if (strcmp(name, ".") == 0)
                return -EISDIR;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        for (unsigned attempt = 0; fd < 0; attempt++) {
                free(tmp);
                tmp = temp_name(name, attempt);
                fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0 && (errno != EEXIST || attempt > 100))
                        return -errno;
        }
        const char *p = data;
        size_t left = len;
        while (left > 0) {
                ssize_t k = write(fd, p, left);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                p += k;
                left -= (size_t)k;
        }
        /* chown first: it clears set-user-ID bits that fchmod then sets. */
        if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) { r = -errno; goto fail; }
        if (fchmod(fd, mode) < 0) { r = -errno; goto fail; }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) { r = -errno; goto fail; }
        return 0;
fail:
        (void)unlinkat(dir_fd, tmp, 0);
        return r;
}

int tree_mkdir_p(int root_fd, const char *path, mode_t mode) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL, *canon = NULL;
        int r = tree_resolve(root_fd, path, TREE_NONEXISTENT, &dir_fd, &name, &canon);
        if (r < 0)
                return r;
        if (strcmp(canon, "/") == 0)
                return 0;
        if (dir_fd < 0) {
                /* A parent is missing: make it first (by its canonical
                 * path, so a symlink on the way is followed only once). */
                char *slash = strrchr(canon, '/');
                *slash = '\0';
                r = tree_mkdir_p(root_fd, canon[0] ? canon : "/", mode);
                if (r < 0)
                        return r;
                *slash = '/';
                r = tree_resolve(root_fd, canon, TREE_NONEXISTENT, &dir_fd, NULL, NULL);
                if (r < 0)
                        return r;
                if (dir_fd < 0)
                        return -ENOENT;
        }
        if (mkdirat(dir_fd, name, mode) == 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int tree_symlink(int root_fd, const char *target, const char *path) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NONEXISTENT | TREE_NOFOLLOW, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        if (dir_fd < 0)
                return -ENOENT;
        if (strcmp(name, ".") == 0)
                return -EISDIR;
        _cleanup_free_ char *tmp = NULL;
        for (unsigned attempt = 0;; attempt++) {
                free(tmp);
                tmp = temp_name(name, attempt);
                if (symlinkat(target, dir_fd, tmp) == 0)
                        break;
                if (errno != EEXIST || attempt > 100)
                        return -errno;
        }
        if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
                r = -errno;
                (void)unlinkat(dir_fd, tmp, 0);
                return r;
        }
        return 0;
}

int tree_readlink(int root_fd, const char *path, char **ret) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NOFOLLOW, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return readlink_fd(fd, ret);
}

/* Depth of directories tree_remove_contents descends; each level holds one
 * fd, so a hostile tree nested deeper fails cleanly instead of running out
 * of descriptors half-way. */
#define TREE_REMOVE_MAX_DEPTH 512

static int remove_contents_at(int dir_fd, dev_t dev, unsigned depth, unsigned *ret_count) {
        if (depth > TREE_REMOVE_MAX_DEPTH)
                return -ELOOP;
        DIR *d = tree_fdopendir(dir_fd, NULL);
        if (!d)
                return -errno;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        /* Another filesystem mounted in the tree (a bind
                         * mount of a host directory) is not ours to empty. */
                        if (st.st_dev != dev) { r = -EXDEV; break; }
                        _cleanup_close_ int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) { r = -errno; break; }
                        r = remove_contents_at(sub, dev, depth + 1, NULL);
                        if (r < 0)
                                break;
                        if (unlinkat(dir_fd, de->d_name, AT_REMOVEDIR) < 0) { r = -errno; break; }
                } else if (unlinkat(dir_fd, de->d_name, 0) < 0) {
                        r = -errno;
                        break;
                }
                if (ret_count)
                        (*ret_count)++;
        }
        closedir(d);
        return r;
}

int tree_remove_contents(int dir_fd, unsigned *ret_count) {
        struct stat st;
        if (fstat(dir_fd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return remove_contents_at(dir_fd, st.st_dev, 0, ret_count);
}

int tree_remove_at(int dir_fd, const char *name, unsigned rm_flags) {
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
                return -EBUSY;
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (!(rm_flags & TREE_RM_DIR))
                return -EISDIR;
        struct stat dst;
        if (fstat(dir_fd, &dst) < 0)
                return -errno;
        if (dst.st_dev != st.st_dev)
                return -EXDEV;  /* a mount point */
        _cleanup_close_ int sub = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
                return -errno;
        int r = tree_remove_contents(sub, NULL);
        if (r < 0)
                return r;
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

int tree_remove(int root_fd, const char *path, unsigned rm_flags) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NOFOLLOW, &dir_fd, &name, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        return tree_remove_at(dir_fd, name, rm_flags);
}

int tree_chmod(int root_fd, const char *path, mode_t mode) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NOFOLLOW, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISLNK(st.st_mode))
                return -ELOOP;
        return fchmodat(dir_fd, name, mode, 0) < 0 ? -errno : 0;
}

int tree_lchown(int root_fd, const char *path, uid_t uid, gid_t gid) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        int r = tree_resolve(root_fd, path, TREE_NOFOLLOW, &dir_fd, &name, NULL);
        if (r < 0)
                return r;
        return fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

int tree_rename(int root_fd, const char *old_path, const char *new_path) {
        _cleanup_close_ int old_dir = -1, new_dir = -1;
        _cleanup_free_ char *old_name = NULL, *new_name = NULL;
        int r = tree_resolve(root_fd, old_path, TREE_NOFOLLOW, &old_dir, &old_name, NULL);
        if (r < 0)
                return r;
        r = tree_resolve(root_fd, new_path, TREE_NOFOLLOW | TREE_NONEXISTENT, &new_dir, &new_name, NULL);
        if (r < 0)
                return r;
        if (new_dir < 0)
                return -ENOENT;
        if (strcmp(old_name, ".") == 0 || strcmp(new_name, ".") == 0)
                return -EBUSY;
        return renameat(old_dir, old_name, new_dir, new_name) < 0 ? -errno : 0;
}

int root_resolve(const char *root, const char *path, unsigned flags, char **ret_rel, char **ret_host) {
        if (!root || !path)
                return -EINVAL;
        _cleanup_close_ int root_fd = tree_root_open(root);
        if (root_fd < 0)
                return root_fd;
        _cleanup_free_ char *canon = NULL;
        int r = tree_resolve(root_fd, path, flags, NULL, NULL, &canon);
        if (r < 0)
                return r;
        if (ret_host) {
                _cleanup_free_ char *root_clean = xstrdup(root);
                size_t rl = strlen(root_clean);
                while (rl > 1 && root_clean[rl - 1] == '/')
                        root_clean[--rl] = '\0';
                if (strcmp(canon, "/") == 0)
                        *ret_host = TAKE_PTR(root_clean);
                else
                        *ret_host = xasprintf("%s%s", strcmp(root_clean, "/") == 0 ? "" : root_clean, canon);
        }
        if (ret_rel)
                *ret_rel = TAKE_PTR(canon);
        return 0;
}

int tree_host_path(const char *root, const char *path, unsigned flags, char **ret) {
        return root_resolve(root, path, flags, NULL, ret);
}
