/* SPDX-License-Identifier: MIT */
#include "vhd.h"
#include "fileio.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

static void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put_be32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i)); }
static void put_be64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i)); }
static uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

struct vhd_geometry vhd_chs_geometry(uint64_t size_bytes) {
        /* Verbatim from the specification's CHS calculation. */
        uint64_t total = size_bytes / 512;
        uint64_t spt, heads, cth;
        if (total > 65535ull * 16 * 255)
                total = 65535ull * 16 * 255;
        if (total >= 65535ull * 16 * 63) {
                spt = 255;
                heads = 16;
                cth = total / spt;
        } else {
                spt = 17;
                cth = total / spt;
                heads = (cth + 1023) / 1024;
                if (heads < 4)
                        heads = 4;
                if (cth >= heads * 1024 || heads > 16) {
                        spt = 31;
                        heads = 16;
                        cth = total / spt;
                }
                if (cth >= heads * 1024) {
                        spt = 63;
                        heads = 16;
                        cth = total / spt;
                }
        }
        return (struct vhd_geometry){ .cylinders = (uint16_t)(cth / heads), .heads = (uint8_t)heads,
                                      .sectors_per_track = (uint8_t)spt };
}

uint32_t vhd_footer_checksum(const uint8_t f[VHD_FOOTER_SIZE]) {
        uint32_t sum = 0;
        for (size_t i = 0; i < VHD_FOOTER_SIZE; i++)
                if (i < 64 || i >= 68)
                        sum += f[i];
        return ~sum;
}

void vhd_footer_build(uint8_t f[VHD_FOOTER_SIZE], uint64_t size, int disk_type, uint64_t data_offset,
                      uint64_t unix_timestamp, const uint8_t unique_id[16]) {
        memset(f, 0, VHD_FOOTER_SIZE);
        memcpy(f + 0, "conectix", 8);
        put_be32(f + 8, 0x00000002);    /* features: reserved bit always set */
        put_be32(f + 12, 0x00010000);   /* file format version 1.0 */
        put_be64(f + 16, data_offset);
        put_be32(f + 24, (uint32_t)(unix_timestamp > VHD_EPOCH_OFFSET ? unix_timestamp - VHD_EPOCH_OFFSET : 0));
        /* Creator application.  qemu's vpc driver trusts current_size
         * (instead of the lossy CHS geometry) only for creators it knows;
         * "qem2" is the one qemu itself writes with force_size, which is
         * what Azure's documentation tells people to use for uploads. */
        memcpy(f + 28, "qem2", 4);
        put_be32(f + 32, 0x00010000);   /* creator version */
        memcpy(f + 36, "Wi2k", 4);      /* creator host OS, as Hyper-V and qemu write it */
        put_be64(f + 40, size);         /* original size */
        put_be64(f + 48, size);         /* current size */
        struct vhd_geometry g = vhd_chs_geometry(size);
        put_be16(f + 56, g.cylinders);
        f[58] = g.heads;
        f[59] = g.sectors_per_track;
        put_be32(f + 60, (uint32_t)disk_type);
        memcpy(f + 68, unique_id, 16);
        f[84] = 0; /* saved state */
        put_be32(f + 64, vhd_footer_checksum(f));
}

int vhd_footer_parse(const uint8_t f[VHD_FOOTER_SIZE], struct vhd_footer_info *ret) {
        memset(ret, 0, sizeof(*ret));
        if (memcmp(f, "conectix", 8) != 0)
                return -EBADMSG;
        ret->data_offset = get_be64(f + 16);
        memcpy(ret->creator_app, f + 28, 4);
        ret->original_size = get_be64(f + 40);
        ret->current_size = get_be64(f + 48);
        ret->geometry.cylinders = get_be16(f + 56);
        ret->geometry.heads = f[58];
        ret->geometry.sectors_per_track = f[59];
        ret->disk_type = (int)get_be32(f + 60);
        ret->checksum_stored = get_be32(f + 64);
        ret->checksum_computed = vhd_footer_checksum(f);
        if (ret->checksum_stored != ret->checksum_computed)
                return -EPROTO;
        /* The rest of what the specification fixes (a footer can be
         * checksummed and still nonsense) */
        uint32_t features = get_be32(f + 8), version = get_be32(f + 12);
        if (version != 0x00010000)
                ret->problem = "file format version is not 1.0";
        else if (!(features & 0x2))
                ret->problem = "the features field lacks its always-set reserved bit";
        else if (ret->disk_type != VHD_TYPE_FIXED && ret->disk_type != VHD_TYPE_DYNAMIC && ret->disk_type != 4)
                ret->problem = "unknown disk type";
        else if (ret->disk_type == VHD_TYPE_FIXED && ret->data_offset != UINT64_MAX)
                ret->problem = "a fixed disk's data offset must be 0xFFFFFFFFFFFFFFFF";
        else if (ret->disk_type != VHD_TYPE_FIXED && (ret->data_offset == UINT64_MAX || ret->data_offset % 512 != 0))
                ret->problem = "a dynamic disk's data offset does not point at a sector";
        else if (ret->current_size % 512 != 0)
                ret->problem = "the current size is not a whole number of sectors";
        return ret->problem ? -EINVAL : 0;
}

/* Azure takes only VHDs whose virtual size is a whole number of MiB. */
static int vhd_check_source_size(const char *src_path, uint64_t size) {
        if (size == 0 || size % MiB != 0) {
                log_error("%s: size %llu is not a multiple of 1 MiB, which Azure requires of a VHD",
                          src_path, (unsigned long long)size);
                return -EINVAL;
        }
        return 0;
}

int vhd_write_fixed(const char *src_path, const char *dst_path, uint64_t unix_timestamp,
                    const uint8_t unique_id[16]) {
        struct stat st;
        if (stat(src_path, &st) < 0)
                return log_error_errno(-errno, "stat %s", src_path);
        uint64_t size = (uint64_t)st.st_size;
        int k = vhd_check_source_size(src_path, size);
        if (k < 0)
                return k;
        _cleanup_close_ int dst = -1;
        if (strcmp(src_path, dst_path) == 0) {
                dst = open(dst_path, O_WRONLY | O_CLOEXEC);
                if (dst < 0)
                        return log_error_errno(-errno, "open %s", dst_path);
        } else {
                _cleanup_close_ int src = open(src_path, O_RDONLY | O_CLOEXEC);
                if (src < 0)
                        return log_error_errno(-errno, "open %s", src_path);
                dst = open(dst_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (dst < 0)
                        return log_error_errno(-errno, "create %s", dst_path);
                int r = copy_sparse(src, dst);
                if (r < 0)
                        return log_error_errno(r, "copy %s to %s", src_path, dst_path);
        }
        uint8_t footer[VHD_FOOTER_SIZE];
        vhd_footer_build(footer, size, VHD_TYPE_FIXED, UINT64_MAX, unix_timestamp, unique_id);
        if (pwrite(dst, footer, sizeof(footer), (off_t)size) != (ssize_t)sizeof(footer))
                return log_error_errno(errno ? -errno : -EIO, "write VHD footer to %s", dst_path);
        if (fsync(dst) < 0)
                return log_error_errno(-errno, "fsync %s", dst_path);
        return 0;
}

uint32_t vhd_dynamic_header_checksum(const uint8_t h[VHD_DYN_HEADER_SIZE]) {
        uint32_t sum = 0;
        for (size_t i = 0; i < VHD_DYN_HEADER_SIZE; i++)
                if (i < 36 || i >= 40)
                        sum += h[i];
        return ~sum;
}

void vhd_dynamic_header_build(uint8_t h[VHD_DYN_HEADER_SIZE], uint64_t table_offset, uint32_t max_table_entries,
                              uint32_t block_size) {
        memset(h, 0, VHD_DYN_HEADER_SIZE);
        memcpy(h + 0, "cxsparse", 8);
        put_be64(h + 8, UINT64_MAX);            /* data offset: unused */
        put_be64(h + 16, table_offset);
        put_be32(h + 24, 0x00010000);           /* header version 1.0 */
        put_be32(h + 28, max_table_entries);
        put_be32(h + 32, block_size);
        /* no parent: parent id, time stamp, name and locators stay zero */
        put_be32(h + 36, vhd_dynamic_header_checksum(h));
}

static bool all_zero(const uint8_t *p, size_t n) {
        return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

int vhd_write_dynamic(const char *src_path, const char *dst_path, uint64_t unix_timestamp,
                      const uint8_t unique_id[16]) {
        _cleanup_close_ int src = open(src_path, O_RDONLY | O_CLOEXEC);
        if (src < 0)
                return log_error_errno(-errno, "open %s", src_path);
        struct stat st;
        if (fstat(src, &st) < 0)
                return log_error_errno(-errno, "stat %s", src_path);
        uint64_t size = (uint64_t)st.st_size;
        int k = vhd_check_source_size(src_path, size);
        if (k < 0)
                return k;
        uint64_t n_blocks = (size + VHD_DYN_BLOCK_SIZE - 1) / VHD_DYN_BLOCK_SIZE;
        if (n_blocks > UINT32_MAX / 2)
                return log_error_errno(-EFBIG, "%s: too large for a dynamic VHD", src_path);
        const uint64_t table_offset = VHD_FOOTER_SIZE + VHD_DYN_HEADER_SIZE;
        const uint64_t table_bytes = ALIGN_UP(n_blocks * 4, 512);
        /* Each block: its sector bitmap (one bit per 512-byte sector,
         * padded to a sector), then the data. */
        const uint64_t bitmap_bytes = ALIGN_UP(VHD_DYN_BLOCK_SIZE / 512 / 8, 512);

        _cleanup_close_ int dst = open(dst_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (dst < 0)
                return log_error_errno(-errno, "create %s", dst_path);
        uint8_t footer[VHD_FOOTER_SIZE], header[VHD_DYN_HEADER_SIZE];
        vhd_footer_build(footer, size, VHD_TYPE_DYNAMIC, VHD_FOOTER_SIZE, unix_timestamp, unique_id);
        vhd_dynamic_header_build(header, table_offset, (uint32_t)n_blocks, VHD_DYN_BLOCK_SIZE);

        _cleanup_free_ uint8_t *bat = xmalloc(table_bytes);
        memset(bat, 0xff, table_bytes);
        _cleanup_free_ uint8_t *block = xmalloc(bitmap_bytes + VHD_DYN_BLOCK_SIZE);
        memset(block, 0, bitmap_bytes);
        memset(block, 0xff, VHD_DYN_BLOCK_SIZE / 512 / 8);
        uint8_t *data = block + bitmap_bytes;
        uint64_t next = table_offset + table_bytes, allocated = 0;
        int r;

        for (uint64_t b = 0; b < n_blocks; b++) {
                uint64_t off = b * VHD_DYN_BLOCK_SIZE;
                size_t len = (size_t)MIN((uint64_t)VHD_DYN_BLOCK_SIZE, size - off);
                /* Skip holes without reading them. */
                off_t d = lseek(src, (off_t)off, SEEK_DATA);
                if (d < 0 && errno == ENXIO)
                        break;                  /* nothing but a hole from here on */
                if (d >= 0 && (uint64_t)d >= off + len) {
                        b = (uint64_t)d / VHD_DYN_BLOCK_SIZE - 1;
                        continue;
                }
                memset(data, 0, VHD_DYN_BLOCK_SIZE);
                for (size_t got = 0; got < len;) {
                        ssize_t n = pread(src, data + got, len - got, (off_t)(off + got));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return log_error_errno(n < 0 ? -errno : -EIO, "read %s", src_path);
                        got += (size_t)n;
                }
                if (all_zero(data, len))
                        continue;
                put_be32(bat + b * 4, (uint32_t)(next / 512));
                if ((r = pwrite_all(dst, block, bitmap_bytes + VHD_DYN_BLOCK_SIZE, next)) < 0)
                        return log_error_errno(r, "write %s", dst_path);
                next += bitmap_bytes + VHD_DYN_BLOCK_SIZE;
                allocated++;
        }
        if ((r = pwrite_all(dst, footer, sizeof(footer), 0)) < 0 ||
            (r = pwrite_all(dst, header, sizeof(header), VHD_FOOTER_SIZE)) < 0 ||
            (r = pwrite_all(dst, bat, table_bytes, table_offset)) < 0 ||
            (r = pwrite_all(dst, footer, sizeof(footer), next)) < 0)
                return log_error_errno(r, "write %s", dst_path);
        if (fsync(dst) < 0)
                return log_error_errno(-errno, "fsync %s", dst_path);
        log_debug("vhd: dynamic, %llu of %llu blocks allocated", (unsigned long long)allocated,
                  (unsigned long long)n_blocks);
        return 0;
}
