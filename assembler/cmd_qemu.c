/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"

int cmd_qemu(int argc, char **argv) {
        (void)argc;
        (void)argv;
        log_error("'qemu' is not implemented yet");
        return EXIT_USAGE;
}
