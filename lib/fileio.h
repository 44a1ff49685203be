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

/* Copies the regular file PATH of the image tree open at ROOT_FD to the
 * host file DST (created with MODE, or truncated; never through a symlink
 * in its last component), keeping holes as copy_sparse() does.  PATH is
 * resolved inside the tree (lib/tree.h): a symlink such as /boot/vmlinuz ->
 * /etc/shadow names the tree's /etc/shadow, never the host's.  -EISDIR for
 * a directory, -EBADFD for anything else that is not a regular file (a
 * FIFO is not waited on).  Not logged. */
int copy_from_tree(int root_fd, const char *path, const char *dst, mode_t mode);

/* Bytes actually allocated for a file (st_blocks * 512). */
int file_allocated_bytes(const char *path, uint64_t *ret_allocated, uint64_t *ret_apparent);
