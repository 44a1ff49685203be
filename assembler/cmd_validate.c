/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"
#include "profile.h"
#include "util.h"

#include <string.h>

/* slipway validate PROFILE [--set K=V]...: silent exit 0, or every error as
 * file:line:col: message on stderr and exit 2. */
int cmd_validate(int argc, char **argv) {
        const char *path = NULL;
        _cleanup_strv_free_ char **sets = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
                        strv_push(&sets, argv[++i]);
                else if (startswith(argv[i], "--set="))
                        strv_push(&sets, argv[i] + 6);
                else if (argv[i][0] == '-' && argv[i][1]) {
                        log_error("validate: unknown option %s (usage: slipway validate PROFILE [--set KEY=VALUE])", argv[i]);
                        return EXIT_USAGE;
                } else if (!path)
                        path = argv[i];
                else {
                        log_error("validate: one profile at a time (got %s and %s)", path, argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (!path) {
                log_error("usage: slipway validate PROFILE [--set KEY=VALUE]");
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
        profile_free(p);
        profile_errors_free(&errs);
        return EXIT_OK;
}
