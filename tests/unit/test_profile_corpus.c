/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* The malformed-profile corpus: every tests/fixtures/bad-profiles/NAME.yaml
 * must fail with exactly the first error in NAME.expect; inputs git cannot
 * hold well (huge, deeply nested, symlink loops) are generated here.  Every
 * shipped profile must validate.  Runs from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glob.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include "profile.h"
#include "util.h"

static char *first_error(const char *path) {
        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load(path, NULL, &p, &errs);
        char *line = NULL;
        if (r < 0 && errs.n > 0) {
                char buf[PATH_MAX + 64];
                line = xasprintf("%s: %s", origin_format(errs.items[0].origin, buf, sizeof(buf)), errs.items[0].message);
        }
        assert_null(p);   /* a failed load returns no profile */
        profile_errors_free(&errs);
        return line;
}

static void test_corpus(void **state) {
        glob_t g;
        assert_int_equal(glob("tests/fixtures/bad-profiles/*.expect", 0, NULL, &g), 0);
        assert_true(g.gl_pathc >= 30);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                const char *expect_path = g.gl_pathv[i];
                _cleanup_free_ char *yaml = xasprintf("%.*s.yaml", (int)(strlen(expect_path) - strlen(".expect")), expect_path);
                _cleanup_free_ char *expect = NULL;
                size_t len;
                assert_int_equal(read_file(expect_path, &expect, &len), 0);
                while (len > 0 && expect[len - 1] == '\n')
                        expect[--len] = 0;
                _cleanup_free_ char *got = first_error(yaml);
                if (!got || strcmp(got, expect) != 0)
                        fail_msg("%s:\n  expected: %s\n  got:      %s", yaml, expect, got ? got : "(no error)");
        }
        globfree(&g);
}

struct tmpdir {
        char path[64];
};

static void tmp_write(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *p = path_join(dir, name);
        assert_int_equal(write_file(p, content, strlen(content), 0644), 0);
}

static int setup_tmp(void **state) {
        struct tmpdir *t = xcalloc(1, sizeof(*t));
        snprintf(t->path, sizeof(t->path), "/tmp/slipway-corpus-XXXXXX");
        assert_non_null(mkdtemp(t->path));
        *state = t;
        return 0;
}

static int teardown_tmp(void **state) {
        struct tmpdir *t = *state;
        rm_rf(t->path);
        free(t);
        return 0;
}

static void expect_first(const char *path, const char *expected) {
        _cleanup_free_ char *got = first_error(path);
        if (!got || strcmp(got, expected) != 0)
                fail_msg("%s:\n  expected: %s\n  got:      %s", path, expected, got ? got : "(no error)");
}

static void test_huge_file(void **state) {
        struct tmpdir *t = *state;
        _cleanup_free_ char *p = path_join(t->path, "huge.yaml");
        size_t n = 10 * 1024 * 1024;
        _cleanup_free_ char *data = xmalloc(n);
        /* valid YAML, just far too much of it */
        for (size_t i = 0; i < n; i += 16)
                memcpy(data + i, "# 0123456789abc\n", 16);
        assert_int_equal(write_file(p, data, n, 0644), 0);
        _cleanup_free_ char *exp = xasprintf("%s:1:1: file is too large (10485760 bytes; a profile may have at most 1048576)", p);
        expect_first(p, exp);
}

static void test_deep_nesting(void **state) {
        struct tmpdir *t = *state;
        /* flow style, 10000 levels: would blow a recursive parser's stack */
        size_t depth = 10000;
        _cleanup_free_ char *flow = xmalloc(depth * 2 + 8);
        strcpy(flow, "a: ");
        memset(flow + 3, '[', depth);
        memset(flow + 3 + depth, ']', depth);
        strcpy(flow + 3 + 2 * depth, "\n");
        tmp_write(t->path, "deep-flow.yaml", flow);
        _cleanup_free_ char *p1 = path_join(t->path, "deep-flow.yaml");
        _cleanup_free_ char *e1 = xasprintf("%s:1:67: nesting deeper than 64 levels", p1);
        expect_first(p1, e1);

        /* block style, 100 levels of maps */
        _cleanup_free_ char *block = xstrdup("");
        for (int i = 0; i < 100; i++) {
                char *nb = xasprintf("%s%*sk%d:\n", block, 2 * i, "", i);
                free(block);
                block = nb;
        }
        tmp_write(t->path, "deep-block.yaml", block);
        _cleanup_free_ char *p2 = path_join(t->path, "deep-block.yaml");
        _cleanup_free_ char *e2 = xasprintf("%s:65:129: nesting deeper than 64 levels", p2);
        expect_first(p2, e2);
}

static void test_symlink_loops(void **state) {
        struct tmpdir *t = *state;
        _cleanup_free_ char *l1 = path_join(t->path, "loop1.yaml"), *l2 = path_join(t->path, "loop2.yaml");
        assert_int_equal(symlink("loop2.yaml", l1), 0);
        assert_int_equal(symlink("loop1.yaml", l2), 0);
        tmp_write(t->path, "top.yaml", "include: [loop1.yaml]\nimage: {name: t}\ndistribution: {release: trixie}\n");
        _cleanup_free_ char *top = path_join(t->path, "top.yaml");
        _cleanup_free_ char *e = xasprintf("%s:1:11: cannot include '%s': symbolic link loop", top, l1);
        expect_first(top, e);

        /* a cycle through a symlink: self.yaml includes alias.yaml -> self.yaml */
        _cleanup_free_ char *alias = path_join(t->path, "alias.yaml");
        assert_int_equal(symlink("self.yaml", alias), 0);
        tmp_write(t->path, "self.yaml", "include: [alias.yaml]\nimage: {name: t}\ndistribution: {release: trixie}\n");
        _cleanup_free_ char *self = path_join(t->path, "self.yaml");
        _cleanup_free_ char *e2 = xasprintf("%s:1:11: include cycle: %s -> %s", self, self, alias);
        expect_first(self, e2);

        /* the profile itself a symlink loop */
        _cleanup_free_ char *e3 = xasprintf("%s: cannot read profile '%s': symbolic link loop", l1, l1);
        expect_first(l1, e3);
}

static void test_not_a_file(void **state) {
        struct tmpdir *t = *state;
        _cleanup_free_ char *e = xasprintf("%s: cannot read profile '%s': not a regular file", t->path, t->path);
        expect_first(t->path, e);
        expect_first("/nonexistent/p.yaml", "/nonexistent/p.yaml: cannot read profile '/nonexistent/p.yaml': No such file or directory");
}

/* ... and passes strict: every deviation from upstream has its reason */
static void test_shipped_profiles_validate(void **state) {
        glob_t g;
        assert_int_equal(glob("profiles/*.yaml", 0, NULL, &g), 0);
        assert_int_equal(glob("profiles/examples/*.yaml", GLOB_APPEND, NULL, &g), 0);
        assert_true(g.gl_pathc >= 6);
        /* the example's includes are found in slipway's own profiles: this
         * checkout's (a unit test binary is not build/slipway, which finds it) */
        char cwd[PATH_MAX];
        assert_non_null(getcwd(cwd, sizeof(cwd)));
        setenv("SLIPWAY_DATADIR", cwd, 1);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                struct profile_errors errs = { 0 };
                struct slw_profile *p = NULL;
                int r = profile_load_flags(g.gl_pathv[i], NULL, PROFILE_LOAD_STRICT, &p, &errs);
                if (r < 0) {
                        profile_errors_print(&errs, stderr);
                        fail_msg("%s does not validate with strict", g.gl_pathv[i]);
                }
                assert_non_null(p->name);
                profile_free(p);
                profile_errors_free(&errs);
        }
        globfree(&g);
        unsetenv("SLIPWAY_DATADIR");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_corpus),
                cmocka_unit_test_setup_teardown(test_huge_file, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_deep_nesting, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_symlink_loops, setup_tmp, teardown_tmp),
                cmocka_unit_test_setup_teardown(test_not_a_file, setup_tmp, teardown_tmp),
                cmocka_unit_test(test_shipped_profiles_validate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
