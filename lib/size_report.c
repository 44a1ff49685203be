/* SPDX-License-Identifier: MIT */
/* size.json: a walk of the image tree, files mapped to packages through the
 * dpkg file lists, per-directory totals, the largest files; budgets. */
#include "size_report.h"
#include "ext4_reader.h"
#include "log.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int64_t json_int(struct json_object *o, const char *key, int64_t dflt) {
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return dflt;
        return json_object_get_int64(v);
}

int manifest_read_json(const char *path, struct pkg_list *ret, char **ret_backend) {
        struct json_object *root = json_object_from_file(path);
        if (!root)
                return log_error_errno(-EINVAL, "%s: not a JSON file (%s)", path, json_util_get_last_err());
        struct json_object *arr;
        if (!json_object_object_get_ex(root, "packages", &arr) || !json_object_is_type(arr, json_type_array)) {
                json_object_put(root);
                return log_error_errno(-EINVAL, "%s: no \"packages\" array", path);
        }
        struct pkg_list l = { 0 };
        size_t n = json_object_array_length(arr);
        l.items = xcalloc(n ? n : 1, sizeof(*l.items));
        for (size_t i = 0; i < n; i++) {
                struct json_object *p = json_object_array_get_idx(arr, i);
                const char *name = json_str(p, "name");
                if (!name)
                        continue;
                struct pkg_entry *e = &l.items[l.n++];
                e->name = xstrdup(name);
                const char *s;
                e->version = (s = json_str(p, "version")) ? xstrdup(s) : NULL;
                e->architecture = (s = json_str(p, "architecture")) ? xstrdup(s) : NULL;
                e->source = (s = json_str(p, "source")) ? xstrdup(s) : NULL;
                e->license = (s = json_str(p, "license")) ? xstrdup(s) : NULL;
                int64_t sz = json_int(p, "installed_size", 0);
                e->installed_size = sz > 0 ? (uint64_t)sz : 0;
        }
        if (ret_backend) {
                const char *b = json_str(root, "backend");
                *ret_backend = b ? xstrdup(b) : NULL;
        }
        json_object_put(root);
        pkg_list_sort(&l);
        *ret = l;
        return 0;
}

/* ---- the tree walk ---- */

struct file_rec {
        char *path;             /* "/usr/bin/bash" */
        dev_t dev;
        ino_t ino;
        uint64_t size;
        long owner;             /* package index, -1 = none */
        bool counted;           /* first path of its inode */
};

struct scan {
        struct file_rec *f;
        size_t n, cap;
        /* (dev, ino) -> index of the counted record; open addressing */
        size_t *slots;          /* index + 1; 0 = empty */
        size_t n_slots;
};

static int walk_dir(struct scan *s, int dirfd, const char *rel, dev_t dev) {
        DIR *d = fdopendir(dirfd);
        if (!d) {
                int r = -errno;
                close(dirfd);
                return r;
        }
        struct dirent *de;
        int r = 0;
        errno = 0;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                _cleanup_free_ char *path = xasprintf("%s/%s", rel, de->d_name);
                if (S_ISDIR(st.st_mode)) {
                        if (st.st_dev != dev)
                                continue;   /* a mount inside the tree is not the image's */
                        int fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0) {
                                r = -errno;
                                break;
                        }
                        r = walk_dir(s, fd, path, dev);
                } else if (S_ISREG(st.st_mode)) {
                        if (s->n == s->cap)
                                s->f = xrealloc(s->f, (s->cap = s->cap ? s->cap * 2 : 4096) * sizeof(*s->f));
                        s->f[s->n++] = (struct file_rec) { .path = TAKE_PTR(path), .dev = st.st_dev, .ino = st.st_ino,
                                                           .size = (uint64_t)st.st_size, .owner = -1 };
                }
                errno = 0;
        }
        if (r == 0 && errno != 0)
                r = -errno;
        closedir(d);
        return r;
}

static int rec_cmp(const void *a, const void *b) {
        return strcmp(((const struct file_rec *)a)->path, ((const struct file_rec *)b)->path);
}

static size_t inode_hash(dev_t dev, ino_t ino) {
        uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ULL ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4FULL;
        return (size_t)(h ^ (h >> 29));
}

/* The counted record of an inode, or -1. */
static long inode_find(const struct scan *s, dev_t dev, ino_t ino) {
        for (size_t i = inode_hash(dev, ino) % s->n_slots;; i = (i + 1) % s->n_slots) {
                size_t v = s->slots[i];
                if (v == 0)
                        return -1;
                if (s->f[v - 1].dev == dev && s->f[v - 1].ino == ino)
                        return (long)(v - 1);
        }
}

static void scan_index(struct scan *s) {
        qsort(s->f, s->n, sizeof(*s->f), rec_cmp);
        s->n_slots = s->n * 2 + 1;
        s->slots = xcalloc(s->n_slots, sizeof(size_t));
        for (size_t k = 0; k < s->n; k++) {
                if (inode_find(s, s->f[k].dev, s->f[k].ino) >= 0)
                        continue;   /* another name of a counted inode */
                s->f[k].counted = true;
                size_t i = inode_hash(s->f[k].dev, s->f[k].ino) % s->n_slots;
                while (s->slots[i])
                        i = (i + 1) % s->n_slots;
                s->slots[i] = k + 1;
        }
}

static void scan_free(struct scan *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->f[i].path);
        free(s->f);
        free(s->slots);
}

static long pkg_index(const struct pkg_list *l, const char *name) {
        size_t lo = 0, hi = l ? l->n : 0;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(l->items[mid].name, name);
                if (c == 0) {
                        while (mid > 0 && strcmp(l->items[mid - 1].name, name) == 0)
                                mid--;
                        return (long)mid;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

static int str_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A dpkg file list larger than this is not one. */
#define SIZE_LIST_MAX (UINT64_C(64) << 20)

/* Assigns files to packages from the dpkg file lists.  Returns 1 when the
 * tree has a dpkg database, 0 when not.  The lists and the paths they name
 * are looked up through the tree's resolver (lib/tree.h), never as host
 * paths. */
static int scan_owners(struct scan *s, int root_fd, const struct pkg_list *pkgs) {
        DIR *d = NULL;
        if (tree_opendir(root_fd, "/var/lib/dpkg/info", &d) < 0)
                return 0;
        _cleanup_strv_free_ char **lists = NULL;
        struct dirent *de;
        while ((de = readdir(d)))
                if (endswith(de->d_name, ".list"))
                        strv_push(&lists, de->d_name);
        closedir(d);
        if (lists)
                qsort(lists, strv_length(lists), sizeof(char *), str_cmp);
        for (char **l = lists; l && *l; l++) {
                _cleanup_free_ char *name = xstrndup(*l, strlen(*l) - 5);
                name[strcspn(name, ":")] = '\0';
                long pi = pkg_index(pkgs, name);
                if (pi < 0)
                        continue;   /* not in the manifest: its files stay unowned */
                _cleanup_free_ char *lp = xasprintf("/var/lib/dpkg/info/%s", *l), *text = NULL;
                if (tree_read_file(root_fd, lp, SIZE_LIST_MAX, &text, NULL) < 0)
                        continue;
                for (char *line = text, *nl; line && *line; line = nl) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl++ = '\0';
                        if (line[0] != '/' || strstr(line, "/../"))
                                continue;
                        /* Intermediate symlinks (/bin -> usr/bin) are followed,
                         * inside the tree, so usr-merged paths find their file;
                         * the last one is not (O_NOFOLLOW with O_PATH opens
                         * the link itself, which is no regular file). */
                        _cleanup_close_ int fd = tree_open(root_fd, line, O_PATH | O_NOFOLLOW, 0);
                        struct stat st;
                        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                                continue;
                        long k = inode_find(s, st.st_dev, st.st_ino);
                        if (k >= 0 && s->f[k].owner < 0)
                                s->f[k].owner = pi;
                }
        }
        return 1;
}

static uint64_t disk_bytes(uint64_t size) {
        return (size + SIZE_REPORT_BLOCK - 1) / SIZE_REPORT_BLOCK * SIZE_REPORT_BLOCK;
}

struct total {
        uint64_t bytes, disk_bytes, files;
};

static void total_add(struct total *t, uint64_t size) {
        t->bytes += size;
        t->disk_bytes += disk_bytes(size);
        t->files++;
}

static struct json_object *total_json(const struct total *t, struct json_object *o) {
        if (!o)
                o = json_object_new_object();
        json_object_object_add(o, "bytes", json_object_new_int64((int64_t)t->bytes));
        json_object_object_add(o, "disk_bytes", json_object_new_int64((int64_t)t->disk_bytes));
        json_object_object_add(o, "files", json_object_new_int64((int64_t)t->files));
        return o;
}

struct dir_total {
        char *path;
        struct total t;
};

static struct total *dir_get(struct dir_total **dirs, size_t *n, const char *path) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp((*dirs)[i].path, path) == 0)
                        return &(*dirs)[i].t;
        *dirs = xrealloc(*dirs, (*n + 1) * sizeof(**dirs));
        (*dirs)[*n] = (struct dir_total) { .path = xstrdup(path) };
        return &(*dirs)[(*n)++].t;
}

static int dir_cmp(const void *a, const void *b) {
        return strcmp(((const struct dir_total *)a)->path, ((const struct dir_total *)b)->path);
}

/* "/usr/lib/x/y" -> "/usr/lib" (depth 2) or "/usr" (depth 1); a file's own
 * directory when it is shallower ("/boot/vmlinuz" -> "/boot"; "/x" -> "/"). */
static char *dir_key(const char *path, int depth) {
        const char *p = path;
        const char *end = NULL;
        for (int i = 0; i < depth; i++) {
                const char *next = strchr(p + 1, '/');
                if (!next)
                        break;
                end = next;
                p = next;
        }
        return end ? xstrndup(path, (size_t)(end - path)) : xstrdup("/");
}

static int largest_cmp(const void *a, const void *b) {
        const struct file_rec *x = *(const struct file_rec *const *)a, *y = *(const struct file_rec *const *)b;
        if (x->size != y->size)
                return x->size < y->size ? 1 : -1;
        return strcmp(x->path, y->path);
}

static struct json_object *str_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

int size_report_build(const struct size_report_input *in, struct json_object **ret) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "format", json_object_new_int(SIZE_REPORT_FORMAT));
        struct json_object *img = json_object_new_object();
        json_object_object_add(img, "name", str_or_null(in->image_name));
        json_object_object_add(img, "version", str_or_null(in->image_version));
        json_object_object_add(o, "image", img);
        json_object_object_add(o, "accounting", json_object_new_string(
                "regular files only; bytes = st_size; disk_bytes = st_size rounded up to 4096 (ext4 blocks); "
                "hard links counted once, at their first path in byte order; a file belongs to the first package "
                "(by name) whose dpkg file list names it, else it is unowned; filesystems: used_bytes = ext4 blocks "
                "in use including metadata (inode tables, journal), df_used_bytes = what df shows (without them)"));
        json_object_object_add(o, "filesystems", in->filesystems ? json_object_get(in->filesystems) : json_object_new_array());
        json_object_object_add(o, "artifacts", in->artifacts ? json_object_get(in->artifacts) : json_object_new_array());

        struct scan s = { 0 };
        int have_dpkg = 0;
        if (in->tree) {
                _cleanup_close_ int root_fd = tree_root_open(in->tree);
                struct stat st;
                int r = root_fd < 0 ? root_fd : fstat(root_fd, &st) < 0 ? -errno : 0;
                if (r < 0) {
                        json_object_put(o);
                        return log_error_errno(r, "size: cannot open the tree %s", in->tree);
                }
                /* walk_dir never follows a symlink (fstatat
                 * AT_SYMLINK_NOFOLLOW, openat O_NOFOLLOW) and closes
                 * the fd it is given. */
                int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 3);
                r = fd < 0 ? -errno : walk_dir(&s, fd, "", st.st_dev);
                if (r < 0) {
                        scan_free(&s);
                        json_object_put(o);
                        return log_error_errno(r, "size: cannot walk %s", in->tree);
                }
                scan_index(&s);
                have_dpkg = scan_owners(&s, root_fd, in->packages);
        }

        /* Totals, per package, per directory. */
        struct total all = { 0 }, unowned = { 0 };
        size_t np = in->packages ? in->packages->n : 0;
        struct total *per_pkg = xcalloc(np ? np : 1, sizeof(*per_pkg));
        struct dir_total *dirs = NULL;
        size_t n_dirs = 0;
        for (size_t k = 0; k < s.n; k++) {
                if (!s.f[k].counted)
                        continue;
                total_add(&all, s.f[k].size);
                if (s.f[k].owner >= 0)
                        total_add(&per_pkg[s.f[k].owner], s.f[k].size);
                else
                        total_add(&unowned, s.f[k].size);
                for (int depth = 1; depth <= 2; depth++) {
                        _cleanup_free_ char *key = dir_key(s.f[k].path, depth);
                        if (depth == 2 && strchr(key + 1, '/') == NULL)
                                continue;   /* a file directly in a top directory counts at depth 1 only */
                        total_add(dir_get(&dirs, &n_dirs, key), s.f[k].size);
                }
        }
        if (in->tree) {
                struct json_object *t = total_json(&all, NULL);
                json_object_object_add(o, "tree", t);
        } else
                json_object_object_add(o, "tree", NULL);

        struct json_object *pkgs = json_object_new_array();
        for (size_t i = 0; i < np; i++) {
                const struct pkg_entry *e = &in->packages->items[i];
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "name", json_object_new_string(e->name));
                json_object_object_add(p, "version", str_or_null(e->version));
                json_object_object_add(p, "architecture", str_or_null(e->architecture));
                json_object_object_add(p, "installed_size", json_object_new_int64((int64_t)e->installed_size));
                if (have_dpkg)
                        total_json(&per_pkg[i], p);
                else {
                        json_object_object_add(p, "bytes", NULL);
                        json_object_object_add(p, "disk_bytes", NULL);
                        json_object_object_add(p, "files", NULL);
                }
                json_object_array_add(pkgs, p);
        }
        json_object_object_add(o, "packages", pkgs);
        json_object_object_add(o, "unowned", have_dpkg ? total_json(&unowned, NULL) : NULL);

        if (dirs)
                qsort(dirs, n_dirs, sizeof(*dirs), dir_cmp);
        struct json_object *darr = json_object_new_array();
        for (size_t i = 0; i < n_dirs; i++) {
                struct json_object *d = json_object_new_object();
                json_object_object_add(d, "path", json_object_new_string(dirs[i].path));
                int depth = 0;
                for (const char *c = dirs[i].path; *c; c++)
                        depth += *c == '/';
                json_object_object_add(d, "depth", json_object_new_int(strcmp(dirs[i].path, "/") == 0 ? 0 : depth));
                total_json(&dirs[i].t, d);
                json_object_array_add(darr, d);
                free(dirs[i].path);
        }
        free(dirs);
        json_object_object_add(o, "directories", darr);

        /* The largest files. */
        struct file_rec **by_size = xcalloc(s.n ? s.n : 1, sizeof(*by_size));
        size_t nc = 0;
        for (size_t k = 0; k < s.n; k++)
                if (s.f[k].counted)
                        by_size[nc++] = &s.f[k];
        qsort(by_size, nc, sizeof(*by_size), largest_cmp);
        struct json_object *larr = json_object_new_array();
        for (size_t i = 0; i < nc && i < SIZE_REPORT_LARGEST; i++) {
                struct json_object *f = json_object_new_object();
                json_object_object_add(f, "path", json_object_new_string(by_size[i]->path));
                json_object_object_add(f, "bytes", json_object_new_int64((int64_t)by_size[i]->size));
                json_object_object_add(f, "package",
                                       by_size[i]->owner >= 0 ? json_object_new_string(in->packages->items[by_size[i]->owner].name) : NULL);
                json_object_array_add(larr, f);
        }
        json_object_object_add(o, "largest_files", larr);
        free(by_size);
        free(per_pkg);
        scan_free(&s);
        *ret = o;
        return 0;
}

char *size_report_to_string(struct json_object *report) {
        return xasprintf("%s\n", json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                                JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- df's view of ext4 ---- */

int ext4_df_used_bytes(const char *image, uint64_t offset, uint64_t *ret) {
        char opts[64];
        snprintf(opts, sizeof(opts), "offset=%" PRIu64, offset);
        ext2_filsys fs = NULL;
        errcode_t e = ext2fs_open2(image, opts, EXT2_FLAG_64BITS, 0, 0, unix_io_manager, &fs);
        if (e)
                return log_error_errno(-EIO, "%s: cannot open the ext4 at offset %" PRIu64 " (libext2fs error %ld)", image, offset, (long)e);
        *ret = ext4_df_used(fs);
        ext2fs_close_free(&fs);
        return 0;
}

/* ---- budgets ---- */

struct ranked {
        const char *name;
        int64_t bytes;
};

static int ranked_cmp(const void *a, const void *b) {
        const struct ranked *x = a, *y = b;
        if (x->bytes != y->bytes)
                return x->bytes < y->bytes ? 1 : -1;
        return strcmp(x->name, y->name);
}

/* Prints the top n entries of an array by a size key. */
static void print_top(FILE *f, struct json_object *arr, const char *name_key, const char *size_key, int depth, size_t top, const char *title) {
        size_t n = arr ? json_object_array_length(arr) : 0;
        struct ranked *r = xcalloc(n ? n : 1, sizeof(*r));
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(arr, i);
                if (depth >= 0 && json_int(e, "depth", -1) != depth)
                        continue;
                const char *name = json_str(e, name_key);
                int64_t b = json_int(e, size_key, -1);
                if (!name || b < 0)
                        continue;
                r[m++] = (struct ranked) { name, b };
        }
        qsort(r, m, sizeof(*r), ranked_cmp);
        if (m)
                fprintf(f, "  %s:\n", title);
        for (size_t i = 0; i < m && i < top; i++) {
                char buf[32];
                fprintf(f, "    %12s  %s\n", format_bytes((uint64_t)r[i].bytes, buf), r[i].name);
        }
        free(r);
}

static struct json_object *find_named(struct json_object *arr, const char *key, const char *name) {
        size_t n = arr ? json_object_array_length(arr) : 0;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(arr, i);
                const char *v = json_str(e, key);
                if (v && strcmp(v, name) == 0)
                        return e;
        }
        return NULL;
}

int size_budget_check(struct json_object *report, const struct size_limit *limits, size_t n, FILE *f) {
        struct json_object *fss = NULL, *arts = NULL, *pkgs = NULL, *dirs = NULL, *files = NULL;
        json_object_object_get_ex(report, "filesystems", &fss);
        json_object_object_get_ex(report, "artifacts", &arts);
        json_object_object_get_ex(report, "packages", &pkgs);
        json_object_object_get_ex(report, "directories", &dirs);
        json_object_object_get_ex(report, "largest_files", &files);
        struct json_object *out = json_object_new_array();
        int over = 0;
        for (size_t i = 0; i < n; i++) {
                const struct size_limit *l = &limits[i];
                int64_t actual = -1;
                const char *what = NULL;
                _cleanup_free_ char *label = NULL;
                switch (l->kind) {
                case LIMIT_ROOT_USED: {
                        struct json_object *root = find_named(fss, "type", "root");
                        actual = json_int(root, "df_used_bytes", -1);
                        if (actual < 0)
                                actual = json_int(root, "used_bytes", -1);
                        what = "root-used";
                        label = xstrdup("root filesystem used (as df counts it)");
                        break;
                }
                case LIMIT_ARTIFACT:
                        actual = json_int(find_named(arts, "name", l->name), "allocated_bytes", -1);
                        what = "artifact";
                        label = xasprintf("artifact %s (bytes allocated on disk)", l->name);
                        break;
                case LIMIT_PACKAGE: {
                        struct json_object *p = find_named(pkgs, "name", l->name);
                        actual = json_int(p, "disk_bytes", -1);
                        if (actual < 0)
                                actual = json_int(p, "installed_size", -1);
                        what = "package";
                        label = xasprintf("package %s", l->name);
                        break;
                }
                }
                if (actual < 0) {
                        /* a profile error found only now: it names the budget's line */
                        json_object_put(out);
                        return log_error_errno(-ENOENT, "%s%sbudget: %s%s%s: the build has no such %s to measure",
                                               l->origin ? l->origin : "", l->origin ? ": " : "", what, l->name ? " " : "",
                                               l->name ? l->name : "", l->kind == LIMIT_ROOT_USED ? "filesystem" : what);
                }
                bool ok = (uint64_t)actual <= l->max;
                struct json_object *b = json_object_new_object();
                json_object_object_add(b, "kind", json_object_new_string(what));
                json_object_object_add(b, "name", str_or_null(l->name));
                json_object_object_add(b, "limit", json_object_new_int64((int64_t)l->max));
                json_object_object_add(b, "actual", json_object_new_int64(actual));
                json_object_object_add(b, "ok", json_object_new_boolean(ok));
                json_object_array_add(out, b);
                if (ok)
                        continue;
                over++;
                char a[32], m[32], d[32];
                fprintf(f, "budget exceeded: %s is %s, over the limit of %s by %s%s%s\n", label, format_bytes((uint64_t)actual, a),
                        format_bytes(l->max, m), format_bytes((uint64_t)actual - l->max, d), l->origin ? " - set at " : "",
                        l->origin ? l->origin : "");
                if (l->kind == LIMIT_PACKAGE) {
                        /* its own largest files */
                        struct json_object *mine = json_object_new_array();
                        for (size_t k = 0; files && k < json_object_array_length(files); k++) {
                                struct json_object *e = json_object_array_get_idx(files, k);
                                const char *pk = json_str(e, "package");
                                if (pk && strcmp(pk, l->name) == 0)
                                        json_object_array_add(mine, json_object_get(e));
                        }
                        print_top(f, mine, "path", "bytes", -1, 10, "its largest files");
                        json_object_put(mine);
                } else {
                        print_top(f, pkgs, "name", "disk_bytes", -1, 10, "largest packages (bytes they contribute after pruning)");
                        print_top(f, dirs, "path", "disk_bytes", 2, 10, "largest directories");
                        print_top(f, files, "path", "bytes", -1, 5, "largest files");
                }
        }
        json_object_object_add(report, "budget", out);
        return over;
}
