/* SPDX-License-Identifier: MIT */
/* The rootfs tarball: see tarball.h for what goes in and why. */
#include "tarball.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct id_name {
        unsigned long id;
        char *name;
};

struct id_names {
        struct id_name *v;
        size_t n;
};

struct tar_writer {
        struct archive *out, *disk;
        struct archive_entry_linkresolver *links;
        const char *tree;
        uint64_t epoch;
        struct id_names users, groups;
        char *buf;
        size_t buf_size;
        uint64_t n_entries;
};

static void id_names_free(struct id_names *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].name);
        free(m->v);
        m->v = NULL;
        m->n = 0;
}

/* passwd(5)/group(5) of the tree: "name:x:id:...".  The first name an id
 * has wins, as getpwuid() would answer.  Read inside the tree (lib/tree.h):
 * an /etc/passwd -> /etc/shadow symlink names the image's own file. */
#define ID_FILE_MAX (UINT64_C(64) << 20)
static void id_names_load(int root_fd, const char *file, struct id_names *m) {
        _cleanup_free_ char *text = NULL;
        if (tree_read_file(root_fd, file, ID_FILE_MAX, &text, NULL) < 0)
                return;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *colon1 = strchr(line, ':');
                char *colon2 = colon1 ? strchr(colon1 + 1, ':') : NULL;
                if (!colon1 || !colon2 || colon1 == line)
                        continue;
                char *end;
                errno = 0;
                unsigned long id = strtoul(colon2 + 1, &end, 10);
                if (errno || end == colon2 + 1 || *end != ':')
                        continue;
                bool seen = false;
                for (size_t i = 0; i < m->n && !seen; i++)
                        seen = m->v[i].id == id;
                if (seen)
                        continue;
                m->v = xrealloc(m->v, (m->n + 1) * sizeof(*m->v));
                m->v[m->n++] = (struct id_name){ .id = id, .name = xstrndup(line, (size_t)(colon1 - line)) };
        }
}

static const char *id_name(const struct id_names *m, unsigned long id) {
        for (size_t i = 0; i < m->n; i++)
                if (m->v[i].id == id)
                        return m->v[i].name;
        return NULL;
}

int tarball_path_excluded(const char *rel) {
        static const char *const pseudo[] = { "dev/", "proc/", "sys/", "run/" };
        for (size_t i = 0; i < ELEMENTSOF(pseudo); i++)
                if (startswith(rel, pseudo[i]) && rel[strlen(pseudo[i])] != '\0')
                        return 1;
        return 0;
}

struct xattr_item {
        const char *name;
        const void *value;
        size_t size;
};

static int cmp_xattr(const void *a, const void *b) {
        return strcmp(((const struct xattr_item *)a)->name, ((const struct xattr_item *)b)->name);
}

/* llistxattr() order is the filesystem's storage order, which differs
 * between two copies of the same tree: sort them by name. */
static void sort_xattrs(struct archive_entry *e) {
        int n = archive_entry_xattr_reset(e);
        if (n <= 1)
                return;
        struct xattr_item *items = xcalloc((size_t)n, sizeof(*items));
        size_t k = 0;
        const char *name;
        const void *value;
        size_t size;
        while (k < (size_t)n && archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                items[k].name = xstrdup(name);
                items[k].value = size ? memcpy(xmalloc(size), value, size) : NULL;
                items[k].size = size;
                k++;
        }
        qsort(items, k, sizeof(*items), cmp_xattr);
        archive_entry_xattr_clear(e);
        for (size_t i = 0; i < k; i++) {
                archive_entry_xattr_add_entry(e, items[i].name, items[i].value, items[i].size);
                free((void *)items[i].name);
                free((void *)items[i].value);
        }
        free(items);
}

static int write_data(struct tar_writer *w, int fd, const char *full, struct archive_entry *e) {
        int64_t left = archive_entry_size(e);
        while (left > 0) {
                ssize_t n = read(fd, w->buf, w->buf_size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "cannot read %s", full);
                }
                if (n == 0)
                        return log_error_errno(-EIO, "%s shrank while being archived", full);
                if (n > left)
                        n = (ssize_t)left;   /* grew meanwhile: the header already has the size */
                if (archive_write_data(w->out, w->buf, (size_t)n) != n)
                        return log_error_errno(-EIO, "tar: writing %s: %s", full, archive_error_string(w->out));
                left -= n;
        }
        return 0;
}

static int write_entry(struct tar_writer *w, struct archive_entry *e, int fd, const char *full) {
        if (archive_write_header(w->out, e) < ARCHIVE_WARN)
                return log_error_errno(-EIO, "tar: header for %s: %s", archive_entry_pathname(e),
                                       archive_error_string(w->out));
        w->n_entries++;
        if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e) && archive_entry_size(e) > 0)
                return write_data(w, fd, full, e);
        return 0;
}

/* The tree is walked by file descriptors: each entry is looked at with
 * fstatat(AT_SYMLINK_NOFOLLOW) in its directory's fd, a regular file or a
 * directory is opened there with O_NOFOLLOW (its data, xattrs and ACL are
 * read from that fd), and a directory's entries are listed from its fd.
 * A symlink is archived as a link and never followed.  `full` (the host
 * path) names the entry in messages; libarchive reads a symlink's target,
 * a directory's default ACL and the xattrs of what has no fd (symlinks,
 * devices, empty files) by that path, without following its last
 * component, and every directory on it was opened without following a
 * symlink. */
static int add_path(struct tar_writer *w, int dir_fd, const char *entry_name, const char *rel) {
        _cleanup_free_ char *full = *rel ? path_join(w->tree, rel) : xstrdup(w->tree);
        struct stat st;
        if (spawn_interrupted())
                return -EINTR;
        if (fstatat(dir_fd, entry_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(-errno, "cannot stat %s", full);
        if (S_ISSOCK(st.st_mode)) {
                log_debug("tar: skipping socket %s (tar cannot store sockets)", full);
                return 0;
        }
        /* Opened when there is something to read (as before the fd walk:
         * an empty file need not be readable by a rootless build). */
        _cleanup_close_ int fd = -1;
        if ((S_ISREG(st.st_mode) && st.st_size > 0) || S_ISDIR(st.st_mode)) {
                fd = openat(dir_fd, entry_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                                (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
                struct stat fst;
                if (fd < 0 || fstat(fd, &fst) < 0)
                        return log_error_errno(-errno, "cannot open %s", full);
                if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
                        return log_error_errno(-EBUSY, "%s changed while being archived", full);
                st = fst;
        }

        struct archive_entry *e = archive_entry_new();
        _cleanup_free_ char *name = *rel ? xasprintf("./%s", rel) : xstrdup(".");
        archive_entry_copy_pathname(e, name);
        archive_entry_copy_sourcepath(e, full);
        if (archive_read_disk_entry_from_file(w->disk, e, fd, &st) < ARCHIVE_WARN) {
                int r = log_error_errno(-EIO, "tar: reading %s: %s", full, archive_error_string(w->disk));
                archive_entry_free(e);
                return r;
        }
        /* Reproducibility: nothing from the build host or the build's
         * wall clock.  Whole seconds, clamped to SOURCE_DATE_EPOCH. */
        time_t mtime = archive_entry_mtime(e);
        if (mtime < 0 || (uint64_t)mtime > w->epoch)
                mtime = (time_t)w->epoch;
        archive_entry_set_mtime(e, mtime, 0);
        archive_entry_unset_atime(e);
        archive_entry_unset_ctime(e);
        archive_entry_unset_birthtime(e);
        archive_entry_set_fflags(e, 0, 0);
        archive_entry_set_uname(e, id_name(&w->users, (unsigned long)st.st_uid));
        archive_entry_set_gname(e, id_name(&w->groups, (unsigned long)st.st_gid));
        sort_xattrs(e);

        struct archive_entry *deferred = NULL;
        archive_entry_linkify(w->links, &e, &deferred);
        int r = 0;
        if (e)
                r = write_entry(w, e, fd, full);
        archive_entry_free(e);
        archive_entry_free(deferred);   /* tar's strategy never defers */
        if (r < 0 || !S_ISDIR(st.st_mode))
                return r;

        _cleanup_strv_free_ char **names = NULL;
        if ((r = tree_dir_entries_sorted(fd, ".", &names)) < 0)
                return log_error_errno(r, "cannot read %s", full);
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *child = *rel ? xasprintf("%s/%s", rel, *n) : xstrdup(*n);
                if (tarball_path_excluded(child))
                        continue;
                if ((r = add_path(w, fd, *n, child)) < 0)
                        return r;
        }
        return 0;
}

static int write_tree(const char *tree, const char *out_path, uint64_t epoch, int zstd_level) {
        struct tar_writer w = { .tree = tree, .epoch = epoch, .buf_size = 1024 * 1024 };
        int r = 0;

        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "cannot open the tree %s", tree);
        id_names_load(root_fd, "/etc/passwd", &w.users);
        id_names_load(root_fd, "/etc/group", &w.groups);
        w.buf = xmalloc(w.buf_size);
        w.out = archive_write_new();
        w.disk = archive_read_disk_new();
        w.links = archive_entry_linkresolver_new();
        if (!w.out || !w.disk || !w.links) {
                r = log_error_errno(-ENOMEM, "libarchive: out of memory");
                goto out;
        }
        /* No name lookups (names come from the tree), no file flags, no
         * sparse maps (a sparse pax map is a GNU extension WSL does not
         * read); xattrs and ACLs are read. */
        archive_read_disk_set_behavior(w.disk, ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE);
        if (archive_write_set_format_pax_restricted(w.out) != ARCHIVE_OK ||
            archive_write_add_filter_zstd(w.out) != ARCHIVE_OK) {
                r = log_error_errno(-EOPNOTSUPP, "libarchive: pax with zstd: %s", archive_error_string(w.out));
                goto out;
        }
        if (zstd_level > 0) {
                char level[16];
                snprintf(level, sizeof(level), "%d", zstd_level);
                if (archive_write_set_filter_option(w.out, "zstd", "compression-level", level) != ARCHIVE_OK) {
                        r = log_error_errno(-EINVAL, "libarchive: zstd level %s: %s", level, archive_error_string(w.out));
                        goto out;
                }
        }
        archive_entry_linkresolver_set_strategy(w.links, archive_format(w.out));
        if (archive_write_open_filename(w.out, out_path) != ARCHIVE_OK) {
                r = log_error_errno(-EIO, "cannot create %s: %s", out_path, archive_error_string(w.out));
                goto out;
        }
        r = add_path(&w, root_fd, ".", "");
        if (archive_write_close(w.out) != ARCHIVE_OK && r >= 0)
                r = log_error_errno(-EIO, "tar: finishing %s: %s", out_path, archive_error_string(w.out));
        if (r >= 0)
                log_debug("tar: %llu entries in %s", (unsigned long long)w.n_entries, out_path);
out:
        if (w.links)
                archive_entry_linkresolver_free(w.links);
        if (w.disk)
                archive_read_free(w.disk);
        if (w.out)
                archive_write_free(w.out);
        id_names_free(&w.users);
        id_names_free(&w.groups);
        free(w.buf);
        return r;
}

int tarball_write_tree(const char *tree, const char *out_path, uint64_t epoch, int zstd_level) {
        /* pax headers are UTF-8.  In the C locale libarchive cannot
         * convert a non-ASCII name (Debian's are UTF-8: ca-certificates
         * has some) and marks the header "hdrcharset=BINARY", which GNU tar
         * warns about.  A UTF-8 locale for this thread only (uselocale,
         * no process state) makes the conversion the identity. */
        locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
        locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;
        int r = write_tree(tree, out_path, epoch, zstd_level);
        if (utf8) {
                uselocale(old);
                freelocale(utf8);
        }
        return r;
}
