/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"
#include "profile.h"
#include "util.h"

#include <string.h>

/* slipway summary PROFILE [--json] [--set K=V]...: the merged profile with
 * the origin and reason of every value. */
int cmd_summary(int argc, char **argv) {
        const char *path = NULL;
        bool json = false;
        _cleanup_strv_free_ char **sets = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--json") == 0)
                        json = true;
                else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
                        strv_push(&sets, argv[++i]);
                else if (startswith(argv[i], "--set="))
                        strv_push(&sets, argv[i] + 6);
                else if (argv[i][0] == '-' && argv[i][1]) {
                        log_error("summary: unknown option %s (usage: slipway summary PROFILE [--json] [--set KEY=VALUE])", argv[i]);
                        return EXIT_USAGE;
                } else if (!path)
                        path = argv[i];
                else {
                        log_error("summary: one profile at a time (got %s and %s)", path, argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (!path) {
                log_error("usage: slipway summary PROFILE [--json] [--set KEY=VALUE]");
                return EXIT_USAGE;
        }
        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load(path, sets, &p, &errs);
        if (r < 0) {
                profile_errors_print(&errs, stderr);
                profile_errors_free(&errs);
                return EXIT_USAGE;
        }
        r = json ? profile_print_summary_json(p, stdout) : profile_print_summary(p, stdout);
        profile_free(p);
        profile_errors_free(&errs);
        if (fflush(stdout) != 0 || r < 0) {
                log_error("summary: cannot write output");
                return EXIT_FAILURE_BUILD;
        }
        return EXIT_OK;
}
