/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"
#include "vhd.h"

static void test_chs_small(void **state) {
        struct vhd_geometry g = vhd_chs_geometry(1 * MiB);
        assert_int_equal(g.cylinders, 30);
        assert_int_equal(g.heads, 4);
        assert_int_equal(g.sectors_per_track, 17);
}

static void test_chs_30g(void **state) {
        struct vhd_geometry g = vhd_chs_geometry(30 * GiB);
        assert_int_equal(g.cylinders, 62415);
        assert_int_equal(g.heads, 16);
        assert_int_equal(g.sectors_per_track, 63);
}

static void test_chs_huge_is_capped(void **state) {
        struct vhd_geometry g = vhd_chs_geometry(4096 * GiB);
        assert_int_equal(g.cylinders, 65535);
        assert_int_equal(g.heads, 16);
        assert_int_equal(g.sectors_per_track, 255);
}

static void test_footer_roundtrip(void **state) {
        uint8_t f[VHD_FOOTER_SIZE], id[16];
        for (int i = 0; i < 16; i++)
                id[i] = (uint8_t)i;
        vhd_footer_build(f, 64 * MiB, VHD_TYPE_FIXED, UINT64_MAX, VHD_EPOCH_OFFSET + 1000, id);
        assert_memory_equal(f, "conectix", 8);
        struct vhd_footer_info info;
        assert_int_equal(vhd_footer_parse(f, &info), 0);
        assert_int_equal(info.disk_type, VHD_TYPE_FIXED);
        assert_true(info.current_size == 64 * MiB);
        assert_true(info.data_offset == UINT64_MAX);
        /* timestamp is seconds since 2000-01-01 */
        assert_int_equal(f[24] << 24 | f[25] << 16 | f[26] << 8 | f[27], 1000);
        assert_memory_equal(f + 68, id, 16);
        /* corrupt one byte: the checksum must catch it */
        f[100] ^= 1;
        assert_int_equal(vhd_footer_parse(f, &info), -EPROTO);
        memcpy(f, "connectx", 8);
        assert_int_equal(vhd_footer_parse(f, &info), -EBADMSG);
}

/* Checksummed footers with fields the specification does not allow
 * (issue 16 item 15: only the cookie and the checksum were read). */
static void be32_at(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static void test_footer_fields(void **state) {
        static const struct {
                size_t off;
                uint32_t value;
                int disk_type;
                const char *problem;
        } cases[] = {
                { 12, 0x00020000, VHD_TYPE_FIXED, "version" },            /* file format version */
                { 8, 0x00000000, VHD_TYPE_FIXED, "reserved bit" },        /* features */
                { 60, 7, VHD_TYPE_FIXED, "disk type" },                   /* disk type */
                { 16, 0x00000000, VHD_TYPE_FIXED, "data offset" },        /* a fixed disk's data offset, high half */
                { 20, 0x00000201, VHD_TYPE_DYNAMIC, "data offset" },      /* a dynamic disk's, not a sector */
                { 52, 0x00000100, VHD_TYPE_FIXED, "sectors" },            /* current size, low half: 64 MiB + 256 */
        };
        uint8_t id[16] = { 0 };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint8_t f[VHD_FOOTER_SIZE];
                vhd_footer_build(f, 64 * MiB, cases[i].disk_type, cases[i].disk_type == VHD_TYPE_FIXED ? UINT64_MAX : 512,
                                 VHD_EPOCH_OFFSET, id);
                struct vhd_footer_info info;
                assert_int_equal(vhd_footer_parse(f, &info), 0);
                be32_at(f + cases[i].off, cases[i].off == 52 ? (uint32_t)(64 * MiB) + cases[i].value : cases[i].value);
                be32_at(f + 64, vhd_footer_checksum(f));
                assert_int_equal(vhd_footer_parse(f, &info), -EINVAL);
                assert_non_null(info.problem);
                if (!strstr(info.problem, cases[i].problem))
                        fail_msg("case %zu: problem '%s' does not name '%s'", i, info.problem, cases[i].problem);
        }
}

static void test_refuses_unaligned(void **state) {
        char path[] = "/tmp/slipway-vhd-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, MiB + 512), 0);
        close(fd);
        uint8_t id[16] = { 0 };
        assert_int_equal(vhd_write_fixed(path, path, 0, id), -EINVAL);
        unlink(path);
}

/* The reference tool must agree: qemu-img reads our VHD as a fixed vpc of
 * the right virtual size and its content equals the raw image, and the
 * copy keeps holes. */
static void test_qemu_img_agrees(void **state) {
        _cleanup_free_ char *qemu_img = find_program("qemu-img");
        if (!qemu_img)
                skip();
        char dir[] = "/tmp/slipway-vhd-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *raw = path_join(dir, "d.raw"), *vhd = path_join(dir, "d.vhd");
        int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 64 * MiB), 0);
        char block[4096];
        for (size_t i = 0; i < sizeof(block); i++)
                block[i] = (char)(i * 7 + 1);
        assert_int_equal(pwrite(fd, block, sizeof(block), 0), (ssize_t)sizeof(block));
        assert_int_equal(pwrite(fd, block, sizeof(block), 33 * MiB), (ssize_t)sizeof(block));
        assert_int_equal(pwrite(fd, block, sizeof(block), 64 * MiB - 4096), (ssize_t)sizeof(block));
        close(fd);

        uint8_t id[16] = { 1, 2, 3 };
        assert_int_equal(vhd_write_fixed(raw, vhd, VHD_EPOCH_OFFSET + 5, id), 0);

        struct stat st;
        assert_int_equal(stat(vhd, &st), 0);
        assert_true(st.st_size == (off_t)(64 * MiB + 512));
        assert_true((uint64_t)st.st_blocks * 512 < 8 * MiB); /* still sparse */

        _cleanup_free_ char *out = NULL;
        char *info[] = { "qemu-img", "info", "--output=json", "-f", "vpc", vhd, NULL };
        assert_int_equal(run_command(info, &(struct run_opts){ .capture_stdout = true, .out = &out }), 0);
        struct json_object *j = json_tokener_parse(out), *v;
        assert_non_null(j);
        assert_true(json_object_object_get_ex(j, "virtual-size", &v));
        assert_true(json_object_get_int64(v) == (int64_t)(64 * MiB));
        json_object_put(j);

        char *cmp[] = { "qemu-img", "compare", "-f", "raw", "-F", "vpc", raw, vhd, NULL };
        assert_int_equal(run_command(cmp, &(struct run_opts){ .quiet = true }), 0);
        rm_rf(dir);
}

static void test_dynamic_header(void **state) {
        uint8_t h[VHD_DYN_HEADER_SIZE];
        vhd_dynamic_header_build(h, 1536, 32, VHD_DYN_BLOCK_SIZE);
        assert_memory_equal(h, "cxsparse", 8);
        assert_int_equal(h[28] << 24 | h[29] << 16 | h[30] << 8 | h[31], 32);
        uint32_t stored = (uint32_t)h[36] << 24 | (uint32_t)h[37] << 16 | (uint32_t)h[38] << 8 | h[39];
        assert_int_equal(stored, vhd_dynamic_header_checksum(h));
}

/* A dynamic VHD: qemu-img check finds no errors, compare equals the raw
 * image, and only the blocks with data are allocated (the file is small
 * even though it is not sparse). */
static void test_dynamic_qemu_img_agrees(void **state) {
        _cleanup_free_ char *qemu_img = find_program("qemu-img");
        if (!qemu_img)
                skip();
        char dir[] = "/tmp/slipway-vhd-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *raw = path_join(dir, "d.raw"), *vhd = path_join(dir, "d.vhd");
        int fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, 65 * MiB), 0);   /* odd: the last block is half a block */
        char block[4096];
        for (size_t i = 0; i < sizeof(block); i++)
                block[i] = (char)(i * 7 + 1);
        char zeros[8192] = { 0 };
        assert_int_equal(pwrite(fd, block, sizeof(block), 0), (ssize_t)sizeof(block));
        assert_int_equal(pwrite(fd, block, sizeof(block), 33 * MiB + 512), (ssize_t)sizeof(block));
        /* written zeros (not a hole) must not allocate a block */
        assert_int_equal(pwrite(fd, zeros, sizeof(zeros), 40 * MiB), (ssize_t)sizeof(zeros));
        assert_int_equal(pwrite(fd, block, sizeof(block), 65 * MiB - 4096), (ssize_t)sizeof(block));
        close(fd);

        uint8_t id[16] = { 4, 5, 6 };
        assert_int_equal(vhd_write_dynamic(raw, vhd, VHD_EPOCH_OFFSET + 5, id), 0);
        struct stat st;
        assert_int_equal(stat(vhd, &st), 0);
        /* footer copy + header + BAT (33 entries, one sector) + 3 blocks + footer */
        assert_true(st.st_size == (off_t)(512 + 1024 + 512 + 3 * (512 + 2 * MiB) + 512));

        _cleanup_free_ char *out = NULL;
        char *info[] = { "qemu-img", "info", "--output=json", "-f", "vpc", vhd, NULL };
        assert_int_equal(run_command(info, &(struct run_opts){ .capture_stdout = true, .out = &out }), 0);
        struct json_object *j = json_tokener_parse(out), *v;
        assert_non_null(j);
        assert_true(json_object_object_get_ex(j, "virtual-size", &v));
        assert_true(json_object_get_int64(v) == (int64_t)(65 * MiB));
        json_object_put(j);
        /* footer at the start and at the end, both "dynamic" */
        uint8_t f[VHD_FOOTER_SIZE];
        struct vhd_footer_info fi;
        fd = open(vhd, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(pread(fd, f, sizeof(f), 0), (ssize_t)sizeof(f));
        assert_int_equal(vhd_footer_parse(f, &fi), 0);
        assert_int_equal(fi.disk_type, VHD_TYPE_DYNAMIC);
        assert_true(fi.data_offset == 512);
        assert_int_equal(pread(fd, f, sizeof(f), st.st_size - 512), (ssize_t)sizeof(f));
        assert_int_equal(vhd_footer_parse(f, &fi), 0);
        assert_int_equal(fi.disk_type, VHD_TYPE_DYNAMIC);
        close(fd);

        /* (qemu-img check does not support vpc: compare reads every block
         * through the BAT, which is the check that matters) */
        char *cmp[] = { "qemu-img", "compare", "-f", "raw", "-F", "vpc", raw, vhd, NULL };
        assert_int_equal(run_command(cmp, &(struct run_opts){ .quiet = true }), 0);
        rm_rf(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chs_small),
                cmocka_unit_test(test_chs_30g),
                cmocka_unit_test(test_chs_huge_is_capped),
                cmocka_unit_test(test_footer_roundtrip),
                cmocka_unit_test(test_footer_fields),
                cmocka_unit_test(test_refuses_unaligned),
                cmocka_unit_test(test_qemu_img_agrees),
                cmocka_unit_test(test_dynamic_header),
                cmocka_unit_test(test_dynamic_qemu_img_agrees),
        };
        return cmocka_run_group_tests_name("vhd", tests, NULL, NULL);
}
