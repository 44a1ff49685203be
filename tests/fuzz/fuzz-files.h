/* SPDX-License-Identifier: MIT */
#pragma once
/* What the fuzz targets that hand their input to a command as files share:
 * one private directory per process, removed at exit, and rewriting a file
 * in place for each input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

static char *fuzz_dir;

static void fuzz_dir_remove(void) {
        if (fuzz_dir)
                (void)rm_rf(fuzz_dir);
}

/* Makes $TMPDIR/slipway-fuzz-WHAT.XXXXXX, removed at exit. */
static int fuzz_dir_make(const char *what) {
        const char *tmp = getenv("TMPDIR");
        char *d = xasprintf("%s/slipway-fuzz-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what);
        if (!mkdtemp(d)) {
                free(d);
                return -errno;
        }
        fuzz_dir = d;
        atexit(fuzz_dir_remove);
        return 0;
}

/* Replaces the file's content.  Not with O_TRUNC: ext4 flushes a file
 * truncated to 0 and written again when it is closed (auto_da_alloc), which
 * made every run wait for the disk. */
static int fuzz_rewrite(int fd, const void *data, size_t len) {
        for (size_t done = 0; done < len;) {
                ssize_t n = pwrite(fd, (const uint8_t *)data + done, len - done, (off_t)done);
                if (n < 0)
                        return -errno;
                done += (size_t)n;
        }
        return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}
