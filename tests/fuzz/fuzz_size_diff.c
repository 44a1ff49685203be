/* SPDX-License-Identifier: MIT */
/* libFuzzer target for `slipway size diff OLD NEW`.  The bytes are two
 * size.json reports, OLD and NEW, split at the first NUL byte (JSON text
 * holds no raw NUL); without one, the input is compared with itself.  They
 * go through what assembler/cmd_size.c runs: size_diff_load of both files,
 * size_diff_compute, size_diff_growth and the --fail-over record, then the
 * diff rendered as --json prints it and as text (all entries and --top 1).
 * Output goes to /dev/null.
 *
 * The reports are written as old.json and new.json in a private directory
 * made once per process (size_diff_load reads files).  Any result is fine;
 * a crash, a sanitizer report, a leak or a hang is not. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "size_diff.h"
#include "util.h"
#include "fuzz-files.h"

static char *old_path, *new_path;
static int old_fd = -1, new_fd = -1;
static FILE *devnull;

static int setup(void) {
        int r = fuzz_dir_make("size-diff");
        if (r < 0)
                return r;
        old_path = path_join(fuzz_dir, "old.json");
        new_path = path_join(fuzz_dir, "new.json");
        old_fd = open(old_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        new_fd = open(new_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (old_fd < 0 || new_fd < 0)
                return -errno;
        devnull = fopen("/dev/null", "we");
        return devnull ? 0 : -errno;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_level(LOG_QUIET);
        if (!fuzz_dir && setup() < 0)
                abort();   /* the harness itself is broken: say so loudly */

        const uint8_t *nul = memchr(data, 0, size);
        size_t old_len = nul ? (size_t)(nul - data) : size;
        const uint8_t *new_data = nul ? nul + 1 : data;
        size_t new_len = nul ? size - old_len - 1 : size;
        if (fuzz_rewrite(old_fd, data, old_len) < 0 || fuzz_rewrite(new_fd, new_data, new_len) < 0)
                abort();

        struct json_object *old = NULL, *new = NULL, *diff = NULL;
        if (size_diff_load(old_path, &old) < 0)
                return 0;
        if (size_diff_load(new_path, &new) < 0) {
                json_object_put(old);
                return 0;
        }
        int r = size_diff_compute(old, new, &diff);
        json_object_put(old);
        json_object_put(new);
        if (r < 0)
                return 0;

        /* --fail-over 1MiB, as cmd_size.c records it */
        int64_t limit = 1 << 20, growth = size_diff_growth(diff);
        struct json_object *fo = json_object_new_object();
        json_object_object_add(fo, "limit", json_object_new_int64(limit));
        json_object_object_add(fo, "growth", json_object_new_int64(growth));
        json_object_object_add(fo, "over", json_object_new_boolean(growth > limit));
        json_object_object_add(diff, "fail_over", fo);
        if (growth > limit) {
                char g[32];
                (void)format_bytes((uint64_t)growth, g);   /* the "size grew by" message */
        }

        fprintf(devnull, "%s\n",
                json_object_to_json_string_ext(diff, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
        size_diff_print(diff, devnull, 0);
        size_diff_print(diff, devnull, 1);
        json_object_put(diff);
        return 0;
}
