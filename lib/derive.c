/* SPDX-License-Identifier: MIT */
#include "derive.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void sha256(const void *a, size_t la, const void *b, size_t lb, unsigned char out[32]) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned int n = 32;
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        EVP_DigestUpdate(c, a, la);
        if (b)
                EVP_DigestUpdate(c, b, lb);
        EVP_DigestFinal_ex(c, out, &n);
        EVP_MD_CTX_free(c);
}

void derive_init(struct derive_ctx *d, const char *name, const char *version, uint64_t epoch) {
        _cleanup_free_ char *s = xasprintf("slipway\n%s\n%s\n%" PRIu64, name ? name : "", version ? version : "", epoch);
        sha256(s, strlen(s), NULL, 0, d->key);
}

void derive_bytes(const struct derive_ctx *d, const char *purpose, unsigned char out[32]) {
        sha256(d->key, sizeof(d->key), purpose, strlen(purpose), out);
}

void derive_uuid(const struct derive_ctx *d, const char *purpose, char out[37]) {
        unsigned char b[32];
        derive_bytes(d, purpose, b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

uint32_t derive_u32(const struct derive_ctx *d, const char *purpose) {
        unsigned char b[32];
        derive_bytes(d, purpose, b);
        return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void hex(const unsigned char *b, size_t n, char *out) {
        for (size_t i = 0; i < n; i++)
                sprintf(out + 2 * i, "%02x", b[i]);
}

void sha256_hex(const void *data, size_t len, char out[65]) {
        unsigned char b[32];
        sha256(data, len, NULL, 0, b);
        hex(b, 32, out);
}

int sha256_file_hex(const char *path, char out[65]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        static __thread unsigned char buf[1 << 20];
        for (;;) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        EVP_MD_CTX_free(c);
                        return r;
                }
                if (n == 0)
                        break;
                EVP_DigestUpdate(c, buf, (size_t)n);
        }
        unsigned char b[32];
        unsigned int n = 32;
        EVP_DigestFinal_ex(c, b, &n);
        EVP_MD_CTX_free(c);
        hex(b, 32, out);
        return 0;
}
