/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_summary(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'summary' is not implemented yet");
        return EXIT_USAGE;
}
