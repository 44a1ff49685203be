/* SPDX-License-Identifier: MIT */
/* The whole configure stage on a copy of a real Debian tree, with a
 * hand-built Azure-like profile: the driver of
 * tests/integration/test-configure-ref, which makes the writable copy and
 * names it in SLIPWAY_CONFIGURE_TREE.  Needs root.  Not a unit test (it was
 * one, and passed without running when the tree was not given); built by
 * the Makefile as build/tests/configure-ref-driver, with ASan and UBSan. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "build.h"
#include "chroot_run.h"
#include "log.h"
#include "util.h"

__attribute__((weak)) void build_record_change(struct build_ctx *ctx, const char *what, const char *where, const char *origin_path) {
        fprintf(stderr, "change: %s %s (%s)\n", what, where, origin_path);
}

static char *tree_file(const char *tree, const char *rel) {
        char *p = path_join(tree, rel), *data = NULL;
        if (read_file(p, &data, NULL) < 0)
                data = NULL;
        free(p);
        return data;
}

static void test_stage_on_ref_tree(void **state) {
        const char *tree = getenv("SLIPWAY_CONFIGURE_TREE");
        if (!tree || !getenv("SLIPWAY_CONFIGURE_KVER"))
                fail_msg("SLIPWAY_CONFIGURE_TREE and SLIPWAY_CONFIGURE_KVER are not set: run tests/integration/test-configure-ref");
        if (geteuid() != 0)
                fail_msg("needs root (chroot, mounts)");
        log_set_level(LOG_INFO);

        char *enable[] = { (char *)"ssh.service", NULL };
        char *mask[] = { (char *)"apt-daily.timer", NULL };
        char *cmdline[] = { (char *)"console=ttyS0", (char *)"earlyprintk=ttyS0", (char *)"rootdelay=300", NULL };
        char *mods[] = { (char *)"hv_vmbus", (char *)"hv_storvsc", (char *)"hv_netvsc", (char *)"nvme", NULL };
        char *allow[] = { (char *)"drivers/hv/*", (char *)"drivers/scsi/*", (char *)"drivers/net/*", (char *)"drivers/nvme/*",
                          (char *)"fs/*", (char *)"drivers/block/*", (char *)"drivers/cdrom/*", (char *)"net/*", (char *)"lib/*",
                          (char *)"crypto/*", (char *)"drivers/virtio/*", (char *)"drivers/char/*", (char *)"drivers/input/*",
                          (char *)"drivers/hid/*", (char *)"drivers/ptp/*", (char *)"drivers/pci/*", (char *)"drivers/md/*", NULL };
        char *keys[] = { (char *)"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDummyKeyForTests azureuser@test", NULL };
        char *ugroups[] = { (char *)"sudo", NULL };
        struct slw_file files[] = { {
                .path = (char *)"/etc/ssh/sshd_config.d/50-azure.conf", .content = (char *)"ClientAliveInterval 180\n",
                .mode = 0644, .origin_path = (char *)"files[0]",
        } };
        struct slw_user users[] = { {
                .name = (char *)"azureuser", .uid = -1, .gid = -1, .ssh_authorized_keys = keys, .groups = ugroups,
                .origin_path = (char *)"users[0]",
        } };
        struct slw_group groups[] = { { .name = (char *)"sudo", .gid = -1, .system = true, .origin_path = (char *)"groups[0]" } };
        struct slw_profile p = {
                .name = (char *)"azure-test", .version = (char *)"1",
                .systemd = { .enable = enable, .mask = mask, .default_target = (char *)"multi-user.target" },
                .kernel = { .cmdline = cmdline, .initramfs_modules = mods },
                .files = files, .n_files = 1, .users = users, .n_users = 1, .groups = groups, .n_groups = 1,
                .hostname = (char *)"azure-base", .locale = (char *)"C.UTF-8", .timezone = (char *)"Etc/UTC",
                .prune = { .docs = true, .keep_locales = (char *[]){ NULL }, .kernel_modules = allow, .caches = true },
                .generalize = true,
        };
        struct slw_partition parts[] = { { .type = PART_BIOS_BOOT }, { .type = PART_ESP, .fs = FS_VFAT }, { .type = PART_ROOT, .fs = FS_EXT4 } };
        struct build_ctx ctx = { .profile = &p, .tree = (char *)tree, .epoch = 1767225600, .cache_dir = getenv("SLIPWAY_CONFIGURE_CACHE") };
        ctx.enabled_outputs[OUT_RAW] = true;   /* fstab is written for images with a disk */
        ctx.plan.n_parts = 3;
        ctx.plan.root_index = 2;
        ctx.plan.esp_index = 1;
        ctx.plan.bios_index = 0;
        for (int i = 0; i < 3; i++)
                ctx.plan.parts[i].spec = &parts[i];
        strcpy(ctx.plan.parts[1].fs_uuid, "1A2B-3C4D");
        strcpy(ctx.plan.parts[2].fs_uuid, "0b7e3c1e-5a4f-4d0e-9c1a-2b3c4d5e6f70");

        uint64_t t0 = now_usec();
        assert_int_equal(stage_configure(&ctx), 0);
        fprintf(stderr, "stage_configure: %.2f s\n", (double)(now_usec() - t0) / 1e6);

        char *fstab = tree_file(tree, "etc/fstab");
        assert_non_null(fstab);
        assert_non_null(strstr(fstab, "UUID=0b7e3c1e-5a4f-4d0e-9c1a-2b3c4d5e6f70 / ext4 defaults,errors=remount-ro 0 1\n"));
        assert_non_null(strstr(fstab, "UUID=1A2B-3C4D /boot/efi vfat umask=0077 0 2\n"));
        free(fstab);

        struct stat st;
        char *mid = path_join(tree, "etc/machine-id");
        assert_int_equal(stat(mid, &st), 0);
        assert_int_equal(st.st_size, 0);
        free(mid);
        char *keysdir = path_join(tree, "etc/ssh/ssh_host_ed25519_key");
        assert_int_equal(lstat(keysdir, &st), -1);
        free(keysdir);

        char *shadow = tree_file(tree, "etc/shadow");
        assert_true(strstr(shadow, "root:*:") || strstr(shadow, "root:!"));
        assert_non_null(strstr(shadow, "azureuser:!:20454:"));
        free(shadow);
        char *passwd = tree_file(tree, "etc/passwd");
        assert_non_null(strstr(passwd, "azureuser:x:1000:1000::/home/azureuser:/bin/bash\n"));
        free(passwd);
        char *ak = path_join(tree, "home/azureuser/.ssh/authorized_keys");
        assert_int_equal(stat(ak, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_uid, 1000);
        free(ak);
        char *hosts = tree_file(tree, "etc/hosts");
        assert_non_null(strstr(hosts, "127.0.1.1\tazure-base\n"));
        free(hosts);
        char *cl = tree_file(tree, "etc/kernel/cmdline");
        assert_string_equal(cl, "console=ttyS0 earlyprintk=ttyS0 rootdelay=300\n");
        free(cl);
        char *masked = path_join(tree, "etc/systemd/system/apt-daily.timer"), buf[64] = "";
        assert_true(readlink(masked, buf, sizeof(buf) - 1) > 0);
        assert_string_equal(buf, "/dev/null");
        free(masked);

        /* The initramfs, listed by the image's own lsinitramfs. */
        char *initrd = xasprintf("/boot/initrd.img-%s", getenv("SLIPWAY_CONFIGURE_KVER"));
        char *argv[] = { (char *)"lsinitramfs", initrd, NULL };
        char *out = NULL;
        assert_int_equal(chroot_run(tree, argv, &(struct chroot_run_opts){ .capture_stdout = true, .out = &out }), 0);
        assert_non_null(strstr(out, "/hv_vmbus.ko"));
        assert_non_null(strstr(out, "/hv_storvsc.ko"));
        assert_non_null(strstr(out, "/hv_netvsc.ko"));
        /* nvme is built into Debian's cloud kernel: modules.builtin lists it. */
        assert_non_null(strstr(out, "modules.builtin"));
        free(out);
        free(initrd);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_stage_on_ref_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
