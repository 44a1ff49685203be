/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_validate(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'validate' is not implemented yet");
        return EXIT_USAGE;
}
