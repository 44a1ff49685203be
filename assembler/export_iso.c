/* SPDX-License-Identifier: MIT */
/* The live hybrid ISO: the configured tree as a zstd squashfs, booted by
 * the tree's own kernel and initramfs (with live-boot's hooks), GRUB from
 * the tree for BIOS (El Torito, no emulation) and UEFI (an EFI El Torito
 * FAT image that is also GPT partition 2), and an MBR/GPT so that the same
 * file boots from a CD drive and written to a USB disk.
 *
 * Layout of the ISO 9660 filesystem:
 *   /live/filesystem.squashfs   the tree (live-boot's default path)
 *   /live/vmlinuz, /live/initrd.img
 *   /boot/grub/grub.cfg         from grub/iso.cfg.in
 *   /boot/grub/bios.img         grub-mkimage -O i386-pc-eltorito (cdboot.img + core)
 *   /boot/boot.cat              El Torito catalogue
 *   /.slipway-iso-<uuid>        marker the boot images search for
 * and appended after it, GPT partition 2 (type EFI System): efi.img, a FAT
 * holding \EFI\BOOT\BOOTX64.EFI (the EFI El Torito entry points at it).
 *
 * The xorriso command is grub-mkrescue's and Debian's (Ubuntu's) own for
 * GRUB-only hybrids: --grub2-mbr with boot_hybrid.img (the MBR code that
 * chains the El Torito core from a disk), -partition_offset 16 (a
 * mountable partition 1 starting after the first 32 KiB), the ESP as an
 * appended GPT partition.  Reproducible: every staged file has the epoch
 * as mtime, and xorriso >= 1.5 takes SOURCE_DATE_EPOCH from the
 * environment for the volume dates, the file dates, the volume UUID and
 * the GPT GUIDs (xorriso(1), "SOURCE_DATE_EPOCH"). */
#include "bootloader.h"
#include "datadir.h"
#include "export.h"
#include "fileio.h"
#include "fsimage.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Files of the image are found and read through the tree's resolver
 * (lib/tree.h): a symlink in it resolves inside the image, never into the
 * build host.  grub-mkimage and xorriso get private copies. */
static bool tree_file_exists(int root_fd, const char *path) {
        struct stat st;
        return tree_stat(root_fd, path, &st) == 0 && S_ISREG(st.st_mode);
}

static int read_data_file(const char *name, char **ret) {
        _cleanup_free_ char *path = path_join(slipway_datadir(), name);
        int r = read_file(path, ret, NULL);
        if (r < 0)
                return log_error_errno(r, "iso: cannot read %s (SLIPWAY_DATADIR?)", path);
        return 0;
}

static int expand_to(const char *tmpl_name, const char *const *keys, const char *const *values, size_t n,
                     const char *out) {
        _cleanup_free_ char *tmpl = NULL, *text = NULL;
        int r = read_data_file(tmpl_name, &tmpl);
        if (r < 0 || (r = template_expand(tmpl, keys, values, n, &text)) < 0)
                return r;
        if ((r = write_file(out, text, strlen(text), 0644)) < 0)
                return log_error_errno(r, "iso: cannot write %s", out);
        return 0;
}

static int copy_tree_file(int root_fd, const char *path, const char *dst) {
        int r = copy_from_tree(root_fd, path, dst, 0644);
        if (r < 0)
                return log_error_errno(r, "iso: cannot copy the image's %s to %s", path, dst);
        return 0;
}

/* Every path under dir (and dir) gets the epoch as atime and mtime. */
static int touch_tree(const char *dir, uint64_t epoch) {
        struct timespec ts[2] = { { .tv_sec = (time_t)epoch }, { .tv_sec = (time_t)epoch } };
        DIR *d = opendir(dir);
        if (!d)
                return log_error_errno(-errno, "iso: cannot read %s", dir);
        struct dirent *de;
        int r = 0;
        while ((de = readdir(d)) && r >= 0) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0)
                        r = -errno;
                else if (S_ISDIR(st.st_mode))
                        r = touch_tree(p, epoch);
                else if (utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
        }
        closedir(d);
        if (r >= 0 && utimensat(AT_FDCWD, dir, ts, AT_SYMLINK_NOFOLLOW) < 0)
                r = -errno;
        return r;
}

static int read_module_list(const char *name, char ***ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_data_file(name, &text);
        if (r < 0)
                return r;
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                line += strspn(line, " \t");
                size_t l = strcspn(line, " \t#");
                if (l == 0)
                        continue;
                line[l] = '\0';
                strv_push(ret, line);
        }
        return 0;
}

/* grub-mkimage of the tree's GRUB for an ISO boot image, from a copy of
 * its modules in DIR (grub_stage_modules). */
static int iso_grub_image(const struct build_ctx *ctx, int root_fd, const char *format, const char *platform,
                          const char *modlist, const char *early_cfg, const char *dir, const char *out) {
        _cleanup_strv_free_ char **mods = NULL;
        int r = read_module_list(modlist, &mods);
        if (r < 0)
                return r;
        for (char **m = mods; *m; m++) {
                _cleanup_free_ char *mod = xasprintf("/usr/lib/grub/%s/%s.mod", platform, *m);
                if (!tree_file_exists(root_fd, mod))
                        return log_error_errno(-ENOENT, "iso: the image's GRUB has no %s (%s): install grub-pc-bin "
                                               "and grub-efi-amd64-bin in the image", *m, mod);
        }
        if ((r = grub_stage_modules(root_fd, platform, dir)) < 0)
                return r;
        const char *which = NULL;
        _cleanup_strv_free_ char **argv = grub_mkimage_command(ctx->tree, &which);
        const char *args[] = { "-O", format, "-d", dir, "-c", early_cfg, "-p", "/boot/grub", "-o", out };
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                strv_push(&argv, args[i]);
        for (char **m = mods; *m; m++)
                strv_push(&argv, *m);
        log_debug("iso: %s image with %s", format, which);
        return run_command(argv, &(struct run_opts){ .quiet = true });
}

/* live-boot's initramfs-tools script; without it the initramfs cannot
 * find the squashfs. */
static int check_live_boot(const struct build_ctx *ctx, int root_fd) {
        static const char *const scripts[] = { "/usr/share/initramfs-tools/scripts/live", "/lib/live/boot" };
        for (size_t i = 0; i < ELEMENTSOF(scripts); i++)
                if (tree_exists(root_fd, scripts[i]))
                        return 0;
        char o[256];
        log_error("%s: the iso output needs live-boot in the image (its initramfs finds and mounts the squashfs): "
                  "add `- live-boot` and `- live-boot-initramfs-tools` to packages.install (see profiles/dev-iso.yaml)",
                  origin_format(profile_origin(ctx->profile, "packages.install"), o, sizeof(o)));
        return -ENOENT;
}

static int make_squashfs(const struct build_ctx *ctx, const char *out) {
        /* mksquashfs 4.5 sorts directory entries itself and is
         * reproducible with multiple processors.  Its times come from
         * SOURCE_DATE_EPOCH in the environment (it refuses -mkfs-time /
         * -all-time when that is set): the creation time is the epoch and
         * file times after it are clamped to it, as in the tarball.
         * /etc/fstab stays out: it names the disk's filesystems by UUID
         * (the same tree also makes the disk outputs), which do not exist
         * on the live system, and live-boot writes the live one (overlay
         * root, tmpfs /tmp) when it is absent.  The disk's grub.cfg
         * (bootloader_prepare_tree) is left in: it is inert there. */
        _cleanup_free_ char *env_epoch = xasprintf("SOURCE_DATE_EPOCH=%" PRIu64, ctx->epoch);
        char *env[] = { env_epoch, NULL };
        char *argv[] = { "mksquashfs", ctx->tree, (char *)out, "-noappend", "-comp", "zstd", "-b", "1M",
                         "-no-progress", "-e", "etc/fstab", NULL };
        return run_command(argv, &(struct run_opts){ .quiet = true, .env = env });
}

static char *iso_volume_id(const struct slw_profile *p) {
        /* ISO 9660 d-characters, at most 32. */
        char *v = xasprintf("%.32s", p->name ? p->name : "SLIPWAY");
        for (char *c = v; *c; c++) {
                if (*c >= 'a' && *c <= 'z')
                        *c = (char)(*c - 'a' + 'A');
                else if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
                        *c = '_';
        }
        return v;
}

static char *iso_cmdline(const struct slw_profile *p) {
        char *s = xstrdup("boot=live components");
        for (char **a = p->kernel.cmdline; a && *a; a++) {
                char *t = xasprintf("%s %s", s, *a);
                free(s);
                s = t;
        }
        return s;
}

static int build_iso(struct build_ctx *ctx, const char *scratch, const char *out) {
        const struct slw_profile *p = ctx->profile;
        bool bios = p->bootloader.bios, uefi = p->bootloader.uefi;
        char a[32];
        int r;

        if (!bios && !uefi)
                return log_error_errno(-EINVAL, "iso: bootloader.bios and bootloader.uefi are both false: the ISO "
                                       "would not boot");
        _cleanup_close_ int root_fd = tree_root_open(ctx->tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "iso: cannot open the tree %s", ctx->tree);
        if ((r = check_live_boot(ctx, root_fd)) < 0)
                return r;
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        if ((r = bootloader_find_kernel(ctx->tree, &kernel, &initrd)) < 0)
                return r;
        if (!initrd)
                return log_error_errno(-ENOENT, "iso: the image has no initramfs for %s; a live system needs one", kernel);

        _cleanup_free_ char *stage = path_join(scratch, "iso");
        _cleanup_free_ char *live = path_join(stage, "live"), *grubdir = path_join(stage, "boot/grub");
        if ((r = mkdir_p(live, 0755)) < 0 || (r = mkdir_p(grubdir, 0755)) < 0)
                return log_error_errno(r, "iso: cannot create %s", stage);

        /* The root filesystem. */
        uint64_t t0 = now_usec();
        _cleanup_free_ char *squashfs = path_join(live, "filesystem.squashfs");
        if ((r = make_squashfs(ctx, squashfs)) < 0)
                return r;
        struct stat st;
        log_info("iso: squashfs %s in %.1f s", stat(squashfs, &st) == 0 ? format_bytes((uint64_t)st.st_size, a) : "?",
                 (double)(now_usec() - t0) / 1e6);
        if (spawn_interrupted())
                return -EINTR;

        /* Kernel and initramfs. */
        _cleanup_free_ char *kdst = path_join(live, "vmlinuz"), *idst = path_join(live, "initrd.img");
        if ((r = copy_tree_file(root_fd, kernel, kdst)) < 0 || (r = copy_tree_file(root_fd, initrd, idst)) < 0)
                return r;

        /* The marker the boot images search for, and the menu. */
        char uuid[37];
        derive_uuid(&ctx->derive, "iso-marker", uuid);
        _cleanup_free_ char *marker = xasprintf("%s/.slipway-iso-%s", stage, uuid);
        _cleanup_free_ char *marker_text = xasprintf("%s %s\n", p->name, p->version ? p->version : "");
        if ((r = write_file(marker, marker_text, strlen(marker_text), 0644)) < 0)
                return log_error_errno(r, "iso: cannot write %s", marker);
        _cleanup_free_ char *terminal = NULL;
        if (p->bootloader.serial) {
                if ((r = read_data_file("grub/terminal-serial.cfg.in", &terminal)) < 0)
                        return r;
        } else
                terminal = xstrdup("");
        _cleanup_free_ char *timeout = xasprintf("%u", p->bootloader.timeout);
        _cleanup_free_ char *title = xasprintf("%s %s", p->name, p->version ? p->version : "");
        _cleanup_free_ char *cmdline = iso_cmdline(p);
        _cleanup_free_ char *cfg = path_join(grubdir, "grub.cfg");
        {
                const char *keys[] = { "TIMEOUT", "TERMINAL", "TITLE", "CMDLINE" };
                const char *values[] = { timeout, terminal, title, cmdline };
                if ((r = expand_to("grub/iso.cfg.in", keys, values, ELEMENTSOF(keys), cfg)) < 0)
                        return r;
        }
        /* Built into the El Torito boot images (BIOS and EFI).  The medium
         * is found by a marker file unique to the build (not by volume
         * label: two slipway ISOs attached at once must not mix), then its
         * grub.cfg is read.  The template holds no comments: GRUB runs an
         * embedded config with its rescue parser, which reports a `#` line
         * as "Unknown command `#'" on the console. */
        _cleanup_free_ char *early = path_join(scratch, "early.cfg");
        {
                const char *keys[] = { "ISO_ID" };
                const char *values[] = { uuid };
                if ((r = expand_to("grub/iso-early.cfg.in", keys, values, 1, early)) < 0)
                        return r;
        }

        /* BIOS: cdboot.img + core.img, loaded by the El Torito catalogue. */
        _cleanup_free_ char *bios_img = path_join(grubdir, "bios.img");
        _cleanup_free_ char *bios_mods = path_join(scratch, "grub-i386-pc"), *efi_mods = path_join(scratch, "grub-x86_64-efi");
        /* xorriso takes the staged copy, never a path of the tree */
        _cleanup_free_ char *hybrid_mbr = path_join(bios_mods, "boot_hybrid.img");
        if (bios) {
                if (!tree_file_exists(root_fd, "/usr/lib/grub/i386-pc/boot_hybrid.img"))
                        return log_error_errno(-ENOENT, "iso: the image has no /usr/lib/grub/i386-pc/boot_hybrid.img "
                                               "(grub-pc-bin in the image)");
                if ((r = iso_grub_image(ctx, root_fd, "i386-pc-eltorito", "i386-pc", "grub/modules-iso-i386-pc.lst", early,
                                        bios_mods, bios_img)) < 0)
                        return r;
        }

        /* UEFI: a FAT image with \EFI\BOOT\BOOTX64.EFI. */
        _cleanup_free_ char *efi_img = path_join(scratch, "efi.img");
        if (uefi) {
                _cleanup_free_ char *esp = path_join(scratch, "esp"), *efi_dir = path_join(scratch, "esp/EFI/BOOT");
                _cleanup_free_ char *efi = path_join(efi_dir, "BOOTX64.EFI");
                if ((r = mkdir_p(efi_dir, 0755)) < 0)
                        return log_error_errno(r, "iso: cannot create %s", efi_dir);
                if ((r = iso_grub_image(ctx, root_fd, "x86_64-efi", "x86_64-efi", "grub/modules-iso-x86_64-efi.lst", early,
                                        efi_mods, efi)) < 0)
                        return r;
                if (stat(efi, &st) < 0)
                        return log_error_errno(-errno, "iso: %s", efi);
                /* vfat_make makes FAT16 from 8 MiB on; FAT overhead is small */
                uint64_t size = MAX(8 * MiB, ALIGN_UP((uint64_t)st.st_size * 5 / 4 + MiB, MiB));
                _cleanup_close_ int fd = open(efi_img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || ftruncate(fd, (off_t)size) < 0)
                        return log_error_errno(-errno, "iso: cannot create %s", efi_img);
                if ((r = vfat_make(efi_img, 0, size, derive_u32(&ctx->derive, "iso-efi-serial"), "EFIBOOT")) < 0 ||
                    (r = vfat_copy_tree(efi_img, 0, esp, ctx->epoch)) < 0)
                        return r;
        }

        if ((r = touch_tree(stage, ctx->epoch)) < 0)
                return log_error_errno(r, "iso: cannot set the times of %s", stage);

        /* The hybrid ISO. */
        _cleanup_free_ char *volid = iso_volume_id(p);
        _cleanup_free_ char *env_epoch = xasprintf("SOURCE_DATE_EPOCH=%" PRIu64, ctx->epoch);
        _cleanup_strv_free_ char **argv = NULL;
        const char *head[] = { "xorriso", "-as", "mkisofs", "-iso-level", "3", "-r", "-V", volid, "-o", out };
        for (size_t i = 0; i < ELEMENTSOF(head); i++)
                strv_push(&argv, head[i]);
        if (bios) {
                const char *b[] = { "--grub2-mbr", hybrid_mbr, "-partition_offset", "16", "--mbr-force-bootable" };
                for (size_t i = 0; i < ELEMENTSOF(b); i++)
                        strv_push(&argv, b[i]);
        }
        if (uefi) {
                const char *e[] = { "-append_partition", "2", "0xef", efi_img, "-appended_part_as_gpt" };
                for (size_t i = 0; i < ELEMENTSOF(e); i++)
                        strv_push(&argv, e[i]);
        }
        strv_push(&argv, "-c");
        strv_push(&argv, "boot/boot.cat");
        if (bios) {
                const char *b[] = { "-b", "boot/grub/bios.img", "-no-emul-boot", "-boot-load-size", "4",
                                    "-boot-info-table", "--grub2-boot-info" };
                for (size_t i = 0; i < ELEMENTSOF(b); i++)
                        strv_push(&argv, b[i]);
        }
        if (uefi) {
                const char *e[] = { "-eltorito-alt-boot", "-e", "--interval:appended_partition_2:all::", "-no-emul-boot" };
                for (size_t i = bios ? 0 : 1; i < ELEMENTSOF(e); i++)
                        strv_push(&argv, e[i]);
        }
        strv_push(&argv, stage);
        char *env[] = { env_epoch, NULL };
        t0 = now_usec();
        if ((r = run_command(argv, &(struct run_opts){ .quiet = true, .env = env })) < 0)
                return r;
        log_info("iso: %s (%s%s%s) in %.1f s", stat(out, &st) == 0 ? format_bytes((uint64_t)st.st_size, a) : "?",
                 bios ? "BIOS" : "", bios && uefi ? "+" : "", uefi ? "UEFI" : "", (double)(now_usec() - t0) / 1e6);
        return 0;
}

int export_iso(struct build_ctx *ctx) {
        if (!ctx->tree)
                return log_error_errno(-EINVAL, "export iso: no root tree");
        _cleanup_free_ char *tmp = export_artifact_tmp(ctx, OUT_ISO), *final = export_artifact_final(ctx, OUT_ISO);
        _cleanup_free_ char *scratch = xasprintf("%s/iso.XXXXXX", ctx->workdir);
        if (!mkdtemp(scratch))
                return log_error_errno(-errno, "iso: cannot create a scratch directory in %s", ctx->workdir);
        int r = build_iso(ctx, scratch, tmp);
        (void)rm_rf(scratch);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        build_add_artifact(ctx, tmp, final);
        return 0;
}
