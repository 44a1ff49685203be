/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache.h"
#include "rootfs.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *make_root(void) {
        char tmpl[] = "/tmp/test_rootfs.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        _cleanup_free_ char *d = path_join(tmpl, "etc/apt/sources.list.d");
        assert_int_equal(mkdir_p(d, 0755), 0);
        return xstrdup(tmpl);
}

static void put(const char *root, const char *rel, const char *text) {
        _cleanup_free_ char *p = path_join(root, rel);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
}

static void test_host_mirror_deb822(void **state) {
        _cleanup_free_ char *root = make_root();
        /* security first in file order, disabled stanza, deb-src: all skipped */
        put(root, "etc/apt/sources.list.d/debian.sources",
            "Types: deb\n"
            "URIs: http://security.example/debian-security\n"
            "Suites: trixie-security\n"
            "Components: main\n"
            "\n"
            "Types: deb-src\n"
            "URIs: http://src.example/debian\n"
            "Suites: trixie\n"
            "Components: main\n"
            "\n"
            "Enabled: no\n"
            "Types: deb\n"
            "URIs: http://disabled.example/debian\n"
            "Suites: trixie\n"
            "Components: main\n"
            "\n"
            "# a comment\n"
            "Types: deb\n"
            "URIs: http://mirror.example/debian\n"
            "Suites: trixie trixie-updates\n"
            "Components: main contrib\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
        put(root, "etc/apt/sources.list.d/zz-other.list", "deb http://later.example/debian trixie main\n");
        char *m = NULL;
        assert_int_equal(apt_host_mirror(root, &m), 0);
        assert_string_equal(m, "http://mirror.example/debian");
        free(m);
        rm_rf(root);
}

static void test_host_mirror_list(void **state) {
        _cleanup_free_ char *root = make_root();
        put(root, "etc/apt/sources.list",
            "# deb http://commented.example/debian trixie main\n"
            "deb http://security.example/debian-security trixie-security main\n"
            "deb [arch=amd64 signed-by=/x.gpg] http://one.example/debian trixie contrib\n"
            "deb [arch=amd64 signed-by=/x.gpg] http://two.example/debian trixie main non-free\n");
        char *m = NULL;
        assert_int_equal(apt_host_mirror(root, &m), 0);
        assert_string_equal(m, "http://two.example/debian");
        free(m);
        rm_rf(root);
}

static void test_host_mirror_none(void **state) {
        _cleanup_free_ char *root = make_root();
        put(root, "etc/apt/sources.list.d/x.list.disabled", "deb http://x.example/debian trixie main\n");
        char *m = NULL;
        assert_int_equal(apt_host_mirror(root, &m), -ENOENT);
        assert_null(m);
        rm_rf(root);
}

static void test_apt_error_line(void **state) {
        char *e = apt_error_line("I: running apt-get update...\n"
                                 "E: Unable to locate package nope\n"
                                 "E: apt-get --yes install nope failed\n"
                                 "E: mmdebstrap failed to run\n");
        assert_string_equal(e, "E: Unable to locate package nope");
        free(e);
        e = apt_error_line("E: apt-get update failed\nE: mmdebstrap failed to run\n");
        assert_string_equal(e, "E: apt-get update failed");
        free(e);
        assert_null(apt_error_line("I: fine\n"));
        assert_null(apt_error_line(NULL));
}

static void test_cache_key(void **state) {
        char a[65], b[65], c[65];
        char *pkgs1[] = { "a", "b", NULL }, *pkgs2[] = { "a,b", NULL };
        struct cache_key k = {};
        cache_key_add(&k, "release", "trixie");
        cache_key_add_strv(&k, "install", pkgs1);
        cache_key_hex(&k, a);
        cache_key_done(&k);
        cache_key_add(&k, "release", "trixie");
        cache_key_add_strv(&k, "install", pkgs2);   /* must not collide with a,b */
        cache_key_hex(&k, b);
        cache_key_done(&k);
        assert_string_not_equal(a, b);
        cache_key_add(&k, "release", "trixie\ninstall[]=a,b");   /* cannot forge a line */
        cache_key_hex(&k, c);
        assert_non_null(strstr(k.text, "\\x0a"));
        cache_key_done(&k);
        assert_string_not_equal(a, c);
        /* unset differs from empty */
        cache_key_add(&k, "mirror", NULL);
        cache_key_hex(&k, a);
        cache_key_done(&k);
        cache_key_add(&k, "mirror", "");
        cache_key_hex(&k, b);
        cache_key_done(&k);
        assert_string_not_equal(a, b);
        assert_int_equal(strlen(a), 64);
}

static void test_stale_tmp(void **state) {
        char tmpl[] = "/tmp/test_rootfs_tmp.XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        _cleanup_free_ char *mine = xasprintf("%s/.tmp-abc-%d/tree", tmpl, (int)getpid());
        _cleanup_free_ char *dead = xasprintf("%s/.tmp-abc-%d/tree", tmpl, 999999999);
        _cleanup_free_ char *entry = xasprintf("%s/abc/tree", tmpl);
        assert_int_equal(mkdir_p(mine, 0755), 0);
        assert_int_equal(mkdir_p(dead, 0755), 0);
        assert_int_equal(mkdir_p(entry, 0755), 0);
        assert_int_equal(cache_remove_stale_tmp(tmpl, false), 1);   /* only the dead pid's */
        assert_int_equal(access(mine, F_OK), 0);
        assert_int_equal(access(entry, F_OK), 0);
        assert_int_equal(cache_remove_stale_tmp(tmpl, true), 1);
        assert_int_not_equal(access(mine, F_OK), 0);
        assert_int_equal(rm_rf_unmounted(tmpl), 0);
        assert_int_equal(rm_rf_unmounted("/proc"), -EBUSY);   /* a mount point */
}

/* dnf 4's cachedir below the installroot is removed inside the tree: a
 * symlink of the tree at that path (to itself, absolute) names the host's
 * own cache when followed as a host path, and nothing inside the tree. */
static void test_dnf_cachedir_leak(void **state) {
        char base[] = "/tmp/test_rootfs_dnf.XXXXXX";
        assert_non_null(mkdtemp(base));
        _cleanup_free_ char *cachedir = path_join(base, "hostcache/dnf"), *keep = path_join(cachedir, "keep");
        assert_int_equal(mkdir_p(cachedir, 0755), 0);
        assert_int_equal(write_file(keep, "x", 1, 0644), 0);

        _cleanup_free_ char *tree = path_join(base, "tree"), *link = xasprintf("%s%s", tree, base);
        _cleanup_free_ char *link_parent = xstrdup(link);
        *strrchr(link_parent, '/') = '\0';
        assert_int_equal(mkdir_p(link_parent, 0755), 0);
        assert_int_equal(symlink(base, link), 0);
        dnf_remove_cachedir_leak(tree, cachedir);
        assert_int_equal(access(keep, F_OK), 0);        /* the host's cache is untouched */
        struct stat st;
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));

        /* a real leak: removed with the parents dnf made, up to /tmp */
        _cleanup_free_ char *tree2 = path_join(base, "tree2"), *leak = xasprintf("%s%s/expired_repos.json", tree2, cachedir);
        _cleanup_free_ char *leak_dir = xstrdup(leak), *tmp = path_join(tree2, "tmp"), *top = xasprintf("%s%s", tree2, base);
        *strrchr(leak_dir, '/') = '\0';
        assert_int_equal(mkdir_p(leak_dir, 0755), 0);
        assert_int_equal(write_file(leak, "{}", 2, 0644), 0);
        dnf_remove_cachedir_leak(tree2, cachedir);
        assert_int_not_equal(access(leak_dir, F_OK), 0);
        assert_int_not_equal(access(top, F_OK), 0);
        assert_int_equal(access(tmp, F_OK), 0);
        assert_int_equal(access(keep, F_OK), 0);
        assert_int_equal(rm_rf(base), 0);
}

static void test_default_dir(void **state) {
        setenv("SLIPWAY_CACHE", "/some/where", 1);
        char *d = cache_default_dir();
        assert_string_equal(d, "/some/where");
        free(d);
        unsetenv("SLIPWAY_CACHE");
        d = cache_default_dir();
        if (geteuid() == 0)
                assert_string_equal(d, "/var/cache/slipway");
        else
                assert_true(endswith(d, "/slipway") || strstr(d, "slipway-cache"));
        free(d);
}

static void test_import_kind(void **state) {
        assert_int_equal(import_source_kind("/"), 0);
        assert_int_equal(import_source_kind("/etc/os-release"), 1);
        assert_int_equal(import_source_kind("/nonexistent/x.tar"), -ENOENT);
        assert_true(rootfs_backend_for(BACKEND_APT) == &rootfs_backend_apt);
        assert_string_equal(rootfs_backend_for(BACKEND_DNF)->name, "dnf");
        assert_string_equal(rootfs_backend_for(BACKEND_IMPORT)->name, "import");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_host_mirror_deb822),
                cmocka_unit_test(test_host_mirror_list),
                cmocka_unit_test(test_host_mirror_none),
                cmocka_unit_test(test_apt_error_line),
                cmocka_unit_test(test_cache_key),
                cmocka_unit_test(test_stale_tmp),
                cmocka_unit_test(test_dnf_cachedir_leak),
                cmocka_unit_test(test_default_dir),
                cmocka_unit_test(test_import_kind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
