/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* parse_size() as profiles use it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "util.h"

static void test_sizes(void **state) {
        static const struct { const char *s; uint64_t v; } ok[] = {
                { "0", 0 }, { "512", 512 }, { "512B", 512 }, { "64MiB", 64 * MiB }, { "64M", 64 * MiB },
                { "30GiB", 30 * GiB }, { "300MB", 300000000 }, { "1KiB", 1024 }, { "1kB", 1000 },
                { "2TiB", 2 * 1024 * GiB }, { "18446744073709551615", UINT64_MAX },
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                uint64_t v = 1;
                assert_int_equal(parse_size(ok[i].s, &v), 0);
                assert_true(v == ok[i].v);
        }
        static const char *const bad[] = { "", "abc", "1.5GiB", "-1", " 1", "1 GiB", "1gib", "GiB", "1XB", "0x10" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                uint64_t v;
                assert_int_equal(parse_size(bad[i], &v), -EINVAL);
        }
        uint64_t v;
        assert_int_equal(parse_size("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_size("99999999999999999999GiB", &v), -ERANGE);
        assert_int_equal(parse_size("17179869184GiB", &v), -ERANGE);
        assert_int_equal(parse_size(NULL, &v), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = { cmocka_unit_test(test_sizes) };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
