/* SPDX-License-Identifier: MIT */
/* Runs stage_rootfs outside a full build, with a profile filled by hand.
 *
 *   rootfs-driver --workdir DIR --cache DIR [--backend apt|dnf|import]
 *       [--release R] [--variant V] [--mirror URL] [--profile-mirror URL]
 *       [--component C]... [--arch A] [--install PKG]... [--exclude GLOB]...
 *       [--include-path GLOB]... [--recommends] [--source PATH]
 *       [--repo NAME=URL[,gpgcheck]]... [--epoch N] [--unprivileged] [-v]
 *
 * Prints build.json's "rootfs" object and the tree path on stdout. */
#include "build.h"
#include "log.h"
#include "rootfs.h"
#include "spawn.h"
#include "util.h"

#include <json-c/json.h>
#include <string.h>

int main(int argc, char **argv) {
        spawn_install_signal_handlers();
        struct slw_profile p = {};
        struct build_ctx ctx = { .profile = &p, .epoch = 1700000000 };
        p.distribution.backend = BACKEND_APT;
        p.distribution.variant = "minbase";
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && (i++, true))
                if (OPT("--workdir"))
                        ctx.workdir = xstrdup(v);
                else if (OPT("--cache"))
                        ctx.cache_dir = xstrdup(v);
                else if (OPT("--backend"))
                        p.distribution.backend = strcmp(v, "dnf") == 0 ? BACKEND_DNF
                                                 : strcmp(v, "import") == 0 ? BACKEND_IMPORT : BACKEND_APT;
                else if (OPT("--release"))
                        p.distribution.release = (char *)v;
                else if (OPT("--variant"))
                        p.distribution.variant = (char *)v;
                else if (OPT("--mirror"))
                        ctx.mirror_override = (char *)v;
                else if (OPT("--profile-mirror"))
                        p.distribution.mirror = (char *)v;
                else if (OPT("--component"))
                        strv_push(&p.distribution.components, v);
                else if (OPT("--arch"))
                        p.distribution.architecture = (char *)v;
                else if (OPT("--install"))
                        strv_push(&p.packages.install, v);
                else if (OPT("--exclude"))
                        strv_push(&p.packages.exclude_paths, v);
                else if (OPT("--include-path"))
                        strv_push(&p.packages.include_paths, v);
                else if (OPT("--source"))
                        p.distribution.source = (char *)v;
                else if (OPT("--epoch"))
                        ctx.epoch = strtoull(v, NULL, 10);
                else if (OPT("--repo")) {
                        p.distribution.repos = xrealloc(p.distribution.repos, (p.distribution.n_repos + 1) * sizeof(struct slw_repo));
                        struct slw_repo *r = &p.distribution.repos[p.distribution.n_repos++];
                        *r = (struct slw_repo) {};
                        char *eq = strchr(v, '=');
                        if (!eq)
                                return 2;
                        r->name = xstrndup(v, (size_t)(eq - v));
                        r->baseurl = xstrdup(eq + 1);
                        char *comma = strstr(r->baseurl, ",gpgcheck");
                        if (comma) {
                                *comma = '\0';
                                r->gpgcheck = true;
                        }
                } else if (strcmp(a, "--recommends") == 0)
                        p.packages.recommends = true;
                else if (strcmp(a, "--unprivileged") == 0)
                        ctx.unprivileged = true;
                else if (strcmp(a, "-v") == 0)
                        log_set_level(LOG_DEBUG);
                else {
                        fprintf(stderr, "rootfs-driver: bad argument %s\n", a);
                        return 2;
                }
#undef OPT
        }
        if (!ctx.workdir) {
                fprintf(stderr, "rootfs-driver: --workdir is required\n");
                return 2;
        }
        if (!p.distribution.architecture)
                p.distribution.architecture = p.distribution.backend == BACKEND_DNF ? "noarch" : "amd64";
        if (mkdir_p(ctx.workdir, 0755) < 0)
                return 1;
        ctx.build_json = json_object_new_object();
        int r = stage_rootfs(&ctx);
        if (r == 0) {
                struct json_object *o;
                if (json_object_object_get_ex(ctx.build_json, "rootfs", &o))
                        printf("%s\n", json_object_to_json_string(o));
                printf("tree=%s\n", ctx.tree);
        }
        json_object_put(ctx.build_json);
        for (size_t i = 0; i < p.distribution.n_repos; i++) {
                free(p.distribution.repos[i].name);
                free(p.distribution.repos[i].baseurl);
        }
        free(p.distribution.repos);
        strv_free(p.distribution.components);
        strv_free(p.packages.install);
        strv_free(p.packages.exclude_paths);
        strv_free(p.packages.include_paths);
        free(ctx.workdir);
        free(ctx.cache_dir);
        free(ctx.tree);
        if (r == -EINTR)
                return 130;
        return r < 0 ? 1 : 0;
}
