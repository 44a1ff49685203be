/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct disk_plan;

/* Every partition starts and ends on this boundary. */
#define GPT_ALIGN (UINT64_C(1) << 20)
/* Sector size of the images slipway writes. */
#define GPT_SECTOR 512u
/* The primary GPT (protective MBR, header, 128 entries = 34 sectors) lives
 * in the first MiB, the backup (33 sectors) in the last MiB: with 1 MiB
 * alignment neither MiB can hold a partition. */
#define GPT_HEAD_RESERVE GPT_ALIGN
#define GPT_TAIL_RESERVE GPT_ALIGN
/* Smallest ESP we make: FAT16 needs 4085 clusters; 8 MiB also leaves room
 * for BOOTX64.EFI (~0.6 MiB) and a shim chain later. */
#define GPT_ESP_MIN (UINT64_C(8) << 20)
/* From this size on the ESP is FAT32 (as the UEFI spec prefers); below it
 * FAT16, because FAT32 needs 65525 clusters. */
#define GPT_ESP_FAT32_MIN (UINT64_C(64) << 20)
/* Default root headroom: max(20 % of the content, 64 MiB). */
#define GPT_ROOT_HEADROOM_MIN (UINT64_C(64) << 20)

/* What gpt_layout_plan() needs besides the partitions. */
struct gpt_layout_input {
        uint64_t disk_size;          /* profile disk.size; 0 = auto */
        uint64_t root_headroom;      /* profile disk.root-headroom; 0 = default */
        uint64_t root_required;      /* bytes the root filesystem needs for the tree (ext4_required_bytes) */
        bool root_minimum;           /* root_required is what the smallest tree needs (profile validation,
                                        before there is a tree), not this tree's: only the messages differ */
        const struct slw_partition *parts;
        size_t n_parts;
};

/* Why a plan is impossible: which partition (index into parts, or -1 for
 * the disk as a whole), the key it is about and a message naming the
 * numbers.  key: with a partition, one of its keys ("size", "type") or
 * NULL; without, the profile's dotted key ("disk.size",
 * "disk.root-headroom", "disk.partitions"). */
struct gpt_layout_error {
        int part_index;
        const char *key;
        char message[256];
};

/* Where in the profile a layout error is: the key's file:line:col when the
 * profile has it, else its partition's (or "default"). */
struct slw_origin gpt_layout_error_origin(const struct slw_profile *p, const struct gpt_layout_error *err);

/* Pure: fills plan->parts[i].offset/size/number/spec, plan->n_parts and
 * plan->disk_size (and the root/esp/bios indexes), and nothing else (the
 * identities — UUIDs — stay as they are).  Partitions are placed in the
 * profile's order from 1 MiB on, each a multiple of 1 MiB (fixed sizes are
 * rounded up to it).  A `size: auto` root is root_required + headroom;
 * with a fixed disk size the root (auto) takes what the others leave.
 * Returns 0, or -EINVAL / -E2BIG / -ERANGE with *err filled. */
int gpt_layout_plan(const struct gpt_layout_input *in, struct disk_plan *plan, struct gpt_layout_error *err);

/* The headroom gpt_layout_plan() adds to an auto root of `required` bytes. */
uint64_t gpt_root_headroom(uint64_t required, uint64_t profile_headroom);

/* GPT partition type GUID of a partition type (x86-64 root per the
 * Discoverable Partitions Specification). */
const char *gpt_type_guid(enum slw_part_type t);

/* Writes a GPT (protective MBR, primary and backup header) describing plan
 * into the image file `path` (which must already have plan->disk_size
 * bytes) with libfdisk.  Touches only the GPT areas. */
int gpt_write(const char *path, const struct disk_plan *plan);
