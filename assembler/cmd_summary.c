/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"
#include "profile.h"
#include "util.h"

#include <stdio.h>

/* slipway summary PROFILE [--json] [--set K=V]...: the merged profile with
 * the origin and reason of every value. */
int cmd_summary(int argc, char **argv) {
        bool json = false;
        struct slw_profile *p = NULL;
        int code = command_load_profile("summary", argc, argv, &json, NULL, &p);
        if (code != EXIT_OK)
                return code;
        int r = json ? profile_print_summary_json(p, stdout) : profile_print_summary(p, stdout);
        profile_free(p);
        if (fflush(stdout) != 0 || r < 0) {
                log_error("summary: cannot write output");
                return EXIT_FAILURE_BUILD;
        }
        return EXIT_OK;
}
