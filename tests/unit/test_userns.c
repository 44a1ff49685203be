/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* /etc/subuid parsing for rootless builds (lib/userns.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "userns.h"
#include "util.h"

static char *write_tmp(const char *text) {
        char *path = xstrdup("/tmp/slipway-subid-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void test_subid_by_name_and_uid(void **state) {
        (void)state;
        char *f = write_tmp("alice:100000:65536\n"
                            "bob:165536:1000\n"
                            "1001:200000:65536\n");
        struct subid_range r;
        assert_int_equal(subid_lookup(f, "bob", 1000, &r), 0);
        assert_int_equal(r.start, 165536);
        assert_int_equal(r.count, 1000);
        /* by numeric id when the name has no line */
        assert_int_equal(subid_lookup(f, "carol", 1001, &r), 0);
        assert_int_equal(r.start, 200000);
        /* the first line wins */
        assert_int_equal(subid_lookup(f, "alice", 1, &r), 0);
        assert_int_equal(r.start, 100000);
        assert_int_equal(subid_lookup(f, "dave", 4242, &r), -ENOENT);
        /* a prefix of a name is not the name */
        assert_int_equal(subid_lookup(f, "ali", 4242, &r), -ENOENT);
        unlink(f);
        free(f);
}

static void test_subid_malformed_lines(void **state) {
        (void)state;
        char *f = write_tmp("alice:abc:65536\n"      /* not a number */
                            "alice:100000\n"          /* two fields */
                            "alice:100000:0\n"        /* empty range */
                            "alice:100000:12x\n"      /* trailing junk */
                            "alice:300000:10\r\n");   /* CRLF is tolerated */
        struct subid_range r;
        assert_int_equal(subid_lookup(f, "alice", 1000, &r), 0);
        assert_int_equal(r.start, 300000);
        assert_int_equal(r.count, 10);
        unlink(f);
        free(f);
        assert_int_equal(subid_lookup("/nonexistent/subuid", "alice", 1000, &r), -ENOENT);
}

static void test_userns_describe_host(void **state) {
        (void)state;
        /* the unit tests run outside any namespace of slipway's */
        char *d = userns_describe();
        assert_non_null(d);
        if (userns_current() == USERNS_HOST)
                assert_string_equal(d, "host");
        else
                assert_non_null(strstr(d, "uid "));
        free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_subid_by_name_and_uid),
                cmocka_unit_test(test_subid_malformed_lines),
                cmocka_unit_test(test_userns_describe_host),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
