/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "manifest.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char status_text[] =
        "Package: zlib1g\n"
        "Status: install ok installed\n"
        "Priority: optional\n"
        "Installed-Size: 168\n"
        "Maintainer: Mark Brown <broonie@debian.org>\n"
        "Architecture: amd64\n"
        "Multi-Arch: same\n"
        "Source: zlib (1:1.3.dfsg+really1.3.1-1)\n"
        "Version: 1:1.3.dfsg+really1.3.1-1+b1\n"
        "Description: compression library - runtime\n"
        " zlib is a library implementing the deflate compression method found\n"
        " in gzip and PKZIP.\n"
        "\n"
        "Package: removed-pkg\n"
        "Status: deinstall ok config-files\n"
        "Architecture: amd64\n"
        "Version: 1.0\n"
        "\n"
        "Package: bash\n"
        "Essential: yes\n"
        "Status: install ok installed\n"
        "Installed-Size: 7174\n"
        "Architecture: amd64\n"
        "Version: 5.2.37-2+b5\n"
        "Conffiles:\n"
        " /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d\n"
        "\n"
        "Package: base-files\n"
        "Status: install ok installed\n"
        "Architecture: amd64\n"
        "Source: base-files\n"
        "Version: 13.8\n";

static void test_dpkg_status(void **state) {
        struct pkg_list l;
        assert_int_equal(dpkg_status_parse(status_text, &l), 0);
        assert_int_equal(l.n, 3);   /* config-files only: not installed */
        /* sorted by name */
        assert_string_equal(l.items[0].name, "base-files");
        assert_string_equal(l.items[1].name, "bash");
        assert_string_equal(l.items[2].name, "zlib1g");
        assert_int_equal(l.items[0].installed_size, 0);
        assert_string_equal(l.items[1].source, "bash");              /* default = Package */
        assert_int_equal(l.items[1].installed_size, 7174 * 1024);
        assert_string_equal(l.items[1].version, "5.2.37-2+b5");
        assert_string_equal(l.items[2].source, "zlib");              /* " (version)" stripped */
        assert_string_equal(l.items[2].architecture, "amd64");
        assert_string_equal(l.items[2].version, "1:1.3.dfsg+really1.3.1-1+b1");
        assert_null(l.items[2].license);
        pkg_list_free(&l);
}

static void test_dpkg_status_bad_size(void **state) {
        struct pkg_list l;
        assert_int_equal(dpkg_status_parse("Package: x\nStatus: install ok installed\nInstalled-Size: 12k\n", &l), -EINVAL);
        assert_int_equal(dpkg_status_parse("", &l), 0);
        assert_int_equal(l.n, 0);
        pkg_list_free(&l);
}

static void test_copyright_dep5(void **state) {
        const char *text =
                "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                "Upstream-Name: bash\n"
                "\n"
                "Files: *\n"
                "Copyright: 1987-2022 Free Software Foundation, Inc.\n"
                "License: GPL-3+\n"
                "\n"
                "Files: lib/sh/*\n"
                "Copyright: 2000 someone\n"
                "License: GPL-3+\n"
                "\n"
                "Files: examples/*\n"
                "License: BSD-3-clause\n"
                " Redistribution and use ...\n"
                " License: this-is-text-not-a-field\n"
                "\n"
                "License: GPL-3+\n"
                " This program is free software ...\n";
        char *lic = copyright_license(text);
        assert_non_null(lic);
        assert_string_equal(lic, "GPL-3+ AND BSD-3-clause");
        free(lic);
}

static void test_copyright_not_dep5(void **state) {
        assert_null(copyright_license("This is Debian's prepackaged version of foo.\n\nLicense: GPL\n"));
        assert_null(copyright_license("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\n"));
        char *lic = copyright_license("\nFormat: x\nLicense: MIT\n");
        assert_string_equal(lic, "MIT");
        free(lic);
}

static void test_rpm_query(void **state) {
        const char *out =
                "bash\t5.2.15-1.azl3\tx86_64\t8105210\tbash-5.2.15-1.azl3.src.rpm\tGPLv3+\n"
                "gpg-pubkey\t3135ce90-5e6fda74\t(none)\t0\t(none)\tpubkey\n"
                "python3-libs\t3.12.3-4.fc40\tx86_64\t1000\tpython3.12-3.12.3-4.fc40.src.rpm\tPython-2.0.1 AND MIT\n"
                "noarch-pkg\t1-1\tnoarch\t5\tno-arch-src-1-1.src.rpm\t(none)\n";
        struct pkg_list l;
        assert_int_equal(rpm_query_parse(out, &l), 0);
        assert_int_equal(l.n, 4);
        assert_string_equal(l.items[0].name, "bash");
        assert_string_equal(l.items[0].version, "5.2.15-1.azl3");
        assert_int_equal(l.items[0].installed_size, 8105210);
        assert_string_equal(l.items[0].source, "bash");
        assert_string_equal(l.items[0].license, "GPLv3+");
        assert_string_equal(l.items[1].name, "gpg-pubkey");
        assert_string_equal(l.items[1].source, "gpg-pubkey");
        assert_string_equal(l.items[2].name, "noarch-pkg");
        assert_string_equal(l.items[2].source, "no-arch-src");
        assert_null(l.items[2].license);
        assert_string_equal(l.items[3].source, "python3.12");
        assert_string_equal(l.items[3].license, "Python-2.0.1 AND MIT");
        pkg_list_free(&l);
}

static void test_write_json(void **state) {
        char dir[] = "/tmp/test_manifest.XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct pkg_list l;
        assert_int_equal(dpkg_status_parse(status_text, &l), 0);
        _cleanup_free_ char *path = path_join(dir, "packages.json");
        assert_int_equal(manifest_write_json(path, "apt", &l), 0);
        _cleanup_free_ char *a = NULL, *b = NULL;
        assert_int_equal(read_file(path, &a, NULL), 0);
        assert_int_equal(manifest_write_json(path, "apt", &l), 0);
        assert_int_equal(read_file(path, &b, NULL), 0);
        assert_string_equal(a, b);   /* deterministic */
        assert_non_null(strstr(a, "\"name\":\"zlib1g\""));
        assert_non_null(strstr(a, "\"license\":null"));
        assert_non_null(strstr(a, "\"installed_size\":172032"));
        pkg_list_free(&l);
        rm_rf(dir);
}

static void put_file(const char *path, const char *text) {
        _cleanup_free_ char *dir = xstrdup(path);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_p(dir, 0755), 0);
        assert_int_equal(write_file(path, text, strlen(text), 0644), 0);
}

/* A tree's package database is the tree's: absolute symlinks in it name
 * files of the tree (issue 16), never the build host's, which here hold
 * other packages, another licence and an "rpm database". */
static void test_tree_symlinks_stay_inside(void **state) {
        char base[] = "/tmp/test_manifest.XXXXXX";
        assert_non_null(mkdtemp(base));
        _cleanup_free_ char *tree = path_join(base, "tree"), *host = path_join(base, "host");
        _cleanup_free_ char *host_status = path_join(host, "status"), *host_doc = path_join(host, "doc/copyright");
        _cleanup_free_ char *in_status = xasprintf("%s%s", tree, host_status), *in_doc = xasprintf("%s%s", tree, host_doc);
        put_file(host_status, "Package: hostpkg\nStatus: install ok installed\nVersion: 6\nArchitecture: amd64\n\n");
        put_file(in_status, "Package: treepkg\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n");
        put_file(host_doc, "Format: x\n\nLicense: HostLicence\n");
        put_file(in_doc, "Format: x\n\nLicense: TreeLicence\n");
        _cleanup_free_ char *dpkg = path_join(tree, "var/lib/dpkg"), *docs = path_join(tree, "usr/share/doc");
        assert_int_equal(mkdir_p(dpkg, 0755), 0);
        assert_int_equal(mkdir_p(docs, 0755), 0);
        _cleanup_free_ char *status = path_join(dpkg, "status"), *doc = path_join(docs, "treepkg");
        _cleanup_free_ char *host_docdir = path_join(host, "doc");
        assert_int_equal(symlink(host_status, status), 0);
        assert_int_equal(symlink(host_docdir, doc), 0);
        struct pkg_list l = {};
        assert_int_equal(manifest_from_tree(tree, &l), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.items[0].name, "treepkg");
        assert_string_equal(l.items[0].license, "TreeLicence");
        pkg_list_free(&l);

        /* an rpm database only on the host's side: the tree has none */
        _cleanup_free_ char *tree2 = path_join(base, "tree2"), *rpmdir = path_join(host, "rpm");
        _cleanup_free_ char *sqlite = path_join(rpmdir, "rpmdb.sqlite"), *var_lib = path_join(tree2, "var/lib");
        put_file(sqlite, "not a database");
        assert_int_equal(mkdir_p(var_lib, 0755), 0);
        _cleanup_free_ char *rpm_link = path_join(var_lib, "rpm");
        assert_int_equal(symlink(rpmdir, rpm_link), 0);
        assert_int_equal(manifest_from_tree(tree2, &l), 0);
        assert_int_equal(l.n, 0);
        pkg_list_free(&l);
        assert_int_equal(rm_rf(base), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dpkg_status),
                cmocka_unit_test(test_dpkg_status_bad_size),
                cmocka_unit_test(test_copyright_dep5),
                cmocka_unit_test(test_copyright_not_dep5),
                cmocka_unit_test(test_rpm_query),
                cmocka_unit_test(test_write_json),
                cmocka_unit_test(test_tree_symlinks_stay_inside),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
