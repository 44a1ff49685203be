/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An index from strings to positions (size_t), for the lookups a profile
 * makes per key or per list entry: a map of 135k keys must not cost 135k
 * linear scans.  Open addressing over SipHash-1-3 with a per-process random
 * key, so a profile cannot be written to collide.  Keys are not copied:
 * they must outlive the index.  A key may be added more than once; lookups
 * see its values in the order they were added. */
struct str_index_slot {
        const char *key;        /* NULL: empty */
        uint64_t hash;
        size_t value;
};

struct str_index {
        struct str_index_slot *slots;
        size_t cap, n;          /* cap: 0 or a power of two */
};

void str_index_add(struct str_index *x, const char *key, size_t value);
/* The first value of key, or false. */
bool str_index_get(const struct str_index *x, const char *key, size_t *value);
/* Every value of key: start with *cursor = 0; false when there are no more. */
bool str_index_next(const struct str_index *x, const char *key, size_t *cursor, size_t *value);
void str_index_clear(struct str_index *x);
