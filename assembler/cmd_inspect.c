/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_inspect(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'inspect' is not implemented yet");
        return EXIT_USAGE;
}
