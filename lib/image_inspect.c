/* SPDX-License-Identifier: MIT */
#include "image_inspect.h"
#include "fat_reader.h"
#include "iso9660.h"
#include "squashfs_reader.h"
#include "log.h"
#include "util.h"

#include <blkid/blkid.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <libfdisk/libfdisk.h>
#include <string.h>
#include <zlib.h>

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* libfdisk and libblkid read from file descriptors.  Raw disks (and ISOs)
 * are the file itself; other containers get a sparse memfd holding only
 * the regions those libraries read (see image_reader_window_fd): simpler
 * and safer than a temporary file, and nothing of the image lands on disk. */
#define TABLE_WINDOW (1 * MiB)       /* MBR, GPT header and entries; backup GPT */
#define PROBE_HEAD (8 * MiB)         /* superblocks; a FAT's root directory */
#define PROBE_TAIL (1 * MiB)

static bool image_is_linear(const struct image_reader *r) {
        return r->format == IMAGE_FORMAT_RAW || r->format == IMAGE_FORMAT_ISO;
}

static int read_partition_table(struct image_reader *r, struct image_info *info) {
        _cleanup_close_ int window = -1;
        int fd = r->fd;
        if (!image_is_linear(r)) {
                int k = image_reader_window_fd(r, 0, r->size, TABLE_WINDOW, TABLE_WINDOW, &window);
                if (k < 0)
                        return k;
                fd = window;
        }
        struct fdisk_context *cxt = fdisk_new_context();
        if (!cxt)
                return log_error_errno(-ENOMEM, "libfdisk");
        fdisk_disable_dialogs(cxt, 1);
        int k = fdisk_assign_device_by_fd(cxt, fd, r->path, 1);
        if (k < 0 || !fdisk_has_label(cxt)) {
                fdisk_unref_context(cxt);
                /* A GPT signature or a protective MBR that libfdisk could not
                 * read is a damaged table, not a bare filesystem. */
                uint8_t lba[1024] = { 0 };
                size_t n = (size_t)MIN(r->size, (uint64_t)sizeof lba);
                k = image_pread(r, lba, n, 0);
                if (k < 0)
                        return k;
                bool pmbr = lba[510] == 0x55 && lba[511] == 0xaa && lba[446 + 4] == 0xee;
                if (pmbr || memcmp(lba + 512, "EFI PART", 8) == 0) {
                        log_error("%s: GPT found but unreadable (truncated image or corrupt partition table)", r->path);
                        return -EBADMSG;
                }
                /* No partition table: maybe a bare filesystem. */
                return 0;
        }
        uint64_t sector = fdisk_get_sector_size(cxt);
        bool overflow = false;
        info->table = xstrdup(fdisk_label_get_name(fdisk_get_label(cxt, NULL)));
        char *id = NULL;
        if (fdisk_get_disklabel_id(cxt, &id) == 0 && id)
                info->disk_id = id;
        struct fdisk_table *tb = NULL;
        if (fdisk_get_partitions(cxt, &tb) == 0 && tb) {
                struct fdisk_iter *it = fdisk_new_iter(FDISK_ITER_FORWARD);
                struct fdisk_partition *pa;
                while (fdisk_table_next_partition(tb, it, &pa) == 0) {
                        if (!fdisk_partition_has_start(pa) || !fdisk_partition_is_used(pa))
                                continue;
                        info->partitions = xrealloc(info->partitions, (info->n_partitions + 1) * sizeof *info->partitions);
                        struct partition_info *p = &info->partitions[info->n_partitions++];
                        memset(p, 0, sizeof *p);
                        p->number = fdisk_partition_get_partno(pa) + 1;
                        /* LBAs come from the image: 2^55 * 512 wraps to 0 */
                        if (__builtin_mul_overflow((uint64_t)fdisk_partition_get_start(pa), sector, &p->start) ||
                            __builtin_mul_overflow((uint64_t)fdisk_partition_get_size(pa), sector, &p->size))
                                overflow = true;
                        const struct fdisk_parttype *t = fdisk_partition_get_type(pa);
                        if (t) {
                                if (fdisk_parttype_get_string(t))
                                        p->type = xstrdup(fdisk_parttype_get_string(t));
                                else
                                        p->type = xasprintf("0x%02x", fdisk_parttype_get_code(t));
                                if (fdisk_parttype_get_name(t))
                                        p->type_name = xstrdup(fdisk_parttype_get_name(t));
                        }
                        if (fdisk_partition_get_uuid(pa))
                                p->uuid = xstrdup(fdisk_partition_get_uuid(pa));
                        if (fdisk_partition_get_name(pa) && *fdisk_partition_get_name(pa))
                                p->name = xstrdup(fdisk_partition_get_name(pa));
                        if (p->type) {
                                p->is_esp = strcasecmp(p->type, GPT_TYPE_ESP) == 0 || strcmp(p->type, "0xef") == 0;
                                p->is_bios_boot = strcasecmp(p->type, GPT_TYPE_BIOS_BOOT) == 0;
                                p->is_swap = strcasecmp(p->type, GPT_TYPE_LINUX_SWAP) == 0 || strcmp(p->type, "0x82") == 0;
                        }
                }
                fdisk_free_iter(it);
                fdisk_unref_table(tb);
        }
        fdisk_unref_context(cxt);
        /* libfdisk falls back to the protective MBR when the GPT behind it is
         * unreadable: that is a damaged (or truncated) GPT disk. */
        if (strcmp(info->table, "dos") == 0)
                for (size_t i = 0; i < info->n_partitions; i++)
                        if (info->partitions[i].type && strcmp(info->partitions[i].type, "0xee") == 0) {
                                log_error("%s: protective MBR but no readable GPT (truncated image or corrupt GPT header/entries)", r->path);
                                return -EBADMSG;
                        }
        if (overflow) {
                log_error("%s: a partition's first or last LBA is beyond any disk (%" PRIu64 "-byte sectors): corrupt partition table",
                          r->path, sector);
                return -EBADMSG;
        }
        /* libfdisk reads the backup GPT when the primary one is bad and says
         * nothing: a firmware may not, so a disk whose primary header is
         * missing or fails its CRC is corrupt. */
        if (strcmp(info->table, "gpt") == 0 && sector == 512) {
                uint8_t hdr[512];
                int k2 = r->size >= 1024 ? image_pread(r, hdr, sizeof hdr, 512) : -EBADMSG;
                uint32_t hsize = 0, want = 0;
                if (k2 == 0) {
                        memcpy(&hsize, hdr + 12, 4);
                        memcpy(&want, hdr + 16, 4);
                        hsize = le32toh(hsize);
                        want = le32toh(want);
                }
                bool ok = k2 == 0 && memcmp(hdr, "EFI PART", 8) == 0 && hsize >= 92 && hsize <= sizeof hdr;
                if (ok) {
                        memset(hdr + 16, 0, 4);
                        ok = (uint32_t)crc32(0, hdr, hsize) == want;
                }
                if (!ok) {
                        log_error("%s: the primary GPT header (LBA 1) is missing or fails its CRC; only the backup is readable: "
                                  "corrupt partition table", r->path);
                        return -EBADMSG;
                }
        }
        /* Partitions that share sectors: a corrupt (or hostile) table. */
        for (size_t i = 0; i < info->n_partitions; i++)
                for (size_t j = i + 1; j < info->n_partitions; j++) {
                        const struct partition_info *a = &info->partitions[i], *b = &info->partitions[j];
                        if (a->size && b->size && a->start < b->start + b->size && b->start < a->start + a->size &&
                            a->start + a->size > a->start && b->start + b->size > b->start) {
                                log_error("%s: partitions %zu and %zu overlap: corrupt partition table", r->path, a->number, b->number);
                                return -EBADMSG;
                        }
                }
        /* A partition outside the disk is a corrupt table (or a truncated image). */
        for (size_t i = 0; i < info->n_partitions; i++) {
                struct partition_info *p = &info->partitions[i];
                if (p->start > r->size || p->size > r->size - p->start) {
                        log_error("%s: partition %zu (%" PRIu64 "+%" PRIu64 " bytes) lies beyond the disk's end (%" PRIu64 " bytes): corrupt partition table",
                                  r->path, p->number, p->start, p->size, r->size);
                        return -EBADMSG;
                }
        }
        return 0;
}

static char *probe_value(blkid_probe pr, const char *name) {
        const char *v = NULL;
        if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0 && v)
                return xstrdup(v);
        return NULL;
}

static int probe_filesystem(struct image_reader *r, uint64_t offset, uint64_t size, char **type, char **uuid, char **label) {
        _cleanup_close_ int window = -1;
        int fd = r->fd;
        uint64_t at = offset;
        if (!image_is_linear(r)) {
                int k = image_reader_window_fd(r, offset, size, PROBE_HEAD, PROBE_TAIL, &window);
                if (k < 0)
                        return k;
                fd = window;
                at = 0;
        }
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return log_error_errno(-ENOMEM, "libblkid");
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t)at, (blkid_loff_t)size) < 0) {
                blkid_free_probe(pr);
                return 0;
        }
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL);
        blkid_probe_enable_partitions(pr, 0);
        if (blkid_do_safeprobe(pr) == 0) {
                *type = probe_value(pr, "TYPE");
                *uuid = probe_value(pr, "UUID");
                *label = probe_value(pr, "LABEL");
        }
        blkid_free_probe(pr);
        return 0;
}

/* What the OS facts are read through: the ext4 root of a disk, or the
 * squashfs of a live ISO.  Both return -ENOENT, -ENOTDIR, -EISDIR and
 * -EFBIG without logging; anything else is a corrupt filesystem (logged). */
struct os_fs {
        void *fs;
        int (*read_file)(void *fs, const char *path, size_t max, char **ret);
        int (*list_dir)(void *fs, const char *path, char ***ret);
};

static int ext4_os_read(void *fs, const char *path, size_t max, char **ret) { return ext4_read_file(fs, path, max, ret, NULL); }
static int ext4_os_list(void *fs, const char *path, char ***ret) { return ext4_list_dir(fs, path, ret); }
static int sqfs_os_read(void *fs, const char *path, size_t max, char **ret) { return squashfs_read_file(fs, path, max, ret, NULL); }
static int sqfs_os_list(void *fs, const char *path, char ***ret) { return squashfs_list_dir(fs, path, ret); }

static bool absent(int k) {
        return k == -ENOENT || k == -ENOTDIR || k == -EISDIR || k == -EFBIG || k == -EINVAL || k == -ELOOP;
}

static char *os_release_value(char *line, const char *key) {
        if (!startswith(line, key) || line[strlen(key)] != '=')
                return NULL;
        char *v = line + strlen(key) + 1;
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                v[n - 1] = 0;
                v++;
        }
        return xstrdup(v);
}

/* os-release, the kernels in /boot (for a live root without any, the
 * module directories), the dpkg database. */
static int read_os_facts(const struct os_fs *o, bool modules_fallback, struct image_info *info) {
        _cleanup_free_ char *osr = NULL;
        int k = o->read_file(o->fs, "/etc/os-release", 1 * MiB, &osr);
        if (k == -ENOENT)
                k = o->read_file(o->fs, "/usr/lib/os-release", 1 * MiB, &osr);
        if (k < 0 && !absent(k))
                return k;
        for (char *line = k >= 0 ? osr : NULL, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *v;
                if (!info->os_pretty_name && (v = os_release_value(line, "PRETTY_NAME")))
                        info->os_pretty_name = v;
                else if (!info->os_id && (v = os_release_value(line, "ID")))
                        info->os_id = v;
                else if (!info->os_version_id && (v = os_release_value(line, "VERSION_ID")))
                        info->os_version_id = v;
        }

        _cleanup_strv_free_ char **boot = NULL;
        k = o->list_dir(o->fs, "/boot", &boot);
        if (k < 0 && !absent(k))
                return k;
        for (size_t i = 0; boot && boot[i]; i++)
                if (startswith(boot[i], "vmlinuz-"))
                        strv_push(&info->kernels, boot[i] + strlen("vmlinuz-"));
        if (!info->kernels && modules_fallback) {
                _cleanup_strv_free_ char **mods = NULL;
                k = o->list_dir(o->fs, "/usr/lib/modules", &mods);
                if (k < 0 && !absent(k))
                        return k;
                for (size_t i = 0; mods && mods[i]; i++)
                        strv_push(&info->kernels, mods[i]);
        }
        strv_sort(info->kernels);

        /* Debian: count the "install ok installed" stanzas of dpkg's status
         * file.  RPM databases (sqlite) are not read: package_count stays -1. */
        _cleanup_free_ char *status = NULL;
        info->package_count = -1;
        k = o->read_file(o->fs, "/var/lib/dpkg/status", 256 * MiB, &status);
        if (k < 0 && !absent(k))
                return k;
        if (k >= 0) {
                info->package_count = 0;
                for (const char *p = status; (p = strstr(p, "Status: install ok installed")); p++)
                        if (p == status || p[-1] == '\n')
                                info->package_count++;
        }
        return 0;
}

static int read_os_info(struct image_info *info) {
        struct ext4_reader *e = info->root;
        struct os_fs o = { .fs = e, .read_file = ext4_os_read, .list_dir = ext4_os_list };
        int k = read_os_facts(&o, false, info);
        if (k < 0)
                return k;
        ext2_filsys fs = e->fs;
        uint64_t bs = (uint64_t)EXT2_BLOCK_SIZE(fs->super);
        info->fs_size = ext2fs_blocks_count(fs->super) * bs;
        info->fs_used = (ext2fs_blocks_count(fs->super) - ext2fs_free_blocks_count(fs->super)) * bs;
        info->fs_df_used = ext4_df_used(fs);
        return 0;
}

/* A live ISO's root filesystem: the squashfs live-boot (Debian), casper
 * (Ubuntu) or dracut's dmsquash-live (Fedora, when it is the tree itself)
 * boot. */
static const char *const live_squashfs[] = { "/live/filesystem.squashfs", "/casper/filesystem.squashfs", "/LiveOS/squashfs.img" };

static int inspect_iso_root(struct image_reader *r, struct image_info *info) {
        for (size_t i = 0; i < ELEMENTSOF(live_squashfs); i++) {
                uint64_t off = 0, size = 0;
                int k = iso9660_find_file(r, live_squashfs[i], &off, &size);
                if (k == -ENOENT || k == -ENOTDIR || k == -EISDIR)
                        continue;
                if (k < 0)
                        return k;
                _cleanup_squashfs_reader_ struct squashfs_reader *s = NULL;
                k = squashfs_reader_open(r, off, size, live_squashfs[i], &s);
                if (k == -EOPNOTSUPP) {   /* warned: the ISO is still shown */
                        info->iso_root_path = xstrdup(live_squashfs[i]);
                        info->iso_root_size = size;
                        info->iso_root_unread = true;
                        return 0;
                }
                if (k < 0)
                        return k;
                if ((k = squashfs_exists(s, "/etc/os-release")) == 0)
                        k = squashfs_exists(s, "/usr/lib/os-release");
                if (k < 0)
                        return k;
                if (k == 0)
                        continue;   /* LiveOS/squashfs.img holding an ext4 image: not read */
                info->iso_root_path = xstrdup(live_squashfs[i]);
                info->iso_root_size = squashfs_bytes_used(s);
                info->iso_root_compression = squashfs_compression(s);
                struct os_fs o = { .fs = s, .read_file = sqfs_os_read, .list_dir = sqfs_os_list };
                return read_os_facts(&o, true, info);
        }
        return 0;
}

static bool is_ext(const char *t) {
        return t && (strcmp(t, "ext4") == 0 || strcmp(t, "ext3") == 0 || strcmp(t, "ext2") == 0);
}

static int find_root(struct image_reader *r, struct image_info *info) {
        for (size_t i = 0; i < info->n_partitions; i++) {
                struct partition_info *p = &info->partitions[i];
                if (!is_ext(p->fs_type))
                        continue;
                struct ext4_reader *e = NULL;
                int k = ext4_reader_open(r, p->start, p->size, &e);
                if (k < 0)
                        return k;
                if (ext4_exists(e, "/etc/os-release") || ext4_exists(e, "/usr/lib/os-release")) {
                        info->root = e;
                        info->root_partition = (ssize_t)i;
                        return read_os_info(info);
                }
                ext4_reader_free(e);
        }
        return 0;
}


/* A boot loader larger than this is not one (shim is ~1 MiB, GRUB ~4 MiB). */
#define EFI_LOADER_MAX (64 * MiB)

/* Reads the ESP's BOOTX64.EFI and checks its Authenticode signatures
 * against Microsoft's UEFI CA, as firmware with Microsoft's keys would. */
static int inspect_efi_signatures(struct image_reader *r, const struct partition_info *p, struct image_info *info) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        int k = fat_read_file(r, p->start, p->size, "EFI/BOOT/BOOTX64.EFI", EFI_LOADER_MAX, &data, &len);
        if (k == -EFBIG) {
                info->efi_loader_unread = true;
                return 0;
        }
        if (k < 0)
                return k;
        return authenticode_check(data, len, authenticode_microsoft_uefi_ca, authenticode_microsoft_uefi_ca_count,
                                  &info->efi_signatures);
}

static int inspect_boot(struct image_reader *r, struct image_info *info) {
        uint8_t mbr[512];
        int k = image_pread(r, mbr, sizeof mbr, 0);
        if (k < 0)
                return k;
        for (size_t i = 0; i < 440; i++)
                if (mbr[i]) {
                        info->mbr_boot_code = true;
                        break;
                }
        info->mbr_grub = info->mbr_boot_code && memmem(mbr, 440, "GRUB", 4) != NULL;
        for (size_t i = 0; i < info->n_partitions; i++) {
                struct partition_info *p = &info->partitions[i];
                if (p->is_bios_boot && p->size >= 512) {
                        uint8_t b[512];
                        k = image_pread(r, b, sizeof b, p->start);
                        if (k < 0)
                                return k;
                        for (size_t j = 0; j < sizeof b; j++)
                                if (b[j]) {
                                        info->bios_boot_partition_used = true;
                                        break;
                                }
                }
                if (p->is_esp && !info->efi_loader && p->fs_type && strcmp(p->fs_type, "vfat") == 0) {
                        uint64_t sz = 0;
                        k = fat_find_file(r, p->start, p->size, "EFI/BOOT/BOOTX64.EFI", &sz);
                        if (k == 0) {
                                info->efi_loader = true;
                                info->efi_loader_size = sz;
                                if ((k = inspect_efi_signatures(r, p, info)) < 0)
                                        return k;
                        } else if (k != -ENOENT && k != -EISDIR)
                                return k;
                }
        }
        return 0;
}

/* ISO 9660 (ECMA-119) volume descriptors and the El Torito boot catalog. */
static int inspect_iso(struct image_reader *r, struct image_info *info) {
        for (uint64_t sector = 16; sector < 16 + 64; sector++) {
                uint8_t vd[2048];
                int k = image_pread(r, vd, sizeof vd, sector * 2048);
                if (k < 0)
                        return k;
                if (memcmp(vd + 1, "CD001", 5) != 0) {
                        log_error("%s: corrupt ISO 9660 image: no volume descriptor in sector %" PRIu64, r->path, sector);
                        return -EBADMSG;
                }
                if (vd[0] == 255)
                        break;
                if (vd[0] == 1 && !info->iso_volume_id) {
                        size_t n = 32;
                        while (n > 0 && (vd[40 + n - 1] == ' ' || vd[40 + n - 1] == 0))
                                n--;
                        info->iso_volume_id = xstrndup((const char *)vd + 40, n);
                        for (char *c = info->iso_volume_id; *c; c++)
                                if (!isprint((unsigned char)*c))
                                        *c = '?';
                }
                if (vd[0] == 0 && memcmp(vd + 7, "EL TORITO SPECIFICATION", 23) == 0) {
                        info->eltorito = true;
                        uint64_t cat = le32(vd + 71);
                        uint8_t c[2048];
                        k = image_pread(r, c, sizeof c, cat * 2048);
                        if (k < 0)
                                return k;
                        if (c[0] != 1 || c[30] != 0x55 || c[31] != 0xaa) {
                                log_error("%s: corrupt El Torito boot catalog at sector %" PRIu64, r->path, cat);
                                return -EBADMSG;
                        }
                        uint8_t platform = c[1];
                        /* The default entry, then sections (header 0x90, last 0x91) of entries. */
                        for (size_t off = 32; off + 32 <= sizeof c; off += 32) {
                                const uint8_t *e = c + off;
                                if (e[0] == 0x90 || e[0] == 0x91) {
                                        platform = e[1];
                                        continue;
                                }
                                if (e[0] == 0x88) {
                                        if (platform == 0xef)
                                                info->eltorito_uefi = true;
                                        else if (platform == 0)
                                                info->eltorito_bios = true;
                                } else if (e[0] != 0x00 && e[0] != 0x44)
                                        break;
                                else if (e[0] == 0 && off > 32 && c[off - 32] != 0x88 && c[off - 32] != 0x90 && c[off - 32] != 0x91)
                                        break;
                        }
                }
        }
        return 0;
}

int image_inspect(struct image_reader *r, struct image_info *info) {
        memset(info, 0, sizeof *info);
        info->path = r->path;
        info->format = r->format;
        info->file_size = r->file_size;
        info->virtual_size = r->size;
        info->root_partition = -1;
        info->package_count = -1;
        if (r->has_vhd_footer && r->vhd_footer_status == -EINVAL) {
                log_error("%s: VHD footer: %s: corrupt footer", r->path, r->vhd.problem);
                return -EBADMSG;
        }
        if (r->has_vhd_footer && r->vhd_footer_status < 0) {
                log_error("%s: VHD footer checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32 "): corrupt footer",
                          r->path, r->vhd.checksum_stored, r->vhd.checksum_computed);
                return -EBADMSG;
        }
        int k = read_partition_table(r, info);
        if (k < 0)
                return k;
        for (size_t i = 0; i < info->n_partitions; i++) {
                struct partition_info *p = &info->partitions[i];
                k = probe_filesystem(r, p->start, p->size, &p->fs_type, &p->fs_uuid, &p->fs_label);
                if (k < 0)
                        return k;
        }
        if (r->format == IMAGE_FORMAT_ISO) {
                k = inspect_iso(r, info);
                if (k < 0)
                        return k;
                /* slipway's ISOs are live media: one that cannot boot is broken. */
                if (!info->eltorito) {
                        log_error("%s: ISO 9660 image without an El Torito boot record: not bootable", r->path);
                        return -EBADMSG;
                }
                if ((k = inspect_iso_root(r, info)) < 0)
                        return k;
        }
        k = inspect_boot(r, info);
        if (k < 0)
                return k;
        if (info->n_partitions == 0 && r->format != IMAGE_FORMAT_ISO) {
                /* A bare filesystem image. */
                _cleanup_free_ char *t = NULL, *u = NULL, *l = NULL;
                k = probe_filesystem(r, 0, r->size, &t, &u, &l);
                if (k < 0)
                        return k;
                if (!t) {
                        log_error("%s: no partition table and no filesystem found: not a disk image (or a corrupt one)", r->path);
                        return -EBADMSG;
                }
                if (is_ext(t)) {
                        k = ext4_reader_open(r, 0, r->size, &info->root);
                        if (k < 0)
                                return k;
                        k = read_os_info(info);
                        if (k < 0)
                                return k;
                }
                return 0;
        }
        return find_root(r, info);
}

void image_info_done(struct image_info *info) {
        authenticode_info_done(&info->efi_signatures);
        for (size_t i = 0; i < info->n_partitions; i++) {
                struct partition_info *p = &info->partitions[i];
                free(p->type);
                free(p->type_name);
                free(p->uuid);
                free(p->name);
                free(p->fs_type);
                free(p->fs_uuid);
                free(p->fs_label);
        }
        free(info->partitions);
        free(info->table);
        free(info->disk_id);
        ext4_reader_free(info->root);
        free(info->os_pretty_name);
        free(info->os_id);
        free(info->os_version_id);
        free(info->iso_root_path);
        strv_free(info->kernels);
        free(info->iso_volume_id);
        memset(info, 0, sizeof *info);
}

const char *image_info_kernel(const struct image_info *info) {
        size_t n = strv_length(info->kernels);
        return n ? info->kernels[n - 1] : NULL;
}

/* Every string of the image goes into JSON as valid UTF-8 (json-c copies
 * bytes as they are; a GPT name or os-release need not be UTF-8). */
static json_object *json_text(const char *s) {
        _cleanup_free_ char *clean = utf8_sanitized(s);
        return json_object_new_string(clean);
}

static json_object *str_or_null(const char *s) {
        return s ? json_text(s) : NULL;
}

json_object *image_info_to_json(const struct image_info *info) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "image", json_text(info->path));
        json_object_object_add(o, "format", json_object_new_string(image_format_name(info->format)));
        json_object_object_add(o, "file_size", json_object_new_int64((int64_t)info->file_size));
        json_object_object_add(o, "virtual_size", json_object_new_int64((int64_t)info->virtual_size));
        json_object_object_add(o, "partition_table", str_or_null(info->table));
        json_object_object_add(o, "disk_id", str_or_null(info->disk_id));
        json_object *parts = json_object_new_array();
        for (size_t i = 0; i < info->n_partitions; i++) {
                const struct partition_info *p = &info->partitions[i];
                json_object *j = json_object_new_object();
                json_object_object_add(j, "number", json_object_new_int64((int64_t)p->number));
                json_object_object_add(j, "start", json_object_new_int64((int64_t)p->start));
                json_object_object_add(j, "size", json_object_new_int64((int64_t)p->size));
                json_object_object_add(j, "type", str_or_null(p->type));
                json_object_object_add(j, "type_name", str_or_null(p->type_name));
                json_object_object_add(j, "uuid", str_or_null(p->uuid));
                json_object_object_add(j, "name", str_or_null(p->name));
                json_object_object_add(j, "fs_type", str_or_null(p->fs_type));
                json_object_object_add(j, "fs_uuid", str_or_null(p->fs_uuid));
                json_object_object_add(j, "fs_label", str_or_null(p->fs_label));
                json_object_array_add(parts, j);
        }
        json_object_object_add(o, "partitions", parts);
        json_object *boot = json_object_new_object();
        json_object_object_add(boot, "mbr_boot_code", json_object_new_boolean(info->mbr_boot_code));
        json_object_object_add(boot, "mbr_grub", json_object_new_boolean(info->mbr_grub));
        json_object_object_add(boot, "bios_boot_partition_used", json_object_new_boolean(info->bios_boot_partition_used));
        json_object_object_add(boot, "efi_loader", json_object_new_boolean(info->efi_loader));
        if (info->efi_loader) {
                json_object_object_add(boot, "efi_loader_size", json_object_new_int64((int64_t)info->efi_loader_size));
                json_object *sigs = json_object_new_array();
                for (size_t i = 0; i < info->efi_signatures.n_sigs; i++) {
                        const struct authenticode_signature *g = &info->efi_signatures.sigs[i];
                        json_object *j = json_object_new_object();
                        json_object_object_add(j, "signer", str_or_null(g->signer));
                        json_object_object_add(j, "issuer", str_or_null(g->issuer));
                        json_object_object_add(j, "trusted_anchor", str_or_null(g->anchor));
                        json_object_object_add(j, "trusted_anchor_sha256", str_or_null(g->anchor_sha256));
                        json_object_object_add(j, "digest_matches", json_object_new_boolean(g->digest_matches));
                        json_object_object_add(j, "signature_valid", json_object_new_boolean(g->signature_valid));
                        json_object_object_add(j, "problem", str_or_null(g->problem));
                        json_object_array_add(sigs, j);
                }
                json_object_object_add(boot, "efi_loader_signatures", info->efi_loader_unread ? NULL : sigs);
                if (info->efi_loader_unread)
                        json_object_put(sigs);
        }
        json_object_object_add(o, "boot", boot);
        if (info->format == IMAGE_FORMAT_ISO) {
                json_object *iso = json_object_new_object();
                json_object_object_add(iso, "volume_id", str_or_null(info->iso_volume_id));
                json_object_object_add(iso, "el_torito", json_object_new_boolean(info->eltorito));
                json_object_object_add(iso, "el_torito_bios", json_object_new_boolean(info->eltorito_bios));
                json_object_object_add(iso, "el_torito_uefi", json_object_new_boolean(info->eltorito_uefi));
                json_object *root = NULL;
                if (info->iso_root_path) {
                        root = json_object_new_object();
                        json_object_object_add(root, "path", json_text(info->iso_root_path));
                        json_object_object_add(root, "type", json_object_new_string("squashfs"));
                        json_object_object_add(root, "size", json_object_new_int64((int64_t)info->iso_root_size));
                        json_object_object_add(root, "compression", str_or_null(info->iso_root_compression));
                        json_object_object_add(root, "read", json_object_new_boolean(!info->iso_root_unread));
                }
                json_object_object_add(iso, "root_fs", root);
                json_object_object_add(o, "iso", iso);
        }
        if (info->root || (info->iso_root_path && !info->iso_root_unread)) {
                json_object *os = json_object_new_object();
                json_object_object_add(os, "root_partition", info->root && info->root_partition >= 0
                                       ? json_object_new_int64((int64_t)info->partitions[info->root_partition].number) : NULL);
                json_object_object_add(os, "root_fs", json_text(info->root ? "ext4" : info->iso_root_path));
                json_object_object_add(os, "pretty_name", str_or_null(info->os_pretty_name));
                json_object_object_add(os, "id", str_or_null(info->os_id));
                json_object_object_add(os, "version_id", str_or_null(info->os_version_id));
                json_object_object_add(os, "kernel", str_or_null(image_info_kernel(info)));
                json_object *k = json_object_new_array();
                for (size_t i = 0; info->kernels && info->kernels[i]; i++)
                        json_object_array_add(k, json_text(info->kernels[i]));
                json_object_object_add(os, "kernels", k);
                json_object_object_add(os, "package_count", info->package_count >= 0 ? json_object_new_int64(info->package_count) : NULL);
                json_object_object_add(os, "package_db", json_object_new_string(info->package_count >= 0 ? "dpkg" : "unknown"));
                /* a squashfs has no free space: its size is under iso.root_fs */
                json_object_object_add(os, "fs_size", info->root ? json_object_new_int64((int64_t)info->fs_size) : NULL);
                json_object_object_add(os, "fs_used", info->root ? json_object_new_int64((int64_t)info->fs_used) : NULL);
                json_object_object_add(os, "fs_df_used", info->root ? json_object_new_int64((int64_t)info->fs_df_used) : NULL);
                json_object_object_add(o, "os", os);
        }
        return o;
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

/* Text the image itself carries (names, labels, os-release) is printed
 * escaped: an image must not be able to drive the terminal. */
#define SHOWN(s) show_escaped(&shown, (s))
struct shown_strings {
        char **s;   /* the escaped copies, freed when the print is done */
        size_t n;
};
static const char *show_escaped(struct shown_strings *sh, const char *s) {
        if (!s)
                return "-";
        sh->s = xrealloc(sh->s, (sh->n + 1) * sizeof *sh->s);
        return sh->s[sh->n++] = term_escaped(s);
}
static void shown_strings_done(struct shown_strings *sh) {
        for (size_t i = 0; i < sh->n; i++)
                free(sh->s[i]);
        free(sh->s);
}

void image_info_print(const struct image_info *info, FILE *out) {
        char b1[32], b2[32];
        __attribute__((cleanup(shown_strings_done))) struct shown_strings shown = {};
        fprintf(out, "image:           %s\n", SHOWN(info->path));
        fprintf(out, "format:          %s\n", image_format_name(info->format));
        fprintf(out, "virtual size:    %" PRIu64 " bytes (%s)\n", info->virtual_size, format_bytes(info->virtual_size, b1));
        fprintf(out, "file size:       %" PRIu64 " bytes\n", info->file_size);
        if (info->table)
                fprintf(out, "partition table: %s, disk id %s\n", info->table, SHOWN(info->disk_id));
        else
                fprintf(out, "partition table: none\n");
        for (size_t i = 0; i < info->n_partitions; i++) {
                const struct partition_info *p = &info->partitions[i];
                fprintf(out, "  %zu: start %" PRIu64 " size %s type %s (%s) uuid %s name %s\n     fs %s uuid %s label %s\n",
                        p->number, p->start, format_bytes(p->size, b1), SHOWN(p->type), SHOWN(p->type_name), SHOWN(p->uuid),
                        SHOWN(p->name), SHOWN(p->fs_type), SHOWN(p->fs_uuid), SHOWN(p->fs_label));
        }
        fprintf(out, "bios boot code:  %s%s%s\n", yes_no(info->mbr_boot_code), info->mbr_grub ? " (GRUB)" : "",
                info->bios_boot_partition_used ? ", BIOS boot partition populated" : "");
        if (info->efi_loader) {
                fprintf(out, "efi loader:      \\EFI\\BOOT\\BOOTX64.EFI (%" PRIu64 " bytes)\n", info->efi_loader_size);
                if (info->efi_loader_unread)
                        fprintf(out, "  signatures:    not read (larger than %s)\n", format_bytes(EFI_LOADER_MAX, b2));
                else if (info->efi_signatures.n_sigs == 0)
                        fprintf(out, "  signatures:    none (unsigned: Secure Boot firmware refuses it)\n");
                for (size_t i = 0; i < info->efi_signatures.n_sigs; i++) {
                        const struct authenticode_signature *g = &info->efi_signatures.sigs[i];
                        if (g->anchor && !g->problem)
                                fprintf(out, "  signed by:     %s (issuer %s), trusted through %s\n", SHOWN(g->signer), SHOWN(g->issuer),
                                        SHOWN(g->anchor));
                        else
                                fprintf(out, "  signed by:     %s (issuer %s), not trusted: %s\n", SHOWN(g->signer), SHOWN(g->issuer),
                                        SHOWN(g->problem));
                }
        } else
                fprintf(out, "efi loader:      no\n");
        if (info->format == IMAGE_FORMAT_ISO)
                fprintf(out, "iso volume id:   %s\nel torito:       %s (bios %s, uefi %s)\n",
                        SHOWN(info->iso_volume_id), yes_no(info->eltorito),
                        yes_no(info->eltorito_bios), yes_no(info->eltorito_uefi));
        if (info->format == IMAGE_FORMAT_ISO) {
                if (info->iso_root_path && info->iso_root_unread)
                        fprintf(out, "live root fs:    %s (%s, not read: see the warning)\n", SHOWN(info->iso_root_path),
                                format_bytes(info->iso_root_size, b1));
                else if (info->iso_root_path)
                        fprintf(out, "live root fs:    %s (squashfs, %s, %s)\n", SHOWN(info->iso_root_path),
                                info->iso_root_compression, format_bytes(info->iso_root_size, b1));
                else
                        fprintf(out, "live root fs:    none found (%s, %s or %s with an os-release)\n", live_squashfs[0],
                                live_squashfs[1], live_squashfs[2]);
        }
        if (info->root || (info->iso_root_path && !info->iso_root_unread)) {
                fprintf(out, "os:              %s\n", SHOWN(info->os_pretty_name));
                if (info->os_id || info->os_version_id)
                        fprintf(out, "os id:           %s %s\n", SHOWN(info->os_id), SHOWN(info->os_version_id));
                fprintf(out, "kernel:          %s\n", SHOWN(image_info_kernel(info)));
                if (strv_length(info->kernels) > 1) {
                        fprintf(out, "kernels:        ");
                        for (size_t i = 0; info->kernels[i]; i++)
                                fprintf(out, " %s", SHOWN(info->kernels[i]));
                        fprintf(out, "\n");
                }
                if (info->package_count >= 0)
                        fprintf(out, "packages:        %ld (dpkg)\n", info->package_count);
                else
                        fprintf(out, "packages:        unknown (only dpkg databases are read)\n");
        }
        if (info->root) {
                char b3[32];
                fprintf(out, "root fs used:    %s of %s as df shows it (%s with the filesystem's metadata)\n",
                        format_bytes(info->fs_df_used, b3), format_bytes(info->fs_size, b2), format_bytes(info->fs_used, b1));
        }
}

int image_inspect_print(const char *path, bool json, FILE *out) {
        _cleanup_image_reader_ struct image_reader *r = NULL;
        int k = image_reader_open(path, &r);
        if (k < 0)
                return k;
        struct image_info info;
        k = image_inspect(r, &info);
        if (k >= 0) {
                if (json) {
                        json_object *o = image_info_to_json(&info);
                        fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                        json_object_put(o);
                } else
                        image_info_print(&info, out);
        }
        image_info_done(&info);
        return k;
}
