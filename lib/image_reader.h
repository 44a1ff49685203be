/* SPDX-License-Identifier: MIT */
#pragma once
#include "vhd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read-only, block-level access to a disk image's virtual disk, whatever
 * its container: raw, fixed or dynamic VHD, qcow2 (v2/v3), or an ISO 9660
 * image (read like raw).  Nothing is mounted and nothing needs root: the
 * inspectors (partition table, filesystems, ext4, FAT) all read through
 * image_pread().
 *
 * Errors: every function returns 0 or a negative errno and has already
 * logged one line saying what is wrong with the file (truncated, corrupt
 * table, unsupported feature), so callers just pass the error up.
 * -EBADMSG means "the image is corrupt or truncated", -EOPNOTSUPP "valid
 * but uses a feature this reader refuses" (backing files, encryption). */

enum image_format {
        IMAGE_FORMAT_RAW,
        IMAGE_FORMAT_VHD_FIXED,
        IMAGE_FORMAT_VHD_DYNAMIC,
        IMAGE_FORMAT_QCOW2,
        IMAGE_FORMAT_ISO,
};

const char *image_format_name(enum image_format f);

struct image_reader {
        char *path;
        enum image_format format;
        int fd;
        uint64_t file_size;
        uint64_t size;                  /* the virtual disk's size in bytes */

        /* VHD only: the footer as found (end of file; for a dynamic VHD whose
         * end is damaged, the copy at offset 0).  vhd_footer_status is 0 or
         * -EPROTO (checksum mismatch): the image is still readable so that
         * `verify` can report the container rule instead of refusing. */
        bool has_vhd_footer;
        struct vhd_footer_info vhd;
        int vhd_footer_status;

        /* qcow2 only. */
        unsigned qcow2_version;
        const char *qcow2_compression;  /* "zlib" or "zstd" (the header's choice) */

        int (*read_at)(struct image_reader *r, void *buf, size_t n, uint64_t offset);
        void (*free_priv)(void *priv);
        void *priv;
};

int image_reader_open(const char *path, struct image_reader **ret);
/* Same, on an already open file descriptor (taken over; closed by free). */
int image_reader_open_fd(int fd, const char *name, struct image_reader **ret);
void image_reader_free(struct image_reader *r);
static inline void image_reader_freep(struct image_reader **r) { image_reader_free(*r); }
#define _cleanup_image_reader_ _cleanup_(image_reader_freep)

/* Reads n bytes of the virtual disk at offset.  Reading beyond the virtual
 * size is -ERANGE; beyond the end of the file (a truncated image) -EBADMSG. */
int image_pread(struct image_reader *r, void *buf, size_t n, uint64_t offset);

/* libfdisk and libblkid only read from file descriptors.  For a container
 * that is not raw, this returns a memfd of `size` bytes (sparse: it costs
 * only what is copied) holding the first `head` and the last `tail` bytes of
 * the region [offset, offset + size) of the virtual disk; the rest reads as
 * zeros.  That is where partition tables (LBA 0-33 and the backup GPT at
 * the end) and filesystem superblocks live. */
int image_reader_window_fd(struct image_reader *r, uint64_t offset, uint64_t size,
                           uint64_t head, uint64_t tail, int *ret_fd);

/* Internal: the qcow2 and VHD-dynamic back ends (lib/qcow2_reader.c). */
int qcow2_reader_init(struct image_reader *r, const uint8_t *header, size_t header_len);
int vhd_dynamic_reader_init(struct image_reader *r);
/* Internal: pread on the container file; short reads are -EBADMSG
 * ("truncated"), logged with `what`. */
int image_file_pread(struct image_reader *r, void *buf, size_t n, uint64_t offset, const char *what);
