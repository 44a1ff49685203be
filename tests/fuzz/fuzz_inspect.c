/* SPDX-License-Identifier: MIT */
/* libFuzzer target for `slipway inspect`'s parsers: the bytes are an image
 * file (raw, VHD fixed/dynamic, qcow2, ISO) handed to the same reader and
 * inspector the command uses.  Any result is fine; a crash, a sanitizer
 * report, a leak or a hang is not. */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image_inspect.h"
#include "image_reader.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_level(LOG_QUIET);
        int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
        if (fd < 0)
                return 0;
        if (size > 0 && write(fd, data, size) != (ssize_t)size) {
                close(fd);
                return 0;
        }
        struct image_reader *r = NULL;
        if (image_reader_open_fd(fd, "fuzz-image", &r) < 0)
                return 0; /* the reader owns (and closed) the fd */
        struct image_info info = {0};
        (void)image_inspect(r, &info);
        image_info_done(&info);
        image_reader_free(r);
        return 0;
}
