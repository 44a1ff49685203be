/* SPDX-License-Identifier: MIT */
#pragma once
#include "authenticode.h"
#include "ext4_reader.h"
#include "image_reader.h"

#include <json-c/json.h>
#include <stdio.h>

/* What `slipway inspect` reports about an image, gathered read-only
 * through an image_reader (no root, no mounts).  `verify --azure` reuses
 * it (and its open root filesystem). */

#define GPT_TYPE_ESP "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
#define GPT_TYPE_BIOS_BOOT "21686148-6449-6E6F-744E-656564454649"
#define GPT_TYPE_LINUX_SWAP "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"

struct partition_info {
        size_t number;
        uint64_t start, size;           /* bytes */
        char *type;                     /* GPT type UUID or MBR "0x83" */
        char *type_name;                /* libfdisk's name for it */
        char *uuid;                     /* GPT partition UUID, or NULL */
        char *name;                     /* GPT partition name, or NULL */
        char *fs_type, *fs_uuid, *fs_label;   /* libblkid; NULL when none found */
        bool is_esp, is_bios_boot, is_swap;
};

struct image_info {
        const char *path;
        enum image_format format;
        uint64_t file_size, virtual_size;

        char *table;                    /* "gpt", "dos" or NULL */
        char *disk_id;
        struct partition_info *partitions;
        size_t n_partitions;

        bool mbr_boot_code;             /* the MBR's first 440 bytes are not all zero */
        bool mbr_grub;                  /* ...and hold GRUB's boot.img */
        bool bios_boot_partition_used;  /* GPT BIOS boot partition starts with data (core.img) */
        bool efi_loader;                /* \EFI\BOOT\BOOTX64.EFI on an ESP */
        uint64_t efi_loader_size;
        /* Its Authenticode signatures, checked against Microsoft's UEFI CA
         * (lib/authenticode.h); efi_loader_unread when it was too large to
         * read (EFI_LOADER_MAX). */
        struct authenticode_info efi_signatures;
        bool efi_loader_unread;

        /* The root filesystem: the first ext2/3/4 filesystem holding
         * /etc/os-release (a partition, or the whole disk). -1: none. */
        ssize_t root_partition;         /* index into partitions, or -1 for the whole disk */
        struct ext4_reader *root;       /* open, or NULL */
        char *os_pretty_name;
        char *os_id, *os_version_id;    /* os-release ID and VERSION_ID */
        char **kernels;                 /* versions from /boot/vmlinuz-*, sorted */
        long package_count;             /* dpkg "install ok installed"; -1 unknown */
        uint64_t fs_size, fs_used;     /* fs_used: blocks in use, metadata included */
        uint64_t fs_df_used;            /* as df shows it in the booted system */

        /* ISO 9660 */
        char *iso_volume_id;
        bool eltorito, eltorito_bios, eltorito_uefi;
        /* A live ISO's root filesystem (a squashfs at one of the paths live
         * systems boot): os_pretty_name, kernels and package_count come
         * from it; root stays NULL.  NULL when the ISO has none. */
        char *iso_root_path;
        uint64_t iso_root_size;
        const char *iso_root_compression;   /* static: "zstd", "xz", "gzip"; NULL when unread */
        bool iso_root_unread;               /* a squashfs this reader refuses (lz4, ...): no OS facts */
};

int image_inspect(struct image_reader *r, struct image_info *ret);
void image_info_done(struct image_info *info);

/* The newest kernel version, or NULL. */
const char *image_info_kernel(const struct image_info *info);

json_object *image_info_to_json(const struct image_info *info);
void image_info_print(const struct image_info *info, FILE *out);
/* The report as `inspect` prints it (text or JSON). */
int image_inspect_print(const char *path, bool json, FILE *out);
