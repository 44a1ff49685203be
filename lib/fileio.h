/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>
#include <sys/types.h>

/* Copies src to dst keeping holes: data ranges found with SEEK_DATA /
 * SEEK_HOLE are copied with copy_file_range(), holes are left unwritten,
 * and dst is sized to src's length.  Tries a reflink (FICLONE) first. */
int copy_sparse(int src_fd, int dst_fd);

/* pwrite() all n bytes at off, retrying short writes and EINTR.  0 or a
 * negative errno. */
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* Bytes actually allocated for a file (st_blocks * 512). */
int file_allocated_bytes(const char *path, uint64_t *ret_allocated, uint64_t *ret_apparent);
