/* SPDX-License-Identifier: MIT */
#pragma once
#include "image_reader.h"

#include <ext2fs/ext2fs.h>

/* An ext2/3/4 filesystem read through libext2fs from a partition of an
 * image_reader: a custom io_manager turns libext2fs's block reads into
 * image_pread() calls, so raw, VHD and qcow2 images all work the same and
 * nothing is mounted.  Read-only: every write entry point fails. */
struct ext4_reader {
        ext2_filsys fs;
        struct image_reader *image;   /* borrowed */
        uint64_t offset;
};

int ext4_reader_open(struct image_reader *image, uint64_t offset, uint64_t size, struct ext4_reader **ret);
void ext4_reader_free(struct ext4_reader *e);
static inline void ext4_reader_freep(struct ext4_reader **e) { ext4_reader_free(*e); }
#define _cleanup_ext4_reader_ _cleanup_(ext4_reader_freep)

/* Looks a path up (symlinks followed, absolute ones relative to this
 * filesystem's root).  -ENOENT when absent (not logged). */
int ext4_lookup(struct ext4_reader *e, const char *path, ext2_ino_t *ret_ino, struct ext2_inode_large *ret_inode);
bool ext4_exists(struct ext4_reader *e, const char *path);
/* Reads a regular file whole (at most max bytes, else -EFBIG).  The buffer
 * is NUL-terminated.  A sparse file is read only as far as its allocated
 * blocks could reach (the rest is holes, zeros, which end a text anyway):
 * memory follows what the image holds, not the size an inode claims.
 * -ENOENT when absent (not logged). */
int ext4_read_file(struct ext4_reader *e, const char *path, size_t max, char **ret, size_t *ret_len);

/* A regular file read in pieces, for the large ones (an initramfs), so
 * that memory does not follow its size.  -EFBIG above max bytes. */
struct ext4_file;
int ext4_file_open(struct ext4_reader *e, const char *path, uint64_t max, struct ext4_file **ret);
uint64_t ext4_file_size(const struct ext4_file *f);
/* Up to n bytes at off (fewer only at the end of the file; *got = 0 at or
 * past it). */
int ext4_file_pread(struct ext4_file *f, void *buf, size_t n, uint64_t off, size_t *got);
void ext4_file_close(struct ext4_file *f);
static inline void ext4_file_closep(struct ext4_file **f) { ext4_file_close(*f); }
#define _cleanup_ext4_file_ _cleanup_(ext4_file_closep)
/* Names in a directory (no "." and ".."), sorted.  -ENOENT when absent. */
int ext4_list_dir(struct ext4_reader *e, const char *path, char ***ret);
/* A symlink's target. */
int ext4_readlink(struct ext4_reader *e, const char *path, char **ret);

/* Bytes in use the way df counts them in the booted system: statfs()
 * leaves the filesystem's own overhead (superblock and descriptor backups,
 * bitmaps, inode tables, the journal) out, as the kernel's
 * ext4_calculate_overhead() does.  This is what budgets and inspect report. */
uint64_t ext4_df_used(ext2_filsys fs);
