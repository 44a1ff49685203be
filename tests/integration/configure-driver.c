/* SPDX-License-Identifier: MIT */
/* Runs the configure stage on a tree the caller owns, with a profile loaded
 * exactly as `slipway build` loads it (profile_load, then stage_resolve for
 * the disk plan, then stage_configure).  `slipway build` works on a copy of
 * the tree in its work directory and removes it when the build fails; this
 * driver lets tests/integration/test-configure-fixtures compare a listing
 * of the tree before and after a profile that the stage must refuse.
 *
 *   configure-driver PROFILE TREE [--set KEY=VALUE]... [-v]
 *
 * Prints build.json's "changes" array on stdout.  Exit status as `slipway
 * build`: 0, 2 for a profile error (also one the stage finds against the
 * tree), 1 for anything else. */
#include "build.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
        spawn_install_signal_handlers();
        const char *profile_path = NULL, *tree = NULL;
        char **sets = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
                        strv_push(&sets, argv[++i]);
                else if (strcmp(argv[i], "-v") == 0)
                        log_set_level(LOG_DEBUG);
                else if (!profile_path)
                        profile_path = argv[i];
                else if (!tree)
                        tree = argv[i];
                else {
                        fprintf(stderr, "configure-driver: bad argument %s\n", argv[i]);
                        return 2;
                }
        }
        if (!profile_path || !tree) {
                fprintf(stderr, "usage: configure-driver PROFILE TREE [--set KEY=VALUE]... [-v]\n");
                strv_free(sets);
                return 2;
        }

        struct profile_errors errs = {};
        struct slw_profile *p = NULL;
        int r = profile_load(profile_path, sets, &p, &errs);
        strv_free(sets);
        if (r < 0) {
                profile_errors_print(&errs, stderr);
                profile_errors_free(&errs);
                return 2;
        }
        const char *sde = getenv("SOURCE_DATE_EPOCH");
        struct build_ctx ctx = {
                .profile = p,
                .tree = xstrdup(tree),
                /* stage_resolve only names the raw disk inside it; nothing is written there */
                .workdir = xstrdup("/nonexistent/configure-driver"),
                .epoch = sde ? strtoull(sde, NULL, 10) : 1767225600,
                .unprivileged = geteuid() != 0,
        };
        memcpy(ctx.enabled_outputs, p->outputs, sizeof(ctx.enabled_outputs));
        ctx.build_json = json_object_new_object();
        ctx.changes = json_object_new_array();
        r = stage_resolve(&ctx);
        if (r == 0)
                r = stage_configure(&ctx);
        printf("%s\n", json_object_to_json_string_ext(ctx.changes, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(ctx.changes);
        json_object_put(ctx.build_json);
        free(ctx.tree);
        free(ctx.workdir);
        free(ctx.raw_tmp);
        profile_free(p);
        if (r == -EINTR)
                return 130;
        return r == 0 ? 0 : r == -EINVAL ? 2 : 1;
}
