/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* Filesystems made straight into an image file at an offset: no loop
 * devices, no mounts, no root.  ext4 with mke2fs -d, vfat with mkfs.fat
 * --offset and mtools' "IMAGE@@OFFSET" syntax. */

struct tree_usage {
        uint64_t data_bytes;     /* file data and directories, each rounded up to 4 KiB blocks */
        uint64_t n_inodes;       /* files, directories, links, devices */
        uint64_t n_files;
};

/* Walks a tree (without following symlinks or crossing devices). */
int tree_usage(const char *tree, struct tree_usage *ret);

/* Bytes an ext4 filesystem (4 KiB blocks, 256-byte inodes) must at least
 * have to hold that tree: data + inode tables + journal + 5 % reserve +
 * a little for extent/directory blocks.  An estimate, on the safe side. */
uint64_t ext4_required_bytes(const struct tree_usage *u);

/* Inode count to ask mke2fs for (-N) so a tree of u fits in `size` bytes:
 * mke2fs' default (one per 16 KiB) unless the tree needs more. */
uint64_t ext4_inode_count(const struct tree_usage *u, uint64_t size);

struct ext4_params {
        const char *image;       /* the disk image file */
        uint64_t offset, size;   /* bytes */
        const char *tree;        /* NULL = empty filesystem */
        const char *uuid;        /* filesystem UUID, also the directory hash seed */
        const char *label;
        uint64_t epoch;          /* SOURCE_DATE_EPOCH: all timestamps are clamped to it */
        uint64_t n_inodes;       /* 0 = mke2fs' default */
};

/* mke2fs -t ext4 -d TREE into image at offset, then clamps every inode's
 * timestamps to the epoch (mke2fs -d copies ctime/atime from the tree, which
 * differ between two copies of the same tree). */
int ext4_make(const struct ext4_params *p);

/* Used bytes ((blocks - free blocks) * block size) of the ext4 at offset. */
int ext4_used_bytes(const char *image, uint64_t offset, uint64_t *ret);

/* Sets atime/ctime/mtime/crtime of every inode newer than epoch to epoch,
 * and atime/ctime/crtime of the others to their mtime; nanoseconds to 0. */
int ext4_clamp_times(const char *image, uint64_t offset, uint64_t epoch);

/* mkfs.fat --invariant into image at offset (FAT32 from 64 MiB on, else FAT16). */
int vfat_make(const char *image, uint64_t offset, uint64_t size, uint32_t serial, const char *label);

/* Copies the contents of directory `src` into the root of the vfat at
 * offset with mtools (mcopy -s -m): every file and directory gets the
 * epoch as its time (set on the source first), so the result is
 * reproducible (mtools 4.0.32 ignores SOURCE_DATE_EPOCH). */
int vfat_copy_tree(const char *image, uint64_t offset, const char *src, uint64_t epoch);

/* Writes a Linux swap signature (v1, 4 KiB pages) with UUID and label. */
int swap_make(const char *image, uint64_t offset, uint64_t size, const char *uuid, const char *label);

/* Used bytes of a FAT32 at offset, from its FSInfo free-cluster count;
 * -EOPNOTSUPP for FAT16 or when the count is unknown. */
int vfat_used_bytes(const char *image, uint64_t offset, uint64_t *ret);
