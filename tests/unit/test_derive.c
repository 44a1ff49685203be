/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "derive.h"
#include "util.h"

static void test_uuid_is_derived(void **state) {
        struct derive_ctx a, b, c;
        char u1[37], u2[37], u3[37], u4[37];
        derive_init(&a, "img", "1.0", 1767225600);
        derive_init(&b, "img", "1.0", 1767225600);
        derive_init(&c, "img", "1.0", 1767225601);
        derive_uuid(&a, "root", u1);
        derive_uuid(&b, "root", u2);
        derive_uuid(&c, "root", u3);
        derive_uuid(&a, "esp", u4);
        assert_string_equal(u1, u2);          /* same inputs, same UUID */
        assert_string_not_equal(u1, u3);      /* another epoch */
        assert_string_not_equal(u1, u4);      /* another purpose */
        assert_int_equal(u1[14], '4');        /* version 4 */
        assert_true(strchr("89ab", u1[19]) != NULL); /* RFC 4122 variant */
}

/* The hole-aware file hash must equal the hash of the bytes. */
static void test_sparse_hash_matches_content(void **state) {
        char dir[] = "/tmp/slipway-derive-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *p1 = path_join(dir, "a"), *p2 = path_join(dir, "b");
        const size_t size = 24 * MiB + 123;
        unsigned char *content = xcalloc(1, size);
        int fd = open(p1, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        const size_t offsets[] = { 0, 5 * MiB + 17, 16 * MiB, size - 100 };
        for (size_t i = 0; i < ELEMENTSOF(offsets); i++) {
                unsigned char chunk[100];
                for (size_t k = 0; k < sizeof(chunk); k++)
                        chunk[k] = (unsigned char)(i * 31 + k + 1);
                assert_int_equal(pwrite(fd, chunk, sizeof(chunk), (off_t)offsets[i]), (ssize_t)sizeof(chunk));
                memcpy(content + offsets[i], chunk, sizeof(chunk));
        }
        close(fd);
        assert_int_equal(write_file(p2, "abc", 3, 0644), 0);

        char expect[65], got[65];
        sha256_hex(content, size, expect);
        assert_int_equal(sha256_file_hex(p1, got), 0);
        assert_string_equal(got, expect);

        char *paths[] = { p1, p2 };
        char outs[3][65];
        assert_int_equal(sha256_files_hex(paths, 2, NULL, outs, NULL), 0);
        assert_string_equal(outs[0], expect);
        assert_string_equal(outs[1], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        /* p3 = p1 + a 512-byte tail (a fixed VHD and its raw disk): its
         * digest continued from p1's state equals hashing it whole, and
         * the order in the list does not matter. */
        _cleanup_free_ char *p3 = path_join(dir, "extended");
        unsigned char tail[512];
        for (size_t k = 0; k < sizeof(tail); k++)
                tail[k] = (unsigned char)(k * 7 + 3);
        fd = open(p3, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)size), 0);
        for (size_t i = 0; i < ELEMENTSOF(offsets); i++)
                assert_int_equal(pwrite(fd, content + offsets[i], 100, (off_t)offsets[i]), 100);
        assert_int_equal(pwrite(fd, tail, sizeof(tail), (off_t)size), (ssize_t)sizeof(tail));
        close(fd);
        char whole[65];
        assert_int_equal(sha256_file_hex(p3, whole), 0);
        assert_string_not_equal(whole, expect);
        char *with_ext[] = { p3, p2, p1 };
        const ssize_t prefix_of[] = { 2, -1, -1 };
        memset(outs, 0, sizeof(outs));
        assert_int_equal(sha256_files_hex(with_ext, 3, prefix_of, outs, NULL), 0);
        assert_string_equal(outs[0], whole);
        assert_string_equal(outs[1], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(outs[2], expect);

        /* A claimed prefix longer than the file is not trusted: the file
         * is hashed on its own. */
        char *short_ext[] = { p2, p1 };
        const ssize_t wrong[] = { 1, -1 };
        assert_int_equal(sha256_files_hex(short_ext, 2, wrong, outs, NULL), 0);
        assert_string_equal(outs[0], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_string_equal(outs[1], expect);

        char *missing[] = { p2, "/nonexistent/slipway" };
        size_t failed = 99;
        assert_int_equal(sha256_files_hex(missing, 2, NULL, outs, &failed), -ENOENT);
        assert_int_equal(failed, 1);
        /* The prefix missing: its extender fails with it. */
        char *missing_prefix[] = { p1, "/nonexistent/slipway" };
        const ssize_t to_missing[] = { 1, -1 };
        assert_int_equal(sha256_files_hex(missing_prefix, 2, to_missing, outs, &failed), -ENOENT);
        assert_int_equal(failed, 1);
        free(content);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_uuid_is_derived),
                cmocka_unit_test(test_sparse_hash_matches_content),
        };
        return cmocka_run_group_tests_name("derive", tests, NULL, NULL);
}
