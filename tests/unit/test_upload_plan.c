/* SPDX-License-Identifier: MIT */
/* timeout: 60 (tests/run-all.sh) */
/* The data-range planner of `slipway upload azure`: holes, zero sectors
 * inside data, merging, the 4 MiB split, 512-byte alignment, and what
 * --resume subtracts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upload_plan.h"
#include "util.h"

#define S UPLOAD_PAGE

static void expect_ranges(const struct upload_plan *p, const uint64_t *pairs, size_t n) {
        if (p->n != n) {
                for (size_t i = 0; i < p->n; i++)
                        print_message("range %zu: %llu +%llu\n", i, (unsigned long long)p->ranges[i].offset,
                                      (unsigned long long)p->ranges[i].length);
        }
        assert_int_equal(p->n, n);
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(p->ranges[i].offset, pairs[2 * i]);
                assert_int_equal(p->ranges[i].length, pairs[2 * i + 1]);
                assert_int_equal(p->ranges[i].offset % S, 0);
                assert_int_equal(p->ranges[i].length % S, 0);
                assert_true(p->ranges[i].length <= p->max_request);
                sum += p->ranges[i].length;
        }
        assert_int_equal(p->send_bytes, sum);
}

/* sectors: 'D' data, '0' zeros */
static uint8_t *sectors(const char *pattern, size_t *ret_len) {
        size_t n = strlen(pattern);
        uint8_t *b = xcalloc(n, S);
        for (size_t i = 0; i < n; i++)
                if (pattern[i] == 'D')
                        b[i * S + (i * 37) % S] = (uint8_t)(i + 1); /* one non-zero byte somewhere in it */
        *ret_len = n * S;
        return b;
}

static void test_zero_sectors_skipped(void **state) {
        size_t len;
        _cleanup_free_ uint8_t *b = sectors("DD0D000DD0", &len);
        struct upload_plan p;
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 0, 100);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want[] = { 0, 2 * S, 3 * S, S, 7 * S, 2 * S };
        expect_ranges(&p, want, 3);
        assert_int_equal(p.nonzero_bytes, 5 * S);
        assert_int_equal(p.zero_bytes, 5 * S);
        assert_int_equal(p.hole_bytes, 0);
        upload_plan_done(&p);
}

static void test_merge_gap(void **state) {
        size_t len;
        _cleanup_free_ uint8_t *b = sectors("DD0D000DD0", &len);
        struct upload_plan p;
        /* gaps of one sector merge, the gap of three does not */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, S, 100);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want[] = { 0, 4 * S, 7 * S, 2 * S };
        expect_ranges(&p, want, 2);
        assert_int_equal(p.nonzero_bytes, 5 * S);
        assert_int_equal(p.zero_bytes, 4 * S); /* the merged zero sector is sent */
        upload_plan_done(&p);
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 3 * S, 100);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want2[] = { 0, 9 * S };
        expect_ranges(&p, want2, 1);
        upload_plan_done(&p);
}

/* The zero runs sent along are the shortest first, within the budget, and
 * among equal ones the earlier; a budget of 0 sends no zeros whatever the
 * gap. */
static void test_zero_budget(void **state) {
        size_t len;
        /* 22 data sectors; gaps of 3, 1, 2, 1, 3 sectors */
        _cleanup_free_ uint8_t *b = sectors("DDDD000DDDD0DDDD00DDDD0DDDD000DD", &len);
        struct upload_plan p;
        /* 10 % of 11,264 bytes = 1,126: the two one-sector gaps */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 64 * S, 10);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want[] = { 0, 4 * S, 7 * S, 9 * S, 18 * S, 9 * S, 30 * S, 2 * S };
        expect_ranges(&p, want, 4);
        assert_int_equal(p.nonzero_bytes, 22 * S);
        assert_int_equal(p.merged_zero_bytes, 2 * S);
        assert_int_equal(p.send_bytes, p.nonzero_bytes + p.merged_zero_bytes);
        upload_plan_done(&p);
        /* 15 %: 1,689 bytes, room for one more sector but not the two-sector gap,
         * which is the shortest left: the budget is not spent on a longer one */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 64 * S, 15);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        expect_ranges(&p, want, 4);
        upload_plan_done(&p);
        /* 20 %: 2,252: the two-sector gap too */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 64 * S, 20);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want2[] = { 0, 4 * S, 7 * S, 20 * S, 30 * S, 2 * S };
        expect_ranges(&p, want2, 3);
        assert_int_equal(p.merged_zero_bytes, 4 * S);
        upload_plan_done(&p);
        /* 35 %: 3,942 bytes: one of the two three-sector gaps, the earlier */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 64 * S, 35);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want3[] = { 0, 27 * S, 30 * S, 2 * S };
        expect_ranges(&p, want3, 2);
        upload_plan_done(&p);
        /* a budget of 0 sends only data, however long the gap allowed */
        upload_plan_init(&p, len, UPLOAD_MAX_REQUEST, 4 * MiB, 0);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        assert_int_equal(p.n, 6);
        assert_int_equal(p.send_bytes, p.nonzero_bytes);
        assert_int_equal(p.merged_zero_bytes, 0);
        upload_plan_done(&p);
}

/* A run goes on across calls (chunks of one extent) but a hole ends it,
 * however small and whatever the merge gap. */
static void test_chunks_and_holes(void **state) {
        size_t len;
        _cleanup_free_ uint8_t *b = sectors("0DD", &len);
        _cleanup_free_ uint8_t *c = sectors("DD0", &len);
        struct upload_plan p;
        upload_plan_init(&p, 10 * S, UPLOAD_MAX_REQUEST, 64 * S, 100);
        upload_plan_add_data(&p, 0, b, len);       /* [0, 3) */
        upload_plan_add_data(&p, 3 * S, c, len);   /* [3, 6): continues [1, 5) */
        upload_plan_add_hole(&p, S);               /* [6, 7) */
        upload_plan_add_data(&p, 7 * S, c, len);   /* [7, 10) */
        upload_plan_finish(&p);
        const uint64_t want[] = { S, 4 * S, 7 * S, 2 * S };
        expect_ranges(&p, want, 2);
        assert_int_equal(p.hole_bytes, S);
        assert_int_equal(p.zero_bytes, 3 * S);
        upload_plan_done(&p);
}

static void test_split(void **state) {
        size_t len;
        _cleanup_free_ uint8_t *b = sectors("DDDDDDDDDD0DDDD", &len);
        struct upload_plan p;
        upload_plan_init(&p, len, 4 * S, 0, 100);
        upload_plan_add_data(&p, 0, b, len);
        upload_plan_finish(&p);
        const uint64_t want[] = { 0, 4 * S, 4 * S, 4 * S, 8 * S, 2 * S, 11 * S, 4 * S };
        expect_ranges(&p, want, 4);
        upload_plan_done(&p);
        /* max_request is rounded down to whole sectors */
        upload_plan_init(&p, len, 4 * S + 100, 0, 100);
        assert_int_equal(p.max_request, 4 * S);
        upload_plan_done(&p);
}

static int make_file(char path[64], uint64_t size) {
        const char *tmp = getenv("TMPDIR");
        snprintf(path, 64, "%s/planXXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        return fd;
}

static void put(int fd, uint64_t off, size_t len, int fill) {
        _cleanup_free_ uint8_t *b = xmalloc(len);
        for (size_t i = 0; i < len; i++)
                b[i] = fill < 0 ? (uint8_t)(i * 7 + 1 + i / 251) : (uint8_t)fill;
        assert_int_equal(pwrite(fd, b, len, (off_t)off), (ssize_t)len);
}

/* A sparse file: holes are never sent, zeros written into it are skipped
 * at sector granularity, data that does not start or end on a sector is
 * sent in whole sectors, and a long run is cut at the request limit. */
static void test_build_from_file(void **state) {
        char path[64];
        const uint64_t size = 48 * MiB;
        int fd = make_file(path, size);
        put(fd, 0, 4096, -1);                          /* [0, 4096) */
        put(fd, 8 * MiB, 4096, -1);                    /* data, then allocated zeros, then data */
        put(fd, 8 * MiB + 4096, 3 * 4096, 0);
        put(fd, 8 * MiB + 4 * 4096, 512, -1);
        put(fd, 16 * MiB + 4096 + 100, 700, -1);       /* odd offset and length: sectors [4096, 5120) */
        put(fd, 24 * MiB, 9 * MiB, -1);                /* 9 MiB: 4 + 4 + 1 */
        put(fd, size - 512, 512, -1);                  /* the last sector */
        struct upload_plan p;
        assert_int_equal(upload_plan_build(fd, path, size, UPLOAD_MAX_REQUEST, 0, 100, &p), 0);
        const uint64_t want[] = {
                0, 4096,
                8 * MiB, 4096,
                8 * MiB + 4 * 4096, 512,
                16 * MiB + 4096, 1024,
                24 * MiB, 4 * MiB,
                28 * MiB, 4 * MiB,
                32 * MiB, 1 * MiB,
                size - 512, 512,
        };
        expect_ranges(&p, want, 8);
        assert_int_equal(p.nonzero_bytes, p.send_bytes);
        assert_int_equal(p.hole_bytes + p.zero_bytes + p.send_bytes, size);
        /* this filesystem has holes (tmpfs, ext4, xfs, btrfs, overlayfs do) */
        assert_true(p.hole_bytes >= 30 * MiB);
        upload_plan_done(&p);
        close(fd);
        unlink(path);
}

/* What --resume does with Get Page Ranges' answer. */
static void test_subtract(void **state) {
        struct upload_plan p;
        upload_plan_init(&p, 64 * MiB, 4 * MiB, 0, 100);
        size_t len = 12 * MiB;
        _cleanup_free_ uint8_t *b = xmalloc(len);
        memset(b, 1, len);
        upload_plan_add_data(&p, 0, b, len);              /* [0,4) [4,8) [8,12) MiB */
        upload_plan_add_hole(&p, 4 * MiB);
        upload_plan_add_data(&p, 16 * MiB, b, 1 * MiB);   /* [16,17) */
        upload_plan_finish(&p);
        assert_int_equal(p.n, 4);
        const struct upload_range have[] = {
                { 0, 4 * MiB },                           /* the first request, whole */
                { 5 * MiB, 512 },                         /* a sector inside the second */
                { 7 * MiB, 2 * MiB },                     /* across the second and the third */
                { 12 * MiB, 5 * MiB },                    /* over the hole and all of [16,17) */
        };
        upload_plan_subtract(&p, have, ELEMENTSOF(have));
        const uint64_t want[] = {
                4 * MiB, 1 * MiB,
                5 * MiB + 512, 2 * MiB - 512,
                9 * MiB, 3 * MiB,
        };
        expect_ranges(&p, want, 3);
        assert_int_equal(p.present_bytes, 4 * MiB + 512 + 2 * MiB + 1 * MiB);
        assert_int_equal(p.send_bytes + p.present_bytes, 13 * MiB);
        /* all there: nothing left */
        const struct upload_range all[] = { { 0, 64 * MiB } };
        upload_plan_subtract(&p, all, 1);
        assert_int_equal(p.n, 0);
        assert_int_equal(p.send_bytes, 0);
        assert_int_equal(p.present_bytes, 13 * MiB);
        upload_plan_done(&p);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_zero_sectors_skipped),
                cmocka_unit_test(test_merge_gap),
                cmocka_unit_test(test_zero_budget),
                cmocka_unit_test(test_chunks_and_holes),
                cmocka_unit_test(test_split),
                cmocka_unit_test(test_build_from_file),
                cmocka_unit_test(test_subtract),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
