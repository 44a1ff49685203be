/* SPDX-License-Identifier: MIT */
/* slipway verify --azure IMAGE [--json] [--deep]
 *
 * Checks an image against Azure's documented requirements (lib/azure_rules.c)
 * without root and without mounting.  --deep also opens the image with
 * libguestfs (guestfish, TCG appliance) and cross-checks what the fast path
 * found.  Exit 0 when no rule fails, 1 when one fails or the image cannot
 * be read, 2 on usage errors. */
#include "azure_rules.h"
#include "azure_deep.h"
#include "commands.h"
#include "log.h"

#include <getopt.h>
#include <string.h>

int cmd_verify(int argc, char **argv) {
        static const struct option options[] = {
                { "azure", no_argument, NULL, 'a' },
                { "json", no_argument, NULL, 'j' },
                { "deep", no_argument, NULL, 'd' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        bool azure = false, json = false, deep = false;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'a': azure = true; break;
                case 'j': json = true; break;
                case 'd': deep = true; break;
                case 'h':
                        printf("usage: slipway verify --azure IMAGE [--json] [--deep]\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        if (!azure || optind + 1 != argc) {
                log_error("usage: slipway verify --azure IMAGE [--json] [--deep]");
                return EXIT_USAGE;
        }
        const char *path = argv[optind];
        int r = deep ? azure_verify_image_deep(path, json, stdout) : azure_verify_image(path, json, stdout);
        return r == 0 ? EXIT_OK : EXIT_FAILURE_BUILD;
}
