/* SPDX-License-Identifier: MIT */
/* Test driver for the disk and bootloader stages, until stage_resolve and
 * the profile loader are merged: builds a struct build_ctx by hand (a
 * minimal profile in C, identities via derive_uuid as stage_resolve will),
 * runs stage_disk + stage_bootloader on TREE and writes OUT.  Prints the
 * plan as shell-readable KEY=VALUE lines for the test scripts.
 *
 *   disk-driver TREE OUT [--no-bios] [--no-uefi] [--disk-size BYTES]
 *               [--root-size BYTES] [--esp-size BYTES] [--epoch N]
 *               [--secure-boot] [--no-fstab]
 *
 * It writes TREE/etc/fstab (root by UUID, ESP at /boot/efi) unless
 * --no-fstab: the configure stage's job in a real build. */
#include "build.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t arg_u64(const char *s) {
        uint64_t v = 0;
        if (parse_size(s, &v) < 0) {
                fprintf(stderr, "bad number %s\n", s);
                exit(2);
        }
        return v;
}

int main(int argc, char **argv) {
        spawn_install_signal_handlers();
        if (argc < 3) {
                fprintf(stderr, "usage: %s TREE OUT [options]\n", argv[0]);
                return 2;
        }
        struct slw_partition parts[3] = {
                { .type = PART_BIOS_BOOT, .size = MiB, .fs = FS_NONE, .origin_path = (char *)"disk.partitions[0]" },
                { .type = PART_ESP, .size = 64 * MiB, .fs = FS_VFAT, .origin_path = (char *)"disk.partitions[1]" },
                { .type = PART_ROOT, .size_auto = true, .fs = FS_EXT4, .origin_path = (char *)"disk.partitions[2]" },
        };
        char *cmdline[] = { (char *)"console=ttyS0", NULL };
        struct slw_profile prof = { .name = (char *)"disk-test", .version = (char *)"1" };
        prof.kernel.cmdline = cmdline;
        prof.bootloader.bios = prof.bootloader.uefi = prof.bootloader.serial = true;
        prof.bootloader.timeout = 1;
        prof.disk.partitions = parts;
        prof.disk.n_partitions = 3;
        uint64_t epoch = 1700000000;
        bool fstab = true;
        for (int i = 3; i < argc; i++) {
                if (strcmp(argv[i], "--no-bios") == 0)
                        prof.bootloader.bios = false;
                else if (strcmp(argv[i], "--no-uefi") == 0)
                        prof.bootloader.uefi = false;
                else if (strcmp(argv[i], "--secure-boot") == 0)
                        prof.bootloader.secure_boot = true;
                else if (strcmp(argv[i], "--no-fstab") == 0)
                        fstab = false;
                else if (i + 1 < argc && strcmp(argv[i], "--disk-size") == 0)
                        prof.disk.size = arg_u64(argv[++i]);
                else if (i + 1 < argc && strcmp(argv[i], "--root-size") == 0) {
                        parts[2].size_auto = false;
                        parts[2].size = arg_u64(argv[++i]);
                } else if (i + 1 < argc && strcmp(argv[i], "--esp-size") == 0)
                        parts[1].size = arg_u64(argv[++i]);
                else if (i + 1 < argc && strcmp(argv[i], "--epoch") == 0)
                        epoch = arg_u64(argv[++i]);
                else {
                        fprintf(stderr, "unknown option %s\n", argv[i]);
                        return 2;
                }
        }

        struct build_ctx ctx = { .profile = &prof, .epoch = epoch };
        ctx.tree = argv[1];
        ctx.raw_tmp = argv[2];
        derive_init(&ctx.derive, prof.name, prof.version, epoch);
        struct disk_plan *plan = &ctx.plan;
        derive_uuid(&ctx.derive, "disk", plan->disk_uuid);
        for (size_t i = 0; i < prof.disk.n_partitions; i++) {
                struct planned_partition *pp = &plan->parts[i];
                char purpose[64];
                pp->spec = &parts[i];
                pp->number = (unsigned)i + 1;
                snprintf(purpose, sizeof(purpose), "partition-%zu", i + 1);
                derive_uuid(&ctx.derive, purpose, pp->part_uuid);
                snprintf(purpose, sizeof(purpose), "fs-%zu", i + 1);
                if (parts[i].fs == FS_VFAT) {
                        pp->vfat_serial = derive_u32(&ctx.derive, purpose);
                        snprintf(pp->fs_uuid, sizeof(pp->fs_uuid), "%04X-%04X", pp->vfat_serial >> 16,
                                 pp->vfat_serial & 0xffff);
                } else if (parts[i].fs != FS_NONE)
                        derive_uuid(&ctx.derive, purpose, pp->fs_uuid);
        }
        plan->root_index = 2;
        plan->esp_index = 1;
        plan->bios_index = 0;

        if (fstab) {
                _cleanup_free_ char *path = path_join(ctx.tree, "etc/fstab");
                _cleanup_free_ char *text = xasprintf("UUID=%s / ext4 errors=remount-ro 0 1\nUUID=%s /boot/efi vfat umask=0077 0 2\n",
                                                      plan->parts[2].fs_uuid, plan->parts[1].fs_uuid);
                if (write_file(path, text, strlen(text), 0644) < 0) {
                        fprintf(stderr, "cannot write %s\n", path);
                        return 1;
                }
        }

        uint64_t t0 = now_usec();
        int r = stage_disk(&ctx);
        uint64_t t1 = now_usec();
        if (r >= 0)
                r = stage_bootloader(&ctx);
        uint64_t t2 = now_usec();
        if (r < 0)
                return r == -EOPNOTSUPP ? 2 : 1;

        printf("DISK_SIZE=%" PRIu64 "\nDISK_UUID=%s\nROOT_REQUIRED=%" PRIu64 "\n", plan->disk_size, plan->disk_uuid,
               plan->root_required);
        printf("T_DISK_MS=%" PRIu64 "\nT_BOOTLOADER_MS=%" PRIu64 "\n", (t1 - t0) / 1000, (t2 - t1) / 1000);
        for (size_t i = 0; i < plan->n_parts; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                printf("P%u_START=%" PRIu64 "\nP%u_SIZE=%" PRIu64 "\nP%u_UUID=%s\nP%u_FSUUID=%s\nP%u_USED=%" PRIu64 "\n",
                       pp->number, pp->offset / 512, pp->number, pp->size / 512, pp->number, pp->part_uuid, pp->number,
                       pp->fs_uuid, pp->number, pp->fs_used);
        }
        return 0;
}
