/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>

#include "profile.h"

/* The immutable root: a read-only filesystem image (erofs or squashfs) of
 * the configured tree, and its dm-verity hash tree (veritysetup format),
 * both as plain files that the disk stage copies into root-A and
 * verity-A.  See assembler/stage_disk.c for the design. */

/* Bytes of one verity data and hash block (4 KiB: the page size, what
 * systemd-repart and mkosi use). */
#define VERITY_BLOCK 4096u

struct roimage_params {
        const char *tree;
        const char *out;                  /* the image file to write */
        enum slw_fs fs;                   /* FS_EROFS or FS_SQUASHFS */
        enum slw_ro_compression compression;
        const char *uuid;                 /* erofs filesystem UUID (squashfs has none) */
        uint64_t epoch;                   /* every timestamp in the image */
};

/* mkfs.erofs / mksquashfs of the tree, reproducible (fixed UUID, every
 * timestamp the epoch), padded to whole VERITY_BLOCKs. */
int roimage_make(const struct roimage_params *p);

/* veritysetup format DATA HASH with 4 KiB blocks, sha256, the given salt
 * (64 hex chars) and UUID; the hash tree (with its superblock) goes into
 * the file HASH.  Fills roothash (64 hex chars + NUL). */
int verity_format(const char *data, const char *hash, const char *salt_hex, const char *uuid, char roothash[65]);

/* Upper bound of the hash file veritysetup writes for `data_bytes` of data
 * (superblock + every level of the tree, sha256, 4 KiB blocks). */
uint64_t verity_hash_bytes(uint64_t data_bytes);

/* Discoverable Partitions Specification: the root partition's UUID is the
 * first 128 bits of the root hash, the verity partition's the last 128,
 * formatted as a UUID string as is (systemd-veritysetup-generator and
 * systemd-gpt-auto-generator find the partitions by them).  -EINVAL for a
 * root hash that is not 64 hex characters. */
int verity_partition_uuids(const char *roothash, char data_uuid[37], char hash_uuid[37]);
