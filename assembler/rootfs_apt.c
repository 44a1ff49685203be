/* SPDX-License-Identifier: MIT */
/* The apt backend: mmdebstrap.
 *
 * Package downloads are shared between builds through <cache>/apt/archives:
 * mmdebstrap's own sync-in/sync-out special hooks copy <cache>/apt into the
 * chroot's /var/cache/apt (which exists when setup hooks run; archives/ does
 * not yet) before apt runs, and copy /var/cache/apt/archives back before the
 * cleanup step empties it (--skip=essential/unlink keeps the essential set's
 * .debs until then).  The hooks are mmdebstrap's words, parsed by its
 * shellwords(); the cache path is single-quoted for it, and no shell is run.
 *
 * The mode is root: real root, or root of the user namespace that an
 * unprivileged build enters first (lib/userns.c says why not mmdebstrap's
 * own unshare mode); unshare only for a non-root caller outside one.
 * SLIPWAY_APT_MODE=chrootless (or root/unshare) overrides it: the offline
 * fixture test uses chrootless with --variant=custom, which needs no dpkg
 * inside the tree.
 *
 * distribution.repositories are further sources after the mirror (a vendor
 * or a local repository); the mirror itself stays the host's by default. */
#include "rootfs.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "userns.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>

/* --- the host's apt sources ------------------------------------------- */

struct apt_source {
        char *uri, *suite;
        char **components;
};

static bool source_is_main_debian(const struct apt_source *s) {
        if (!s->uri || !s->suite || !strv_contains(s->components, "main"))
                return false;
        /* The security archive carries only updates, never a whole release. */
        if (strstr(s->suite, "-security") || strstr(s->uri, "debian-security"))
                return false;
        return startswith(s->uri, "http://") || startswith(s->uri, "https://") || startswith(s->uri, "file:/") ||
               startswith(s->uri, "copy:/");
}

static void source_clear(struct apt_source *s) {
        free(s->uri);
        free(s->suite);
        strv_free(s->components);
        *s = (struct apt_source) {};
}

static char **split_words(const char *s) {
        char **l = NULL;
        while (*s) {
                s += strspn(s, " \t\r");
                size_t n = strcspn(s, " \t\r");
                if (n == 0)
                        break;
                char *w = xstrndup(s, n);
                strv_push(&l, w);
                free(w);
                s += n;
        }
        return l;
}

/* One-line format: deb [opts] uri suite comp... */
static int parse_list_file(const char *text, char **ret) {
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                _cleanup_free_ char *line = xstrndup(p, (size_t)(eol - p));
                p = *eol ? eol + 1 : eol;
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = '\0';
                /* Drop "[ ... ]" options. */
                char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
                if (open && close)
                        memmove(open, close + 1, strlen(close + 1) + 1);
                _cleanup_strv_free_ char **w = split_words(line);
                if (strv_length(w) < 4 || strcmp(w[0], "deb") != 0)
                        continue;
                struct apt_source s = { .uri = xstrdup(w[1]), .suite = xstrdup(w[2]), .components = strv_copy(w + 3) };
                bool ok = source_is_main_debian(&s);
                if (ok)
                        *ret = TAKE_PTR(s.uri);
                source_clear(&s);
                if (ok)
                        return 1;
        }
        return 0;
}

/* deb822 format: stanzas of Types/URIs/Suites/Components/Enabled. */
static int parse_sources_file(const char *text, char **ret) {
        const char *p = text;
        while (*p) {
                _cleanup_strv_free_ char **types = NULL, **uris = NULL, **suites = NULL, **comps = NULL;
                bool enabled = true;
                /* one stanza */
                while (*p) {
                        const char *eol = strchrnul(p, '\n');
                        _cleanup_free_ char *line = xstrndup(p, (size_t)(eol - p));
                        p = *eol ? eol + 1 : eol;
                        if (line[strspn(line, " \t\r")] == '\0')
                                break;
                        if (line[0] == '#' || line[0] == ' ' || line[0] == '\t')
                                continue;
                        char *colon = strchr(line, ':');
                        if (!colon)
                                continue;
                        *colon = '\0';
                        char ***dst = NULL;
                        if (strcasecmp(line, "Types") == 0)
                                dst = &types;
                        else if (strcasecmp(line, "URIs") == 0)
                                dst = &uris;
                        else if (strcasecmp(line, "Suites") == 0)
                                dst = &suites;
                        else if (strcasecmp(line, "Components") == 0)
                                dst = &comps;
                        else if (strcasecmp(line, "Enabled") == 0) {
                                _cleanup_strv_free_ char **v = split_words(colon + 1);
                                enabled = !(v && (strcasecmp(v[0], "no") == 0 || strcasecmp(v[0], "false") == 0));
                        }
                        if (dst) {
                                strv_free(*dst);
                                *dst = split_words(colon + 1);
                        }
                }
                if (!enabled || !strv_contains(types, "deb"))
                        continue;
                for (size_t u = 0; uris && uris[u]; u++)
                        for (size_t s = 0; suites && suites[s]; s++) {
                                struct apt_source src = { .uri = uris[u], .suite = suites[s], .components = comps };
                                if (source_is_main_debian(&src)) {
                                        *ret = xstrdup(uris[u]);
                                        return 1;
                                }
                        }
        }
        return 0;
}

int apt_host_mirror(const char *root, char **ret) {
        _cleanup_free_ char *list = path_join(root, "etc/apt/sources.list");
        _cleanup_free_ char *dir = path_join(root, "etc/apt/sources.list.d");
        _cleanup_free_ char *text = NULL;
        if (read_file(list, &text, NULL) == 0 && parse_list_file(text, ret) > 0)
                return 0;
        _cleanup_strv_free_ char **names = NULL;
        if (dir_entries_sorted(dir, &names) < 0)
                return -ENOENT;
        int r = -ENOENT;
        for (size_t i = 0; names && names[i] && r < 0; i++) {
                if (!endswith(names[i], ".list") && !endswith(names[i], ".sources"))
                        continue;
                _cleanup_free_ char *path = path_join(dir, names[i]);
                _cleanup_free_ char *t = NULL;
                if (read_file(path, &t, NULL) < 0)
                        continue;
                if ((endswith(names[i], ".list") ? parse_list_file(t, ret) : parse_sources_file(t, ret)) > 0)
                        r = 0;
        }
        return r;
}

int apt_resolve_mirror(const struct build_ctx *ctx, char **ret) {
        if (ctx->mirror_override && *ctx->mirror_override) {
                *ret = xstrdup(ctx->mirror_override);
                return 0;
        }
        if (ctx->profile->distribution.mirror && *ctx->profile->distribution.mirror) {
                *ret = xstrdup(ctx->profile->distribution.mirror);
                return 0;
        }
        int r = apt_host_mirror("/", ret);
        if (r < 0)
                return log_error_errno(r, "rootfs: no mirror: the host's apt sources (/etc/apt/sources.list, "
                                          "/etc/apt/sources.list.d/) name no Debian archive with 'main'; "
                                          "set distribution.mirror or pass --mirror URL");
        return 0;
}

/* What apt_install reads from mmdebstrap's stderr as it runs. */
struct apt_output {
        bool count;             /* count "Setting up" lines on the progress line */
        char *errors;           /* apt's and mmdebstrap's "E: " lines */
};

static void apt_output_line(const char *line, void *userdata) {
        struct apt_output *o = userdata;
        if (o->count && startswith(line, "Setting up "))
                progress_count_add(1);
        if (startswith(line, "E: ")) {
                char *e = xasprintf("%s%s\n", o->errors ? o->errors : "", line);
                free(o->errors);
                o->errors = e;
        }
}

char *apt_error_line(const char *text) {
        if (!text)
                return NULL;
        const char *generic = NULL;
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                size_t n = (size_t)(eol - p);
                if (startswith(p, "E: ")) {
                        /* mmdebstrap's own last words ("E: apt-get --yes ...
                         * failed") say less than apt's line before them. */
                        _cleanup_free_ char *line = xstrndup(p, n);
                        if (!startswith(line, "E: apt-get ") && !startswith(line, "E: mmdebstrap") &&
                            !startswith(line, "E: run_"))
                                return TAKE_PTR(line);
                        if (!generic)
                                generic = p;
                }
                p = *eol ? eol + 1 : eol;
        }
        return generic ? xstrndup(generic, strcspn(generic, "\n")) : NULL;
}

/* --- what mmdebstrap leaves of the build host ---------------------------- */

/* True when the tree's PATH is a regular file with the bytes of the host's
 * HOST_PATH (a copy mmdebstrap, or a package backing it up, made). */
static bool is_host_copy(int root_fd, const char *path, const char *host_path) {
        struct stat st;
        if (tree_lstat(root_fd, path, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        _cleanup_free_ char *mine = NULL, *host = NULL;
        size_t mine_len = 0, host_len = 0;
        if (tree_read_file(root_fd, path, 1 << 20, &mine, &mine_len) < 0 || read_file(host_path, &host, &host_len) < 0)
                return false;
        return mine_len == host_len && memcmp(mine, host, mine_len) == 0;
}

/* mmdebstrap copies the build host's /etc/resolv.conf and /etc/hostname
 * into the tree (its "allow network access from within", with the host's
 * mode), and systemd-resolved's postinst then keeps the copied resolv.conf
 * as a backup; it writes the mirror it installed from into
 * /etc/apt/sources.list (or sources.list.d/0000main.*, 0001main.*, ... for
 * further sources) and its --aptopt options (this build's retries and
 * timeouts) into /etc/apt/apt.conf.d/99mmdebstrap.  None of it is the
 * image's: removed here, before the tree goes into the cache, so a cache
 * entry holds nothing of the host that made it.  What the image has
 * instead: no /etc/hostname (systemd's fallback, "localhost") unless the
 * profile sets hostname:, no /etc/resolv.conf unless a package made one
 * (systemd-resolved's link to its stub), and the package sources the
 * configure stage writes (distribution.image-mirror). */
int apt_scrub_host_files(const char *dest) {
        _cleanup_close_ int root_fd = tree_root_open(dest);
        if (root_fd < 0)
                return log_error_errno(root_fd, "rootfs: cannot open the tree %s", dest);
        static const struct {
                const char *path, *host;
        } copies[] = {
                { "/etc/resolv.conf", "/etc/resolv.conf" },
                { "/etc/hostname", "/etc/hostname" },
                { "/etc/.resolv.conf.systemd-resolved.bak", "/etc/resolv.conf" },
                { "/etc/resolvconf/resolv.conf.d/original", "/etc/resolv.conf" },
        };
        int r;
        for (size_t i = 0; i < ELEMENTSOF(copies); i++)
                if (is_host_copy(root_fd, copies[i].path, copies[i].host)) {
                        if ((r = tree_remove(root_fd, copies[i].path, 0)) < 0)
                                return log_error_errno(r, "rootfs: could not remove the build host's copy %s from the tree",
                                                       copies[i].path);
                        log_debug("rootfs: removed %s (the build host's)", copies[i].path);
                }
        /* The build's own apt sources and options. */
        if ((r = tree_remove(root_fd, "/etc/apt/sources.list", 0)) < 0 ||
            (r = tree_remove(root_fd, "/etc/apt/apt.conf.d/99mmdebstrap", 0)) < 0)
                return log_error_errno(r, "rootfs: could not remove mmdebstrap's apt configuration from the tree");
        _cleanup_strv_free_ char **names = NULL;
        r = tree_dir_entries_sorted(root_fd, "/etc/apt/sources.list.d", &names);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "rootfs: reading /etc/apt/sources.list.d in the tree");
        for (size_t i = 0; names && names[i]; i++) {
                const char *n = names[i];
                bool mine = strlen(n) > 4 && strspn(n, "0123456789") == 4 &&
                            (endswith(n, "main.list") || endswith(n, "main.sources"));
                if (!mine)
                        continue;
                _cleanup_free_ char *path = xasprintf("/etc/apt/sources.list.d/%s", n);
                if ((r = tree_remove(root_fd, path, 0)) < 0)
                        return log_error_errno(r, "rootfs: could not remove %s from the tree", path);
        }
        return 0;
}

/* --- install ------------------------------------------------------------ */

static const char *apt_variant(const struct slw_profile *p) {
        return p->distribution.variant && *p->distribution.variant ? p->distribution.variant : "minbase";
}

static const char *apt_arch(const struct slw_profile *p) {
        return p->distribution.architecture && *p->distribution.architecture ? p->distribution.architecture : "amd64";
}

static char **apt_components(const struct slw_profile *p) {
        if (p->distribution.components && p->distribution.components[0])
                return strv_copy(p->distribution.components);
        char **l = NULL;
        strv_push(&l, "main");
        return l;
}

/* distribution.repositories as one-line apt sources, given to mmdebstrap
 * after the mirror: "deb [signed-by=KEY|trusted=yes] URI SUITE COMP...". */
static int apt_extra_sources(const struct slw_profile *p, char ***ret) {
        char **lines = NULL;
        for (size_t i = 0; i < p->distribution.n_repos; i++) {
                const struct slw_repo *r = &p->distribution.repos[i];
                const char *suite = r->suite && *r->suite ? r->suite : p->distribution.release;
                char *const *comps = r->components && r->components[0] ? r->components : p->distribution.components;
                bool bad = !r->baseurl || !*r->baseurl || strpbrk(r->baseurl, " \t\n\r[]") || !suite ||
                           strpbrk(suite, " \t\n\r") || (r->gpgkey && (r->gpgkey[0] != '/' || strpbrk(r->gpgkey, " \t\n\r,]")));
                for (size_t c = 0; comps && comps[c]; c++)
                        bad = bad || !*comps[c] || strpbrk(comps[c], " \t\n\r");
                if (bad) {
                        strv_free(lines);
                        return log_error_errno(-EINVAL, "rootfs: distribution.repositories '%s': baseurl, suite and "
                                                        "components must be single words, gpgkey an absolute path",
                                               r->name ? r->name : "?");
                }
                size_t len = strlen(r->baseurl) + strlen(suite) + (r->gpgkey ? strlen(r->gpgkey) : 0) + 64;
                for (size_t c = 0; comps && comps[c]; c++)
                        len += strlen(comps[c]) + 1;
                char *line = xcalloc(1, len);
                strcat(line, "deb ");
                if (r->gpgkey) {
                        strcat(line, "[signed-by=");
                        strcat(line, r->gpgkey);
                        strcat(line, "] ");
                } else if (!r->gpgcheck)
                        strcat(line, "[trusted=yes] ");
                /* apt reads file:// packages in place, where dpkg running
                 * chrooted in the tree cannot see them; copy:// has apt copy
                 * them into the tree's archives first (mmdebstrap's advice). */
                if (startswith(r->baseurl, "file:")) {
                        strcat(line, "copy:");
                        strcat(line, r->baseurl + strlen("file:"));
                } else
                        strcat(line, r->baseurl);
                strcat(line, " ");
                strcat(line, suite);
                for (size_t c = 0; comps && comps[c]; c++) {
                        strcat(line, " ");
                        strcat(line, comps[c]);
                }
                strv_push(&lines, line);
                free(line);
        }
        *ret = lines;
        return 0;
}

static char **sorted_packages(const struct slw_profile *p) {
        char **l = strv_copy(p->packages.install);
        strv_sort(l);
        /* drop duplicates */
        size_t w = 0;
        for (size_t i = 0; l[i]; i++) {
                if (w > 0 && strcmp(l[w - 1], l[i]) == 0) {
                        free(l[i]);
                        continue;
                }
                l[w++] = l[i];
        }
        l[w] = NULL;
        return l;
}

/* The mmdebstrap --mode: SLIPWAY_APT_MODE, else root when we are root —
 * real root, or root of the user namespace an unprivileged `slipway build`
 * enters (lib/userns.c), where mmdebstrap's root mode works and its unshare
 * mode refuses to nest — else unshare. */
static const char *apt_mode(const struct build_ctx *ctx) {
        (void)ctx;
        const char *e = getenv("SLIPWAY_APT_MODE");
        if (e && (strcmp(e, "root") == 0 || strcmp(e, "unshare") == 0 || strcmp(e, "chrootless") == 0))
                return e;
        return geteuid() == 0 ? "root" : "unshare";
}

static int apt_key_inputs(const struct build_ctx *ctx, struct cache_key *key) {
        const struct slw_profile *p = ctx->profile;
        _cleanup_free_ char *mirror = NULL;
        int r = apt_resolve_mirror(ctx, &mirror);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **comps = apt_components(p);
        _cleanup_strv_free_ char **pkgs = sorted_packages(p);
        cache_key_add(key, "release", p->distribution.release);
        cache_key_add(key, "mirror", mirror);
        _cleanup_strv_free_ char **extra = NULL;
        if ((r = apt_extra_sources(p, &extra)) < 0)
                return r;
        cache_key_add_strv(key, "sources", extra);
        cache_key_add(key, "variant", apt_variant(p));
        cache_key_add_strv(key, "components", comps);
        cache_key_add(key, "architecture", apt_arch(p));
        cache_key_add_strv(key, "install", pkgs);
        /* dpkg applies the filters in order: do not sort them. */
        cache_key_add_strv(key, "exclude_paths", p->packages.exclude_paths);
        cache_key_add_strv(key, "include_paths", p->packages.include_paths);
        cache_key_add(key, "recommends", p->packages.recommends ? "yes" : "no");
        /* unshare mode leaves a tree owned by subordinate ids, and a build in
         * a user namespace one owned by the ids mapped there */
        cache_key_add(key, "mode", apt_mode(ctx));
        _cleanup_free_ char *ids = userns_describe();
        cache_key_add(key, "ids", ids);
        return 0;
}

/* Quoting for mmdebstrap's shellwords(): '...' with ' as '\''. */
static char *shellwords_quote(const char *s) {
        size_t n = 2;
        for (const char *c = s; *c; c++)
                n += *c == '\'' ? 4 : 1;
        char *q = xmalloc(n + 1), *w = q;
        *w++ = '\'';
        for (const char *c = s; *c; c++) {
                if (*c == '\'') {
                        memcpy(w, "'\\''", 4);
                        w += 4;
                } else
                        *w++ = *c;
        }
        *w++ = '\'';
        *w = '\0';
        return q;
}

static bool has_subid_entry(const char *file, const char *user, uid_t uid) {
        _cleanup_free_ char *text = NULL;
        if (read_file(file, &text, NULL) < 0)
                return false;
        char uidbuf[32];
        snprintf(uidbuf, sizeof(uidbuf), "%u", (unsigned)uid);
        for (const char *p = text; *p;) {
                const char *eol = strchrnul(p, '\n');
                size_t n = strcspn(p, ":\n");
                if ((user && n == strlen(user) && strncmp(p, user, n) == 0) ||
                    (n == strlen(uidbuf) && strncmp(p, uidbuf, n) == 0))
                        return true;
                p = *eol ? eol + 1 : eol;
        }
        return false;
}

static int check_unshare_possible(void) {
        struct passwd *pw = getpwuid(geteuid());
        const char *user = pw ? pw->pw_name : NULL;
        _cleanup_free_ char *newuidmap = find_program("newuidmap");
        if (!newuidmap)
                return log_error_errno(-ENOENT, "rootfs: unprivileged builds use mmdebstrap --mode=unshare, which needs "
                                                "newuidmap/newgidmap (Debian package uidmap); install it or build as root");
        if (!has_subid_entry("/etc/subuid", user, geteuid()) || !has_subid_entry("/etc/subgid", user, geteuid()))
                return log_error_errno(-EPERM, "rootfs: unprivileged builds use mmdebstrap --mode=unshare, which needs "
                                               "entries for user %s in /etc/subuid and /etc/subgid (e.g. "
                                               "'usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s' as root)",
                                       user ? user : "?", user ? user : "<you>");
        return 0;
}

static int apt_install(const struct build_ctx *ctx, const char *dest) {
        const struct slw_profile *p = ctx->profile;
        if (!p->distribution.release || !*p->distribution.release)
                return log_error_errno(-EINVAL, "rootfs: distribution.release is not set");
        _cleanup_free_ char *mmdebstrap = find_program("mmdebstrap");
        if (!mmdebstrap)
                return log_error_errno(-ENOENT, "rootfs: mmdebstrap is not installed (apt-get install mmdebstrap)");
        const char *mode = apt_mode(ctx);
        if (strcmp(mode, "unshare") == 0) {
                int r = check_unshare_possible();
                if (r < 0)
                        return r;
        }
        _cleanup_free_ char *mirror = NULL;
        int r = apt_resolve_mirror(ctx, &mirror);
        if (r < 0)
                return r;

        _cleanup_free_ char *cache = rootfs_cache_dir(ctx);
        _cleanup_free_ char *aptcache = path_join(cache, "apt");
        _cleanup_free_ char *archives = path_join(aptcache, "archives");
        /* A read-only cache still lends its downloads; new ones are not
         * kept (stage_rootfs.c says the build runs uncached). */
        r = mkdir_p(archives, 0755);
        if (r == 0 && access(archives, W_OK) < 0)
                r = -errno;
        if (r < 0 && r != -EROFS && r != -EACCES && r != -EPERM)
                return log_error_errno(r, "rootfs: could not create %s", archives);
        bool keep_downloads = r == 0, lend_downloads = access(aptcache, R_OK | X_OK) == 0;
        if (!keep_downloads)
                log_warning("rootfs: %s cannot be written (%s): this build's downloads are not kept", archives, strerror(-r));

        _cleanup_strv_free_ char **pkgs = sorted_packages(p);
        for (size_t i = 0; pkgs[i]; i++)
                if (strpbrk(pkgs[i], ", \t\n") || pkgs[i][0] == '-')
                        return log_error_errno(-EINVAL, "rootfs: invalid package name '%s'", pkgs[i]);
        _cleanup_strv_free_ char **comps = apt_components(p);
        char **filters[] = { p->packages.exclude_paths, p->packages.include_paths };
        for (size_t f = 0; f < ELEMENTSOF(filters); f++)
                for (size_t i = 0; filters[f] && filters[f][i]; i++)
                        if (filters[f][i][0] != '/' || strpbrk(filters[f][i], "\"\n"))
                                return log_error_errno(-EINVAL, "rootfs: invalid dpkg path filter '%s' "
                                                                "(must be an absolute glob without quotes)", filters[f][i]);

        _cleanup_strv_free_ char **argv = NULL;
        strv_push(&argv, "mmdebstrap");
        char *s;
#define PUSHF(...) (s = xasprintf(__VA_ARGS__), strv_push(&argv, s), free(s))
        PUSHF("--variant=%s", apt_variant(p));
        PUSHF("--mode=%s", mode);
        strv_push(&argv, "--format=directory");
        PUSHF("--architectures=%s", apt_arch(p));
        {
                size_t len = 0;
                for (size_t i = 0; comps[i]; i++)
                        len += strlen(comps[i]) + 1;
                char *joined = xcalloc(1, len + 1);
                for (size_t i = 0; comps[i]; i++) {
                        if (i)
                                strcat(joined, ",");
                        strcat(joined, comps[i]);
                }
                PUSHF("--components=%s", joined);
                free(joined);
        }
        if (pkgs[0]) {
                size_t len = 0;
                for (size_t i = 0; pkgs[i]; i++)
                        len += strlen(pkgs[i]) + 1;
                char *joined = xcalloc(1, len + 1);
                for (size_t i = 0; pkgs[i]; i++) {
                        if (i)
                                strcat(joined, ",");
                        strcat(joined, pkgs[i]);
                }
                PUSHF("--include=%s", joined);
                free(joined);
        }
        if (!p->packages.recommends)
                strv_push(&argv, "--aptopt=APT::Install-Recommends \"false\"");
        /* Fail fast on an unreachable mirror instead of retrying for minutes. */
        strv_push(&argv, "--aptopt=Acquire::Retries \"1\"");
        strv_push(&argv, "--aptopt=Acquire::http::Timeout \"20\"");
        strv_push(&argv, "--aptopt=Acquire::https::Timeout \"20\"");
        for (size_t i = 0; p->packages.exclude_paths && p->packages.exclude_paths[i]; i++)
                PUSHF("--dpkgopt=path-exclude=%s", p->packages.exclude_paths[i]);
        for (size_t i = 0; p->packages.include_paths && p->packages.include_paths[i]; i++)
                PUSHF("--dpkgopt=path-include=%s", p->packages.include_paths[i]);
        /* In chrootless mode dpkg runs on the host and does not read the
         * chroot's dpkg.cfg.d (Debian bug #808203); mmdebstrap calls it
         * directly (not through apt) for --variant=custom, so the filters go
         * into ~/.dpkg.cfg of a private HOME, which every dpkg reads. */
        _cleanup_free_ char *home_env = NULL, *home = NULL;
        if (strcmp(mode, "chrootless") == 0) {
                _cleanup_free_ char *parent = xstrdup(dest);
                char *slash = strrchr(parent, '/');
                if (slash)
                        *slash = '\0';
                home = path_join(parent, "dpkg-home");
                _cleanup_free_ char *cfg = path_join(home, ".dpkg.cfg");
                size_t len = 0;
                for (size_t f = 0; f < ELEMENTSOF(filters); f++)
                        for (size_t i = 0; filters[f] && filters[f][i]; i++)
                                len += strlen(filters[f][i]) + 16;
                _cleanup_free_ char *text = xcalloc(1, len + 1);
                for (size_t f = 0; f < ELEMENTSOF(filters); f++)
                        for (size_t i = 0; filters[f] && filters[f][i]; i++) {
                                strcat(text, f == 0 ? "path-exclude=" : "path-include=");
                                strcat(text, filters[f][i]);
                                strcat(text, "\n");
                        }
                if ((r = mkdir_p(home, 0700)) < 0 || (r = write_file(cfg, text, strlen(text), 0644)) < 0)
                        return log_error_errno(r, "rootfs: could not write %s", cfg);
                home_env = xasprintf("HOME=%s", home);
        }

        /* The shared download cache (see the top of this file).  The
         * extract variant has no essential step, so nothing to unlink. */
        _cleanup_free_ char *qaptcache = shellwords_quote(aptcache);
        _cleanup_free_ char *qarchives = shellwords_quote(archives);
        strv_push(&argv, "--skip=essential/unlink");
        if (lend_downloads)
                PUSHF("--setup-hook=sync-in %s /var/cache/apt/", qaptcache);
        if (keep_downloads)
                PUSHF("--customize-hook=sync-out /var/cache/apt/archives %s", qarchives);
        /* On the progress line the packages set up are counted from
         * dpkg's "Setting up" lines, which only --verbose lets through. */
        bool count = progress_active();
        if (log_get_level() >= LOG_DEBUG || count)
                strv_push(&argv, "--verbose");
        strv_push(&argv, p->distribution.release);
        strv_push(&argv, dest);
        strv_push(&argv, mirror);   /* a URL or a whole "deb [opts] URL suite comps" line */
        _cleanup_strv_free_ char **extra = NULL;
        if ((r = apt_extra_sources(p, &extra)) < 0)
                return r;
        for (size_t i = 0; extra && extra[i]; i++)
                strv_push(&argv, extra[i]);
#undef PUSHF

        _cleanup_free_ char *epoch = xasprintf("SOURCE_DATE_EPOCH=%" PRIu64, ctx->epoch);
        char *env[] = { epoch, home_env, NULL };
        _cleanup_free_ char *tail = NULL;
        log_info("rootfs: mmdebstrap %s (%s, %zu packages) from %s", p->distribution.release, apt_variant(p),
                 strv_length(pkgs), mirror);
        struct apt_output out = { .count = count };
        if (count)
                progress_count_start("packages set up");
        r = run_command_status(argv, &(struct run_opts) { .stdin_fd = -1, .env = env, .quiet = true,
                                                          .stderr_line = apt_output_line, .userdata = &out }, &tail);
        if (home)
                (void)rm_rf(home);
        _cleanup_free_ char *errors = out.errors;
        if (r < 0)
                return r == -EINTR ? log_error_errno(r, "rootfs: interrupted") : r;
        if (r == 0)
                return apt_scrub_host_files(dest);

        /* apt's own error lines, wherever they were: with --verbose the
         * last lines of the output may be other chatter. */
        _cleanup_free_ char *eline = apt_error_line(errors ? errors : tail);
        const char *missing = eline ? strstr(eline, "Unable to locate package ") : NULL;
        if (missing)
                log_error("rootfs: package '%s' does not exist in %s at %s (%s)",
                          missing + strlen("Unable to locate package "), p->distribution.release, mirror, eline);
        else
                log_error("rootfs: mmdebstrap failed (exit status %d) for release %s from %s: %s", r,
                          p->distribution.release, mirror, eline ? eline : (tail && *tail ? tail : "no error output"));
        if (tail && *tail)
                log_info("rootfs: last lines of mmdebstrap's output:\n%s", tail);
        return -EIO;
}

const struct rootfs_backend rootfs_backend_apt = {
        .name = "apt",
        .key_inputs = apt_key_inputs,
        .install = apt_install,
        .manifest = manifest_from_dpkg_tree,
};
