/* SPDX-License-Identifier: MIT */
/* slipway inspect IMAGE [--json]
 *
 * Format, partitions, filesystems, boot code, OS, kernel and package count
 * of a raw, VHD, qcow2 or ISO image (a live ISO's from its squashfs), read
 * without root and without mounting (lib/image_inspect.c).  Exit 0, 1 when the image is unreadable
 * or corrupt (one line on stderr says why), 2 on usage errors. */
#include "commands.h"
#include "image_inspect.h"
#include "log.h"

#include <getopt.h>
#include <string.h>

int cmd_inspect(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        bool json = false;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "jh", options, NULL)) >= 0)
                switch (c) {
                case 'j': json = true; break;
                case 'h':
                        printf("usage: slipway inspect IMAGE [--json]\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (optind + 1 != argc) {
                log_error("usage: slipway inspect IMAGE [--json]");
                return EXIT_USAGE;
        }
        int r = image_inspect_print(argv[optind], json, stdout);
        return r < 0 ? EXIT_FAILURE_BUILD : EXIT_OK;
}
