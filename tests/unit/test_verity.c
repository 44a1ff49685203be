/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* lib/verity.c: the partition UUIDs a root hash implies (Discoverable
 * Partitions Specification) and the size bound of a hash tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "util.h"
#include "verity.h"

static void test_partition_uuids(void **state) {
        char d[37], h[37];
        const char *hash = "0123456789abcdef0011223344556677fedcba98765432108899aabbccddeeff";
        assert_int_equal(verity_partition_uuids(hash, d, h), 0);
        /* first 128 bits: the root partition; last 128: the verity partition */
        assert_string_equal(d, "01234567-89ab-cdef-0011-223344556677");
        assert_string_equal(h, "fedcba98-7654-3210-8899-aabbccddeeff");
        assert_int_equal(verity_partition_uuids("abc", d, h), -EINVAL);
        assert_int_equal(verity_partition_uuids("0123456789ABCDEF0011223344556677fedcba98765432108899aabbccddeeff", d, h), -EINVAL);
        assert_int_equal(verity_partition_uuids(NULL, d, h), -EINVAL);
}

static void test_hash_bytes(void **state) {
        /* 1 GiB = 262144 blocks -> 2048 + 16 + 1 hash blocks + the superblock */
        assert_int_equal(verity_hash_bytes(1024 * MiB), (2048 + 16 + 1 + 1) * 4096);
        /* one data block: one hash block + the superblock */
        assert_int_equal(verity_hash_bytes(4096), 2 * 4096);
        /* 128 blocks fit one hash block; 129 need two and a level above */
        assert_int_equal(verity_hash_bytes(128 * 4096), 2 * 4096);
        assert_int_equal(verity_hash_bytes(129 * 4096), (2 + 1 + 1) * 4096);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_partition_uuids),
                cmocka_unit_test(test_hash_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
