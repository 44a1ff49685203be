/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* Deterministic values.  Every UUID, serial, seed or salt in an image is
 * derived from (image name, image version, SOURCE_DATE_EPOCH, purpose), so
 * two builds of one profile at one epoch produce the same bytes. */
struct derive_ctx {
        unsigned char key[32];   /* SHA-256 of name, version and epoch */
};

void derive_init(struct derive_ctx *d, const char *name, const char *version, uint64_t epoch);
/* 32 bytes of SHA-256(key || purpose). */
void derive_bytes(const struct derive_ctx *d, const char *purpose, unsigned char out[32]);
/* A random-looking (version 4, variant 1) UUID string, 36 chars + NUL. */
void derive_uuid(const struct derive_ctx *d, const char *purpose, char out[37]);
uint32_t derive_u32(const struct derive_ctx *d, const char *purpose);
/* SHA-256 of a buffer as 64 hex chars + NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* SHA-256 of a file; 0 or negative errno. */
int sha256_file_hex(const char *path, char out[65]);
/* The same for an open file (read with pread from offset 0). */
int sha256_fd_hex(int fd, char out[65]);
/* SHA-256 of several files, in parallel on the available cores.
 * PREFIX_OF (NULL, or -1 per file for none) may name, for file i, a file
 * that i begins with in full (a fixed VHD: its raw disk plus the footer):
 * file i's digest then continues from that file's instead of reading the
 * shared bytes twice.  The caller vouches for the shared bytes; sizes are
 * checked.  0, or the first negative errno (and that file's index in
 * *ret_failed). */
int sha256_files_hex(char *const *paths, size_t n, const ssize_t *prefix_of, char (*out)[65], size_t *ret_failed);
