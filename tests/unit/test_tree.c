/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tree.h"
#include "util.h"

struct fixture { char dir[64], outside[64]; int root_fd; };

static int setup(void **state) {
        struct fixture *f = xcalloc(1, sizeof(*f));
        strcpy(f->dir, "/tmp/test-tree.XXXXXX");
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
        /* A host directory beside the tree, and links that name it the way
         * a hostile tree would: by its host path, and by climbing. */
        strcpy(f->outside, "/tmp/test-tree-outside.XXXXXX");
        assert_non_null(mkdtemp(f->outside));
        char *o = path_join(f->outside, "secret");
        assert_int_equal(write_file(o, "canary", 6, 0644), 0);
        free(o);
        LN(f->outside, "hostdir");
        char *climb = xasprintf("../../../../../../..%s", f->outside);
        LN(climb, "etc/climb");
        free(climb);
        f->root_fd = tree_root_open(f->dir);
        assert_true(f->root_fd >= 0);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        /* The host directory must be exactly as it was. */
        char *o = path_join(f->outside, "secret"), *text = NULL;
        assert_int_equal(read_file(o, &text, NULL), 0);
        assert_string_equal(text, "canary");
        free(text);
        free(o);
        char **names = NULL;
        assert_int_equal(dir_entries_sorted(f->outside, &names), 0);
        assert_non_null(names);
        assert_string_equal(names[0], "secret");
        assert_null(names[1]);
        strv_free(names);
        close(f->root_fd);
        rm_rf(f->dir);
        rm_rf(f->outside);
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


/* tree_open (openat2) and the O_NOFOLLOW walk agree: same file or same error. */
static void expect_same_open(struct fixture *f, const char *path, int oflags) {
        int a = tree_open(f->root_fd, path, oflags, 0644);
        int b = tree_open_walk(f->root_fd, path, oflags, 0644);
        if (a < 0 || b < 0) {
                if (a != b)
                        fail_msg("%s: openat2 %d, walk %d", path, a, b);
                return;
        }
        struct stat sa, sb;
        assert_int_equal(fstat(a, &sa), 0);
        assert_int_equal(fstat(b, &sb), 0);
        if (sa.st_ino != sb.st_ino || sa.st_dev != sb.st_dev)
                fail_msg("%s: openat2 and walk opened different files", path);
        close(a);
        close(b);
}

static void test_open_agrees(void **state) {
        struct fixture *f = *state;
        const char *paths[] = { "/", "/etc/file", "etc/localtime", "/etc/up/file", "/etc/rootlink/etc/file",
                                "/sharelink/zoneinfo", "/etc/loop1", "/etc/self", "/etc/dangling", "/etc/file/below",
                                "/hostdir/secret", "/etc/climb/secret", "/etc/climb", "/../../etc/file", "/missing" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                expect_same_open(f, paths[i], O_RDONLY);
                expect_same_open(f, paths[i], O_RDONLY | O_NOFOLLOW);
                expect_same_open(f, paths[i], O_PATH);
        }
}

static void test_links_out_stay_in(void **state) {
        struct fixture *f = *state;
        /* The host path and the climb both land inside the tree, where
         * nothing of that name exists. */
        assert_int_equal(tree_open(f->root_fd, "/hostdir/secret", O_RDONLY, 0), -ENOENT);
        assert_int_equal(tree_open_walk(f->root_fd, "/etc/climb/secret", O_RDONLY, 0), -ENOENT);
        char *text = NULL;
        assert_int_equal(tree_read_file(f->root_fd, "/hostdir/secret", 1024, &text, NULL), -ENOENT);
        /* Writing, removing, chmod and chown through them never touch the
         * host directory (teardown checks it). */
        assert_int_equal(tree_write_file(f->root_fd, "/hostdir/secret", "x", 1, 0644, (uid_t)-1, (gid_t)-1), -ENOENT);
        assert_int_equal(tree_write_file(f->root_fd, "/etc/climb/secret", "x", 1, 0644, (uid_t)-1, (gid_t)-1), -ENOENT);
        assert_int_equal(tree_remove(f->root_fd, "/hostdir/secret", 0), 0);
        assert_int_equal(tree_remove(f->root_fd, "/etc/climb/secret", TREE_RM_DIR), 0);
        assert_int_equal(tree_chmod(f->root_fd, "/hostdir", 0777), -ELOOP);
        assert_int_equal(tree_chmod(f->root_fd, "/etc/climb/secret", 0777), -ENOENT);
        assert_int_equal(tree_lchown(f->root_fd, "/hostdir/secret", 1, 1), -ENOENT);
        /* mkdir -p through the link makes the directories inside the tree. */
        char *inside = xasprintf("%s/secret", f->outside);
        assert_int_equal(tree_mkdir_p(f->root_fd, inside, 0755), 0);
        assert_int_equal(tree_mkdir_p(f->root_fd, "/hostdir/made", 0755), 0);
        char *host = xasprintf("%s%s/made", f->dir, f->outside);
        struct stat st;
        assert_int_equal(stat(host, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        free(host);
        free(inside);
        /* Removing the link removes the link, not what it names. */
        assert_int_equal(tree_remove(f->root_fd, "/hostdir", TREE_RM_DIR), 0);
        assert_int_equal(tree_lstat(f->root_fd, "/hostdir", &st), -ENOENT);
}

static void test_remove_contents_never_follows(void **state) {
        struct fixture *f = *state;
        /* A /dev that holds links to the host directory, and a directory
         * below it linking out again. */
        assert_int_equal(tree_mkdir_p(f->root_fd, "/dev/sub", 0755), 0);
        assert_int_equal(tree_symlink(f->root_fd, f->outside, "/dev/host"), 0);
        assert_int_equal(tree_symlink(f->root_fd, "../../../../../../../../tmp", "/dev/sub/up"), 0);
        assert_int_equal(tree_write_file(f->root_fd, "/dev/sub/file", "x", 1, 0600, (uid_t)-1, (gid_t)-1), 0);
        int dev = tree_open(f->root_fd, "/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        assert_true(dev >= 0);
        unsigned n = 0;
        assert_int_equal(tree_remove_contents(dev, &n), 0);
        assert_int_equal(n, 2);
        close(dev);
        char **names = NULL;
        assert_int_equal(tree_dir_entries_sorted(f->root_fd, "/dev", &names), 0);
        assert_null(names);
        /* A symlinked /dev: O_NOFOLLOW with O_DIRECTORY refuses it (ENOTDIR). */
        assert_int_equal(tree_remove(f->root_fd, "/dev", TREE_RM_DIR), 0);
        assert_int_equal(tree_symlink(f->root_fd, f->outside, "/dev"), 0);
        assert_int_equal(tree_open_walk(f->root_fd, "/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0), -ENOTDIR);
        assert_int_equal(tree_open(f->root_fd, "/dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0), -ENOTDIR);
}

static void test_write_and_links(void **state) {
        struct fixture *f = *state;
        /* A write through /etc/localtime (absolute, inside) replaces its target. */
        assert_int_equal(tree_write_file(f->root_fd, "/etc/localtime", "tz", 2, 0640, (uid_t)-1, (gid_t)-1), 0);
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(tree_read_file(f->root_fd, "/usr/share/zoneinfo/Europe/Paris", 100, &text, &len), 0);
        assert_int_equal(len, 2);
        assert_string_equal(text, "tz");
        free(text);
        struct stat st;
        assert_int_equal(tree_lstat(f->root_fd, "/etc/localtime", &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(tree_stat(f->root_fd, "/etc/localtime", &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        /* A dangling link's directory does not exist: no file appears anywhere. */
        assert_int_equal(tree_write_file(f->root_fd, "/etc/dangling", "x", 1, 0644, (uid_t)-1, (gid_t)-1), -ENOENT);
        /* The size cap. */
        assert_int_equal(tree_read_file(f->root_fd, "/etc/file", 0, &text, NULL), -EFBIG);
        /* Symlinks are replaced, and read back. */
        assert_int_equal(tree_symlink(f->root_fd, "/usr/share", "/etc/file"), 0);
        char *target = NULL;
        assert_int_equal(tree_readlink(f->root_fd, "/etc/file", &target), 0);
        assert_string_equal(target, "/usr/share");
        free(target);
        assert_int_equal(tree_rename(f->root_fd, "/etc/file", "/etc/file2"), 0);
        assert_true(tree_exists(f->root_fd, "/etc/file2/zoneinfo"));
        assert_false(tree_exists(f->root_fd, "/etc/file"));
        /* The root itself cannot be removed or replaced. */
        assert_int_equal(tree_remove(f->root_fd, "/", TREE_RM_DIR), -EBUSY);
        assert_int_equal(tree_remove(f->root_fd, "/etc/..", TREE_RM_DIR), -EBUSY);
        assert_int_equal(tree_write_file(f->root_fd, "/", "x", 1, 0644, (uid_t)-1, (gid_t)-1), -EISDIR);
        /* No temporary file is left beside what was written. */
        char **names = NULL;
        assert_int_equal(tree_dir_entries_sorted(f->root_fd, "/usr/share/zoneinfo/Europe", &names), 0);
        assert_string_equal(names[0], "Paris");
        assert_null(names[1]);
        strv_free(names);
}

static void test_fifo_not_read(void **state) {
        struct fixture *f = *state;
        char *p = path_join(f->dir, "etc/fifo");
        assert_int_equal(mkfifo(p, 0644), 0);
        free(p);
        char *text = NULL;
        /* Refused at once, not blocked on. */
        assert_int_equal(tree_read_file(f->root_fd, "/etc/fifo", 100, &text, NULL), -EBADFD);
}

static void test_remove_too_deep(void **state) {
        struct fixture *f = *state;
        /* Deeper than tree_remove_contents descends: a clean error. */
        char *path = xstrdup("/deep");
        for (int i = 0; i < 600; i++) {
                char *next = xasprintf("%s/d", path);
                free(path);
                path = next;
        }
        assert_int_equal(tree_mkdir_p(f->root_fd, path, 0755), 0);
        free(path);
        assert_int_equal(tree_remove(f->root_fd, "/deep", TREE_RM_DIR), -ELOOP);
}

static void test_missing_then_dotdot(void **state) {
        struct fixture *f = *state;
        int dir = -1;
        char *name = NULL, *canon = NULL;
        assert_int_equal(tree_resolve(f->root_fd, "/missing/../etc/newfile", TREE_NONEXISTENT, &dir, &name, &canon), 0);
        assert_string_equal(canon, "/etc/newfile");
        assert_string_equal(name, "newfile");
        assert_true(dir >= 0);
        close(dir);
        free(name);
        free(canon);
        assert_int_equal(tree_resolve(f->root_fd, "/missing/deeper/file", TREE_NONEXISTENT, &dir, &name, &canon), 0);
        assert_int_equal(dir, -1);
        assert_string_equal(canon, "/missing/deeper/file");
        free(name);
        free(canon);
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
                cmocka_unit_test_setup_teardown(test_open_agrees, setup, teardown),
                cmocka_unit_test_setup_teardown(test_links_out_stay_in, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_contents_never_follows, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_and_links, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fifo_not_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_remove_too_deep, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_then_dotdot, setup, teardown),
                cmocka_unit_test(test_clean),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
