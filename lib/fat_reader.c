/* SPDX-License-Identifier: MIT */
/* Just enough of FAT (Microsoft's "FAT: General Overview of On-Disk
 * Format") to walk directories: the BPB, the FAT chain, 32-byte entries. */
#include "fat_reader.h"
#include "log.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

struct fat {
        struct image_reader *image;
        uint64_t offset;
        unsigned type;            /* 12, 16, 32 */
        uint32_t bytes_per_sector, sectors_per_cluster;
        uint64_t fat_offset;      /* bytes from the partition start */
        uint64_t root_offset;     /* FAT12/16 fixed root directory */
        uint32_t root_entries;
        uint32_t root_cluster;    /* FAT32 */
        uint64_t data_offset;
        uint32_t clusters;
};

static int fat_next(struct fat *f, uint32_t cluster, uint32_t *ret) {
        uint8_t b[4] = { 0 };
        uint64_t at;
        int k;
        switch (f->type) {
        case 12:
                at = f->fat_offset + cluster + cluster / 2;
                k = image_pread(f->image, b, 2, f->offset + at);
                if (k < 0)
                        return k;
                *ret = cluster & 1 ? le16(b) >> 4 : le16(b) & 0xfff;
                if (*ret >= 0xff8)
                        *ret = 0;
                return 0;
        case 16:
                k = image_pread(f->image, b, 2, f->offset + f->fat_offset + (uint64_t)cluster * 2);
                if (k < 0)
                        return k;
                *ret = le16(b) >= 0xfff8 ? 0 : le16(b);
                return 0;
        default:
                k = image_pread(f->image, b, 4, f->offset + f->fat_offset + (uint64_t)cluster * 4);
                if (k < 0)
                        return k;
                *ret = (le32(b) & 0x0fffffff) >= 0x0ffffff8 ? 0 : le32(b) & 0x0fffffff;
                return 0;
        }
}

static void short_name(const uint8_t *e, char out[13]) {
        size_t n = 0;
        for (int i = 0; i < 8 && e[i] != ' '; i++)
                out[n++] = (char)e[i];
        if (e[8] != ' ') {
                out[n++] = '.';
                for (int i = 8; i < 11 && e[i] != ' '; i++)
                        out[n++] = (char)e[i];
        }
        out[n] = 0;
}

/* Scans `len` bytes of directory entries at `at` for `name`. 1 found, 0 not, 2 end of directory. */
static int scan_entries(struct fat *f, uint64_t at, uint64_t len, const char *name, uint8_t found[32]) {
        _cleanup_free_ uint8_t *buf = xmalloc((size_t)len);
        int k = image_pread(f->image, buf, (size_t)len, f->offset + at);
        if (k < 0)
                return k;
        for (uint64_t i = 0; i + 32 <= len; i += 32) {
                const uint8_t *e = buf + i;
                if (e[0] == 0)
                        return 2;
                if (e[0] == 0xe5 || (e[11] & 0x0f) == 0x0f || (e[11] & 0x08))
                        continue;
                char n[13];
                short_name(e, n);
                if (strcasecmp(n, name) == 0) {
                        memcpy(found, e, 32);
                        return 1;
                }
        }
        return 0;
}

static int find_in_dir(struct fat *f, uint32_t cluster, bool fixed_root, const char *name, uint8_t found[32]) {
        if (fixed_root) {
                int k = scan_entries(f, f->root_offset, (uint64_t)f->root_entries * 32, name, found);
                return k < 0 ? k : k == 1;
        }
        uint64_t cluster_bytes = (uint64_t)f->bytes_per_sector * f->sectors_per_cluster;
        for (uint32_t steps = 0; cluster >= 2; steps++) {
                if (cluster >= f->clusters + 2 || steps > f->clusters) {
                        log_error("%s: corrupt FAT filesystem: bad cluster chain (%" PRIu32 ")", f->image->path, cluster);
                        return -EBADMSG;
                }
                int k = scan_entries(f, f->data_offset + (uint64_t)(cluster - 2) * cluster_bytes, cluster_bytes, name, found);
                if (k < 0)
                        return k;
                if (k == 1)
                        return 1;
                if (k == 2)
                        return 0;
                k = fat_next(f, cluster, &cluster);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* Opens the FAT at OFFSET and finds PATH: its directory entry in ENTRY. */
static int fat_lookup(struct image_reader *image, uint64_t offset, uint64_t size, const char *path, struct fat *ret_fat,
                      uint8_t entry[32]) {
        uint8_t bs[512];
        if (size < 512)
                return -EBADMSG;
        int k = image_pread(image, bs, sizeof bs, offset);
        if (k < 0)
                return k;
        struct fat f = { .image = image, .offset = offset };
        f.bytes_per_sector = le16(bs + 11);
        f.sectors_per_cluster = bs[13];
        uint32_t reserved = le16(bs + 14), nfats = bs[16];
        f.root_entries = le16(bs + 17);
        uint32_t total = le16(bs + 19) ? le16(bs + 19) : le32(bs + 32);
        uint32_t fat_sectors = le16(bs + 22) ? le16(bs + 22) : le32(bs + 36);
        if (bs[510] != 0x55 || bs[511] != 0xaa || (f.bytes_per_sector != 512 && f.bytes_per_sector != 1024 &&
            f.bytes_per_sector != 2048 && f.bytes_per_sector != 4096) || f.sectors_per_cluster == 0 ||
            (f.sectors_per_cluster & (f.sectors_per_cluster - 1)) || reserved == 0 || nfats == 0 || fat_sectors == 0 ||
            (uint64_t)total * f.bytes_per_sector > size) {
                log_error("%s: not a valid FAT filesystem at byte %" PRIu64, image->path, offset);
                return -EBADMSG;
        }
        uint32_t root_sectors = (f.root_entries * 32 + f.bytes_per_sector - 1) / f.bytes_per_sector;
        uint64_t data_sector = reserved + (uint64_t)nfats * fat_sectors + root_sectors;
        if (data_sector >= total) {
                log_error("%s: corrupt FAT filesystem at byte %" PRIu64 ": no data area", image->path, offset);
                return -EBADMSG;
        }
        f.clusters = (uint32_t)((total - data_sector) / f.sectors_per_cluster);
        f.type = f.clusters < 4085 ? 12 : f.clusters < 65525 ? 16 : 32;
        f.fat_offset = (uint64_t)reserved * f.bytes_per_sector;
        f.root_offset = f.fat_offset + (uint64_t)nfats * fat_sectors * f.bytes_per_sector;
        f.data_offset = data_sector * f.bytes_per_sector;
        f.root_cluster = f.type == 32 ? le32(bs + 44) : 0;

        _cleanup_free_ char *p = xstrdup(path);
        char *save = NULL;
        uint32_t cluster = f.root_cluster;
        bool fixed_root = f.type != 32;
        for (char *c = strtok_r(p, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                uint8_t e[32];
                k = find_in_dir(&f, cluster, fixed_root, c, e);
                if (k < 0)
                        return k;
                if (k == 0)
                        return -ENOENT;
                bool last = save == NULL || *save == 0;
                bool is_dir = e[11] & 0x10;
                if (last) {
                        if (is_dir)
                                return -EISDIR;
                        memcpy(entry, e, 32);
                        *ret_fat = f;
                        return 0;
                }
                if (!is_dir)
                        return -ENOENT;
                cluster = (uint32_t)le16(e + 26) | (f.type == 32 ? (uint32_t)le16(e + 20) << 16 : 0);
                fixed_root = false;
                if (cluster < 2)
                        return -ENOENT;
        }
        return -ENOENT;
}

int fat_find_file(struct image_reader *image, uint64_t offset, uint64_t size, const char *path, uint64_t *ret_size) {
        struct fat f;
        uint8_t e[32];
        int k = fat_lookup(image, offset, size, path, &f, e);
        if (k < 0)
                return k;
        if (ret_size)
                *ret_size = le32(e + 28);
        return 0;
}

int fat_read_file(struct image_reader *image, uint64_t offset, uint64_t size, const char *path, size_t max, uint8_t **ret,
                  size_t *ret_len) {
        struct fat f;
        uint8_t e[32];
        int k = fat_lookup(image, offset, size, path, &f, e);
        if (k < 0)
                return k;
        uint32_t len = le32(e + 28);
        if (len > max)
                return -EFBIG;
        uint32_t cluster = (uint32_t)le16(e + 26) | (f.type == 32 ? (uint32_t)le16(e + 20) << 16 : 0);
        uint64_t cluster_bytes = (uint64_t)f.bytes_per_sector * f.sectors_per_cluster;
        /* The size is the entry's word; a file cannot hold more than the
         * clusters the filesystem has, whatever the entry says. */
        if ((uint64_t)len > (uint64_t)f.clusters * cluster_bytes) {
                log_error("%s: corrupt FAT filesystem: %s claims %" PRIu32 " bytes", image->path, path, len);
                return -EBADMSG;
        }
        _cleanup_free_ uint8_t *buf = xmalloc(len ? len : 1);
        uint64_t done = 0;
        for (uint32_t steps = 0; done < len; steps++) {
                if (cluster < 2 || cluster >= f.clusters + 2 || steps > f.clusters) {
                        log_error("%s: corrupt FAT filesystem: %s has a bad cluster chain", image->path, path);
                        return -EBADMSG;
                }
                uint64_t n = MIN(cluster_bytes, (uint64_t)len - done);
                k = image_pread(image, buf + done, (size_t)n, offset + f.data_offset + (uint64_t)(cluster - 2) * cluster_bytes);
                if (k < 0)
                        return k;
                done += n;
                if (done < len && (k = fat_next(&f, cluster, &cluster)) < 0)
                        return k;
        }
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
