/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* size.json from a small tree: package attribution through dpkg lists,
 * hard links once, directories at two depths, the largest files, budgets,
 * the HTML page. */
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

#include "manifest.h"
#include "size_report.h"
#include "util.h"

static void put(const char *tree, const char *rel, size_t size) {
        _cleanup_free_ char *p = path_join(tree, rel);
        _cleanup_free_ char *dir = xstrdup(p);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        _cleanup_free_ char *data = xcalloc(size + 1, 1);
        memset(data, 'x', size);
        assert_int_equal(write_file(p, data, size, 0644), 0);
}

static void put_text(const char *tree, const char *rel, const char *text) {
        _cleanup_free_ char *p = path_join(tree, rel);
        _cleanup_free_ char *dir = xstrdup(p);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file(p, text, strlen(text), 0644), 0);
}

static char *make_tree(void) {
        char tmpl[] = "/tmp/slipway-size-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        char *t = xstrdup(tmpl);
        put(t, "usr/bin/tool", 5000);
        _cleanup_free_ char *a = path_join(t, "usr/bin/tool"), *b = path_join(t, "usr/bin/tool-alias");
        assert_int_equal(link(a, b), 0);              /* a hard link: counted once */
        put(t, "usr/lib/x/data", 100);
        put(t, "usr/lib/x/deeper/more", 3);
        put(t, "boot/kernel", 10000);
        put(t, "etc/empty", 0);
        put(t, "top-file", 7);
        _cleanup_free_ char *ln = path_join(t, "bin");
        assert_int_equal(symlink("usr/bin", ln), 0); /* usr-merge: lists say /bin/... */
        put_text(t, "var/lib/dpkg/info/pkga.list", "/.\n/usr\n/usr/bin\n/bin/tool\n/usr/bin/tool-alias\n");
        put_text(t, "var/lib/dpkg/info/pkgb:amd64.list", "/usr/lib/x/data\n/usr/lib/x/deeper/more\n/usr/bin/tool\n/bin/missing\n");
        put_text(t, "var/lib/dpkg/info/notinmanifest.list", "/etc/empty\n");
        return t;
}

static struct pkg_list make_pkgs(void) {
        struct pkg_list l = { 0 };
        l.items = xcalloc(3, sizeof(*l.items));
        const char *names[] = { "pkgb", "pkga", "pkgc" };
        for (size_t i = 0; i < 3; i++)
                l.items[l.n++] = (struct pkg_entry) { .name = xstrdup(names[i]), .version = xstrdup("1.0"),
                                                      .architecture = xstrdup("amd64"), .installed_size = 1024 * (i + 1) };
        pkg_list_sort(&l);
        return l;
}

static struct json_object *get(struct json_object *o, const char *k) {
        struct json_object *v = NULL;
        assert_true(json_object_object_get_ex(o, k, &v));
        return v;
}

static int64_t geti(struct json_object *o, const char *k) {
        return json_object_get_int64(get(o, k));
}

static struct json_object *find(struct json_object *arr, const char *key, const char *name) {
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *e = json_object_array_get_idx(arr, i);
                if (strcmp(json_object_get_string(get(e, key)), name) == 0)
                        return e;
        }
        return NULL;
}

static struct json_object *fake_fs(uint64_t used) {
        struct json_object *arr = json_object_new_array(), *f = json_object_new_object();
        json_object_object_add(f, "number", json_object_new_int(3));
        json_object_object_add(f, "type", json_object_new_string("root"));
        json_object_object_add(f, "fs", json_object_new_string("ext4"));
        json_object_object_add(f, "used_bytes", json_object_new_int64((int64_t)used + 1000000));
        json_object_object_add(f, "df_used_bytes", json_object_new_int64((int64_t)used));
        json_object_array_add(arr, f);
        return arr;
}

static void test_report(void **state) {
        _cleanup_free_ char *tree = make_tree();
        struct pkg_list pkgs = make_pkgs();
        struct json_object *fss = fake_fs(300000000);
        struct size_report_input in = { .image_name = "img", .image_version = "1", .tree = tree, .packages = &pkgs, .filesystems = fss };
        struct json_object *r = NULL, *r2 = NULL;
        assert_int_equal(size_report_build(&in, &r), 0);

        /* tool (once for two names), data, more, kernel, empty, top-file, 3 dpkg lists */
        struct json_object *t = get(r, "tree");
        assert_int_equal(geti(t, "files"), 9);

        struct json_object *p = get(r, "packages");
        assert_int_equal(json_object_array_length(p), 3);
        /* sorted by name */
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(p, 0), "name")), "pkga");
        struct json_object *a = find(p, "name", "pkga"), *b = find(p, "name", "pkgb"), *c = find(p, "name", "pkgc");
        assert_int_equal(geti(a, "bytes"), 5000);   /* /bin/tool through the usr-merge symlink */
        assert_int_equal(geti(a, "disk_bytes"), 8192);
        assert_int_equal(geti(a, "files"), 1);
        assert_int_equal(geti(a, "installed_size"), 1024 * 2);
        assert_int_equal(geti(b, "bytes"), 103);     /* /usr/bin/tool was pkga's first */
        assert_int_equal(geti(b, "disk_bytes"), 8192);
        assert_int_equal(geti(b, "files"), 2);
        assert_int_equal(geti(c, "bytes"), 0);
        struct json_object *u = get(r, "unowned");
        assert_int_equal(geti(u, "files"), 6);       /* kernel, empty (list not in manifest), top-file, 3 lists */

        struct json_object *d = get(r, "directories");
        struct json_object *usr = find(d, "path", "/usr"), *ub = find(d, "path", "/usr/bin"), *ul = find(d, "path", "/usr/lib");
        assert_non_null(usr);
        assert_int_equal(geti(usr, "depth"), 1);
        assert_int_equal(geti(usr, "bytes"), 5103);
        assert_int_equal(geti(usr, "files"), 3);
        assert_int_equal(geti(ub, "bytes"), 5000);
        assert_int_equal(geti(ub, "depth"), 2);
        assert_int_equal(geti(ul, "bytes"), 103);
        assert_int_equal(geti(find(d, "path", "/boot"), "bytes"), 10000);
        assert_int_equal(geti(find(d, "path", "/"), "bytes"), 7);
        assert_int_equal(geti(find(d, "path", "/"), "depth"), 0);
        /* sorted by path */
        for (size_t i = 1; i < json_object_array_length(d); i++)
                assert_true(strcmp(json_object_get_string(get(json_object_array_get_idx(d, i - 1), "path")),
                                   json_object_get_string(get(json_object_array_get_idx(d, i), "path"))) < 0);

        struct json_object *lf = get(r, "largest_files");
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(lf, 0), "path")), "/boot/kernel");
        assert_null(get(json_object_array_get_idx(lf, 0), "package"));
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(lf, 1), "path")), "/usr/bin/tool");
        assert_string_equal(json_object_get_string(get(json_object_array_get_idx(lf, 1), "package")), "pkga");

        /* the same inputs give the same bytes */
        assert_int_equal(size_report_build(&in, &r2), 0);
        _cleanup_free_ char *s1 = size_report_to_string(r), *s2 = size_report_to_string(r2);
        assert_string_equal(s1, s2);

        json_object_put(r);
        json_object_put(r2);
        pkg_list_free(&pkgs);
        json_object_put(fss);
        rm_rf(tree);
}

static void test_no_dpkg(void **state) {
        char tmpl[] = "/tmp/slipway-size-XXXXXX";
        assert_non_null(mkdtemp(tmpl));
        put(tmpl, "usr/lib/a", 10);
        struct pkg_list pkgs = make_pkgs();
        struct size_report_input in = { .image_name = "img", .tree = tmpl, .packages = &pkgs };
        struct json_object *r = NULL;
        assert_int_equal(size_report_build(&in, &r), 0);
        struct json_object *p = json_object_array_get_idx(get(r, "packages"), 0);
        assert_null(get(p, "disk_bytes"));
        assert_int_equal(geti(p, "installed_size"), 1024 * 2);
        assert_null(get(r, "unowned"));
        json_object_put(r);
        pkg_list_free(&pkgs);
        rm_rf(tmpl);
}

static void test_budget(void **state) {
        _cleanup_free_ char *tree = make_tree();
        struct pkg_list pkgs = make_pkgs();
        struct json_object *fss = fake_fs(300000000), *arts = json_object_new_array(), *art = json_object_new_object();
        json_object_object_add(art, "name", json_object_new_string("img.raw"));
        json_object_object_add(art, "apparent_bytes", json_object_new_int64(1 << 30));
        json_object_object_add(art, "allocated_bytes", json_object_new_int64(200000000));
        json_object_array_add(arts, art);
        struct size_report_input in = { .image_name = "img", .tree = tree, .packages = &pkgs, .filesystems = fss, .artifacts = arts };
        struct json_object *r = NULL;
        assert_int_equal(size_report_build(&in, &r), 0);

        const struct size_limit limits[] = {
                { .kind = LIMIT_ROOT_USED, .max = 250000000, .origin = "p.yaml:3:3" },
                { .kind = LIMIT_ARTIFACT, .name = "img.raw", .max = 250000000 },
                { .kind = LIMIT_PACKAGE, .name = "pkga", .max = 4096, .origin = "p.yaml:9:5" },
                { .kind = LIMIT_PACKAGE, .name = "pkgb", .max = 1000000 },
        };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(size_budget_check(r, limits, 4, f), 2);
        fclose(f);
        assert_non_null(strstr(buf, "budget exceeded: root filesystem used"));
        assert_non_null(strstr(buf, "p.yaml:3:3"));
        assert_non_null(strstr(buf, "largest packages"));
        assert_non_null(strstr(buf, "budget exceeded: package pkga"));
        assert_non_null(strstr(buf, "/usr/bin/tool"));
        assert_null(strstr(buf, "package pkgb"));
        assert_null(strstr(buf, "img.raw"));
        free(buf);
        struct json_object *b = get(r, "budget");
        assert_int_equal(json_object_array_length(b), 4);
        assert_false(json_object_get_boolean(get(json_object_array_get_idx(b, 0), "ok")));
        assert_true(json_object_get_boolean(get(json_object_array_get_idx(b, 1), "ok")));
        assert_int_equal(geti(json_object_array_get_idx(b, 0), "actual"), 300000000);

        /* a limit on something the build does not have is an error, not a pass */
        const struct size_limit bad[] = { { .kind = LIMIT_PACKAGE, .name = "nosuch", .max = 1 } };
        f = fopen("/dev/null", "w");
        assert_int_equal(size_budget_check(r, bad, 1, f), -ENOENT);
        fclose(f);

        json_object_put(r);
        json_object_put(fss);
        json_object_put(arts);
        pkg_list_free(&pkgs);
        rm_rf(tree);
}

static void test_html(void **state) {
        struct size_report_input in = { .image_name = "</script><b>x", .image_version = "1" };
        struct json_object *r = NULL;
        assert_int_equal(size_report_build(&in, &r), 0);
        _cleanup_free_ char *html = size_report_html(r);
        assert_null(strstr(html, "</script><b>"));
        assert_non_null(strstr(html, "\\u003c/script>\\u003cb>x"));
        size_t n = 0;
        for (const char *p = html; (p = strstr(p, "</script>")); p++)
                n++;
        assert_int_equal(n, 2);
        assert_non_null(strstr(html, "data-ok"));
        assert_null(strstr(html, "http://"));
        assert_null(strstr(html, "https://"));
        json_object_put(r);
}

static void test_manifest_roundtrip(void **state) {
        struct pkg_list l = make_pkgs();
        free(l.items[0].license);
        l.items[0].license = xstrdup("GPL-2+");
        char tmpl[] = "/tmp/slipway-manifest-XXXXXX";
        int fd = mkstemp(tmpl);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(manifest_write_json(tmpl, "apt", &l), 0);
        struct pkg_list back = { 0 };
        _cleanup_free_ char *backend = NULL;
        assert_int_equal(manifest_read_json(tmpl, &back, &backend), 0);
        assert_string_equal(backend, "apt");
        assert_int_equal(back.n, 3);
        assert_string_equal(back.items[0].name, "pkga");
        assert_string_equal(back.items[0].license, "GPL-2+");
        assert_int_equal(back.items[2].installed_size, 3072);
        pkg_list_free(&back);
        pkg_list_free(&l);
        assert_int_equal(write_file(tmpl, "{\"x\":1}", 7, 0644), 0);
        assert_int_equal(manifest_read_json(tmpl, &back, NULL), -EINVAL);
        unlink(tmpl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_report),
                cmocka_unit_test(test_no_dpkg),
                cmocka_unit_test(test_budget),
                cmocka_unit_test(test_html),
                cmocka_unit_test(test_manifest_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
