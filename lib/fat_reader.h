/* SPDX-License-Identifier: MIT */
#pragma once
#include "image_reader.h"

/* Looks up a path (e.g. "EFI/BOOT/BOOTX64.EFI") in a FAT12/16/32
 * filesystem at [offset, offset + size) of the image, by 8.3 short names
 * (case-insensitive; long names are not needed for the paths UEFI
 * firmware uses).  0 and the file's size, -ENOENT when absent (not
 * logged), -EBADMSG when the filesystem is corrupt (logged). */
int fat_find_file(struct image_reader *image, uint64_t offset, uint64_t size, const char *path, uint64_t *ret_size);
/* Reads that file whole (at most MAX bytes: -EFBIG beyond), following its
 * cluster chain, every step bounded by the filesystem's size. */
int fat_read_file(struct image_reader *image, uint64_t offset, uint64_t size, const char *path, size_t max, uint8_t **ret,
                  size_t *ret_len);
