/* SPDX-License-Identifier: MIT */
/* slipway size diff OLD NEW [--json] [--fail-over BYTES] [--top N]
 *
 * Exit codes: 0 (also when the image grew, unless --fail-over says
 * otherwise), 1 when the growth is over --fail-over, 2 for usage errors or
 * unreadable reports. */
#include "commands.h"
#include "log.h"
#include "size_diff.h"
#include "util.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *msg) {
        fprintf(stderr, "slipway size: %s\nUsage: slipway size diff OLD NEW [--json] [--fail-over BYTES] [--top N]\n", msg);
        return EXIT_USAGE;
}

static int size_diff_main(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "fail-over", required_argument, NULL, 'f' },
                { "top", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool json = false, have_limit = false;
        uint64_t limit = 0, top = 20;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (c) {
                case 'j': json = true; break;
                case 'f':
                        if (parse_size(optarg, &limit) < 0 || limit > INT64_MAX)
                                return usage("--fail-over wants a size like 1MiB or 500000");
                        have_limit = true;
                        break;
                case 't':
                        if (parse_size(optarg, &top) < 0)
                                return usage("--top wants a number");
                        break;
                case 'h':
                        printf("Usage: slipway size diff OLD NEW [--json] [--fail-over BYTES] [--top N]\n\n"
                               "OLD and NEW are size.json files or build output directories.  Prints what grew,\n"
                               "shrank, appeared and disappeared, by package and directory, largest change first.\n"
                               "--fail-over BYTES: exit 1 when the root filesystem (or, without one, the tree)\n"
                               "grew by more than BYTES.  --top N: entries per section (0 = all, default 20).\n");
                        return EXIT_OK;
                default: return usage("bad option");
                }
        }
        if (argc - optind != 2)
                return usage("diff wants two arguments, OLD and NEW");
        struct json_object *old = NULL, *new = NULL, *diff = NULL;
        if (size_diff_load(argv[optind], &old) < 0)
                return EXIT_USAGE;
        if (size_diff_load(argv[optind + 1], &new) < 0) {
                json_object_put(old);
                return EXIT_USAGE;
        }
        int r = size_diff_compute(old, new, &diff);
        json_object_put(old);
        json_object_put(new);
        if (r < 0)
                return EXIT_USAGE;
        int64_t growth = size_diff_growth(diff);
        bool over = have_limit && growth > (int64_t)limit;
        if (have_limit) {
                struct json_object *fo = json_object_new_object();
                json_object_object_add(fo, "limit", json_object_new_int64((int64_t)limit));
                json_object_object_add(fo, "growth", json_object_new_int64(growth));
                json_object_object_add(fo, "over", json_object_new_boolean(over));
                json_object_object_add(diff, "fail_over", fo);
        }
        if (json)
                printf("%s\n", json_object_to_json_string_ext(diff, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
                size_diff_print(diff, stdout, (size_t)top);
        json_object_put(diff);
        if (over) {
                char g[32], l[32];
                log_error("size grew by %s, more than --fail-over %s", format_bytes((uint64_t)growth, g), format_bytes(limit, l));
                return EXIT_FAILURE_BUILD;
        }
        return EXIT_OK;
}

int cmd_size(int argc, char **argv) {
        if (argc < 2)
                return usage("missing subcommand (diff)");
        if (strcmp(argv[1], "diff") == 0)
                return size_diff_main(argc - 1, argv + 1);
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                printf("Usage: slipway size diff OLD NEW [--json] [--fail-over BYTES] [--top N]\n");
                return EXIT_OK;
        }
        return usage("unknown subcommand (expected diff)");
}
