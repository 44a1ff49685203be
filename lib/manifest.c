/* SPDX-License-Identifier: MIT */
#include "manifest.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void pkg_list_free(struct pkg_list *l) {
        for (size_t i = 0; i < l->n; i++) {
                struct pkg_entry *e = &l->items[i];
                free(e->name);
                free(e->version);
                free(e->architecture);
                free(e->source);
                free(e->license);
        }
        free(l->items);
        *l = (struct pkg_list) {};
}

static int cmp_entry(const void *a, const void *b) {
        const struct pkg_entry *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        if (c != 0)
                return c;
        return strcmp(x->architecture ? x->architecture : "", y->architecture ? y->architecture : "");
}

void pkg_list_sort(struct pkg_list *l) {
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(l->items[0]), cmp_entry);
}

static struct pkg_entry *pkg_list_add(struct pkg_list *l) {
        l->items = xrealloc(l->items, (l->n + 1) * sizeof(l->items[0]));
        struct pkg_entry *e = &l->items[l->n++];
        *e = (struct pkg_entry) {};
        return e;
}

static char *strip_dup(const char *s, size_t n) {
        while (n > 0 && isspace((unsigned char)*s))
                s++, n--;
        while (n > 0 && isspace((unsigned char)s[n - 1]))
                n--;
        return xstrndup(s, n);
}

/* One stanza's fields that the manifest needs. */
struct dpkg_stanza {
        char *package, *version, *arch, *source, *status, *size;
};

static void stanza_clear(struct dpkg_stanza *s) {
        free(s->package);
        free(s->version);
        free(s->arch);
        free(s->source);
        free(s->status);
        free(s->size);
        *s = (struct dpkg_stanza) {};
}

static bool status_has_files(const char *status) {
        /* "want flag state": the third word; states with files on disk. */
        const char *state = status ? strrchr(status, ' ') : NULL;
        if (!state)
                return false;
        state++;
        return strcmp(state, "installed") == 0 || strcmp(state, "half-configured") == 0 ||
               strcmp(state, "unpacked") == 0 || strcmp(state, "triggers-awaited") == 0 ||
               strcmp(state, "triggers-pending") == 0;
}

static int stanza_flush(struct dpkg_stanza *s, struct pkg_list *l) {
        int r = 0;
        if (s->package && status_has_files(s->status)) {
                struct pkg_entry *e = pkg_list_add(l);
                e->name = TAKE_PTR(s->package);
                e->version = s->version ? TAKE_PTR(s->version) : xstrdup("");
                e->architecture = s->arch ? TAKE_PTR(s->arch) : xstrdup("");
                if (s->source) {
                        /* "Source: glibc (2.41-6)": the source version differs; keep the name. */
                        size_t n = strcspn(s->source, " (");
                        e->source = xstrndup(s->source, n);
                } else
                        e->source = xstrdup(e->name);
                if (s->size) {
                        char *end;
                        errno = 0;
                        unsigned long long kib = strtoull(s->size, &end, 10);
                        if (errno || *end || end == s->size)
                                r = -EINVAL;
                        else
                                e->installed_size = (uint64_t)kib * 1024;
                }
        }
        stanza_clear(s);
        return r;
}

int dpkg_status_parse(const char *text, struct pkg_list *ret) {
        struct pkg_list l = {};
        struct dpkg_stanza s = {};
        int r = 0;
        const char *p = text;
        while (*p) {
                const char *eol = strchrnul(p, '\n');
                size_t n = (size_t)(eol - p);
                if (n == 0 || (n == 1 && p[0] == '\r')) {
                        if (stanza_flush(&s, &l) < 0)
                                r = -EINVAL;
                } else if (p[0] != ' ' && p[0] != '\t') {
                        const char *colon = memchr(p, ':', n);
                        if (colon) {
                                size_t klen = (size_t)(colon - p);
                                char **field = NULL;
#define FIELD(name, member) else if (klen == strlen(name) && strncasecmp(p, name, klen) == 0) field = &s.member
                                if (0) {}
                                FIELD("Package", package);
                                FIELD("Version", version);
                                FIELD("Architecture", arch);
                                FIELD("Source", source);
                                FIELD("Status", status);
                                FIELD("Installed-Size", size);
#undef FIELD
                                if (field) {
                                        free(*field);
                                        *field = strip_dup(colon + 1, (size_t)(eol - colon - 1));
                                }
                        }
                }
                p = *eol ? eol + 1 : eol;
        }
        if (stanza_flush(&s, &l) < 0)
                r = -EINVAL;
        if (r < 0) {
                pkg_list_free(&l);
                return r;
        }
        pkg_list_sort(&l);
        *ret = l;
        return 0;
}

char *copyright_license(const char *text) {
        /* DEP-5 files start with a Format: field naming the spec. */
        const char *p = text;
        while (*p == '\n' || *p == '\r' || *p == ' ')
                p++;
        if (strncasecmp(p, "Format:", 7) != 0)
                return NULL;
        char **names = NULL;
        for (p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                if (strncasecmp(p, "License:", 8) == 0) {
                        _cleanup_free_ char *v = strip_dup(p + 8, (size_t)(eol - p - 8));
                        /* The first line is the short name; following indented
                         * lines are the text. */
                        if (*v && !strv_contains(names, v))
                                strv_push(&names, v);
                }
                p = *eol ? eol + 1 : eol;
        }
        if (!names)
                return NULL;
        size_t len = 0;
        for (size_t i = 0; names[i]; i++)
                len += strlen(names[i]) + 5;
        char *joined = xmalloc(len + 1);
        joined[0] = '\0';
        for (size_t i = 0; names[i]; i++) {
                if (i > 0)
                        strcat(joined, " AND ");
                strcat(joined, names[i]);
        }
        strv_free(names);
        return joined;
}

/* A dpkg status file or a copyright file larger than this is not one. */
#define MANIFEST_FILE_MAX (UINT64_C(256) << 20)

int manifest_from_dpkg_tree(const char *tree, struct pkg_list *ret) {
        /* Every file is read through the tree's resolver (lib/tree.h): a
         * symlink in it (/usr/share/doc/foo -> /usr/share/doc/bar, or one
         * planted to name a host file) resolves inside the tree. */
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "could not open the tree %s", tree);
        _cleanup_free_ char *text = NULL;
        int r = tree_read_file(root_fd, "/var/lib/dpkg/status", MANIFEST_FILE_MAX, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "could not read %s/var/lib/dpkg/status", tree);
        struct pkg_list l;
        r = dpkg_status_parse(text, &l);
        if (r < 0)
                return log_error_errno(r, "could not parse %s/var/lib/dpkg/status", tree);
        for (size_t i = 0; i < l.n; i++) {
                /* Multi-Arch: same packages share /usr/share/doc/<name>. */
                _cleanup_free_ char *rel = xasprintf("/usr/share/doc/%s/copyright", l.items[i].name);
                _cleanup_free_ char *c = NULL;
                struct stat st;
                /* A symlinked doc directory is followed (inside the tree); a
                 * copyright file that is itself a symlink is skipped
                 * (licence unknown). */
                if (tree_lstat(root_fd, rel, &st) == 0 && S_ISREG(st.st_mode) &&
                    tree_read_file(root_fd, rel, MANIFEST_FILE_MAX, &c, NULL) == 0)
                        l.items[i].license = copyright_license(c);
        }
        *ret = l;
        return 0;
}

static char *field_or_null(const char *s, size_t n) {
        char *v = strip_dup(s, n);
        if (*v == '\0' || strcmp(v, "(none)") == 0) {
                free(v);
                return NULL;
        }
        return v;
}

int rpm_query_parse(const char *text, struct pkg_list *ret) {
        struct pkg_list l = {};
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                const char *f[7];
                size_t nf = 0;
                f[nf++] = p;
                for (const char *c = p; c < eol && nf < 6; c++)
                        if (*c == '\t')
                                f[nf++] = c + 1;
                f[nf] = eol + 1;   /* one past the end of the last field, as if a tab followed */
                if (eol > p && nf == 6) {
                        struct pkg_entry *e = pkg_list_add(&l);
                        e->name = strip_dup(f[0], (size_t)(f[1] - f[0] - 1));
                        e->version = strip_dup(f[1], (size_t)(f[2] - f[1] - 1));
                        e->architecture = strip_dup(f[2], (size_t)(f[3] - f[2] - 1));
                        _cleanup_free_ char *size = strip_dup(f[3], (size_t)(f[4] - f[3] - 1));
                        e->installed_size = strtoull(size, NULL, 10);
                        /* bash-5.2.26-3.src.rpm -> bash: drop ".src.rpm", then
                         * the last two dash-separated parts (version, release). */
                        _cleanup_free_ char *srpm = field_or_null(f[4], (size_t)(f[5] - f[4] - 1));
                        if (srpm && endswith(srpm, ".src.rpm")) {
                                srpm[strlen(srpm) - 8] = '\0';
                                for (int k = 0; k < 2; k++) {
                                        char *dash = strrchr(srpm, '-');
                                        if (dash)
                                                *dash = '\0';
                                }
                                e->source = xstrdup(srpm);
                        } else
                                e->source = xstrdup(e->name);
                        e->license = field_or_null(f[5], (size_t)(f[6] - f[5] - 1));
                } else if (eol > p)
                        log_debug("rpm: ignoring line '%.*s'", (int)(eol - p), p);
                p = *eol ? eol + 1 : eol;
        }
        pkg_list_sort(&l);
        *ret = l;
        return 0;
}

/* rpm's database inside a tree: Fedora's current place, then the classic one. */
static const char *const rpm_dbpaths[] = { "/usr/lib/sysimage/rpm", "/var/lib/rpm" };

/* The first of rpm_dbpaths holding a database, canonical inside the tree
 * (rpm joins --root and --dbpath as host paths, so a symlinked
 * /var/lib/rpm would otherwise have it read the host's database), or NULL.
 * The database files must be the tree's own regular files. */
static char *tree_rpm_dbpath(int root_fd) {
        for (size_t i = 0; i < ELEMENTSOF(rpm_dbpaths); i++) {
                _cleanup_free_ char *canon = NULL;
                if (tree_resolve(root_fd, rpm_dbpaths[i], 0, NULL, NULL, &canon) < 0)
                        continue;
                static const char *const files[] = { "rpmdb.sqlite", "Packages" };
                for (size_t k = 0; k < ELEMENTSOF(files); k++) {
                        _cleanup_free_ char *db = path_join(canon, files[k]);
                        struct stat st;
                        if (tree_lstat(root_fd, db, &st) == 0 && S_ISREG(st.st_mode))
                                return TAKE_PTR(canon);
                }
        }
        return NULL;
}

int manifest_from_rpm_tree(const char *tree, struct pkg_list *ret) {
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "could not open the tree %s", tree);
        _cleanup_free_ char *out = NULL, *dbpath = tree_rpm_dbpath(root_fd);
        if (!dbpath)
                return log_error_errno(-ENOENT, "no rpm database in %s (looked in usr/lib/sysimage/rpm, var/lib/rpm)", tree);
        /* --dbpath is relative to --root; explicit because Debian's rpm
         * defaults to ~/.rpmdb. */
        char *argv[] = { "rpm", "--root", (char *)tree, "--dbpath", dbpath, "-qa",
                         "--queryformat", RPM_MANIFEST_QUERYFORMAT, NULL };
        int r = run_command(argv, &(struct run_opts) { .stdin_fd = -1, .capture_stdout = true, .out = &out });
        if (r < 0)
                return log_error_errno(r, "could not list the rpm packages of %s", tree);
        return rpm_query_parse(out, ret);
}

int manifest_from_tree(const char *tree, struct pkg_list *ret) {
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "could not open the tree %s", tree);
        if (tree_exists(root_fd, "/var/lib/dpkg/status"))
                return manifest_from_dpkg_tree(tree, ret);
        _cleanup_free_ char *rpmdb = tree_rpm_dbpath(root_fd);
        if (rpmdb)
                return manifest_from_rpm_tree(tree, ret);
        log_info("no package database in %s: the manifest is empty", tree);
        *ret = (struct pkg_list) {};
        return 0;
}

int manifest_write_json(const char *path, const char *backend, const struct pkg_list *l) {
        struct json_object *root = json_object_new_object();
        json_object_object_add(root, "format", json_object_new_int(1));
        json_object_object_add(root, "backend", json_object_new_string(backend));
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < l->n; i++) {
                const struct pkg_entry *e = &l->items[i];
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string(e->name));
                json_object_object_add(o, "version", json_object_new_string(e->version ? e->version : ""));
                json_object_object_add(o, "architecture", json_object_new_string(e->architecture ? e->architecture : ""));
                json_object_object_add(o, "installed_size", json_object_new_int64((int64_t)e->installed_size));
                json_object_object_add(o, "source", json_object_new_string(e->source ? e->source : e->name));
                json_object_object_add(o, "license", e->license ? json_object_new_string(e->license) : NULL);
                json_object_array_add(arr, o);
        }
        json_object_object_add(root, "packages", arr);
        const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        _cleanup_free_ char *text = xasprintf("%s\n", s);
        json_object_put(root);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp", path);
        int r = write_file(tmp, text, strlen(text), 0644);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return log_error_errno(r, "could not write %s", path);
        }
        return 0;
}
