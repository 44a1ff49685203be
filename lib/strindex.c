/* SPDX-License-Identifier: MIT */
#include "strindex.h"
#include "util.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t sip_key[2];
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_init(void) {
        if (getrandom(sip_key, sizeof(sip_key), GRND_NONBLOCK) != (ssize_t)sizeof(sip_key)) {
                /* no entropy yet (early boot): still per process */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                sip_key[0] = (uint64_t)ts.tv_nsec * UINT64_C(0x9e3779b97f4a7c15) ^ (uint64_t)getpid();
                sip_key[1] = (uint64_t)ts.tv_sec * UINT64_C(0xbf58476d1ce4e5b9) ^ (uintptr_t)&ts;
        }
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                         \
        do {                                                                             \
                v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                 \
                v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                    \
                v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                    \
                v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                 \
        } while (0)

/* SipHash-1-3 of a NUL-terminated string. */
static uint64_t str_hash(const char *s) {
        pthread_once(&sip_once, sip_init);
        size_t len = strlen(s);
        uint64_t v0 = sip_key[0] ^ UINT64_C(0x736f6d6570736575), v1 = sip_key[1] ^ UINT64_C(0x646f72616e646f6d),
                 v2 = sip_key[0] ^ UINT64_C(0x6c7967656e657261), v3 = sip_key[1] ^ UINT64_C(0x7465646279746573);
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        for (; i + 8 <= len; i += 8) {
                uint64_t m;
                memcpy(&m, p + i, 8);   /* little-endian hosts: the byte order only changes the hash */
                v3 ^= m;
                SIPROUND;
                v0 ^= m;
        }
        uint64_t b = (uint64_t)len << 56;
        for (size_t k = 0; i + k < len; k++)
                b |= (uint64_t)p[i + k] << (8 * k);
        v3 ^= b;
        SIPROUND;
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

static void insert_slot(struct str_index_slot *slots, size_t cap, struct str_index_slot s) {
        size_t i = (size_t)s.hash & (cap - 1);
        while (slots[i].key)
                i = (i + 1) & (cap - 1);
        slots[i] = s;
}

void str_index_add(struct str_index *x, const char *key, size_t value) {
        if ((x->n + 1) * 4 > x->cap * 3) {
                size_t cap = x->cap ? x->cap * 2 : 16;
                struct str_index_slot *slots = xcalloc(cap, sizeof(*slots));
                /* from an empty slot on, so that no run of equal keys is
                 * split at the end of the array and reversed */
                size_t first = 0;
                while (x->cap && x->slots[first].key)
                        first++;
                for (size_t k = 0; k < x->cap; k++) {
                        const struct str_index_slot *s = &x->slots[(first + k) & (x->cap - 1)];
                        if (s->key)
                                insert_slot(slots, cap, *s);
                }
                free(x->slots);
                x->slots = slots;
                x->cap = cap;
        }
        insert_slot(x->slots, x->cap, (struct str_index_slot){ .key = key, .hash = str_hash(key), .value = value });
        x->n++;
}

/* Linear probing keeps equal keys in the order they were added: a later
 * one always lands after an earlier one on the probe sequence. */
bool str_index_next(const struct str_index *x, const char *key, size_t *cursor, size_t *value) {
        if (!x->cap)
                return false;
        uint64_t h = str_hash(key);
        size_t start = (size_t)h & (x->cap - 1);
        for (size_t k = *cursor; k < x->cap; k++) {
                const struct str_index_slot *s = &x->slots[(start + k) & (x->cap - 1)];
                if (!s->key)
                        return false;
                if (s->hash == h && strcmp(s->key, key) == 0) {
                        *cursor = k + 1;
                        *value = s->value;
                        return true;
                }
        }
        return false;
}

bool str_index_get(const struct str_index *x, const char *key, size_t *value) {
        size_t cursor = 0;
        return str_index_next(x, key, &cursor, value);
}

void str_index_clear(struct str_index *x) {
        free(x->slots);
        *x = (struct str_index){ 0 };
}
