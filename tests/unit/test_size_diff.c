/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* size diff over two fixture reports (tests/fixtures/size/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "size_diff.h"
#include "util.h"

#define FIX "tests/fixtures/size/"

static struct json_object *get(struct json_object *o, const char *k) {
        struct json_object *v = NULL;
        assert_true(json_object_object_get_ex(o, k, &v));
        return v;
}

static int64_t geti(struct json_object *o, const char *k) {
        return json_object_get_int64(get(o, k));
}

static const char *gets(struct json_object *o, const char *k) {
        return json_object_get_string(get(o, k));
}

static void test_diff(void **state) {
        struct json_object *old = NULL, *new = NULL, *d = NULL;
        assert_int_equal(size_diff_load(FIX "old.json", &old), 0);
        assert_int_equal(size_diff_load(FIX "new.json", &new), 0);
        assert_int_equal(size_diff_compute(old, new, &d), 0);

        assert_string_equal(gets(d, "package_measure"), "disk_bytes");
        struct json_object *p = get(d, "packages");
        static const struct { const char *name, *status; int64_t delta; } want[] = {
                { "newpkg", "added", 9700000 }, { "gone", "removed", -300000 }, { "bash", "grew", 100000 },
                { "zlib1g", "shrank", -73728 }, { "same", "changed", 0 },
        };
        assert_int_equal(json_object_array_length(p), 5);   /* libc6 unchanged: left out */
        for (size_t i = 0; i < 5; i++) {
                struct json_object *e = json_object_array_get_idx(p, i);
                assert_string_equal(gets(e, "name"), want[i].name);
                assert_string_equal(gets(e, "status"), want[i].status);
                assert_int_equal(geti(e, "delta"), want[i].delta);
        }
        assert_string_equal(gets(json_object_array_get_idx(p, 2), "old_version"), "5.2-1");
        assert_string_equal(gets(json_object_array_get_idx(p, 2), "new_version"), "5.2-2");
        assert_null(get(json_object_array_get_idx(p, 0), "old"));

        struct json_object *dirs = get(d, "directories");
        static const char *const order[] = { "/usr", "/usr/lib", "/var", "/usr/share", "/opt" };
        assert_int_equal(json_object_array_length(dirs), 5);
        for (size_t i = 0; i < 5; i++)
                assert_string_equal(gets(json_object_array_get_idx(dirs, i), "name"), order[i]);
        assert_string_equal(gets(json_object_array_get_idx(dirs, 2), "status"), "removed");

        struct json_object *t = get(d, "totals");
        assert_int_equal(geti(get(t, "root_used"), "delta"), 10000000);
        assert_int_equal(geti(get(t, "packages"), "old"), 20167936);
        assert_int_equal(geti(get(t, "packages"), "new"), 29594208);
        assert_int_equal(size_diff_growth(d), 10000000);
        assert_int_equal(geti(json_object_array_get_idx(get(d, "artifacts"), 0), "delta"), 10000000);

        /* the text names the package with its delta */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        size_diff_print(d, f, 0);
        fclose(f);
        assert_non_null(strstr(buf, "added    newpkg (3.0)"));
        assert_non_null(strstr(buf, "grew     bash (5.2-1 -> 5.2-2)"));
        assert_non_null(strstr(buf, "-72.0 KiB"));
        free(buf);

        /* reversed: everything flips */
        struct json_object *r = NULL;
        assert_int_equal(size_diff_compute(new, old, &r), 0);
        assert_string_equal(gets(json_object_array_get_idx(get(r, "packages"), 0), "status"), "removed");
        assert_int_equal(size_diff_growth(r), -10000000);
        json_object_put(r);

        json_object_put(d);
        json_object_put(old);
        json_object_put(new);
}

static void test_installed_fallback(void **state) {
        /* one side without dpkg contributions: both compared by installed size */
        struct json_object *old = NULL, *new = NULL, *d = NULL;
        assert_int_equal(size_diff_load(FIX "old.json", &old), 0);
        assert_int_equal(size_diff_load(FIX "new.json", &new), 0);
        struct json_object *p = json_object_array_get_idx(get(new, "packages"), 0);
        json_object_object_add(p, "disk_bytes", NULL);
        assert_int_equal(size_diff_compute(old, new, &d), 0);
        assert_string_equal(gets(d, "package_measure"), "installed_size");
        json_object_put(d);
        json_object_put(old);
        json_object_put(new);
}

static void test_load_errors(void **state) {
        struct json_object *o = NULL;
        assert_int_equal(size_diff_load(FIX "nosuch.json", &o), -ENOENT);
        assert_int_equal(size_diff_load("tests/fixtures", &o), -ENOENT);   /* a directory without size.json */
        assert_int_equal(size_diff_load("tests/fixtures/size", &o), -ENOENT);
        char tmpl[] = "/tmp/slipway-diff-XXXXXX";
        int fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"format\": 7}", 13), 13);
        close(fd);
        assert_int_equal(size_diff_load(tmpl, &o), -EINVAL);
        unlink(tmpl);
}

/* Reports whose arrays or fields have the wrong type (issue 16 item 4:
 * json-c aborted on a non-array, junk and null sizes counted as 0 B): each
 * one is refused with -EINVAL at load, and the good fixture still loads
 * with every change made one at a time. */
static void test_malformed_reports(void **state) {
        static const char *const cases[] = {
                "{\"format\": 1, \"packages\": {}}",
                "{\"format\": 1, \"packages\": null}",
                "{\"format\": 1, \"directories\": 5}",
                "{\"format\": 1, \"artifacts\": \"x\"}",
                "{\"format\": 1, \"filesystems\": true}",
                "{\"format\": 1, \"packages\": [7]}",
                "{\"format\": 1, \"packages\": [{\"installed_size\": 1}]}",
                "{\"format\": 1, \"packages\": [{\"name\": \"a\", \"installed_size\": \"junk\"}]}",
                "{\"format\": 1, \"packages\": [{\"name\": \"a\", \"installed_size\": null}]}",
                "{\"format\": 1, \"packages\": [{\"name\": \"a\", \"installed_size\": -5}]}",
                "{\"format\": 1, \"directories\": [{\"path\": \"/usr\", \"disk_bytes\": [1]}]}",
                "{\"format\": 1, \"artifacts\": [{\"name\": \"x.raw\"}]}",
                "{\"format\": 1, \"filesystems\": [{\"type\": \"root\", \"used_bytes\": 1.5}]}",
                "{\"format\": 1, \"tree\": [1]}",
                /* byte counts whose sum overflows int64 (found by fuzz_size_diff) */
                "{\"format\": 1, \"packages\": [{\"name\": \"a\", \"installed_size\": 9223372036854775807},"
                " {\"name\": \"b\", \"installed_size\": 1}]}",
                "{\"format\": 1, \"directories\": [{\"path\": \"/a\", \"disk_bytes\": 4611686018427387904},"
                " {\"path\": \"/b\", \"disk_bytes\": 4611686018427387904}]}",
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char tmpl[] = "/tmp/slipway-diff-XXXXXX";
                int fd = mkstemp(tmpl);
                assert_true(fd >= 0);
                size_t n = strlen(cases[i]);
                assert_int_equal(write(fd, cases[i], n), (ssize_t)n);
                close(fd);
                struct json_object *o = NULL;
                int r = size_diff_load(tmpl, &o);
                if (r != -EINVAL)
                        fail_msg("case %zu (%s): size_diff_load returned %d, expected -EINVAL", i, cases[i], r);
                assert_null(o);
                unlink(tmpl);
        }
        /* null where a report says "unknown" (no dpkg) is still fine */
        char tmpl[] = "/tmp/slipway-diff-XXXXXX";
        int fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        const char *ok = "{\"format\": 1, \"tree\": null, \"packages\": [{\"name\": \"a\", \"installed_size\": 10, \"disk_bytes\": null}]}";
        assert_int_equal(write(fd, ok, strlen(ok)), (ssize_t)strlen(ok));
        close(fd);
        struct json_object *o = NULL;
        assert_int_equal(size_diff_load(tmpl, &o), 0);
        json_object_put(o);
        unlink(tmpl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_diff),
                cmocka_unit_test(test_installed_fallback),
                cmocka_unit_test(test_load_errors),
                cmocka_unit_test(test_malformed_reports),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
