/* SPDX-License-Identifier: MIT */
/* slipway cache list|clean [--cache DIR] */
#include "cache.h"
#include "commands.h"
#include "log.h"
#include "userns.h"
#include "util.h"

#include <string.h>

int cmd_cache(int argc, char **argv) {
        const char *action = NULL;
        _cleanup_free_ char *dir = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc) {
                        free(dir);
                        dir = xstrdup(argv[++i]);
                } else if (startswith(argv[i], "--cache=")) {
                        free(dir);
                        dir = xstrdup(argv[i] + strlen("--cache="));
                } else if (argv[i][0] != '-' && !action)
                        action = argv[i];
                else {
                        log_error("cache: unexpected argument '%s'\nusage: slipway cache list|clean [--cache DIR]", argv[i]);
                        return EXIT_USAGE;
                }
        }
        if (!action) {
                log_error("usage: slipway cache list|clean [--cache DIR]");
                return EXIT_USAGE;
        }
        if (!dir)
                dir = cache_default_dir();
        if (strcmp(action, "list") == 0)
                return cache_list(dir, stdout) < 0 ? EXIT_FAILURE_BUILD : EXIT_OK;
        if (strcmp(action, "clean") == 0) {
                /* A rootless build's trees belong to the caller's subordinate
                 * ids (lib/userns.c): only root of that namespace removes them. */
                enum userns_kind kind;
                if (geteuid() != 0 && userns_become_root(&kind) < 0)
                        return EXIT_FAILURE_BUILD;
                return cache_clean(dir) < 0 ? EXIT_FAILURE_BUILD : EXIT_OK;
        }
        log_error("cache: unknown action '%s' (list or clean)", action);
        return EXIT_USAGE;
}
