/* SPDX-License-Identifier: MIT */
#include "image_reader.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

const char *image_format_name(enum image_format f) {
        switch (f) {
        case IMAGE_FORMAT_RAW: return "raw";
        case IMAGE_FORMAT_VHD_FIXED: return "vhd-fixed";
        case IMAGE_FORMAT_VHD_DYNAMIC: return "vhd-dynamic";
        case IMAGE_FORMAT_QCOW2: return "qcow2";
        case IMAGE_FORMAT_ISO: return "iso";
        }
        return "unknown";
}

int image_file_pread(struct image_reader *r, void *buf, size_t n, uint64_t offset, const char *what) {
        size_t done = 0;
        while (done < n) {
                ssize_t k = pread(r->fd, (uint8_t *)buf + done, n - done, (off_t)(offset + done));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(-errno, "%s: cannot read %s at byte %" PRIu64, r->path, what, offset + done);
                }
                if (k == 0) {
                        log_error("%s: truncated image: %s at byte %" PRIu64 " lies beyond the end of the file (%" PRIu64 " bytes)",
                                  r->path, what, offset + done, r->file_size);
                        return -EBADMSG;
                }
                done += (size_t)k;
        }
        return 0;
}

/* raw, ISO and fixed VHD: the virtual disk is the file's first `size` bytes. */
static int linear_read_at(struct image_reader *r, void *buf, size_t n, uint64_t offset) {
        return image_file_pread(r, buf, n, offset, "data");
}

int image_pread(struct image_reader *r, void *buf, size_t n, uint64_t offset) {
        if (offset > r->size || n > r->size - offset) {
                log_error("%s: read of %zu bytes at %" PRIu64 " beyond the virtual disk's end (%" PRIu64 " bytes): corrupt partition table or filesystem?",
                          r->path, n, offset, r->size);
                return -ERANGE;
        }
        if (n == 0)
                return 0;
        return r->read_at(r, buf, n, offset);
}

/* ---- VHD, dynamic: a BAT of 32-bit sector numbers, one per block; each
 * allocated block is a sector bitmap followed by block_size bytes of data.
 * Unallocated blocks read as zeros.  The bitmap is not consulted: qemu-img
 * and Hyper-V write whole blocks, and a sector marked absent in an allocated
 * block is zero on disk anyway for images they create. */
struct vhd_dynamic {
        uint32_t *bat;            /* host byte order */
        uint32_t bat_entries;
        uint32_t block_size;
        uint32_t bitmap_size;     /* bytes, rounded up to a sector */
};

static void vhd_dynamic_free(void *p) {
        struct vhd_dynamic *d = p;
        if (!d)
                return;
        free(d->bat);
        free(d);
}

static int vhd_dynamic_read_at(struct image_reader *r, void *buf, size_t n, uint64_t offset) {
        struct vhd_dynamic *d = r->priv;
        uint8_t *out = buf;
        while (n > 0) {
                uint64_t block = offset / d->block_size;
                uint32_t in_block = (uint32_t)(offset % d->block_size);
                size_t chunk = MIN(n, (size_t)(d->block_size - in_block));
                if (block >= d->bat_entries) {
                        log_error("%s: dynamic VHD: block %" PRIu64 " beyond the BAT (%" PRIu32 " entries)", r->path, block, d->bat_entries);
                        return -EBADMSG;
                }
                uint32_t sector = d->bat[block];
                if (sector == UINT32_MAX)
                        memset(out, 0, chunk);
                else {
                        uint64_t host = (uint64_t)sector * 512 + d->bitmap_size + in_block;
                        int k = image_file_pread(r, out, chunk, host, "a dynamic VHD block");
                        if (k < 0)
                                return k;
                }
                out += chunk;
                offset += chunk;
                n -= chunk;
        }
        return 0;
}

int vhd_dynamic_reader_init(struct image_reader *r) {
        uint8_t hdr[1024];
        uint64_t at = r->vhd.data_offset;
        if (at > r->file_size || r->file_size - at < sizeof hdr) {
                log_error("%s: dynamic VHD: header offset %" PRIu64 " beyond the end of the file", r->path, at);
                return -EBADMSG;
        }
        int k = image_file_pread(r, hdr, sizeof hdr, at, "the dynamic VHD header");
        if (k < 0)
                return k;
        if (memcmp(hdr, "cxsparse", 8) != 0) {
                log_error("%s: dynamic VHD: no 'cxsparse' header at byte %" PRIu64, r->path, at);
                return -EBADMSG;
        }
        uint32_t sum = 0;
        for (size_t i = 0; i < sizeof hdr; i++)
                if (i < 36 || i >= 40)
                        sum += hdr[i];
        if (~sum != get_be32(hdr + 36)) {
                log_error("%s: dynamic VHD: header checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                          r->path, get_be32(hdr + 36), ~sum);
                return -EBADMSG;
        }
        uint64_t bat_offset = get_be64(hdr + 16);
        uint32_t entries = get_be32(hdr + 28);
        uint32_t block_size = get_be32(hdr + 32);
        if (block_size < 512 || block_size > 256 * MiB || (block_size & (block_size - 1))) {
                log_error("%s: dynamic VHD: invalid block size %" PRIu32, r->path, block_size);
                return -EBADMSG;
        }
        if ((uint64_t)entries * block_size < r->size) {
                log_error("%s: dynamic VHD: BAT (%" PRIu32 " blocks of %" PRIu32 ") smaller than the disk (%" PRIu64 " bytes)",
                          r->path, entries, block_size, r->size);
                return -EBADMSG;
        }
        if (bat_offset > r->file_size || (r->file_size - bat_offset) / 4 < entries) {
                log_error("%s: truncated or corrupt dynamic VHD: BAT at %" PRIu64 " (%" PRIu32 " entries) beyond the end of the file",
                          r->path, bat_offset, entries);
                return -EBADMSG;
        }
        struct vhd_dynamic *d = xcalloc(1, sizeof *d);
        d->bat_entries = entries;
        d->block_size = block_size;
        d->bitmap_size = (uint32_t)ALIGN_UP((uint64_t)block_size / 512 / 8, 512);
        d->bat = xmalloc((size_t)entries * 4 + 1);
        k = image_file_pread(r, d->bat, (size_t)entries * 4, bat_offset, "the dynamic VHD BAT");
        if (k < 0) {
                vhd_dynamic_free(d);
                return k;
        }
        for (uint32_t i = 0; i < entries; i++)
                d->bat[i] = get_be32((const uint8_t *)&d->bat[i]);
        r->priv = d;
        r->free_priv = vhd_dynamic_free;
        r->read_at = vhd_dynamic_read_at;
        return 0;
}

/* ---- opening ---- */

static int detect_vhd(struct image_reader *r, bool *found) {
        uint8_t footer[VHD_FOOTER_SIZE];
        *found = false;
        if (r->file_size < VHD_FOOTER_SIZE)
                return 0;
        int k = image_file_pread(r, footer, sizeof footer, r->file_size - VHD_FOOTER_SIZE, "the VHD footer");
        if (k < 0)
                return k;
        if (memcmp(footer, "conectix", 8) != 0) {
                /* A dynamic VHD starts with a copy of its footer: one whose end
                 * is missing (truncated) is still recognisably a VHD. */
                k = image_file_pread(r, footer, sizeof footer, 0, "the VHD footer copy");
                if (k < 0)
                        return k;
                if (memcmp(footer, "conectix", 8) != 0)
                        return 0;
                struct vhd_footer_info info;
                if (vhd_footer_parse(footer, &info) >= 0 && info.disk_type != VHD_TYPE_FIXED)
                        log_error("%s: truncated dynamic VHD: the footer at the end of the file is missing", r->path);
                else
                        log_error("%s: starts with a VHD footer but has none at its end: truncated or corrupt", r->path);
                return -EBADMSG;
        }
        *found = true;
        r->has_vhd_footer = true;
        r->vhd_footer_status = vhd_footer_parse(footer, &r->vhd);
        if (r->vhd_footer_status < 0 && r->vhd_footer_status != -EPROTO && r->vhd_footer_status != -EINVAL) {
                log_error("%s: unreadable VHD footer", r->path);
                return -EBADMSG;
        }
        r->size = r->vhd.current_size;
        switch (r->vhd.disk_type) {
        case VHD_TYPE_FIXED:
                r->format = IMAGE_FORMAT_VHD_FIXED;
                if (r->size > r->file_size - VHD_FOOTER_SIZE) {
                        log_error("%s: truncated fixed VHD: the footer says %" PRIu64 " bytes of disk, the file holds %" PRIu64,
                                  r->path, r->size, r->file_size - VHD_FOOTER_SIZE);
                        return -EBADMSG;
                }
                r->read_at = linear_read_at;
                return 0;
        case VHD_TYPE_DYNAMIC:
                r->format = IMAGE_FORMAT_VHD_DYNAMIC;
                return vhd_dynamic_reader_init(r);
        default:
                log_error("%s: VHD disk type %d (differencing or unknown) is not supported", r->path, r->vhd.disk_type);
                return -EOPNOTSUPP;
        }
}

int image_reader_open_fd(int fd, const char *name, struct image_reader **ret) {
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                close(fd);
                return log_error_errno(e, "%s: cannot stat", name);
        }
        if (S_ISDIR(st.st_mode)) {
                close(fd);
                log_error("%s: is a directory, not a disk image", name);
                return -EISDIR;
        }
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
                close(fd);
                log_error("%s: not a regular file or block device", name);
                return -EBADMSG;
        }
        _cleanup_image_reader_ struct image_reader *r = xcalloc(1, sizeof *r);
        r->fd = fd;
        r->path = xstrdup(name);
        r->file_size = (uint64_t)st.st_size;
        if (S_ISBLK(st.st_mode)) {
                off_t end = lseek(fd, 0, SEEK_END);
                r->file_size = end > 0 ? (uint64_t)end : 0;
        }
        if (r->file_size == 0) {
                log_error("%s: empty file, not a disk image", name);
                return -EBADMSG;
        }

        uint8_t head[512] = { 0 };
        size_t head_len = (size_t)MIN(r->file_size, (uint64_t)sizeof head);
        int k = image_file_pread(r, head, head_len, 0, "the header");
        if (k < 0)
                return k;
        if (head_len >= 4 && memcmp(head, "QFI\xfb", 4) == 0) {
                r->format = IMAGE_FORMAT_QCOW2;
                k = qcow2_reader_init(r, head, head_len);
                if (k < 0)
                        return k;
                *ret = TAKE_PTR(r);
                return 0;
        }
        bool vhd;
        k = detect_vhd(r, &vhd);
        if (k < 0)
                return k;
        if (!vhd) {
                r->size = r->file_size;
                r->read_at = linear_read_at;
                r->format = IMAGE_FORMAT_RAW;
                uint8_t cd[5];
                if (r->file_size >= 32769 + 5 && image_file_pread(r, cd, 5, 32769, "the ISO 9660 descriptor") == 0 &&
                    memcmp(cd, "CD001", 5) == 0)
                        r->format = IMAGE_FORMAT_ISO;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int image_reader_open(const char *path, struct image_reader **ret) {
        /* O_NONBLOCK so that a FIFO cannot hang the open; an image is a
         * regular file or a block device, nothing else */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return log_error_errno(-errno, "%s: cannot open", path);
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int e = -errno;
                close(fd);
                return log_error_errno(e, "%s: cannot stat", path);
        }
        if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
                close(fd);
                return log_error_errno(-EINVAL, "%s: not a regular file or a block device", path);
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
                (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        return image_reader_open_fd(fd, path, ret);
}

void image_reader_free(struct image_reader *r) {
        if (!r)
                return;
        if (r->free_priv)
                r->free_priv(r->priv);
        if (r->fd >= 0)
                close(r->fd);
        free(r->path);
        free(r);
}

static int copy_region(struct image_reader *r, int dst, uint64_t from, uint64_t len, uint64_t dst_off) {
        _cleanup_free_ uint8_t *buf = xmalloc(1 * MiB);
        while (len > 0) {
                size_t chunk = (size_t)MIN(len, 1 * MiB);
                int k = image_pread(r, buf, chunk, from);
                if (k < 0)
                        return k;
                /* Leave zeros as holes: the memfd stays small. */
                bool zero = true;
                for (size_t i = 0; i < chunk && zero; i++)
                        zero = buf[i] == 0;
                if (!zero && pwrite(dst, buf, chunk, (off_t)dst_off) != (ssize_t)chunk)
                        return log_error_errno(-errno, "memfd write");
                from += chunk;
                dst_off += chunk;
                len -= chunk;
        }
        return 0;
}

int image_reader_window_fd(struct image_reader *r, uint64_t offset, uint64_t size, uint64_t head, uint64_t tail, int *ret_fd) {
        if (offset > r->size || size > r->size - offset) {
                log_error("%s: region %" PRIu64 "+%" PRIu64 " beyond the disk's end", r->path, offset, size);
                return -ERANGE;
        }
        _cleanup_close_ int fd = memfd_create("slipway-window", MFD_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "memfd_create");
        if (ftruncate(fd, (off_t)size) < 0)
                return log_error_errno(-errno, "memfd size");
        head = MIN(head, size);
        tail = MIN(tail, size - head);
        int k = copy_region(r, fd, offset, head, 0);
        if (k < 0)
                return k;
        k = copy_region(r, fd, offset + size - tail, tail, size - tail);
        if (k < 0)
                return k;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
