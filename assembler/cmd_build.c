/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_build(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'build' is not implemented yet");
        return EXIT_USAGE;
}
