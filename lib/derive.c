/* SPDX-License-Identifier: MIT */
#include "derive.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/stat.h>
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

/* Feeds [start, end) of fd to the digest.  Holes (found with SEEK_DATA /
 * SEEK_HOLE) are hashed from a static zero buffer instead of being read: a
 * 30 GiB sparse disk image is mostly holes, and reading them costs more
 * than hashing them. */
static const unsigned char zero_block[1 << 20];

static int digest_zeros(EVP_MD_CTX *c, uint64_t len) {
        while (len > 0) {
                size_t n = len < sizeof(zero_block) ? (size_t)len : sizeof(zero_block);
                EVP_DigestUpdate(c, zero_block, n);
                progress_bytes_add(n);
                len -= n;
        }
        return 0;
}

static int digest_data(EVP_MD_CTX *c, int fd, off_t start, off_t end) {
        static __thread unsigned char buf[1 << 20];
        while (start < end) {
                size_t want = (size_t)(end - start) < sizeof(buf) ? (size_t)(end - start) : sizeof(buf);
                ssize_t n = pread(fd, buf, want, start);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EIO; /* the file shrank under us */
                EVP_DigestUpdate(c, buf, (size_t)n);
                progress_bytes_add((unsigned long long)n);
                start += n;
        }
        return 0;
}

int sha256_file_hex(const char *path, char out[65]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        int r = 0;
        off_t pos = 0, size = st.st_size;
        while (pos < size && r == 0) {
                off_t data = lseek(fd, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        data = size; /* only a hole remains */
                else if (data < 0) {
                        /* No SEEK_DATA here (not a regular file, old fs): read all. */
                        r = digest_data(c, fd, pos, size);
                        break;
                }
                if (data > pos)
                        digest_zeros(c, (uint64_t)(data - pos));
                if (data >= size)
                        break;
                off_t hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                r = digest_data(c, fd, data, hole);
                pos = hole;
        }
        if (r < 0) {
                EVP_MD_CTX_free(c);
                return r;
        }
        unsigned char b[32];
        unsigned int n = 32;
        EVP_DigestFinal_ex(c, b, &n);
        EVP_MD_CTX_free(c);
        hex(b, 32, out);
        return 0;
}

struct hash_job {
        const char *path;
        char *out;
        int result;
};

static void *hash_thread(void *arg) {
        struct hash_job *j = arg;
        j->result = sha256_file_hex(j->path, j->out);
        return NULL;
}

int sha256_files_hex(char *const *paths, size_t n, char (*out)[65], size_t *ret_failed) {
        /* Artifacts are independent: hash them on every core (each artifact
         * on one thread; SHA-256 of one stream cannot be split). */
        unsigned long long total = 0;
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (stat(paths[i], &st) == 0)
                        total += (unsigned long long)st.st_size;
        }
        progress_bytes_total(total);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t width = cores > 1 ? (size_t)cores : 1;
        struct hash_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
        pthread_t *threads = xcalloc(n ? n : 1, sizeof(*threads));
        bool *started = xcalloc(n ? n : 1, sizeof(*started));
        int r = 0;
        for (size_t base = 0; base < n; base += width) {
                size_t end = base + width < n ? base + width : n;
                for (size_t i = base; i < end; i++) {
                        jobs[i] = (struct hash_job){ .path = paths[i], .out = out[i] };
                        started[i] = pthread_create(&threads[i], NULL, hash_thread, &jobs[i]) == 0;
                        if (!started[i])
                                hash_thread(&jobs[i]);
                }
                for (size_t i = base; i < end; i++)
                        if (started[i])
                                pthread_join(threads[i], NULL);
        }
        for (size_t i = 0; i < n; i++)
                if (jobs[i].result < 0 && r == 0) {
                        r = jobs[i].result;
                        if (ret_failed)
                                *ret_failed = i;
                }
        free(jobs);
        free(threads);
        free(started);
        progress_bytes_total(0);
        return r;
}
