/* SPDX-License-Identifier: MIT */
/* The dnf backend: dnf5 when installed, else dnf (4), into --installroot.
 *
 * Repositories come from distribution.repos (written to a repo file in a
 * private reposdir, so the host's own repos never leak in), or, when the
 * profile names none, the host's reposdir (the "host's dnf repos" default).
 * --mirror replaces the baseurl of a profile with exactly one repo.
 *
 * Debian's rpm keeps its database in ~/.rpmdb (to stay out of dpkg's way);
 * an image needs /var/lib/rpm, so dnf and rpm run with HOME pointing at a
 * private directory whose .rpmmacros says so. */
#include "rootfs.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#define DNF_DBPATH "/var/lib/rpm"

static const char *dnf_arch(const struct slw_profile *p) {
        return p->distribution.architecture && *p->distribution.architecture ? p->distribution.architecture : "x86_64";
}

static const char *repo_baseurl(const struct build_ctx *ctx, const struct slw_repo *r) {
        if (ctx->mirror_override && *ctx->mirror_override && ctx->profile->distribution.n_repos == 1)
                return ctx->mirror_override;
        return r->baseurl;
}

static bool valid_repo_name(const char *s) {
        if (!s || !*s)
                return false;
        for (; *s; s++)
                if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
                      *s == '-' || *s == '_' || *s == '.' || *s == ':'))
                        return false;
        return true;
}

static int dnf_key_inputs(const struct build_ctx *ctx, struct cache_key *key) {
        const struct slw_profile *p = ctx->profile;
        cache_key_add(key, "release", p->distribution.release);
        cache_key_add(key, "architecture", dnf_arch(p));
        for (size_t i = 0; i < p->distribution.n_repos; i++) {
                const struct slw_repo *r = &p->distribution.repos[i];
                cache_key_add(key, "repo.name", r->name);
                cache_key_add(key, "repo.baseurl", repo_baseurl(ctx, r));
                cache_key_add(key, "repo.gpgcheck", r->gpgcheck ? "yes" : "no");
                cache_key_add(key, "repo.gpgkey", r->gpgkey);
        }
        if (p->distribution.n_repos == 0)
                cache_key_add(key, "repos", "host");
        _cleanup_strv_free_ char **pkgs = strv_copy(p->packages.install);
        strv_sort(pkgs);
        cache_key_add_strv(key, "install", pkgs);
        cache_key_add(key, "recommends", p->packages.recommends ? "yes" : "no");
        cache_key_add_strv(key, "exclude_paths", p->packages.exclude_paths);
        cache_key_add(key, "dbpath", DNF_DBPATH);
        return 0;
}

static char *find_dnf(void) {
        char *p = find_program("dnf5");
        return p ? p : find_program("dnf");
}

/* dnf 4 writes expired_repos.json below <installroot>/<cachedir> even when
 * cachedir is given on the command line: remove that directory and the
 * parents it created, keeping the FHS directories an image has anyway.
 * Inside the tree only (lib/tree.h): a package's /var/cache symlink must
 * not turn this into a removal of the host's own dnf cache. */
void dnf_remove_cachedir_leak(const char *dest, const char *cachedir) {
        static const char *const keep[] = { "/var", "/var/tmp", "/var/cache", "/tmp", "/root", "/home", "/srv",
                                            "/opt", "/usr", "/usr/local", "/mnt", "/media", NULL };
        _cleanup_close_ int root_fd = tree_root_open(dest);
        if (root_fd < 0)
                return;
        _cleanup_free_ char *rel = xstrdup(cachedir);
        struct stat st;
        if (tree_lstat(root_fd, rel, &st) < 0)
                return;
        int r = tree_remove(root_fd, rel, TREE_RM_DIR);
        if (r < 0) {
                log_warning_errno(r, "rootfs: could not remove %s from the installed tree", rel);
                return;
        }
        for (char *slash = strrchr(rel, '/'); slash && slash != rel; slash = strrchr(rel, '/')) {
                *slash = '\0';
                if (strv_contains((char *const *)keep, rel))
                        break;
                /* rmdir: only while empty, and never through a symlink */
                _cleanup_close_ int dir_fd = -1;
                _cleanup_free_ char *name = NULL;
                if (tree_resolve(root_fd, rel, TREE_NOFOLLOW, &dir_fd, &name, NULL) < 0 ||
                    unlinkat(dir_fd, name, AT_REMOVEDIR) < 0)
                        break;
        }
}

/* What dnf writes about the build itself: its logs (the build mirror's
 * URLs, wall-clock times) and its transaction history (this run's command
 * line, with the private reposdir, and times).  Not the image's: removed,
 * as mmdebstrap removes dpkg's and apt's logs (an rpm scriptlet's own
 * files, and the rpm database, stay). */
int dnf_remove_build_traces(const char *dest) {
        static const char *const logs[] = { "dnf.log", "dnf.librepo.log", "dnf.rpm.log", "hawkey.log", "dnf5.log" };
        static const char *const history[] = {
                "/var/lib/dnf/history.sqlite", "/var/lib/dnf/history.sqlite-wal", "/var/lib/dnf/history.sqlite-shm",
                "/usr/lib/sysimage/libdnf5/transaction_history.sqlite",
                "/usr/lib/sysimage/libdnf5/transaction_history.sqlite-wal",
                "/usr/lib/sysimage/libdnf5/transaction_history.sqlite-shm",
        };
        _cleanup_close_ int root_fd = tree_root_open(dest);
        if (root_fd < 0)
                return log_error_errno(root_fd, "rootfs: cannot open the tree %s", dest);
        int r = 0;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(logs); i++) {
                _cleanup_free_ char *path = xasprintf("/var/log/%s", logs[i]);
                r = tree_remove(root_fd, path, 0);
        }
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(history); i++)
                r = tree_remove(root_fd, history[i], 0);
        if (r < 0)
                return log_error_errno(r, "rootfs: could not remove dnf's logs and history from the tree");
        return 0;
}

/* dpkg's path-exclude/path-include, after the fact: rpm has no path filter
 * (only tsflags=nodocs and %_install_langs), so files matching an exclude
 * glob and no include glob are removed once dnf is done, and directories
 * that match and end up empty.  The globs match the whole path with
 * fnmatch(3) and no flags, as dpkg's do ('*' crosses '/').  The rpm
 * database still lists the files, as dpkg's does for filtered paths. */
static int filter_dir(int dfd, char *path, size_t len, size_t cap, char *const *excl, char *const *incl, size_t *removed) {
        DIR *d = fdopendir(dfd);
        if (!d) {
                close(dfd);
                return -errno;
        }
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                size_t n = strlen(de->d_name);
                if (len + 1 + n + 1 > cap)
                        continue; /* longer than PATH_MAX: no glob of ours names it */
                path[len] = '/';
                memcpy(path + len + 1, de->d_name, n + 1);
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = -errno;
                                break;
                        }
                        r = filter_dir(sub, path, len + 1 + n, cap, excl, incl, removed);
                        path[len + 1 + n] = '\0';
                }
                bool match = false;
                for (size_t i = 0; excl && excl[i] && !match; i++)
                        match = fnmatch(excl[i], path, 0) == 0;
                for (size_t i = 0; match && incl && incl[i]; i++)
                        if (fnmatch(incl[i], path, 0) == 0)
                                match = false;
                if (r == 0 && match) {
                        if (unlinkat(dirfd(d), de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) == 0)
                                (*removed)++;
                        else if (!(S_ISDIR(st.st_mode) && (errno == ENOTEMPTY || errno == EEXIST)))
                                r = -errno;
                }
                path[len] = '\0';
        }
        closedir(d);
        return r;
}

static int apply_path_filters(const char *tree, char *const *excl, char *const *incl) {
        if (!excl || !excl[0])
                return 0;
        int fd = tree_root_open(tree);
        if (fd < 0)
                return log_error_errno(fd, "rootfs: %s", tree);
        char path[PATH_MAX] = "";
        size_t removed = 0;
        int r = filter_dir(fd, path, 0, sizeof(path), excl, incl, &removed);
        if (r < 0)
                return log_error_errno(r, "rootfs: applying packages.exclude-paths at %s", path);
        log_info("rootfs: packages.exclude-paths removed %zu paths", removed);
        return 0;
}

static int dnf_install(const struct build_ctx *ctx, const char *dest) {
        const struct slw_profile *p = ctx->profile;
        if (!p->distribution.release || !*p->distribution.release)
                return log_error_errno(-EINVAL, "rootfs: distribution.release (dnf --releasever) is not set");
        _cleanup_free_ char *dnf = find_dnf();
        if (!dnf)
                return log_error_errno(-ENOENT, "rootfs: neither dnf5 nor dnf is installed (apt-get install dnf)");
        if (!p->packages.install || !p->packages.install[0])
                return log_error_errno(-EINVAL, "rootfs: the dnf backend needs packages.install");

        /* Private config next to the tree: <entry-tmp>/dnf/{dnf.conf,repos.d,home}. */
        _cleanup_free_ char *parent = xstrdup(dest);
        char *slash = strrchr(parent, '/');
        if (slash)
                *slash = '\0';
        _cleanup_free_ char *confdir = path_join(parent, "dnf-config");
        _cleanup_free_ char *reposdir = path_join(confdir, "repos.d");
        _cleanup_free_ char *home = path_join(confdir, "home");
        _cleanup_free_ char *conf = path_join(confdir, "dnf.conf");
        _cleanup_free_ char *macros = path_join(home, ".rpmmacros");
        _cleanup_free_ char *cache = rootfs_cache_dir(ctx);
        _cleanup_free_ char *cachedir = path_join(cache, "dnf");
        int r;
        if ((r = mkdir_p(reposdir, 0755)) < 0 || (r = mkdir_p(home, 0700)) < 0 || (r = mkdir_p(cachedir, 0755)) < 0 ||
            (r = mkdir_p(dest, 0755)) < 0)
                return log_error_errno(r, "rootfs: could not create dnf's directories under %s", parent);

        static const char macro_text[] = "%_dbpath " DNF_DBPATH "\n";
        static const char conf_text[] = "[main]\n"
                                        "keepcache=True\n"
                                        "install_weak_deps=False\n"
                                        "tsflags=nodocs\n"
                                        "skip_if_unavailable=False\n"
                                        "minrate=1\n"
                                        "timeout=20\n"
                                        "retries=1\n";
        if ((r = write_file(macros, macro_text, strlen(macro_text), 0644)) < 0 ||
            (r = write_file(conf, conf_text, strlen(conf_text), 0644)) < 0)
                return log_error_errno(r, "rootfs: could not write dnf's configuration");

        bool all_nogpg = p->distribution.n_repos > 0;
        if (p->distribution.n_repos > 0) {
                size_t cap = 1024, len = 0;
                _cleanup_free_ char *text = xcalloc(1, cap);
                for (size_t i = 0; i < p->distribution.n_repos; i++) {
                        const struct slw_repo *repo = &p->distribution.repos[i];
                        const char *url = repo_baseurl(ctx, repo);
                        if (!valid_repo_name(repo->name) || !url || strpbrk(url, "\n\r") ||
                            (repo->gpgkey && strpbrk(repo->gpgkey, "\n\r")))
                                return log_error_errno(-EINVAL, "rootfs: invalid dnf repository #%zu (name '%s')", i + 1,
                                                       repo->name ? repo->name : "");
                        _cleanup_free_ char *stanza = xasprintf("[%s]\nname=%s\nbaseurl=%s\nenabled=1\ngpgcheck=%d\n%s%s%s\n",
                                                                repo->name, repo->name, url, repo->gpgcheck ? 1 : 0,
                                                                repo->gpgkey ? "gpgkey=" : "", repo->gpgkey ? repo->gpgkey : "",
                                                                repo->gpgkey ? "\n" : "");
                        while (len + strlen(stanza) + 1 > cap)
                                text = xrealloc(text, cap *= 2);
                        memcpy(text + len, stanza, strlen(stanza) + 1);
                        len += strlen(stanza);
                        if (repo->gpgcheck)
                                all_nogpg = false;
                }
                _cleanup_free_ char *repofile = path_join(reposdir, "slipway.repo");
                if ((r = write_file(repofile, text, len, 0644)) < 0)
                        return log_error_errno(r, "rootfs: could not write %s", repofile);
        }

        _cleanup_strv_free_ char **argv = NULL;
        char *s;
#define PUSHF(...) (s = xasprintf(__VA_ARGS__), strv_push(&argv, s), free(s))
        strv_push(&argv, dnf);
        strv_push(&argv, "-y");
        PUSHF("--installroot=%s", dest);
        PUSHF("--releasever=%s", p->distribution.release);
        PUSHF("--config=%s", conf);
        if (p->distribution.n_repos > 0)
                PUSHF("--setopt=reposdir=%s", reposdir);
        PUSHF("--setopt=cachedir=%s", cachedir);
        PUSHF("--setopt=install_weak_deps=%s", p->packages.recommends ? "True" : "False");
        strv_push(&argv, "--setopt=tsflags=nodocs");
        strv_push(&argv, "--setopt=keepcache=True");
        PUSHF("--forcearch=%s", dnf_arch(p));
        if (p->distribution.n_repos > 0) {
                strv_push(&argv, "--disablerepo=*");
                for (size_t i = 0; i < p->distribution.n_repos; i++)
                        PUSHF("--enablerepo=%s", p->distribution.repos[i].name);
        }
        if (all_nogpg)
                strv_push(&argv, "--nogpgcheck");
        strv_push(&argv, "install");
        strv_push(&argv, "--");
        _cleanup_strv_free_ char **pkgs = strv_copy(p->packages.install);
        strv_sort(pkgs);
        for (size_t i = 0; pkgs[i]; i++)
                strv_push(&argv, pkgs[i]);
#undef PUSHF

        _cleanup_free_ char *home_env = xasprintf("HOME=%s", home);
        _cleanup_free_ char *epoch = xasprintf("SOURCE_DATE_EPOCH=%" PRIu64, ctx->epoch);
        char *env[] = { home_env, epoch, "LC_ALL=C.UTF-8", NULL };
        _cleanup_free_ char *tail = NULL;
        log_info("rootfs: %s install into %s (release %s, %zu packages)", dnf, dest, p->distribution.release,
                 strv_length(pkgs));
        r = run_command_status(argv, &(struct run_opts) { .stdin_fd = -1, .env = env, .quiet = true }, &tail);
        (void)rm_rf(confdir);
        dnf_remove_cachedir_leak(dest, cachedir);
        if (r < 0)
                return r == -EINTR ? log_error_errno(r, "rootfs: interrupted") : r;
        if (r == 0) {
                r = dnf_remove_build_traces(dest);
                return r < 0 ? r : apply_path_filters(dest, p->packages.exclude_paths, p->packages.include_paths);
        }
        /* dnf 4 prints "No match for argument: foo" on stdout and
         * "Error: Unable to find a match: foo bar" on stderr; dnf5 prints
         * "No match for argument: foo" on stderr. */
        static const char *const patterns[] = { "Unable to find a match: ", "No match for argument: " };
        for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
                const char *m = tail ? strstr(tail, patterns[i]) : NULL;
                if (!m)
                        continue;
                const char *line = m;
                while (line > tail && line[-1] != '\n')
                        line--;
                const char *names = m + strlen(patterns[i]);
                log_error("rootfs: package%s '%.*s' not found in the dnf repositories (dnf: %.*s)",
                          strcspn(names, " \n") < strcspn(names, "\n") ? "s" : "", (int)strcspn(names, "\n"), names,
                          (int)strcspn(line, "\n"), line);
                return -EIO;
        }
        log_error("rootfs: dnf failed (exit status %d): %s", r, tail && *tail ? tail : "no error output");
        return -EIO;
}

static int dnf_manifest(const char *tree, struct pkg_list *ret) {
        return manifest_from_rpm_tree(tree, ret);
}

const struct rootfs_backend rootfs_backend_dnf = {
        .name = "dnf",
        .key_inputs = dnf_key_inputs,
        .install = dnf_install,
        .manifest = dnf_manifest,
};
