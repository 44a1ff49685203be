/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_verify(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'verify' is not implemented yet");
        return EXIT_USAGE;
}
