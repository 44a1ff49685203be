/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the image readers behind `slipway inspect` and
 * `slipway verify --azure`.  The bytes are an image file (raw with a GPT or
 * MBR table, VHD fixed/dynamic, qcow2, ISO 9660, or a bare filesystem),
 * handed to the same reader (lib/image_reader.c, lib/qcow2_reader.c) and
 * inspector (lib/image_inspect.c: libfdisk, libblkid, the ext4 and FAT
 * readers; for an ISO, its ISO 9660 directories and the live squashfs,
 * lib/iso9660.c and lib/squashfs_reader.c) the commands use:
 *   - inspect: image_inspect, then the report as text and as JSON;
 *   - verify --azure (the fast path, no libguestfs): as azure_verify_path
 *     does, image_inspect with a bad VHD footer checksum left to the rules,
 *     then azure_verify (kernel command line, fstab, initramfs, agent,
 *     sshd, generalization: files read through the ext4 reader) and the
 *     report as text and as JSON.
 * Output goes to /dev/null.  Any result is fine; a crash, a sanitizer
 * report, a leak or a hang is not. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "azure_rules.h"
#include "image_inspect.h"
#include "image_reader.h"
#include "log.h"

static FILE *devnull;

static void inspect_report(struct image_info *info) {
        image_info_print(info, devnull);
        json_object *o = image_info_to_json(info);
        fprintf(devnull, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static void azure_rules(struct image_reader *r, struct image_info *info) {
        struct azure_report rep;
        azure_verify(r, info, &rep);
        azure_report_print(&rep, r->path, false, devnull);
        azure_report_print(&rep, r->path, true, devnull);
        azure_report_done(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_level(LOG_QUIET);
        if (!devnull && !(devnull = fopen("/dev/null", "we")))
                abort();   /* the harness itself is broken: say so loudly */
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
        int k = image_inspect(r, &info);
        if (k >= 0) {
                inspect_report(&info);
                azure_rules(r, &info);   /* the footer was good: verify's inspection is this one */
        } else if (r->has_vhd_footer && r->vhd_footer_status < 0) {
                /* inspect refuses a bad VHD footer; verify reads on and
                 * reports it as a rule (azure_verify_path) */
                image_info_done(&info);
                int footer = r->vhd_footer_status;
                r->vhd_footer_status = 0;
                k = image_inspect(r, &info);
                r->vhd_footer_status = footer;
                if (k >= 0)
                        azure_rules(r, &info);
        }
        image_info_done(&info);
        image_reader_free(r);
        return 0;
}
