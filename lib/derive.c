/* SPDX-License-Identifier: MIT */
#include "derive.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
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

/* Feeds [start, size) of fd to the digest, hashing holes from the zero
 * buffer. */
static int digest_file_from(EVP_MD_CTX *c, int fd, off_t start, off_t size) {
        off_t pos = start;
        while (pos < size) {
                off_t data = lseek(fd, pos, SEEK_DATA);
                if (data < 0 && errno == ENXIO)
                        data = size; /* only a hole remains */
                else if (data < 0)
                        /* No SEEK_DATA here (not a regular file, old fs): read all. */
                        return digest_data(c, fd, pos, size);
                if (data > size)
                        data = size;
                if (data > pos)
                        digest_zeros(c, (uint64_t)(data - pos));
                if (data >= size)
                        break;
                off_t hole = lseek(fd, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                int r = digest_data(c, fd, data, hole);
                if (r < 0)
                        return r;
                pos = hole;
        }
        return 0;
}

static void digest_final_hex(EVP_MD_CTX *c, char out[65]) {
        unsigned char b[32];
        unsigned int n = 32;
        EVP_DigestFinal_ex(c, b, &n);
        hex(b, 32, out);
}

/* The digest of the file at PATH from byte FROM on, continued from the
 * state in START (NULL: a fresh SHA-256, FROM 0).  For an extender, START
 * is its prefix's state, not finalized, and FROM the prefix's size. */
static int digest_file_continue(const EVP_MD_CTX *start, const char *path, off_t from, char out[65]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size < from)
                return -EINVAL;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (start)
                EVP_MD_CTX_copy_ex(c, start);
        else
                EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        int r = digest_file_from(c, fd, from, st.st_size);
        if (r == 0)
                digest_final_hex(c, out);
        EVP_MD_CTX_free(c);
        return r;
}

int sha256_file_hex(const char *path, char out[65]) {
        return digest_file_continue(NULL, path, 0, out);
}

int sha256_fd_hex(int fd, char out[65]) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        int r = digest_file_from(c, fd, 0, st.st_size);
        if (r == 0)
                digest_final_hex(c, out);
        EVP_MD_CTX_free(c);
        return r;
}

/* One file to hash, and the files that begin with all of it (their digests
 * continue from its state). */
struct hash_job {
        size_t index;
        off_t size;
        size_t *extenders;      /* indexes of files whose prefix this one is */
        size_t n_extenders;
};

struct hash_queue {
        char *const *paths;
        char (*out)[65];
        int *results;           /* per file */
        struct hash_job *jobs;  /* largest first */
        size_t n_jobs;
        atomic_size_t next;
};

static void hash_job_run(struct hash_queue *q, const struct hash_job *j) {
        const char *path = q->paths[j->index];
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        int r = fd < 0 ? -errno : digest_file_from(c, fd, 0, j->size);
        /* The file must still be as large as measured: an extender's
         * prefix is exactly j->size bytes. */
        struct stat st;
        if (r == 0 && (fstat(fd, &st) < 0 || st.st_size != j->size))
                r = -EIO;
        for (size_t k = 0; k < j->n_extenders; k++) {
                size_t e = j->extenders[k];
                q->results[e] = r < 0 ? r : digest_file_continue(c, q->paths[e], j->size, q->out[e]);
        }
        if (r == 0)
                digest_final_hex(c, q->out[j->index]);
        q->results[j->index] = r;
        EVP_MD_CTX_free(c);
}

static void *hash_worker(void *arg) {
        struct hash_queue *q = arg;
        for (;;) {
                size_t i = atomic_fetch_add(&q->next, 1);
                if (i >= q->n_jobs)
                        return NULL;
                hash_job_run(q, &q->jobs[i]);
        }
}

static int job_larger_first(const void *a, const void *b) {
        const struct hash_job *x = a, *y = b;
        if (x->size != y->size)
                return x->size > y->size ? -1 : 1;
        return x->index < y->index ? -1 : x->index > y->index;
}

int sha256_files_hex(char *const *paths, size_t n, const ssize_t *prefix_of, char (*out)[65], size_t *ret_failed) {
        /* SHA-256 of one stream cannot be split, so the parallelism is
         * across files: a queue, largest first, one worker per core (a
         * 30 GiB disk image alone takes ~20 s here).  A file that is
         * another plus a tail (a fixed VHD is its raw disk plus a footer)
         * is not read again: its digest continues from the other's state. */
        off_t *sizes = xcalloc(n ? n : 1, sizeof(*sizes));
        int *results = xcalloc(n ? n : 1, sizeof(*results));
        bool *is_extender = xcalloc(n ? n : 1, sizeof(*is_extender));
        unsigned long long total = 0;
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                if (stat(paths[i], &st) < 0) {
                        results[i] = -errno;
                        continue;
                }
                sizes[i] = st.st_size;
        }
        /* Only one level: a prefix that itself extends another is hashed
         * on its own. */
        for (size_t i = 0; i < n; i++) {
                ssize_t p = prefix_of ? prefix_of[i] : -1;
                is_extender[i] = p >= 0 && (size_t)p < n && (size_t)p != i && results[i] == 0 && results[p] == 0 &&
                                 !(prefix_of[p] >= 0) && sizes[i] >= sizes[p];
        }
        struct hash_job *jobs = xcalloc(n ? n : 1, sizeof(*jobs));
        size_t n_jobs = 0;
        for (size_t i = 0; i < n; i++) {
                if (is_extender[i] || results[i] < 0)
                        continue;
                struct hash_job *j = &jobs[n_jobs++];
                *j = (struct hash_job){ .index = i, .size = sizes[i] };
                for (size_t e = 0; e < n; e++)
                        if (is_extender[e] && (size_t)prefix_of[e] == i) {
                                j->extenders = xrealloc(j->extenders, (j->n_extenders + 1) * sizeof(size_t));
                                j->extenders[j->n_extenders++] = e;
                        }
                total += (unsigned long long)sizes[i];
                for (size_t k = 0; k < j->n_extenders; k++)
                        total += (unsigned long long)(sizes[j->extenders[k]] - sizes[i]);
        }
        qsort(jobs, n_jobs, sizeof(*jobs), job_larger_first);
        progress_bytes_total(total);

        struct hash_queue q = { .paths = paths, .out = out, .results = results, .jobs = jobs, .n_jobs = n_jobs };
        atomic_init(&q.next, 0);
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        size_t width = cores > 1 ? (size_t)cores : 1;
        if (width > n_jobs)
                width = n_jobs;
        pthread_t *threads = xcalloc(width ? width : 1, sizeof(*threads));
        size_t started = 0;
        for (size_t t = 1; t < width; t++)
                if (pthread_create(&threads[started], NULL, hash_worker, &q) == 0)
                        started++;
        hash_worker(&q); /* this thread works too */
        for (size_t t = 0; t < started; t++)
                pthread_join(threads[t], NULL);

        int r = 0;
        for (size_t i = 0; i < n; i++)
                if (results[i] < 0 && r == 0) {
                        r = results[i];
                        if (ret_failed)
                                *ret_failed = i;
                }
        for (size_t i = 0; i < n_jobs; i++)
                free(jobs[i].extenders);
        free(jobs);
        free(threads);
        free(sizes);
        free(results);
        free(is_extender);
        progress_bytes_total(0);
        return r;
}
