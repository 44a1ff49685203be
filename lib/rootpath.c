/* SPDX-License-Identifier: MIT */
#include "rootpath.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define ROOTPATH_MAX_FOLLOW 40   /* like the kernel's MAXSYMLINKS */

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

/* Drops the last component of a canonical in-root path ("" is the root). */
static void pop_component(char *done) {
        char *slash = strrchr(done, '/');
        if (slash)
                *slash = '\0';
}

int root_resolve(const char *root, const char *path, unsigned flags, char **ret_rel, char **ret_host) {
        if (!root || !path)
                return -EINVAL;

        /* `done` is the resolved prefix inside the root: "" (the root) or
         * "/a/b", never with a trailing slash.  `todo` is what is left. */
        size_t cap = strlen(path) + 2;
        char *done = xcalloc(1, cap);
        _cleanup_free_ char *todo = xstrdup(path);
        const char *rest = todo;
        _cleanup_free_ char *root_clean = xstrdup(root);
        size_t rl = strlen(root_clean);
        while (rl > 1 && root_clean[rl - 1] == '/')
                root_clean[--rl] = '\0';
        if (strcmp(root_clean, "/") == 0)
                root_clean[0] = '\0';   /* host path = done */

        unsigned follows = 0;
        bool missing = false;
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
                        if (done[0] == '\0') {
                                if (flags & ROOTPATH_REFUSE_ESCAPE) { r = -EXDEV; goto fail; }
                                continue;       /* clamp at the root, as "/.." is "/" */
                        }
                        pop_component(done);
                        continue;
                }

                size_t dl = strlen(done);
                if (dl + 1 + n + 1 > cap) {
                        cap = (dl + 1 + n + 1) * 2;
                        done = xrealloc(done, cap);
                }
                done[dl] = '/';
                memcpy(done + dl + 1, comp, n);
                done[dl + 1 + n] = '\0';

                if (missing)
                        continue;       /* below a missing directory nothing exists */

                _cleanup_free_ char *host = xasprintf("%s%s", root_clean, done);
                struct stat st;
                if (lstat(host, &st) < 0) {
                        if (errno == ENOENT && (flags & ROOTPATH_NONEXISTENT)) {
                                missing = true;
                                continue;
                        }
                        r = -errno;
                        goto fail;
                }

                if (S_ISLNK(st.st_mode) && !(last && (flags & ROOTPATH_NOFOLLOW_LAST))) {
                        if (++follows > ROOTPATH_MAX_FOLLOW) { r = -ELOOP; goto fail; }
                        char target[PATH_MAX];
                        ssize_t k = readlink(host, target, sizeof(target) - 1);
                        if (k < 0) { r = -errno; goto fail; }
                        target[k] = '\0';

                        if (target[0] == '/')
                                done[0] = '\0';         /* absolute: from the image's root */
                        else
                                pop_component(done);    /* relative: from the link's directory */

                        char *next = xasprintf("%s/%s", target, rest);
                        free(todo);
                        todo = next;
                        rest = todo;
                        continue;
                }

                if (!last && !S_ISDIR(st.st_mode)) { r = -ENOTDIR; goto fail; }
        }

        if (ret_host)
                *ret_host = xasprintf("%s%s", root_clean[0] ? root_clean : (done[0] ? "" : "/"), done);
        if (ret_rel) {
                if (done[0] == '\0') {
                        free(done);
                        done = xstrdup("/");
                }
                *ret_rel = done;
                done = NULL;
        }
        free(done);
        return 0;
fail:
        free(done);
        return r;
}
