/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* The disk layout math (gpt_layout_plan), the ext4 size estimate, the
 * grub-bios-setup patches and the template expansion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "bootloader.h"
#include "build.h"
#include "fsimage.h"
#include "gpt_layout.h"
#include "util.h"

#define N_DEFAULT 3

static void default_parts(struct slw_partition p[N_DEFAULT]) {
        memset(p, 0, sizeof(struct slw_partition) * N_DEFAULT);
        p[0] = (struct slw_partition){ .type = PART_BIOS_BOOT, .size = MiB };
        p[1] = (struct slw_partition){ .type = PART_ESP, .size = 64 * MiB, .fs = FS_VFAT };
        p[2] = (struct slw_partition){ .type = PART_ROOT, .size_auto = true, .fs = FS_EXT4 };
}

static int plan_for(struct slw_partition *parts, size_t n, uint64_t disk, uint64_t required, uint64_t headroom,
                    struct disk_plan *plan, struct gpt_layout_error *err) {
        struct gpt_layout_input in = { .disk_size = disk, .root_headroom = headroom, .root_required = required,
                                       .parts = parts, .n_parts = n };
        memset(plan, 0, sizeof(*plan));
        return gpt_layout_plan(&in, plan, err);
}

static void assert_aligned(const struct disk_plan *plan) {
        assert_int_equal(plan->disk_size % MiB, 0);
        uint64_t prev_end = MiB;
        for (size_t i = 0; i < plan->n_parts; i++) {
                assert_int_equal(plan->parts[i].offset % MiB, 0);
                assert_int_equal(plan->parts[i].size % MiB, 0);
                assert_true(plan->parts[i].offset >= prev_end);
                assert_int_equal(plan->parts[i].number, i + 1);
                prev_end = plan->parts[i].offset + plan->parts[i].size;
        }
        /* the backup GPT (33 sectors) fits behind the last partition */
        assert_true(prev_end + 33 * 512 <= plan->disk_size);
}

static void test_auto_everything(void **state) {
        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        /* 300 MiB content: headroom is 20 % = 60 MiB < 64 MiB, so 64 MiB */
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 300 * MiB, 0, &plan, &err), 0);
        assert_int_equal(plan.n_parts, 3);
        assert_int_equal(plan.parts[0].offset, MiB);
        assert_int_equal(plan.parts[0].size, MiB);
        assert_int_equal(plan.parts[1].offset, 2 * MiB);
        assert_int_equal(plan.parts[1].size, 64 * MiB);
        assert_int_equal(plan.parts[2].offset, 66 * MiB);
        assert_int_equal(plan.parts[2].size, 364 * MiB);
        assert_int_equal(plan.disk_size, 431 * MiB);   /* 1 + 1 + 64 + 364 + 1 */
        assert_int_equal(plan.root_index, 2);
        assert_int_equal(plan.esp_index, 1);
        assert_int_equal(plan.bios_index, 0);
        assert_ptr_equal(plan.parts[2].spec, &parts[2]);
        assert_aligned(&plan);
}

static void test_headroom(void **state) {
        assert_int_equal(gpt_root_headroom(100 * MiB, 0), 64 * MiB);
        assert_int_equal(gpt_root_headroom(1000 * MiB, 0), 200 * MiB);
        assert_int_equal(gpt_root_headroom(1000 * MiB, 5 * MiB), 5 * MiB);

        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        /* 1000 MiB + 1 byte: 20 % headroom, rounded up to a whole MiB */
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 1000 * MiB + 1, 0, &plan, &err), 0);
        assert_int_equal(plan.parts[2].size, ALIGN_UP(1000 * MiB + 1 + (1000 * MiB + 1) / 5, MiB));
        assert_aligned(&plan);
        /* explicit headroom */
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 100 * MiB, 10 * MiB, &plan, &err), 0);
        assert_int_equal(plan.parts[2].size, 110 * MiB);
}

static void test_fixed_disk_root_takes_rest(void **state) {
        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        assert_int_equal(plan_for(parts, N_DEFAULT, 30 * GiB, 300 * MiB, 0, &plan, &err), 0);
        assert_int_equal(plan.disk_size, 30 * GiB);
        assert_int_equal(plan.parts[2].size, 30 * GiB - 67 * MiB);
        assert_int_equal(plan.parts[2].offset + plan.parts[2].size, 30 * GiB - MiB);
        assert_aligned(&plan);
}

static void test_fixed_disk_too_small(void **state) {
        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        assert_int_equal(plan_for(parts, N_DEFAULT, 200 * MiB, 300 * MiB, 0, &plan, &err), -ENOSPC);
        assert_int_equal(err.part_index, -1);
        assert_non_null(strstr(err.message, "200.0 MiB"));
        assert_non_null(strstr(err.message, "300.0 MiB"));
        /* not a multiple of 1 MiB */
        assert_int_equal(plan_for(parts, N_DEFAULT, 30 * GiB + 512, 300 * MiB, 0, &plan, &err), -EINVAL);
        assert_non_null(strstr(err.message, "multiple of 1 MiB"));
}

static void test_fixed_root(void **state) {
        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        parts[2].size_auto = false;
        parts[2].size = 2 * GiB;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 300 * MiB, 0, &plan, &err), 0);
        assert_int_equal(plan.parts[2].size, 2 * GiB);
        assert_int_equal(plan.disk_size, 2 * GiB + 67 * MiB);
        /* fixed disk + fixed root: the rest stays unpartitioned */
        assert_int_equal(plan_for(parts, N_DEFAULT, 4 * GiB, 300 * MiB, 0, &plan, &err), 0);
        assert_int_equal(plan.disk_size, 4 * GiB);
        assert_int_equal(plan.parts[2].size, 2 * GiB);
        /* ... which must still fit */
        assert_int_equal(plan_for(parts, N_DEFAULT, 2 * GiB, 300 * MiB, 0, &plan, &err), -ENOSPC);
        /* a fixed root smaller than the tree */
        parts[2].size = 200 * MiB;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 300 * MiB, 0, &plan, &err), -EINVAL);
        assert_int_equal(err.part_index, 2);
        assert_non_null(strstr(err.message, "smaller than the tree needs"));
        assert_non_null(strstr(err.message, "209715200"));
}

static void test_rounding(void **state) {
        struct slw_partition parts[N_DEFAULT];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        parts[0].size = 1000;                 /* 1000 bytes -> 1 MiB */
        parts[1].size = 100 * MiB + 1;        /* -> 101 MiB */
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 50 * MiB, 0, &plan, &err), 0);
        assert_int_equal(plan.parts[0].size, MiB);
        assert_int_equal(plan.parts[1].size, 101 * MiB);
        assert_aligned(&plan);
}

static void test_errors(void **state) {
        struct slw_partition parts[N_DEFAULT + 1];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        /* ESP too small */
        parts[1].size = 4 * MiB;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        assert_int_equal(err.part_index, 1);
        assert_non_null(strstr(err.message, "ESP of 4.0 MiB is too small"));
        /* no root */
        default_parts(parts);
        assert_int_equal(plan_for(parts, 2, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        assert_non_null(strstr(err.message, "no root"));
        /* no partitions */
        assert_int_equal(plan_for(parts, 0, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        /* two roots */
        parts[3] = parts[2];
        assert_int_equal(plan_for(parts, 4, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        assert_int_equal(err.part_index, 3);
        /* auto on a non-root partition */
        default_parts(parts);
        parts[1].size_auto = true;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        assert_int_equal(err.part_index, 1);
        /* size 0 */
        default_parts(parts);
        parts[0].size = 0;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 50 * MiB, 0, &plan, &err), -EINVAL);
        /* too many partitions */
        struct slw_partition many[17];
        memset(many, 0, sizeof(many));
        for (size_t i = 0; i < 17; i++)
                many[i] = (struct slw_partition){ .type = PART_LINUX, .size = MiB };
        assert_int_equal(plan_for(many, 17, 0, 50 * MiB, 0, &plan, &err), -E2BIG);
        /* absurd sizes do not overflow */
        default_parts(parts);
        parts[1].size = UINT64_MAX;
        assert_int_equal(plan_for(parts, N_DEFAULT, 0, 50 * MiB, 0, &plan, &err), -ERANGE);
}

static void test_extra_partition_after_root(void **state) {
        struct slw_partition parts[4];
        struct disk_plan plan;
        struct gpt_layout_error err;
        default_parts(parts);
        parts[3] = (struct slw_partition){ .type = PART_LINUX, .size = 10 * MiB, .fs = FS_EXT4 };
        assert_int_equal(plan_for(parts, 4, 1 * GiB, 100 * MiB, 0, &plan, &err), 0);
        /* the auto root takes what the others leave, the extra partition follows it */
        assert_int_equal(plan.parts[2].size, 1 * GiB - 2 * MiB - 65 * MiB - 10 * MiB);
        assert_int_equal(plan.parts[3].offset + plan.parts[3].size, 1 * GiB - MiB);
        assert_aligned(&plan);
}

static void test_ext4_estimate(void **state) {
        struct tree_usage u = { .data_bytes = 320 * MiB, .n_inodes = 12000, .n_files = 10000 };
        uint64_t req = ext4_required_bytes(&u);
        assert_int_equal(req % MiB, 0);
        /* data + journal (16 MiB) + inode tables + 5 % */
        assert_true(req > 320 * MiB + 16 * MiB);
        assert_true(req < 420 * MiB);
        /* many small files: the inode tables follow the inode count */
        struct tree_usage many = { .data_bytes = 10 * MiB, .n_inodes = 200000 };
        assert_true(ext4_required_bytes(&many) > 200000 * 256);
        assert_int_equal(ext4_inode_count(&many, 100 * MiB), 200000 + 50000 + 1024);
        assert_int_equal(ext4_inode_count(&u, 1 * GiB), GiB / 16384);
}

static void test_patch_mbr(void **state) {
        uint8_t boot[512], mbr[512];
        for (size_t i = 0; i < 512; i++) {
                boot[i] = (uint8_t)(i & 0x7f);
                mbr[i] = 0xcc;
        }
        boot[510] = 0x55;
        boot[511] = 0xaa;
        assert_int_equal(grub_patch_mbr(mbr, boot, sizeof(boot), 2048), 0);
        assert_int_equal(mbr[0], 0);                 /* code from boot.img */
        assert_int_equal(mbr[0x02], 0x02);
        assert_int_equal(mbr[0x03], 0xcc);           /* BPB kept */
        assert_int_equal(mbr[0x59], 0xcc);
        assert_int_equal(mbr[0x5a], 0x5a);
        assert_int_equal(mbr[0x5c], 0x00);           /* 2048 = 0x800 LE */
        assert_int_equal(mbr[0x5d], 0x08);
        for (int i = 0x5e; i < 0x64; i++)
                assert_int_equal(mbr[i], 0);
        assert_int_equal(mbr[0x64], 0xff);
        assert_int_equal(mbr[0x66], 0x90);
        assert_int_equal(mbr[0x67], 0x90);
        assert_int_equal(mbr[0x1b7], 0x37);
        for (int i = 0x1b8; i < 512; i++)            /* signature, table, 0x55aa kept */
                assert_int_equal(mbr[i], 0xcc);
        boot[511] = 0;
        assert_int_equal(grub_patch_mbr(mbr, boot, sizeof(boot), 2048), -EINVAL);
        assert_int_equal(grub_patch_mbr(mbr, boot, 440, 2048), -EINVAL);
}

static void test_patch_core(void **state) {
        /* diskboot.S: the last blocklist entry is u64 start at 0x1f4, u16
         * sector count at 0x1fc, u16 load segment at 0x1fe */
        uint8_t core[512 * 4] = { 0 };
        core[0x1fe] = 0x20;   /* segment 0x820 stays */
        core[0x1ff] = 0x08;
        assert_int_equal(grub_patch_core(core, 512 * 3 + 100, 2048), 0);
        assert_int_equal(core[0x1f4], 0x01);          /* 2049 */
        assert_int_equal(core[0x1f5], 0x08);
        for (int i = 0x1f6; i < 0x1fc; i++)
                assert_int_equal(core[i], 0);
        assert_int_equal(core[0x1fc], 3);             /* 4 sectors - 1 */
        assert_int_equal(core[0x1fd], 0);
        assert_int_equal(core[0x1fe], 0x20);
        assert_int_equal(core[0x1ff], 0x08);
        assert_int_equal(grub_patch_core(core, 100, 2048), -EINVAL);
}

static void test_template(void **state) {
        const char *keys[] = { "ROOT_UUID", "CMDLINE" };
        const char *values[] = { "abcd", "ro console=ttyS0" };
        char *out = NULL;
        assert_int_equal(template_expand("search @ROOT_UUID@\nlinux /v @CMDLINE@ mail@example.com\n", keys, values, 2, &out), 0);
        assert_string_equal(out, "search abcd\nlinux /v ro console=ttyS0 mail@example.com\n");
        free(out);
        out = NULL;
        assert_int_equal(template_expand("@NOPE@", keys, values, 2, &out), -EINVAL);
        assert_null(out);
}

static void test_type_guids(void **state) {
        assert_string_equal(gpt_type_guid(PART_ESP), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
        assert_string_equal(gpt_type_guid(PART_BIOS_BOOT), "21686148-6449-6E6F-744E-656564454649");
        assert_string_equal(gpt_type_guid(PART_ROOT), "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709");
}

/* The immutable layout: slot B is a second root partition the plan accepts;
 * root_index is slot A; a second root outside slot B is still an error. */
static void test_immutable_slots(void **state) {
        struct slw_partition p[6] = {
                { .type = PART_ESP, .size = 256 * MiB, .fs = FS_VFAT, .slot = -1 },
                { .type = PART_ROOT, .size = 300 * MiB, .fs = FS_EROFS, .slot = 0 },
                { .type = PART_ROOT_VERITY, .size = 3 * MiB, .slot = 0 },
                { .type = PART_ROOT, .size = 300 * MiB, .slot = 1 },
                { .type = PART_ROOT_VERITY, .size = 3 * MiB, .slot = 1 },
                { .type = PART_VAR, .size = 64 * MiB, .fs = FS_EXT4, .slot = -1 },
        };
        struct disk_plan plan;
        struct gpt_layout_error err;
        assert_int_equal(plan_for(p, 6, 0, 0, 0, &plan, &err), 0);
        assert_aligned(&plan);
        assert_int_equal(plan.root_index, 1);
        assert_int_equal(plan.esp_index, 0);
        assert_int_equal(plan.parts[3].size, plan.parts[1].size);
        assert_int_equal(plan.disk_size, (2 + 256 + 300 + 3 + 300 + 3 + 64) * MiB);
        assert_string_equal(gpt_type_guid(PART_ROOT_VERITY), "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5");
        assert_string_equal(gpt_type_guid(PART_VAR), "4D21B016-B534-45C2-A9FB-5C16E091FD2D");
        p[3].slot = 0;
        assert_int_equal(plan_for(p, 6, 0, 0, 0, &plan, &err), -EINVAL);
        assert_int_equal(err.part_index, 3);
        assert_non_null(strstr(err.message, "a second root partition"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_auto_everything),
                cmocka_unit_test(test_headroom),
                cmocka_unit_test(test_fixed_disk_root_takes_rest),
                cmocka_unit_test(test_fixed_disk_too_small),
                cmocka_unit_test(test_fixed_root),
                cmocka_unit_test(test_rounding),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_extra_partition_after_root),
                cmocka_unit_test(test_ext4_estimate),
                cmocka_unit_test(test_patch_mbr),
                cmocka_unit_test(test_patch_core),
                cmocka_unit_test(test_template),
                cmocka_unit_test(test_type_guids),
                cmocka_unit_test(test_immutable_slots),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
