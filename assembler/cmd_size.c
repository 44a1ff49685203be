/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_size(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'size' is not implemented yet");
        return EXIT_USAGE;
}
