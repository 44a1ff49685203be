/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tarball.h"
#include "util.h"

#define EPOCH UINT64_C(1767225600)

static void test_excluded(void **state) {
        assert_true(tarball_path_excluded("dev/null"));
        assert_true(tarball_path_excluded("proc/1"));
        assert_true(tarball_path_excluded("run/lock"));
        assert_false(tarball_path_excluded("dev"));
        assert_false(tarball_path_excluded("devices/x"));
        assert_false(tarball_path_excluded("etc/dev/x"));
        assert_false(tarball_path_excluded("usr/lib/sys/x"));
}

static void put(const char *dir, const char *rel, const char *content, mode_t mode) {
        _cleanup_free_ char *p = path_join(dir, rel);
        assert_int_equal(write_file(p, content, strlen(content), mode), 0);
        assert_int_equal(chmod(p, mode), 0);
}

static char *make_tree(const char *base) {
        char *t = path_join(base, "tree");
        const char *dirs[] = { "etc", "dev", "proc", "run/lock", "usr/bin", "b", "a-c" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *p = path_join(t, dirs[i]);
                assert_int_equal(mkdir_p(p, 0755), 0);
        }
        put(t, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n_img:x:4242:4243::/:/bin/false\n", 0644);
        put(t, "etc/group", "root:x:0:\n_imggrp:x:4243:\n", 0644);
        put(t, "usr/bin/tool", "#!/bin/sh\necho hi\n", 04755);
        put(t, "b/owned", "data\n", 0600);
        put(t, "run/lock/stale", "x", 0644);
        _cleanup_free_ char *owned = path_join(t, "b/owned"), *tool = path_join(t, "usr/bin/tool");
        assert_int_equal(lchown(owned, 4242, 4243), 0);
        _cleanup_free_ char *slink = path_join(t, "usr/bin/tool-link"), *hard = path_join(t, "usr/bin/tool-hard");
        assert_int_equal(symlink("tool", slink), 0);
        assert_int_equal(link(tool, hard), 0);
        _cleanup_free_ char *null = path_join(t, "dev/null");
        if (geteuid() == 0)
                assert_int_equal(mknod(null, S_IFCHR | 0666, makedev(1, 3)), 0);
        /* xattrs, when the filesystem has them (security.* needs root) */
        (void)lsetxattr(tool, "user.b", "2", 1, 0);
        (void)lsetxattr(tool, "user.a", "1", 1, 0);
        /* one file newer than the epoch: its mtime is clamped */
        struct timespec ts[2] = { { .tv_sec = (time_t)EPOCH + 1000 }, { .tv_sec = (time_t)EPOCH + 1000 } };
        assert_int_equal(utimensat(AT_FDCWD, owned, ts, AT_SYMLINK_NOFOLLOW), 0);
        struct timespec old[2] = { { .tv_sec = 1000000000, .tv_nsec = 5 }, { .tv_sec = 1000000000, .tv_nsec = 5 } };
        assert_int_equal(utimensat(AT_FDCWD, tool, old, AT_SYMLINK_NOFOLLOW), 0);
        return t;
}

static void test_roundtrip(void **state) {
        char base[] = "/tmp/slipway-tar-XXXXXX";
        assert_non_null(mkdtemp(base));
        _cleanup_free_ char *tree = make_tree(base);
        _cleanup_free_ char *out1 = path_join(base, "1.tar.zst"), *out2 = path_join(base, "2.tar.zst");
        assert_int_equal(tarball_write_tree(tree, out1, EPOCH, 3), 0);
        /* reading the tree changed atimes; a second archive is still identical */
        sleep(1);
        assert_int_equal(tarball_write_tree(tree, out2, EPOCH, 3), 0);
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t la, lb;
        assert_int_equal(read_file(out1, &a, &la), 0);
        assert_int_equal(read_file(out2, &b, &lb), 0);
        assert_true(la == lb);
        assert_memory_equal(a, b, la);
        assert_memory_equal(a, "\x28\xb5\x2f\xfd", 4);   /* zstd frame magic */

        struct archive *r = archive_read_new();
        archive_read_support_filter_zstd(r);
        archive_read_support_format_tar(r);
        assert_int_equal(archive_read_open_filename(r, out1, 65536), ARCHIVE_OK);
        struct archive_entry *e;
        _cleanup_strv_free_ char **names = NULL;
        bool saw_owned = false, saw_tool = false, saw_hard = false;
        while (archive_read_next_header(r, &e) == ARCHIVE_OK) {
                const char *n = archive_entry_pathname(e);
                strv_push(&names, n);
                assert_false(archive_entry_atime_is_set(e));
                assert_false(archive_entry_ctime_is_set(e));
                assert_true((uint64_t)archive_entry_mtime(e) <= EPOCH);
                if (strcmp(n, "./b/owned") == 0) {
                        saw_owned = true;
                        assert_int_equal(archive_entry_uid(e), 4242);
                        assert_int_equal(archive_entry_gid(e), 4243);
                        assert_string_equal(archive_entry_uname(e), "_img");
                        assert_string_equal(archive_entry_gname(e), "_imggrp");
                        assert_int_equal(archive_entry_mode(e) & 07777, 0600);
                        assert_true((uint64_t)archive_entry_mtime(e) == EPOCH);
                } else if (strcmp(n, "./usr/bin/tool") == 0) {
                        saw_tool = true;
                        assert_int_equal(archive_entry_mode(e) & 07777, 04755);
                        assert_int_equal(archive_entry_mtime(e), 1000000000);
                        assert_string_equal(archive_entry_uname(e), "root");
                        int nx = archive_entry_xattr_reset(e);
                        if (nx == 2) {
                                const char *xn;
                                const void *xv;
                                size_t xs;
                                assert_int_equal(archive_entry_xattr_next(e, &xn, &xv, &xs), ARCHIVE_OK);
                                assert_string_equal(xn, "user.a");
                        }
                } else if (strcmp(n, "./usr/bin/tool-hard") == 0) {
                        saw_hard = true;
                        assert_string_equal(archive_entry_hardlink(e), "./usr/bin/tool");
                } else if (strcmp(n, "./usr/bin/tool-link") == 0) {
                        assert_string_equal(archive_entry_symlink(e), "tool");
                }
        }
        archive_read_free(r);
        assert_true(saw_owned && saw_tool && saw_hard);
        /* depth first, names sorted within each directory; pseudo-fs contents out */
        const char *expected[] = { "./", "./a-c/", "./b/", "./b/owned", "./dev/", "./etc/", "./etc/group", "./etc/passwd",
                                   "./proc/", "./run/", "./usr/", "./usr/bin/", "./usr/bin/tool", "./usr/bin/tool-hard",
                                   "./usr/bin/tool-link" };
        assert_int_equal(strv_length(names), ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_string_equal(names[i], expected[i]);
        rm_rf(base);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_excluded),
                cmocka_unit_test(test_roundtrip),
        };
        return cmocka_run_group_tests_name("tarball", tests, NULL, NULL);
}
