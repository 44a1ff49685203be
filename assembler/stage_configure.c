/* SPDX-License-Identifier: MIT */
/* The configure stage: turns an installed tree into the profile's image.
 * Validation of every key comes first; nothing is written into the tree
 * until the whole profile has been checked against it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
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

void cfg_inputs_add(struct cfg *c, const char *origin_path, const char *value) {
        _cleanup_free_ char *line = xasprintf("%s %s\n", origin_path, value);
        size_t l = strlen(line);
        c->inputs = xrealloc(c->inputs, c->inputs_len + l + 1);
        memcpy(c->inputs + c->inputs_len, line, l + 1);
        c->inputs_len += l;
}

int cfg_resolve(struct cfg *c, const char *path, unsigned flags, char **ret_canon) {
        return tree_resolve(c->tree_fd, path, flags, NULL, NULL, ret_canon);
}

int cfg_host_path(struct cfg *c, const char *path, unsigned flags, char **ret_host) {
        return tree_host_path(c->tree, path, flags, ret_host);
}

/* Files the configure steps read from the tree are text databases and
 * configuration; anything larger is not what they expect. */
#define CFG_READ_MAX (64 * MiB)

int cfg_read_text(struct cfg *c, const char *path, const char *fallback, char **ret_text) {
        _cleanup_free_ char *text = NULL;
        int r = tree_read_file(c->tree_fd, path, CFG_READ_MAX, &text, NULL);
        if (r == -EFBIG || r == -EBADFD || r == -ELOOP || r == -EISDIR)
                return log_error_errno(r, "reading %s in the tree", path);
        if (r < 0)
                text = xstrdup(fallback);
        *ret_text = TAKE_PTR(text);
        return 0;
}

int cfg_read_file(struct cfg *c, const char *path, char **ret, size_t *ret_len) {
        return tree_read_file(c->tree_fd, path, CFG_READ_MAX, ret, ret_len);
}

int cfg_write_file(struct cfg *c, const char *path, const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid) {
        int r = tree_write_file(c->tree_fd, path, data, len, mode, uid, gid);
        if (r < 0)
                return log_error_errno(r, "writing %s in the tree", path);
        return 0;
}

int cfg_mkdir(struct cfg *c, const char *path, mode_t mode) {
        int r = tree_mkdir_p(c->tree_fd, path, mode);
        if (r < 0)
                return log_error_errno(r, "creating %s in the tree", path);
        return 0;
}

int cfg_symlink(struct cfg *c, const char *target, const char *linkpath) {
        _cleanup_free_ char *dir = xstrdup(linkpath);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int r = cfg_mkdir(c, dir, 0755);
                if (r < 0)
                        return r;
        }
        int r = tree_symlink(c->tree_fd, target, linkpath);
        if (r < 0)
                return log_error_errno(r, "symlink %s -> %s in the tree", linkpath, target);
        return 0;
}

int cfg_remove(struct cfg *c, const char *path, bool recursive) {
        int r = tree_remove(c->tree_fd, path, recursive ? TREE_RM_DIR : 0);
        if (r < 0)
                return log_error_errno(r, "removing %s in the tree", path);
        return 0;
}

/* Removes the entries of directory DIR (canonical, inside the tree) that
 * match the pattern components COMPS[0..n); a wildcard directory component
 * (/home/<asterisk>/.bash_history) is expanded by reading the directory. */
static int remove_glob_in(struct cfg *c, const char *dir, char **comps, size_t n, bool keep_dirs, unsigned *ret_count) {
        DIR *d = NULL;
        int r = tree_opendir(c->tree_fd, dir, &d);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return log_error_errno(r, "opening %s in the tree", dir);
        int dfd = dirfd(d);
        struct dirent *de;
        r = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                if (fnmatch(comps[0], de->d_name, FNM_PERIOD) != 0)
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                _cleanup_free_ char *sub = xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, de->d_name);
                if (n > 1) {
                        /* Only real directories are descended into: a
                         * symlinked /home/x would be followed by a glob. */
                        if (S_ISDIR(st.st_mode) && (r = remove_glob_in(c, sub, comps + 1, n - 1, keep_dirs, ret_count)) < 0)
                                break;
                        continue;
                }
                if (S_ISDIR(st.st_mode) && keep_dirs)
                        continue;
                r = tree_remove_at(dfd, de->d_name, TREE_RM_DIR);
                if (r < 0) {
                        log_error_errno(r, "removing %s in the tree", sub);
                        break;
                }
                if (ret_count)
                        (*ret_count)++;
        }
        closedir(d);
        return r;
}

int cfg_remove_glob(struct cfg *c, const char *pattern, bool keep_dirs, unsigned *ret_count) {
        if (!pattern || pattern[0] != '/')
                return -EINVAL;
        /* The fixed leading directories are resolved (symlinks followed
         * inside the tree, as before); from the first wildcard on, the
         * pattern's components are matched entry by entry. */
        _cleanup_strv_free_ char **comps = NULL;
        _cleanup_free_ char *copy = xstrdup(pattern);
        for (char *tok = strtok(copy, "/"); tok; tok = strtok(NULL, "/"))
                strv_push(&comps, tok);
        size_t n = strv_length(comps);
        if (n == 0)
                return -EINVAL;
        size_t fixed = 0;
        while (fixed < n - 1 && !strpbrk(comps[fixed], "*?["))
                fixed++;
        _cleanup_free_ char *dir = xstrdup("");
        for (size_t i = 0; i < fixed; i++) {
                char *next = xasprintf("%s/%s", dir, comps[i]);
                free(dir);
                dir = next;
        }
        _cleanup_free_ char *canon = NULL;
        int r = tree_resolve(c->tree_fd, dir[0] ? dir : "/", 0, NULL, NULL, &canon);
        if (r == -ENOENT || r == -ENOTDIR)
                return 0;
        if (r < 0)
                return log_error_errno(r, "resolving %s in the tree", dir);
        return remove_glob_in(c, canon, comps + fixed, n - fixed, keep_dirs, ret_count);
}

int cfg_open(struct cfg *c, struct build_ctx *ctx) {
        *c = (struct cfg){ .ctx = ctx, .p = ctx->profile, .tree = ctx->tree, .tree_fd = tree_root_open(ctx->tree) };
        if (c->tree_fd < 0)
                return log_error_errno(c->tree_fd, "configure: opening the tree %s", ctx->tree);
        return 0;
}

void cfg_close(struct cfg *c) {
        accounts_free(&c->acc);
        if (c->tree_fd >= 0)
                close(c->tree_fd);
        c->tree_fd = -1;
        free(c->kver);
        c->kver = NULL;
        free(c->inputs);
        c->inputs = NULL;
        c->inputs_len = 0;
}

int stage_configure(struct build_ctx *ctx) {
        if (!ctx || !ctx->profile || !ctx->tree)
                return log_error_errno(-EINVAL, "configure: no profile or tree");
        uint64_t t0 = now_usec();
        struct cfg c;
        int r = cfg_open(&c, ctx);
        if (r < 0)
                return r;

        /* Pass 1: read the tree, check every key.  Errors are counted, not
         * returned early, so a profile's author sees all of them at once. */
        r = accounts_load(&c);
        if (r < 0)
                goto out;
        r = kernel_find_version(&c);
        if (r < 0)
                goto out;
        accounts_validate(&c);
        extra_trees_validate(&c);
        files_validate(&c);
        scripts_validate(&c);
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

        /* Pass 2: write.  Accounts first (files and extra trees may be owned
         * by new users), then extra trees (a files: entry wins over a tree's
         * file), post-install scripts after every declarative step, the
         * initramfs after everything it reads (modules list, pruned
         * modules, files under /etc/initramfs-tools), generalize after that
         * so nothing the other steps run leaves traces behind, and the
         * finalize scripts last. */
        if ((r = accounts_apply(&c)) < 0 ||
            (r = extra_trees_apply(&c)) < 0 ||
            (r = image_sources_apply(&c)) < 0 ||
            (r = files_apply(&c)) < 0 ||
            (r = system_settings_apply(&c)) < 0 ||
            (r = fstab_apply(&c)) < 0 ||
            (r = immutable_apply(&c)) < 0 ||
            (r = systemd_apply(&c)) < 0 ||
            (r = scripts_run(&c, false)) < 0 ||
            (r = prune_apply(&c)) < 0 ||
            (r = kernel_prune_modules(&c)) < 0 ||
            (r = kernel_apply_initramfs(&c)) < 0)
                goto out;
        if (c.p->generalize && (r = generalize_apply(&c)) < 0)
                goto out;
        if ((r = scripts_run(&c, true)) < 0)
                goto out;
        log_info("configure: done in %.1f s", (double)(now_usec() - t0) / 1e6);
        r = 0;
out:
        cfg_close(&c);
        return r;
}
