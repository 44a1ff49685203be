/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "rootpath.h"
#include "util.h"

struct fixture { char dir[64]; };

static int setup(void **state) {
        struct fixture *f = xcalloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/test-rootpath.XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        char *p;
#define MK(rel) do { p = path_join(f->dir, rel); assert_int_equal(mkdir_p(p, 0755), 0); free(p); } while (0)
#define LN(target, rel) do { p = path_join(f->dir, rel); assert_int_equal(symlink(target, p), 0); free(p); } while (0)
#define FILEW(rel) do { p = path_join(f->dir, rel); assert_int_equal(write_file(p, "x", 1, 0644), 0); free(p); } while (0)
        MK("etc");
        MK("usr/share/zoneinfo/Europe");
        FILEW("usr/share/zoneinfo/Europe/Paris");
        FILEW("etc/file");
        LN("/usr/share/zoneinfo/Europe/Paris", "etc/localtime");       /* absolute: inside root */
        LN("../usr/share", "etc/share");                                /* relative */
        LN("../../../../../../etc", "etc/up");                          /* climbs above the root */
        LN("/etc/loop2", "etc/loop1");
        LN("/etc/loop1", "etc/loop2");
        LN("self", "etc/self");
        LN("/", "etc/rootlink");
        LN("usr/share", "sharelink");
        LN("/nonexistent/dir", "etc/dangling");
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        rm_rf(f->dir);
        free(f);
        return 0;
}

static void expect_rel(struct fixture *f, const char *path, unsigned flags, const char *want) {
        char *rel = NULL, *host = NULL;
        int r = root_resolve(f->dir, path, flags, &rel, &host);
        if (r != 0)
                fail_msg("%s: %s", path, strerror(-r));
        assert_string_equal(rel, want);
        char *want_host = strcmp(want, "/") == 0 ? xstrdup(f->dir) : xasprintf("%s%s", f->dir, want);
        assert_string_equal(host, want_host);
        free(want_host);
        free(rel);
        free(host);
}

static void expect_err(struct fixture *f, const char *path, unsigned flags, int err) {
        char *rel = NULL;
        assert_int_equal(root_resolve(f->dir, path, flags, &rel, NULL), err);
        assert_null(rel);
}

static void test_plain(void **state) {
        struct fixture *f = *state;
        expect_rel(f, "/", 0, "/");
        expect_rel(f, "", 0, "/");
        expect_rel(f, "/etc/file", 0, "/etc/file");
        expect_rel(f, "etc//file", 0, "/etc/file");
        expect_rel(f, "/etc/./file/", 0, "/etc/file");
        expect_rel(f, "/usr/../etc/file", 0, "/etc/file");
}

static void test_absolute_symlink_stays_inside(void **state) {
        struct fixture *f = *state;
        expect_rel(f, "/etc/localtime", 0, "/usr/share/zoneinfo/Europe/Paris");
        expect_rel(f, "/etc/localtime", ROOTPATH_NOFOLLOW_LAST, "/etc/localtime");
        expect_rel(f, "/etc/rootlink/etc/file", 0, "/etc/file");
        expect_rel(f, "/etc/rootlink", 0, "/");
}

static void test_relative_symlink(void **state) {
        struct fixture *f = *state;
        expect_rel(f, "/etc/share/zoneinfo", 0, "/usr/share/zoneinfo");
        expect_rel(f, "/sharelink/zoneinfo/Europe/Paris", 0, "/usr/share/zoneinfo/Europe/Paris");
}

static void test_dotdot_clamps(void **state) {
        struct fixture *f = *state;
        expect_rel(f, "/../../etc/file", 0, "/etc/file");
        expect_rel(f, "/etc/up/file", 0, "/etc/file");
        expect_rel(f, "/etc/up", 0, "/etc");
        expect_rel(f, "../../..", 0, "/");
}

static void test_escape_refused(void **state) {
        struct fixture *f = *state;
        expect_err(f, "/../etc/file", ROOTPATH_REFUSE_ESCAPE, -EXDEV);
        expect_err(f, "/etc/up/file", ROOTPATH_REFUSE_ESCAPE, -EXDEV);
        expect_rel(f, "/usr/../etc/file", ROOTPATH_REFUSE_ESCAPE, "/etc/file");
}

static void test_loops(void **state) {
        struct fixture *f = *state;
        expect_err(f, "/etc/loop1", 0, -ELOOP);
        expect_err(f, "/etc/self", 0, -ELOOP);
        expect_err(f, "/etc/self/x", ROOTPATH_NONEXISTENT, -ELOOP);
        /* Not following the last link is no loop. */
        expect_rel(f, "/etc/loop1", ROOTPATH_NOFOLLOW_LAST, "/etc/loop1");
}

static void test_nonexistent(void **state) {
        struct fixture *f = *state;
        expect_err(f, "/etc/missing/file", 0, -ENOENT);
        expect_rel(f, "/etc/missing/a/../b", ROOTPATH_NONEXISTENT, "/etc/missing/b");
        expect_rel(f, "/etc/dangling", ROOTPATH_NONEXISTENT, "/nonexistent/dir");
        expect_rel(f, "/etc/dangling/x", ROOTPATH_NONEXISTENT, "/nonexistent/dir/x");
        expect_err(f, "/etc/dangling", 0, -ENOENT);
        expect_err(f, "/etc/file/below", 0, -ENOTDIR);
        expect_err(f, "/etc/file/below", ROOTPATH_NONEXISTENT, -ENOTDIR);
}

static void test_root_with_trailing_slash(void **state) {
        struct fixture *f = *state;
        char *root = xasprintf("%s///", f->dir), *host = NULL;
        assert_int_equal(root_resolve(root, "/etc/localtime", 0, NULL, &host), 0);
        char *want = xasprintf("%s/usr/share/zoneinfo/Europe/Paris", f->dir);
        assert_string_equal(host, want);
        free(want);
        free(host);
        free(root);
}

static void test_clean(void **state) {
        assert_true(root_path_is_clean("/"));
        assert_true(root_path_is_clean("/etc/ssh/sshd_config.d/50-azure.conf"));
        assert_true(root_path_is_clean("/etc/dir/"));
        assert_true(root_path_is_clean("/a/.hidden/..x"));
        assert_false(root_path_is_clean("etc/x"));
        assert_false(root_path_is_clean("/etc/../x"));
        assert_false(root_path_is_clean("/etc/./x"));
        assert_false(root_path_is_clean("/etc//x"));
        assert_false(root_path_is_clean("/.."));
        assert_false(root_path_is_clean(""));
        assert_false(root_path_is_clean(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_absolute_symlink_stays_inside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_relative_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dotdot_clamps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_escape_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_nonexistent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_root_with_trailing_slash, setup, teardown),
                cmocka_unit_test(test_clean),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
