/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* The image readers and `inspect` on a small disk made at test time (GPT,
 * FAT ESP with \EFI\BOOT\BOOTX64.EFI, ext4 root with os-release, a kernel
 * and a dpkg status file) in every container (raw, qcow2 zlib/zstd
 * compressed, VHD fixed and dynamic), then on truncated, corrupted and
 * randomly damaged copies: each must give an error or a result, never a
 * sanitizer report or a hang.  Runs under ASan/UBSan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "azure_rules.h"
#include "image_inspect.h"
#include "image_reader.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

struct fixture {
        char *dir;
        char *raw, *qcow2, *qcow2_zstd, *vhd_fixed, *vhd_dynamic;
        uint64_t raw_size;
        bool have_tools;
};

static int run(char *const argv[]) {
        return run_command(argv, &(struct run_opts){ .quiet = true });
}

static int run_stdin(char *const argv[], const char *input) {
        int fd = memfd_create("stdin", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, input, strlen(input)) != (ssize_t)strlen(input) || lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return -EIO;
        }
        int r = run_command(argv, &(struct run_opts){ .quiet = true, .stdin_fd = fd });
        close(fd);
        return r;
}

static int put(const char *dir, const char *rel, const char *content) {
        _cleanup_free_ char *p = path_join(dir, rel);
        _cleanup_free_ char *d = xstrdup(p);
        *strrchr(d, '/') = 0;
        if (mkdir_p(d, 0755) < 0)
                return -EIO;
        return write_file(p, content, strlen(content), 0644);
}

#define ESP_START (1 * MiB)
#define ESP_SIZE (8 * MiB)
#define ROOT_START (9 * MiB)
#define DISK_SIZE (40 * MiB)
#define ROOT_UUID "0f3c3f4e-1a2b-4c5d-8e9f-0123456789ab"

static int make_images(struct fixture *f) {
        char tmpl[] = "/tmp/slipway-test-inspect.XXXXXX";
        if (!mkdtemp(tmpl))
                return -errno;
        f->dir = xstrdup(tmpl);
        _cleanup_free_ char *tree = path_join(f->dir, "tree");
        f->raw = path_join(f->dir, "disk.raw");
        f->qcow2 = path_join(f->dir, "disk.qcow2");
        f->qcow2_zstd = path_join(f->dir, "disk-zstd.qcow2");
        f->vhd_fixed = path_join(f->dir, "disk-fixed.vhd");
        f->vhd_dynamic = path_join(f->dir, "disk-dynamic.vhd");
        f->raw_size = DISK_SIZE;

        if (put(tree, "etc/os-release", "NAME=\"Test\"\nPRETTY_NAME=\"Test Linux 1 (unit)\"\nID=test\n") < 0 ||
            put(tree, "boot/vmlinuz-1.2.3-test", "not a kernel") < 0 ||
            put(tree, "boot/vmlinuz-1.2.10-test", "not a kernel either") < 0 ||
            put(tree, "boot/grub/grub.cfg", "menuentry x {\n  linux /boot/vmlinuz-1.2.3-test root=UUID=" ROOT_UUID " console=ttyS0,115200n8\n}\n") < 0 ||
            put(tree, "etc/machine-id", "0123456789abcdef0123456789abcdef\n") < 0 ||
            put(tree, "var/lib/dpkg/status",
                "Package: a\nStatus: install ok installed\n\nPackage: b\nStatus: deinstall ok config-files\n\n"
                "Package: c\nStatus: install ok installed\n\nPackage: d\nStatus: install ok installed\n") < 0)
                return -EIO;
        _cleanup_free_ char *efi = path_join(f->dir, "BOOTX64.EFI");
        if (write_file(efi, "MZ-fake-loader", 14, 0644) < 0)
                return -EIO;

        _cleanup_free_ char *size = xasprintf("%" PRIu64, (uint64_t)DISK_SIZE);
        int r;
        if ((r = run((char *[]){ "truncate", "-s", size, f->raw, NULL })) < 0)
                return r;
        if ((r = run_stdin((char *[]){ "sfdisk", "-q", f->raw, NULL },
                           "label: gpt\nstart=2048, size=16384, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n"
                           "start=18432, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709\n")) < 0)
                return r;
        if ((r = run((char *[]){ "mkfs.vfat", "-n", "ESP", "-i", "12345678", "--offset", "2048", f->raw, "8192", NULL })) < 0)
                return r;
        _cleanup_free_ char *mimg = xasprintf("%s@@%" PRIu64, f->raw, (uint64_t)ESP_START);
        if ((r = run((char *[]){ "mmd", "-i", mimg, "::/EFI", "::/EFI/BOOT", NULL })) < 0 ||
            (r = run((char *[]){ "mcopy", "-i", mimg, efi, "::/EFI/BOOT/BOOTX64.EFI", NULL })) < 0)
                return r;
        _cleanup_free_ char *eopt = xasprintf("offset=%" PRIu64, (uint64_t)ROOT_START);
        _cleanup_free_ char *fssize = xasprintf("%" PRIu64 "k", (uint64_t)(DISK_SIZE - ROOT_START - 1 * MiB) / 1024);
        if ((r = run((char *[]){ "mkfs.ext4", "-q", "-F", "-U", ROOT_UUID, "-L", "root", "-d", tree, "-E", eopt, f->raw, fssize, NULL })) < 0)
                return r;
        if ((r = run((char *[]){ "qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", f->raw, f->qcow2, NULL })) < 0 ||
            (r = run((char *[]){ "qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "-o", "compression_type=zstd", f->raw, f->qcow2_zstd, NULL })) < 0 ||
            (r = run((char *[]){ "qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed,force_size=on", f->raw, f->vhd_fixed, NULL })) < 0 ||
            (r = run((char *[]){ "qemu-img", "convert", "-f", "raw", "-O", "vpc", "-o", "subformat=dynamic,force_size=on", f->raw, f->vhd_dynamic, NULL })) < 0)
                return r;
        return 0;
}

static int setup(void **state) {
        struct fixture *f = xcalloc(1, sizeof *f);
        log_set_level(LOG_ERR);
        _cleanup_free_ char *a = find_program("qemu-img"), *b = find_program("mkfs.ext4"), *c = find_program("sfdisk"),
                            *d = find_program("mkfs.vfat"), *e = find_program("mcopy");
        f->have_tools = a && b && c && d && e;
        if (f->have_tools && make_images(f) < 0) {
                fprintf(stderr, "cannot make the test images\n");
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state) {
        struct fixture *f = *state;
        if (f->dir)
                rm_rf(f->dir);
        free(f->dir);
        free(f->raw);
        free(f->qcow2);
        free(f->qcow2_zstd);
        free(f->vhd_fixed);
        free(f->vhd_dynamic);
        free(f);
        return 0;
}

static int inspect_path(const char *path, struct image_info *info, struct image_reader **ret_reader) {
        struct image_reader *r = NULL;
        memset(info, 0, sizeof *info);
        int k = image_reader_open(path, &r);
        if (k < 0)
                return k;
        k = image_inspect(r, info);
        if (ret_reader && k >= 0)
                *ret_reader = r;
        else {
                image_info_done(info);
                image_reader_free(r);
        }
        return k;
}

static void check_values(const char *path, enum image_format format) {
        struct image_info info;
        struct image_reader *r = NULL;
        assert_int_equal(inspect_path(path, &info, &r), 0);
        assert_int_equal(info.format, format);
        assert_true(info.virtual_size == DISK_SIZE);
        assert_string_equal(info.table, "gpt");
        assert_int_equal(info.n_partitions, 2);
        assert_true(info.partitions[0].is_esp);
        assert_true(info.partitions[0].start == ESP_START);
        assert_string_equal(info.partitions[0].fs_type, "vfat");
        assert_string_equal(info.partitions[0].fs_uuid, "1234-5678");
        assert_string_equal(info.partitions[1].fs_type, "ext4");
        assert_string_equal(info.partitions[1].fs_uuid, ROOT_UUID);
        assert_string_equal(info.partitions[1].fs_label, "root");
        assert_true(info.efi_loader);
        assert_true(info.efi_loader_size == 14);
        assert_false(info.mbr_boot_code);
        assert_non_null(info.root);
        assert_string_equal(info.os_pretty_name, "Test Linux 1 (unit)");
        assert_int_equal(strv_length(info.kernels), 2);
        assert_int_equal(info.package_count, 3);
        assert_true(info.fs_used > 0 && info.fs_used < info.fs_size);

        /* The same rules on the same content: not generalized (machine-id), no initrd. */
        struct azure_report rep;
        assert_int_equal(azure_verify(r, &info, &rep), 0);
        bool saw_machine_id = false;
        for (size_t i = 0; i < rep.n; i++)
                if (strcmp(rep.results[i].name, "generalize.machine-id") == 0) {
                        saw_machine_id = true;
                        assert_int_equal(rep.results[i].status, RULE_FAIL);
                }
        assert_true(saw_machine_id);
        assert_true(rep.failed > 0);
        azure_report_done(&rep);
        json_object *j = image_info_to_json(&info);
        assert_non_null(j);
        json_object_put(j);
        image_info_done(&info);
        image_reader_free(r);
}

static void test_formats(void **state) {
        struct fixture *f = *state;
        if (!f->have_tools)
                skip();
        check_values(f->raw, IMAGE_FORMAT_RAW);
        check_values(f->qcow2, IMAGE_FORMAT_QCOW2);
        check_values(f->qcow2_zstd, IMAGE_FORMAT_QCOW2);
        check_values(f->vhd_fixed, IMAGE_FORMAT_VHD_FIXED);
        check_values(f->vhd_dynamic, IMAGE_FORMAT_VHD_DYNAMIC);
}

/* Every container reads back byte-identical to the raw disk. */
static void test_readback(void **state) {
        struct fixture *f = *state;
        if (!f->have_tools)
                skip();
        const char *paths[] = { f->qcow2, f->qcow2_zstd, f->vhd_fixed, f->vhd_dynamic };
        _cleanup_image_reader_ struct image_reader *raw = NULL;
        assert_int_equal(image_reader_open(f->raw, &raw), 0);
        _cleanup_free_ uint8_t *a = xmalloc(1 * MiB), *b = xmalloc(1 * MiB);
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_image_reader_ struct image_reader *r = NULL;
                assert_int_equal(image_reader_open(paths[i], &r), 0);
                assert_true(r->size == raw->size);
                for (uint64_t off = 0; off < raw->size; off += 1 * MiB - 4097) {
                        size_t n = (size_t)MIN((uint64_t)(1 * MiB), raw->size - off);
                        assert_int_equal(image_pread(raw, a, n, off), 0);
                        assert_int_equal(image_pread(r, b, n, off), 0);
                        assert_memory_equal(a, b, n);
                }
                assert_int_equal(image_pread(r, a, 2, r->size - 1), -ERANGE);
        }
}

static char *copy_image(struct fixture *f, const char *src, const char *name, uint64_t truncate_to) {
        char *dst = path_join(f->dir, name);
        int in = open(src, O_RDONLY | O_CLOEXEC);
        int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(in >= 0 && out >= 0);
        struct stat st;
        assert_int_equal(fstat(in, &st), 0);
        uint64_t left = MIN((uint64_t)st.st_size, truncate_to);
        while (left > 0) {
                ssize_t k = copy_file_range(in, NULL, out, NULL, (size_t)MIN(left, (uint64_t)(64 * MiB)), 0);
                assert_true(k > 0);
                left -= (uint64_t)k;
        }
        close(in);
        close(out);
        return dst;
}

static void poke(const char *path, uint64_t offset, const void *bytes, size_t n) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(pwrite(fd, bytes, n, (off_t)offset), (ssize_t)n);
        close(fd);
}

static uint64_t file_size(const char *p) {
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        return (uint64_t)st.st_size;
}

static void expect_error(const char *path) {
        struct image_info info;
        int k = inspect_path(path, &info, NULL);
        if (k >= 0)
                fail_msg("%s: expected an error", path);
}

/* Bad input: each case must be a clean error (issue 7 lists these). */
static void test_bad_inputs(void **state) {
        struct fixture *f = *state;
        if (!f->have_tools)
                skip();
        size_t cases = 0;
        /* empty file, directory, missing file, random bytes */
        _cleanup_free_ char *empty = path_join(f->dir, "empty.img");
        assert_int_equal(write_file(empty, "", 0, 0644), 0);
        expect_error(empty), cases++;
        expect_error(f->dir), cases++;
        _cleanup_free_ char *missing = path_join(f->dir, "missing.img");
        expect_error(missing), cases++;
        _cleanup_free_ char *rnd = path_join(f->dir, "random.img");
        {
                _cleanup_free_ uint8_t *buf = xmalloc(3 * MiB);
                uint32_t x = 12345;
                for (size_t i = 0; i < 3 * MiB; i++) {
                        x = x * 1103515245 + 12345;
                        buf[i] = (uint8_t)(x >> 16);
                }
                assert_int_equal(write_file(rnd, buf, 3 * MiB, 0644), 0);
        }
        expect_error(rnd), cases++;

        /* truncated copies of every format */
        const char *srcs[] = { f->raw, f->qcow2, f->qcow2_zstd, f->vhd_fixed, f->vhd_dynamic };
        for (size_t i = 0; i < ELEMENTSOF(srcs); i++) {
                uint64_t sz = file_size(srcs[i]);
                uint64_t cuts[] = { 1, 100, 511, 4096, 70000, sz / 2 };
                for (size_t c = 0; c < ELEMENTSOF(cuts); c++) {
                        _cleanup_free_ char *name = xasprintf("trunc-%zu-%zu", i, c);
                        _cleanup_free_ char *p = copy_image(f, srcs[i], name, cuts[c]);
                        expect_error(p), cases++;
                        unlink(p);
                }
        }

        /* qcow2: corrupted header fields */
        struct { uint64_t off; uint8_t bytes[8]; size_t n; } q[] = {
                { 4, { 0, 0, 0, 9 }, 4 },                          /* version 9 */
                { 8, { 0, 0, 0, 0, 0, 0, 0x10, 0 }, 8 },           /* backing file */
                { 20, { 0, 0, 0, 40 }, 4 },                        /* cluster_bits 40 */
                { 24, { 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0 }, 8 }, /* absurd size */
                { 36, { 0, 0, 0, 0 }, 4 },                         /* L1 size 0 */
                { 40, { 0, 0, 0, 0x7f, 0, 0, 0, 0 }, 8 },          /* L1 offset beyond the file */
                { 72, { 0, 0, 0, 0, 0, 0, 0, 2 }, 8 },             /* "corrupt" bit */
        };
        for (size_t i = 0; i < ELEMENTSOF(q); i++) {
                _cleanup_free_ char *name = xasprintf("qcow2-bad-%zu", i);
                _cleanup_free_ char *p = copy_image(f, f->qcow2, name, UINT64_MAX);
                poke(p, q[i].off, q[i].bytes, q[i].n);
                expect_error(p), cases++;
                unlink(p);
        }
        /* VHD: bad footer checksum (inspect refuses; verify reports the rule) */
        {
                _cleanup_free_ char *p = copy_image(f, f->vhd_fixed, "vhd-bad-sum.vhd", UINT64_MAX);
                uint8_t x = 0x5a;
                poke(p, file_size(p) - 512 + 100, &x, 1);
                expect_error(p), cases++;
                _cleanup_fclose_ FILE *devnull = fopen("/dev/null", "w");
                assert_int_equal(azure_verify_image(p, false, devnull), 1);
                unlink(p);
        }
        /* dynamic VHD: bad dynamic-header cookie, BAT pointing outside the file */
        {
                _cleanup_free_ char *p = copy_image(f, f->vhd_dynamic, "vhd-bad-dyn.vhd", UINT64_MAX);
                poke(p, 512, "xxxxxxxx", 8);
                expect_error(p), cases++;
                unlink(p);
        }
        /* ext4: a superblock libblkid still recognises but libext2fs refuses
         * (block size 2^(10+64)) */
        {
                _cleanup_free_ char *p = copy_image(f, f->raw, "bad-ext4.raw", UINT64_MAX);
                uint8_t v[4] = { 64, 0, 0, 0 };
                poke(p, ROOT_START + 1024 + 24, v, sizeof v);   /* s_log_block_size */
                expect_error(p), cases++;
                unlink(p);
        }
        /* GPT: both headers damaged: a protective MBR without a GPT */
        {
                _cleanup_free_ char *p = copy_image(f, f->raw, "bad-gpt.raw", UINT64_MAX);
                poke(p, 512, "XXX PART", 8);
                poke(p, DISK_SIZE - 512, "XXX PART", 8);
                expect_error(p), cases++;
                unlink(p);
        }
        fprintf(stderr, "%zu bad-input cases\n", cases);
        assert_true(cases >= 20);
}

/* Random damage to the metadata regions: anything but a crash is fine.
 * One copy per image; each round pokes bytes and puts them back after. */
static void test_random_damage(void **state) {
        struct fixture *f = *state;
        if (!f->have_tools)
                skip();
        const char *srcs[] = { f->raw, f->qcow2, f->vhd_dynamic };
        uint32_t x = 42;
        for (size_t i = 0; i < ELEMENTSOF(srcs); i++) {
                _cleanup_free_ char *p = copy_image(f, srcs[i], "damaged.img", UINT64_MAX);
                uint64_t n = file_size(p);
                int fd = open(p, O_RDWR | O_CLOEXEC);
                assert_true(fd >= 0);
                for (int round = 0; round < 60; round++) {
                        uint64_t offs[8];
                        uint8_t saved[8];
                        for (int k = 0; k < 8; k++) {
                                x = x * 1103515245 + 12345;
                                uint64_t region = (x >> 8) % 4;
                                x = x * 1103515245 + 12345;
                                uint64_t base = region == 0 ? 0 : region == 1 ? ESP_START : region == 2 ? ROOT_START : n - 4096;
                                uint64_t off = MIN(base + (x >> 4) % 65536, n - 1);
                                if (i > 0 && region > 0)   /* containers: damage their own metadata */
                                        off = (x >> 4) % MIN(n, (uint64_t)(256 * KiB));
                                if (i > 0 && region == 3)  /* and the VHD footer */
                                        off = n - 1 - (x >> 4) % 512;
                                offs[k] = off;
                                assert_int_equal(pread(fd, &saved[k], 1, (off_t)off), 1);
                                uint8_t v = (uint8_t)(x >> 24);
                                assert_int_equal(pwrite(fd, &v, 1, (off_t)off), 1);
                        }
                        struct image_info info;
                        (void)inspect_path(p, &info, NULL);
                        _cleanup_fclose_ FILE *devnull = fopen("/dev/null", "w");
                        (void)azure_verify_image(p, true, devnull);
                        for (int k = 7; k >= 0; k--)
                                assert_int_equal(pwrite(fd, &saved[k], 1, (off_t)offs[k]), 1);
                }
                close(fd);
                unlink(p);
        }
}

/* An initramfs as initramfs-tools writes it: an uncompressed early cpio,
 * then a zstd-compressed main one. */
static void write_cpio(struct archive *a, const char *const *names) {
        for (size_t i = 0; names[i]; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, names[i]);
                archive_entry_set_mode(e, 0100644);
                archive_entry_set_size(e, 4);
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, "data", 4), 4);
                archive_entry_free(e);
        }
}

static void test_initramfs(void **state) {
        static const char *const early[] = { "kernel/x86/microcode/AuthenticAMD.bin", NULL };
        static const char *const main_[] = { "usr/lib/modules/6.1/kernel/drivers/hv/hv_vmbus.ko.xz",
                                             "usr/lib/modules/6.1/kernel/drivers/scsi/hv_storvsc.ko",
                                             "usr/lib/modules/6.1/kernel/drivers/net/hyperv/hv_netvsc.ko.zst",
                                             "usr/lib/modules/6.1/kernel/fs/nls/nls-cp437.ko", "init", NULL };
        size_t cap = 1 * MiB, used1 = 0, used2 = 0;
        _cleanup_free_ uint8_t *buf = xcalloc(1, cap);
        struct archive *a = archive_write_new();
        archive_write_set_format_cpio_newc(a);
        assert_int_equal(archive_write_open_memory(a, buf, cap, &used1), ARCHIVE_OK);
        write_cpio(a, early);
        archive_write_close(a);
        archive_write_free(a);
        a = archive_write_new();
        archive_write_set_format_cpio_newc(a);
        archive_write_add_filter_zstd(a);
        assert_int_equal(archive_write_open_memory(a, buf + used1 + 512, cap - used1 - 512, &used2), ARCHIVE_OK);
        write_cpio(a, main_);
        archive_write_close(a);
        archive_write_free(a);
        _cleanup_strv_free_ char **mods = NULL;
        assert_int_equal(initramfs_list_modules(buf, used1 + 512 + used2, &mods), 0);
        assert_true(strv_contains(mods, "hv_vmbus"));
        assert_true(strv_contains(mods, "hv_storvsc"));
        assert_true(strv_contains(mods, "hv_netvsc"));
        assert_true(strv_contains(mods, "nls_cp437"));
        assert_int_equal(strv_length(mods), 4);
        /* damaged: a truncated compressed part is an error, not a crash */
        _cleanup_strv_free_ char **m2 = NULL;
        assert_int_equal(initramfs_list_modules(buf, used1 + 512 + used2 / 2, &m2), -EBADMSG);
        _cleanup_strv_free_ char **m3 = NULL;
        assert_int_equal(initramfs_list_modules("07070100garbage", 15, &m3), -EBADMSG);
}

/* Read as a stream (issue 16 item 14): a gap of zeros longer than the
 * reader's 64 KiB pieces between the parts, and names given twice, once. */
static void test_initramfs_gap(void **state) {
        static const char *const early[] = { "kernel/x86/microcode/GenuineIntel.bin", "lib/firmware/a/hv_vmbus.ko", NULL };
        static const char *const main_[] = { "usr/lib/modules/6.1/kernel/drivers/hv/hv_vmbus.ko",
                                             "usr/lib/modules/6.1/kernel/drivers/scsi/hv_storvsc.ko", "init", NULL };
        size_t cap = 2 * MiB, used1 = 0, used2 = 0, gap = 300 * 1024 + 4;
        _cleanup_free_ uint8_t *buf = xcalloc(1, cap);
        struct archive *a = archive_write_new();
        archive_write_set_format_cpio_newc(a);
        assert_int_equal(archive_write_open_memory(a, buf, cap, &used1), ARCHIVE_OK);
        write_cpio(a, early);
        archive_write_close(a);
        archive_write_free(a);
        a = archive_write_new();
        archive_write_set_format_cpio_newc(a);
        archive_write_add_filter_gzip(a);
        assert_int_equal(archive_write_open_memory(a, buf + used1 + gap, cap - used1 - gap, &used2), ARCHIVE_OK);
        write_cpio(a, main_);
        archive_write_close(a);
        archive_write_free(a);
        _cleanup_strv_free_ char **mods = NULL;
        assert_int_equal(initramfs_list_modules(buf, used1 + gap + used2, &mods), 0);
        assert_int_equal(strv_length(mods), 2);
        assert_string_equal(mods[0], "hv_storvsc");
        assert_string_equal(mods[1], "hv_vmbus");
        /* only zeros after the early part: no modules there, not an error */
        _cleanup_strv_free_ char **m2 = NULL;
        assert_int_equal(initramfs_list_modules(buf, used1 + gap, &m2), 0);
        assert_int_equal(strv_length(m2), 1);
        /* a header cut by the end of the data */
        _cleanup_strv_free_ char **m3 = NULL;
        assert_int_equal(initramfs_list_modules(buf, 140, &m3), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_formats),
                cmocka_unit_test(test_readback),
                cmocka_unit_test(test_bad_inputs),
                cmocka_unit_test(test_random_damage),
                cmocka_unit_test(test_initramfs),
                cmocka_unit_test(test_initramfs_gap),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
