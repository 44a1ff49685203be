/* SPDX-License-Identifier: MIT */
/* The configure stage: turns an installed tree into the profile's image.
 * Validation of every key comes first; nothing is written into the tree
 * until the whole profile has been checked against it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "configure.h"
#include "log.h"
#include "tree.h"
#include "util.h"

/* "file:line:col: key", so a configure error reads like every other
 * profile error ("file:line:col: message", README) and still names the
 * key it is about. */
static const char *where_of(struct cfg *c, const char *origin_path, char *buf, size_t n) {
        if (!origin_path)
                origin_path = "";
        char tmp[512];
        const char *o = origin_format(profile_origin(c->p, origin_path), tmp, sizeof(tmp));
        snprintf(buf, n, "%s: %s", o ? o : "?", origin_path);
        return buf;
}

int cfg_error(struct cfg *c, const char *origin_path, const char *fmt, ...) {
        char where[700];
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_error("%s: %s", where_of(c, origin_path, where, sizeof(where)), msg ? msg : fmt);
        c->n_errors++;
        return -EINVAL;
}

void cfg_warning(struct cfg *c, const char *origin_path, const char *fmt, ...) {
        char where[700];
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_warning("%s: %s", where_of(c, origin_path, where, sizeof(where)), msg ? msg : fmt);
}

void cfg_change(struct cfg *c, const char *what, const char *where, const char *origin_path) {
        log_debug("configure: %s %s", what, where);
        build_record_change(c->ctx, what, where, origin_path);
}

int cfg_resolve(struct cfg *c, const char *path, unsigned flags, char **ret_host) {
        return root_resolve(c->tree, path, flags, NULL, ret_host);
}

int cfg_read_text(struct cfg *c, const char *path, const char *fallback, char **ret_host, char **ret_text) {
        _cleanup_free_ char *host = NULL, *text = NULL;
        int r = cfg_resolve(c, path, ROOTPATH_NONEXISTENT, &host);
        if (r < 0)
                return log_error_errno(r, "resolving %s", path);
        if (read_file(host, &text, NULL) < 0)
                text = xstrdup(fallback);
        *ret_host = TAKE_PTR(host);
        *ret_text = TAKE_PTR(text);
        return 0;
}

int cfg_write_file(const char *host, const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid) {
        /* The pid keeps two builds that write one shared file (the
         * initramfs cache) from writing into one temporary file. */
        _cleanup_free_ char *tmp = xasprintf("%s.slipway-tmp-%d", host, (int)getpid());
        int r = write_file(tmp, data, len, mode);
        if (r < 0) {
                unlink(tmp);
                return log_error_errno(r, "writing %s", tmp);
        }
        if (lchown(tmp, uid, gid) < 0 || chmod(tmp, mode) < 0 || rename(tmp, host) < 0) {
                r = -errno;
                unlink(tmp);
                return log_error_errno(r, "installing %s", host);
        }
        return 0;
}

int cfg_mkdir(struct cfg *c, const char *path, mode_t mode, char **ret_host) {
        _cleanup_free_ char *host = NULL;
        int r = cfg_resolve(c, path, ROOTPATH_NONEXISTENT, &host);
        if (r < 0)
                return log_error_errno(r, "resolving %s in the tree", path);
        r = mkdir_p(host, mode);
        if (r < 0)
                return log_error_errno(r, "creating %s", host);
        if (ret_host)
                *ret_host = TAKE_PTR(host);
        return 0;
}

int cfg_symlink(struct cfg *c, const char *target, const char *linkpath) {
        _cleanup_free_ char *host = NULL, *dir = xstrdup(linkpath);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = cfg_mkdir(c, dir, 0755, NULL);
                if (r < 0)
                        return r;
        }
        int r = cfg_resolve(c, linkpath, ROOTPATH_NONEXISTENT | ROOTPATH_NOFOLLOW_LAST, &host);
        if (r < 0)
                return log_error_errno(r, "resolving %s in the tree", linkpath);
        _cleanup_free_ char *tmp = xasprintf("%s.slipway-tmp", host);
        unlink(tmp);
        if (symlink(target, tmp) < 0 || rename(tmp, host) < 0) {
                r = -errno;
                unlink(tmp);
                return log_error_errno(r, "symlink %s -> %s", host, target);
        }
        return 0;
}

int cfg_remove_glob(struct cfg *c, const char *pattern, bool keep_dirs, unsigned *ret_count) {
        /* The pattern's fixed directories are resolved inside the root; the
         * glob then runs below that host directory. */
        _cleanup_free_ char *dir = xstrdup(pattern);
        char *slash = strrchr(dir, '/');
        if (!slash)
                return -EINVAL;
        *slash = '\0';
        const char *leaf = slash + 1;
        if (strpbrk(dir, "*?[")) {
                /* Wildcards in directories (e.g. /home/<asterisk>/.bash_history):
                 * expand the directory part first. */
                _cleanup_free_ char *base = xasprintf("%s%s", c->tree, dir);
                glob_t g = { 0 };
                if (glob(base, GLOB_NOSORT, NULL, &g) == 0) {
                        size_t tl = strlen(c->tree);
                        for (size_t i = 0; i < g.gl_pathc; i++) {
                                _cleanup_free_ char *sub = xasprintf("%s/%s", g.gl_pathv[i] + tl, leaf);
                                int r = cfg_remove_glob(c, sub, keep_dirs, ret_count);
                                if (r < 0) {
                                        globfree(&g);
                                        return r;
                                }
                        }
                }
                globfree(&g);
                return 0;
        }
        _cleanup_free_ char *host = NULL;
        int r = cfg_resolve(c, dir[0] ? dir : "/", 0, &host);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return log_error_errno(r, "resolving %s in the tree", dir);
        DIR *d = opendir(host);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : log_error_errno(-errno, "opening %s", host);
        struct dirent *de;
        r = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fnmatch(leaf, de->d_name, FNM_PERIOD) != 0)
                        continue;
                _cleanup_free_ char *p = path_join(host, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (keep_dirs)
                                continue;
                        r = rm_rf(p);
                } else if (unlink(p) < 0)
                        r = -errno;
                if (r < 0) {
                        log_error_errno(r, "removing %s", p);
                        break;
                }
                if (ret_count)
                        (*ret_count)++;
        }
        closedir(d);
        return r;
}

static void cfg_free(struct cfg *c) {
        accounts_free(&c->acc);
        free(c->kver);
}

int stage_configure(struct build_ctx *ctx) {
        if (!ctx || !ctx->profile || !ctx->tree)
                return log_error_errno(-EINVAL, "configure: no profile or tree");
        uint64_t t0 = now_usec();
        struct cfg c = { .ctx = ctx, .p = ctx->profile, .tree = ctx->tree };
        int r;

        /* Pass 1: read the tree, check every key.  Errors are counted, not
         * returned early, so a profile's author sees all of them at once. */
        r = accounts_load(&c);
        if (r < 0)
                goto out;
        r = kernel_find_version(&c);
        if (r < 0)
                goto out;
        accounts_validate(&c);
        files_validate(&c);
        system_settings_validate(&c);
        systemd_validate(&c);
        kernel_validate(&c);
        prune_validate(&c);
        if (c.n_errors > 0) {
                log_error("configure: %u error%s in the profile; nothing was written into the tree",
                          c.n_errors, c.n_errors == 1 ? "" : "s");
                r = -EINVAL;
                goto out;
        }

        /* Pass 2: write.  Accounts first (files may be owned by new users),
         * the initramfs after everything it reads (modules list, pruned
         * modules, files under /etc/initramfs-tools), generalize last so
         * nothing the other steps run leaves traces behind. */
        if ((r = accounts_apply(&c)) < 0 ||
            (r = files_apply(&c)) < 0 ||
            (r = system_settings_apply(&c)) < 0 ||
            (r = fstab_apply(&c)) < 0 ||
            (r = immutable_apply(&c)) < 0 ||
            (r = systemd_apply(&c)) < 0 ||
            (r = prune_apply(&c)) < 0 ||
            (r = kernel_prune_modules(&c)) < 0 ||
            (r = kernel_apply_initramfs(&c)) < 0)
                goto out;
        if (c.p->generalize && (r = generalize_apply(&c)) < 0)
                goto out;
        log_info("configure: done in %.1f s", (double)(now_usec() - t0) / 1e6);
        r = 0;
out:
        cfg_free(&c);
        return r;
}
