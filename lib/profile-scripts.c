/* SPDX-License-Identifier: MIT */
/* scripts.post-install / scripts.finalize and extra-trees: the checks
 * beyond the schema's types (the files they name exist; image paths are
 * clean), their typed model, and freeing it.  The configure stage runs and
 * copies them (assembler/configure_scripts.c). */
#include "profile-internal.h"
#include "tree.h"
#include "util.h"

#include <string.h>
#include <sys/stat.h>

static bool scalar_ok(const struct pnode *n) {
        return n && n->kind == PNODE_SCALAR && !pnode_is_null(n);
}

/* A host path relative to the file that names it, like files[].source
 * and include:; a --set value (line 0) is taken as given. */
static char *host_path_of(const struct pnode *n) {
        if (n->value[0] == '/' || n->origin.line == 0 || !n->origin.file)
                return xstrdup(n->value);
        const char *slash = strrchr(n->origin.file, '/');
        if (!slash)
                return xstrdup(n->value);
        _cleanup_free_ char *dir = slash == n->origin.file ? xstrdup("/") : xstrndup(n->origin.file, (size_t)(slash - n->origin.file));
        return path_join(dir, n->value);
}

static const char *const script_lists[] = { "post-install", "finalize" };

static void check_scripts(const struct pnode *root, struct profile_errors *errs) {
        const struct pnode *scripts = pnode_get(root, "scripts");
        for (size_t l = 0; scripts && scripts->kind == PNODE_MAP && l < ELEMENTSOF(script_lists); l++) {
                const struct pnode *list = pnode_get(scripts, script_lists[l]);
                for (size_t i = 0; list && list->kind == PNODE_SEQ && i < list->n_items; i++) {
                        const struct pnode *it = list->items[i];
                        if (it->kind != PNODE_MAP)
                                continue;
                        const struct pnode *src = pnode_get(it, "source");
                        if (!scalar_ok(src)) {
                                profile_errors_add(errs, it->origin, "scripts.%s[%zu]: missing source (the script's file, "
                                                   "relative to this profile)", script_lists[l], i);
                                continue;
                        }
                        _cleanup_free_ char *host = host_path_of(src);
                        struct stat st;
                        if (stat(host, &st) < 0)
                                profile_errors_add(errs, src->origin, "scripts.%s[%zu].source: no such file '%s'", script_lists[l], i, host);
                        else if (!S_ISREG(st.st_mode))
                                profile_errors_add(errs, src->origin, "scripts.%s[%zu].source: '%s' is not a regular file",
                                                   script_lists[l], i, host);
                        else if (!(st.st_mode & 0111))
                                profile_errors_add(errs, src->origin, "scripts.%s[%zu].source: '%s' is not executable (it runs "
                                                   "inside the image as a program, by its #! line: chmod +x it)",
                                                   script_lists[l], i, host);
                }
        }
}

/* An absolute image path without "..", "." or empty components ("/" allowed when DIR_OK). */
static bool clean_image_path(const char *s, bool dir_ok) {
        if (!s || s[0] != '/')
                return false;
        if (strcmp(s, "/") == 0)
                return dir_ok;
        return root_path_is_clean(s) && s[strlen(s) - 1] != '/';
}

/* PATH relative to TARGET ("" for TARGET itself), or NULL when PATH is not at or below it. */
static const char *below(const char *path, const char *target) {
        if (strcmp(target, "/") == 0)
                return path + 1;
        size_t n = strlen(target);
        if (strncmp(path, target, n) != 0 || (path[n] != '/' && path[n] != '\0'))
                return NULL;
        return path[n] ? path + n + 1 : path + n;
}

/* Where the booted system mounts over the image (lib/profile.c refuses files: there too). */
static const char *hidden_at_boot(const char *path) {
        static const char *const dirs[] = { "/dev", "/proc", "/sys", "/run" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                size_t n = strlen(dirs[i]);
                if (strncmp(path, dirs[i], n) == 0 && (path[n] == '/' || path[n] == '\0'))
                        return dirs[i];
        }
        return NULL;
}

static void check_trees(const struct pnode *root, struct profile_errors *errs) {
        const struct pnode *trees = pnode_get(root, "extra-trees");
        for (size_t i = 0; trees && trees->kind == PNODE_SEQ && i < trees->n_items; i++) {
                const struct pnode *it = trees->items[i];
                if (it->kind != PNODE_MAP)
                        continue;
                const struct pnode *src = pnode_get(it, "source"), *target = pnode_get(it, "target");
                _cleanup_free_ char *host = NULL;
                if (!scalar_ok(src))
                        profile_errors_add(errs, it->origin, "extra-trees[%zu]: missing source (a directory, relative to this profile)", i);
                else {
                        host = host_path_of(src);
                        struct stat st;
                        if (stat(host, &st) < 0 || !S_ISDIR(st.st_mode)) {
                                profile_errors_add(errs, src->origin, "extra-trees[%zu].source: no such directory '%s'", i, host);
                                free(host);
                                host = NULL;
                        }
                }
                const char *tv = "/";
                if (scalar_ok(target)) {
                        if (!clean_image_path(target->value, true)) {
                                profile_errors_add(errs, target->origin, "extra-trees[%zu].target: expected an absolute directory in "
                                                   "the image without '.', '..' or empty components, got '%s'", i, target->value);
                                continue;
                        }
                        tv = target->value;
                        const char *mnt = hidden_at_boot(tv);
                        if (mnt) {
                                profile_errors_add(errs, target->origin, "extra-trees[%zu].target: %s is under %s, which the "
                                                   "booted system mounts over (the image would not have it)", i, tv, mnt);
                                continue;
                        }
                }
                const struct pnode *paths = pnode_get(it, "paths");
                for (size_t j = 0; paths && paths->kind == PNODE_SEQ && j < paths->n_items; j++) {
                        const struct pnode *pe = paths->items[j];
                        if (pe->kind != PNODE_MAP)
                                continue;
                        const struct pnode *pp = pnode_get(pe, "path");
                        if (!scalar_ok(pp)) {
                                profile_errors_add(errs, pe->origin, "extra-trees[%zu].paths[%zu]: missing path", i, j);
                                continue;
                        }
                        const char *rel = clean_image_path(pp->value, true) ? below(pp->value, tv) : NULL;
                        if (!rel) {
                                profile_errors_add(errs, pp->origin, "extra-trees[%zu].paths[%zu].path: expected a clean absolute "
                                                   "path in the image at or below the target '%s', got '%s'", i, j, tv, pp->value);
                                continue;
                        }
                        _cleanup_free_ char *in_src = host ? path_join(host, rel) : NULL;
                        struct stat st;
                        if (in_src && lstat(in_src, &st) < 0)
                                profile_errors_add(errs, pp->origin, "extra-trees[%zu].paths[%zu].path: the tree has no '%s' "
                                                   "(no such file '%s')", i, j, pp->value, in_src);
                }
        }
}

void profile_scripts_check(const struct pnode *root, struct profile_errors *errs) {
        check_scripts(root, errs);
        check_trees(root, errs);
}

static char *str_of(const struct pnode *m, const char *key) {
        const struct pnode *n = pnode_get(m, key);
        return scalar_ok(n) ? xstrdup(n->value) : NULL;
}

void profile_scripts_model(struct slw_profile *p, const struct pnode *root) {
        const struct pnode *scripts = pnode_get(root, "scripts");
        for (size_t l = 0; scripts && scripts->kind == PNODE_MAP && l < ELEMENTSOF(script_lists); l++) {
                const struct pnode *list = pnode_get(scripts, script_lists[l]);
                if (!list || list->kind != PNODE_SEQ || list->n_items == 0)
                        continue;
                struct slw_script *v = xcalloc(list->n_items, sizeof(*v));
                size_t n = 0;
                for (size_t i = 0; i < list->n_items; i++) {
                        const struct pnode *it = list->items[i], *src = pnode_get(it, "source"), *net = pnode_get(it, "network");
                        if (!scalar_ok(src))
                                continue;
                        v[n++] = (struct slw_script){
                                .source = host_path_of(src),
                                .network = scalar_ok(net) && strcmp(net->value, "true") == 0,
                                .reason = it->reason ? xstrdup(it->reason) : NULL,
                                .origin_path = xasprintf("scripts.%s[%zu]", script_lists[l], i),
                        };
                }
                if (l == 0)
                        p->post_install = v, p->n_post_install = n;
                else
                        p->finalize = v, p->n_finalize = n;
        }
        const struct pnode *trees = pnode_get(root, "extra-trees");
        if (!trees || trees->kind != PNODE_SEQ || trees->n_items == 0)
                return;
        p->extra_trees = xcalloc(trees->n_items, sizeof(*p->extra_trees));
        for (size_t i = 0; i < trees->n_items; i++) {
                const struct pnode *it = trees->items[i], *src = pnode_get(it, "source");
                if (!scalar_ok(src))
                        continue;
                struct slw_extra_tree t = {
                        .source = host_path_of(src),
                        .target = str_of(it, "target"),
                        .owner = str_of(it, "owner"),
                        .group = str_of(it, "group"),
                        .reason = it->reason ? xstrdup(it->reason) : NULL,
                        .origin_path = xasprintf("extra-trees[%zu]", i),
                };
                if (!t.target)
                        t.target = xstrdup("/");
                if (!t.owner)
                        t.owner = xstrdup("root");
                if (!t.group)
                        t.group = xstrdup("root");
                const struct pnode *paths = pnode_get(it, "paths");
                if (paths && paths->kind == PNODE_SEQ && paths->n_items > 0)
                        t.paths = xcalloc(paths->n_items, sizeof(*t.paths));
                for (size_t j = 0; paths && paths->kind == PNODE_SEQ && j < paths->n_items; j++) {
                        const struct pnode *pe = paths->items[j], *mode = pnode_get(pe, "mode");
                        struct slw_tree_path tp = {
                                .path = str_of(pe, "path"), .owner = str_of(pe, "owner"), .group = str_of(pe, "group"),
                                .origin_path = xasprintf("extra-trees[%zu].paths[%zu]", i, j),
                        };
                        if (scalar_ok(mode) && profile_parse_mode(mode, &tp.mode) == 0)
                                tp.has_mode = true;
                        if (!tp.path) {
                                free(tp.owner), free(tp.group), free(tp.origin_path);
                                continue;
                        }
                        t.paths[t.n_paths++] = tp;
                }
                p->extra_trees[p->n_extra_trees++] = t;
        }
}

static void free_scripts(struct slw_script *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i].source), free(v[i].reason), free(v[i].origin_path);
        free(v);
}

void profile_scripts_free(struct slw_profile *p) {
        free_scripts(p->post_install, p->n_post_install);
        free_scripts(p->finalize, p->n_finalize);
        for (size_t i = 0; i < p->n_extra_trees; i++) {
                struct slw_extra_tree *t = &p->extra_trees[i];
                for (size_t j = 0; j < t->n_paths; j++)
                        free(t->paths[j].path), free(t->paths[j].owner), free(t->paths[j].group), free(t->paths[j].origin_path);
                free(t->paths);
                free(t->source), free(t->target), free(t->owner), free(t->group), free(t->reason), free(t->origin_path);
        }
        free(p->extra_trees);
}
