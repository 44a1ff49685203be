/* SPDX-License-Identifier: MIT */
#pragma once
#include "image_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A squashfs 4.0 filesystem read from a region of an image_reader (the
 * live ISO's /live/filesystem.squashfs), for inspect: look paths up
 * (symlinks followed inside the filesystem), read small files whole, list
 * directories.  gzip, xz and zstd compression; lzo, lz4 and lzma (and
 * versions other than 4.0) are refused by open with a warning and
 * -EOPNOTSUPP.
 *
 * Written for hostile input, not with libsquashfs (which allocates what an
 * inode's sizes claim before checking them): every size read from the image
 * is checked against the filesystem's size and the caller's limit before
 * anything is allocated, metadata blocks decompress to at most 8 KiB and
 * data blocks to at most the block size, directories above
 * SQUASHFS_DIR_MAX bytes and symlink chains above 40 are refused.
 * Errors: 0 or a negative errno; -EBADMSG (logged once, naming the image and
 * `what`) for a corrupt or truncated filesystem; -ENOENT, -ENOTDIR,
 * -EISDIR, -EFBIG are not logged. */
#define SQUASHFS_DIR_MAX (1024 * 1024)

struct squashfs_reader;

int squashfs_reader_open(struct image_reader *r, uint64_t offset, uint64_t size, const char *what,
                         struct squashfs_reader **ret);
void squashfs_reader_free(struct squashfs_reader *s);
static inline void squashfs_reader_freep(struct squashfs_reader **s) { squashfs_reader_free(*s); }
#define _cleanup_squashfs_reader_ _cleanup_(squashfs_reader_freep)

/* "gzip", "xz" or "zstd". */
const char *squashfs_compression(const struct squashfs_reader *s);
/* The filesystem's size (bytes_used) and its block size. */
uint64_t squashfs_bytes_used(const struct squashfs_reader *s);
uint32_t squashfs_block_size(const struct squashfs_reader *s);
uint32_t squashfs_inode_count(const struct squashfs_reader *s);

/* 1 when path exists (symlinks followed), 0 when not, or an error. */
int squashfs_exists(struct squashfs_reader *s, const char *path);
/* A regular file whole, NUL-terminated (at most max bytes, else -EFBIG). */
int squashfs_read_file(struct squashfs_reader *s, const char *path, size_t max, char **ret, size_t *ret_len);
/* The names in a directory, sorted. */
int squashfs_list_dir(struct squashfs_reader *s, const char *path, char ***ret);
