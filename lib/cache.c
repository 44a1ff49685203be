/* SPDX-License-Identifier: MIT */
#include "cache.h"
#include "derive.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

char *cache_default_dir(void) {
        const char *e = getenv("SLIPWAY_CACHE");
        if (e && *e)
                return xstrdup(e);
        if (geteuid() == 0)
                return xstrdup("/var/cache/slipway");
        e = getenv("XDG_CACHE_HOME");
        if (e && *e == '/')
                return path_join(e, "slipway");
        e = getenv("HOME");
        if (e && *e == '/')
                return xasprintf("%s/.cache/slipway", e);
        return xasprintf("/var/tmp/slipway-cache-%u", (unsigned)geteuid());
}

static void key_append(struct cache_key *k, const char *s) {
        size_t n = strlen(s);
        if (k->len + n + 1 > k->cap) {
                k->cap = MAX(k->cap * 2, k->len + n + 1 + 256);
                k->text = xrealloc(k->text, k->cap);
        }
        memcpy(k->text + k->len, s, n + 1);
        k->len += n;
}

/* Values are written escaped so that no value can forge another line or
 * list element. */
static void key_append_escaped(struct cache_key *k, const char *s) {
        char buf[5];
        for (; *s; s++) {
                if (*s == '\\' || *s == ',' || *s == '\n' || (unsigned char)*s < 0x20) {
                        snprintf(buf, sizeof(buf), "\\x%02x", (unsigned char)*s);
                        key_append(k, buf);
                } else {
                        buf[0] = *s;
                        buf[1] = '\0';
                        key_append(k, buf);
                }
        }
}

void cache_key_add(struct cache_key *k, const char *name, const char *value) {
        key_append(k, name);
        if (!value) {
                key_append(k, "!\n");   /* unset differs from "" */
                return;
        }
        key_append(k, "=");
        key_append_escaped(k, value);
        key_append(k, "\n");
}

void cache_key_add_strv(struct cache_key *k, const char *name, char *const *values) {
        key_append(k, name);
        key_append(k, values ? "[]=" : "[]!");
        for (size_t i = 0; values && values[i]; i++) {
                if (i > 0)
                        key_append(k, ",");
                key_append_escaped(k, values[i]);
        }
        key_append(k, "\n");
}

void cache_key_add_u64(struct cache_key *k, const char *name, uint64_t value) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%" PRIu64, value);
        cache_key_add(k, name, buf);
}

void cache_key_hex(const struct cache_key *k, char out[65]) {
        sha256_hex(k->text ? k->text : "", k->len, out);
}

void cache_key_done(struct cache_key *k) {
        free(k->text);
        *k = (struct cache_key) {};
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape_mountinfo(char *s) {
        char *w = s;
        for (char *r = s; *r;) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
                        *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 4;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
}

int rm_rf_unmounted(const char *path) {
        char real[PATH_MAX];
        if (!realpath(path, real))
                return errno == ENOENT ? 0 : -errno;
        _cleanup_free_ char *text = NULL;
        int r = read_file("/proc/self/mountinfo", &text, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read /proc/self/mountinfo; not removing %s", real);
        size_t rl = strlen(real);
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                /* id parent major:minor root MOUNTPOINT ... */
                char *save = NULL, *f = strtok_r(line, " ", &save);
                for (int i = 0; f && i < 4; i++)
                        f = strtok_r(NULL, " ", &save);
                if (!f)
                        continue;
                unescape_mountinfo(f);
                if (strncmp(f, real, rl) == 0 && (f[rl] == '\0' || f[rl] == '/'))
                        return log_error_errno(-EBUSY, "not removing %s: %s is still mounted (umount it first)", real, f);
        }
        /* What is removed is an image tree (or holds one): by file
         * descriptors from its parent, never following a symlink and never
         * leaving its filesystem (lib/tree.h), whatever the tree holds. */
        char *slash = strrchr(real, '/');
        if (!slash || slash[1] == '\0')
                return log_error_errno(-EBUSY, "not removing %s", real);
        _cleanup_free_ char *name = xstrdup(slash + 1);
        if (slash == real)
                slash[1] = '\0';       /* a directory in "/" */
        else
                *slash = '\0';
        _cleanup_close_ int dir_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        return tree_remove_at(dir_fd, name, TREE_RM_DIR);
}

int cache_remove_stale_tmp(const char *rootfs_dir, bool all) {
        DIR *d = opendir(rootfs_dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int removed = 0, r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!startswith(de->d_name, ".tmp-"))
                        continue;
                /* .tmp-<key>-<pid>: keep the directory of a build still running. */
                const char *dash = strrchr(de->d_name, '-');
                long pid = dash ? strtol(dash + 1, NULL, 10) : 0;
                if (!all && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
                        continue;
                _cleanup_free_ char *p = path_join(rootfs_dir, de->d_name);
                int k = rm_rf_unmounted(p);
                if (k < 0)
                        r = log_warning_errno(k, "could not remove stale %s", p);
                else {
                        log_debug("removed stale %s", p);
                        removed++;
                }
        }
        closedir(d);
        return r < 0 ? r : removed;
}

int copy_tree(const char *src, const char *dst) {
        /* "src/." copies the content, so dst gets src's own mode and owner. */
        _cleanup_free_ char *from = path_join(src, ".");
        char *argv[] = { "cp", "-a", "--reflink=auto", from, (char *)dst, NULL };
        return run_command(argv, &(struct run_opts) { .stdin_fd = -1 });
}

/* overlayfs takes its directories in one comma-separated option string;
 * a path with a comma, colon, backslash or blank would need escaping, and
 * such a path simply gets the copy instead. */
static bool overlay_path_ok(const char *p) {
        return strpbrk(p, ",:\\ \t\n") == NULL;
}

int tree_overlay_mount(const char *lower, const char *scratch, const char *target) {
        struct stat sl, ss;
        if (stat(lower, &sl) < 0 || stat(scratch, &ss) < 0)
                return -errno;
        /* On one filesystem, overlayfs reports every file's real inode
         * number: hard links stay recognisable for mke2fs -d and mkfs.erofs.
         * Across filesystems (without xino) numbers of the two layers
         * could collide. */
        if (sl.st_dev != ss.st_dev)
                return -EXDEV;
        if (!overlay_path_ok(lower) || !overlay_path_ok(scratch) || !overlay_path_ok(target))
                return -EINVAL;
        _cleanup_free_ char *upper = path_join(scratch, "upper"), *work = path_join(scratch, "work");
        if ((mkdir(upper, 0755) < 0 && errno != EEXIST) || (mkdir(work, 0700) < 0 && errno != EEXIST) ||
            (mkdir(target, 0755) < 0 && errno != EEXIST))
                return -errno;
        _cleanup_free_ char *opts = xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
        if (mount("overlay", target, "overlay", 0, opts) == 0)
                return 0;
        int r = -errno;
        /* In a user namespace overlayfs keeps its whiteouts and opaque
         * markers in user.* xattrs (Linux 5.11+). */
        _cleanup_free_ char *uopts = xasprintf("%s,userxattr", opts);
        if (mount("overlay", target, "overlay", 0, uopts) == 0)
                return 0;
        return r;
}

int tree_disk_usage(const char *path, uint64_t *ret) {
        char *paths[] = { (char *)path, NULL };
        FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR, NULL);
        if (!fts)
                return -errno;
        uint64_t total = 0;
        FTSENT *e;
        while ((e = fts_read(fts))) {
                if (e->fts_info == FTS_DP || !e->fts_statp)
                        continue;
                if (e->fts_info == FTS_NS || e->fts_info == FTS_ERR || e->fts_info == FTS_DNR)
                        continue;
                total += (uint64_t)e->fts_statp->st_blocks * 512;
        }
        fts_close(fts);
        *ret = total;
        return 0;
}

static const char *json_str(struct json_object *o, const char *key) {
        struct json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v))
                return NULL;
        return json_object_get_string(v);
}

int cache_list(const char *cache_dir, FILE *out) {
        _cleanup_free_ char *rootfs_dir = path_join(cache_dir, "rootfs");
        DIR *d = opendir(rootfs_dir);
        fprintf(out, "cache: %s\n", cache_dir);
        fprintf(out, "%-12s  %-7s  %-12s  %10s  %s\n", "KEY", "BACKEND", "RELEASE", "SIZE", "DATE");
        size_t n = 0;
        if (d) {
                struct dirent *de;
                char **names = NULL;
                while ((de = readdir(d)))
                        if (de->d_name[0] != '.')
                                strv_push(&names, de->d_name);
                closedir(d);
                if (names)
                        strv_sort(names);
                for (size_t i = 0; names && names[i]; i++) {
                        _cleanup_free_ char *entry = path_join(rootfs_dir, names[i]);
                        _cleanup_free_ char *meta = path_join(entry, "entry.json");
                        struct json_object *j = json_object_from_file(meta);
                        struct stat st;
                        uint64_t size = 0;
                        char when[32] = "?", sz[32];
                        if (stat(entry, &st) == 0) {
                                struct tm tm;
                                gmtime_r(&st.st_mtime, &tm);
                                strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
                        }
                        (void)tree_disk_usage(entry, &size);
                        const char *backend = json_str(j, "backend"), *release = json_str(j, "release");
                        /* entry.json is the cache's: anyone who could write it
                         * must not drive the terminal through it */
                        _cleanup_free_ char *sname = term_escaped(names[i]), *sbackend = term_escaped(backend ? backend : "?"),
                                            *srelease = term_escaped(release ? release : "-");
                        fprintf(out, "%-12.12s  %-7s  %-12s  %10s  %s\n", sname, sbackend, srelease, format_bytes(size, sz), when);
                        json_object_put(j);
                        n++;
                }
                strv_free(names);
        }
        static const char *const download_dirs[] = { "apt", "dnf" };
        for (size_t i = 0; i < ELEMENTSOF(download_dirs); i++) {
                _cleanup_free_ char *p = path_join(cache_dir, download_dirs[i]);
                uint64_t size = 0;
                char sz[32];
                if (access(p, F_OK) == 0 && tree_disk_usage(p, &size) == 0)
                        fprintf(out, "downloads %s: %s\n", download_dirs[i], format_bytes(size, sz));
        }
        fprintf(out, "%zu rootfs entr%s\n", n, n == 1 ? "y" : "ies");
        return 0;
}

int cache_clean(const char *cache_dir) {
        static const char *const subdirs[] = { "rootfs", "apt", "dnf" };
        int r = 0;
        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = path_join(cache_dir, subdirs[i]);
                int k = rm_rf_unmounted(p);
                if (k < 0)
                        r = log_error_errno(k, "could not remove %s", p);
                else
                        log_info("removed %s", p);
        }
        return r;
}
