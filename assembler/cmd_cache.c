/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_cache(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'cache' is not implemented yet");
        return EXIT_USAGE;
}
