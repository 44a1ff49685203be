/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"
#include "profile.h"
#include "util.h"

#include <string.h>

int command_load_profile(const char *cmd, int argc, char **argv, bool *json, bool *strict, struct slw_profile **ret) {
        const char *synopsis = command_find(cmd)->synopsis;
        const char *path = NULL;
        _cleanup_strv_free_ char **sets = NULL;
        for (int i = 1; i < argc; i++) {
                if (json && strcmp(argv[i], "--json") == 0)
                        *json = true;
                else if (strict && strcmp(argv[i], "--strict") == 0)
                        *strict = true;
                else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc)
                        strv_push(&sets, argv[++i]);
                else if (startswith(argv[i], "--set="))
                        strv_push(&sets, argv[i] + 6);
                else if (argv[i][0] == '-' && argv[i][1]) {
                        log_error("%s: unknown option %s (usage: slipway %s)", cmd, argv[i], synopsis);
                        return EXIT_USAGE;
                } else if (!path)
                        path = argv[i];
                else {
                        log_error("%s: one profile at a time (got %s and %s)", cmd, path, argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (!path) {
                log_error("usage: slipway %s", synopsis);
                return EXIT_USAGE;
        }
        struct profile_errors errs = { 0 };
        int r = profile_load_flags(path, sets, strict && *strict ? PROFILE_LOAD_STRICT : 0, ret, &errs);
        if (r < 0)
                profile_errors_print(&errs, stderr);
        profile_errors_free(&errs);
        return r < 0 ? EXIT_USAGE : EXIT_OK;
}

/* slipway validate PROFILE [--strict] [--set K=V]...: silent exit 0, or every
 * error as file:line:col: message on stderr and exit 2.  --strict: as if the
 * profile said `strict: true`. */
int cmd_validate(int argc, char **argv) {
        struct slw_profile *p = NULL;
        bool strict = false;
        int code = command_load_profile("validate", argc, argv, NULL, &strict, &p);
        profile_free(p);
        return code;
}
