/* SPDX-License-Identifier: MIT */
/* The immutable image's boot loader: systemd-boot with a Boot Loader
 * Specification Type #1 entry per version, all on the ESP.
 *
 * Why systemd-boot and not GRUB: the A/B update flow is systemd's
 * (systemd-sysupdate writes a new root/verity pair into slot B and new
 * boot files onto the ESP), and systemd-boot implements what that flow
 * needs: boot counting in entry file names (NAME_VERSION+3-0.conf, tries
 * left/done, counted down by the loader, blessed by systemd-bless-boot
 * after a good boot, tried last once at +0), newest version first, and
 * the LoaderDevicePartUUID variable the initrd's gpt-auto logic uses.
 * GRUB has no native boot counting.  It is UEFI only, hence
 * bootloader.bios must be false (checked by the profile loader).
 *
 * ESP layout (all names are what the sysupdate transfers match):
 *   \EFI\BOOT\BOOTX64.EFI             systemd-bootx64.efi of the image
 *                                     (systemd-boot-efi), removable path
 *   \EFI\systemd\systemd-bootx64.efi  the same, where bootctl looks
 *   \loader\loader.conf               timeout, no editor
 *   \NAME\NAME_VERSION.vmlinuz        the image's newest kernel
 *   \NAME\NAME_VERSION.initrd         its initrd (dracut, dm-verity capable)
 *   \loader\entries\NAME_VERSION.conf linux, initrd, options with roothash=
 *                                     (no boot counter: the first version has
 *                                     nothing to fall back to; updates get
 *                                     one, see configure_immutable.c)
 *
 * Kernel command line: roothash=<root hash of root-A> root=/dev/mapper/root
 * rootfstype=<erofs|squashfs> ro, then the profile's kernel.cmdline.  In the
 * initrd, systemd-veritysetup-generator turns roothash= into
 * systemd-veritysetup@root.service with the data and hash partitions found
 * by the partition UUIDs the root hash implies (see stage_disk.c), which
 * opens /dev/mapper/root. */
#include "bootloader.h"
#include "build.h"
#include "fsimage.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

static int copy_file(const char *src, const char *dst) {
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r = read_file(src, &data, &n);
        if (r < 0)
                return log_error_errno(r, "cannot read %s", src);
        if ((r = write_file(dst, data, n, 0644)) < 0)
                return log_error_errno(r, "cannot write %s", dst);
        return 0;
}

char *bootloader_immutable_cmdline(const struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        /* immutable.etc: volatile: systemd-volatile-root (in dracut's
         * systemd module) puts an overlay with a tmpfs upper layer over the
         * verity root in the initrd, so /etc (and the rest of /) can be
         * written and every change is gone at the next boot.  (etc: overlay
         * needs nothing here: the initrd's slipway-etc-overlay dracut
         * module mounts it, see configure_immutable.c.) */
        _cleanup_free_ char *s = xasprintf("roothash=%s root=/dev/mapper/root rootfstype=%s ro%s", ctx->plan.roothash,
                                           p->immutable.filesystem == FS_SQUASHFS ? "squashfs" : "erofs",
                                           p->immutable.etc == ETC_VOLATILE ? " systemd.volatile=overlay" : "");
        for (char **a = p->kernel.cmdline; a && *a; a++) {
                char *t = xasprintf("%s %s", s, *a);
                free(s);
                s = t;
        }
        return TAKE_PTR(s);
}

/* Bytes of the files under dir, each rounded to 4 KiB, + 4 KiB a directory. */

int bootloader_systemd_boot(struct build_ctx *ctx, const char *esp_dir) {
        const struct slw_profile *p = ctx->profile;
        int r;
        if (!ctx->plan.roothash[0])
                return log_error_errno(-EINVAL, "bootloader: no root hash (the disk stage did not build the verity root)");
        _cleanup_free_ char *sdboot = path_join(ctx->tree, "usr/lib/systemd/boot/efi/systemd-bootx64.efi");
        struct stat st;
        if (stat(sdboot, &st) < 0) {
                char o[256];
                return log_error_errno(-ENOENT, "%s: an immutable image boots with systemd-boot, but the image has no "
                                       "/usr/lib/systemd/boot/efi/systemd-bootx64.efi; add systemd-boot-efi to packages.install",
                                       origin_format(profile_origin(p, "immutable.enabled"), o, sizeof(o)));
        }
        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        if ((r = bootloader_find_kernel(ctx->tree, &kernel, &initrd)) < 0)
                return r;
        if (!initrd)
                return log_error_errno(-ENOENT, "bootloader: the immutable image needs an initrd (dracut) for its verity root");

        _cleanup_free_ char *nv = xasprintf("%s_%s", p->name, p->version);
        _cleanup_free_ char *boot_dir = path_join(esp_dir, "EFI/BOOT"), *sd_dir = path_join(esp_dir, "EFI/systemd");
        _cleanup_free_ char *loader_dir = path_join(esp_dir, "loader"), *entries = path_join(esp_dir, "loader/entries");
        _cleanup_free_ char *kdir = path_join(esp_dir, p->name);
        const char *dirs[] = { boot_dir, sd_dir, entries, kdir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
                if ((r = mkdir_p(dirs[i], 0755)) < 0)
                        return log_error_errno(r, "cannot create %s", dirs[i]);

        _cleanup_free_ char *efi1 = path_join(boot_dir, "BOOTX64.EFI"), *efi2 = path_join(sd_dir, "systemd-bootx64.efi");
        _cleanup_free_ char *ksrc = path_join(ctx->tree, kernel), *isrc = path_join(ctx->tree, initrd);
        _cleanup_free_ char *kname = xasprintf("%s.vmlinuz", nv), *iname = xasprintf("%s.initrd", nv);
        _cleanup_free_ char *kdst = path_join(kdir, kname), *idst = path_join(kdir, iname);
        if ((r = copy_file(sdboot, efi1)) < 0 || (r = copy_file(sdboot, efi2)) < 0 || (r = copy_file(ksrc, kdst)) < 0 ||
            (r = copy_file(isrc, idst)) < 0)
                return r;

        _cleanup_free_ char *loader_conf = xasprintf("timeout %u\neditor no\n", p->bootloader.timeout);
        _cleanup_free_ char *lpath = path_join(loader_dir, "loader.conf");
        if ((r = write_file(lpath, loader_conf, strlen(loader_conf), 0644)) < 0)
                return log_error_errno(r, "cannot write %s", lpath);

        _cleanup_free_ char *cmdline = bootloader_immutable_cmdline(ctx);
        _cleanup_free_ char *entry = xasprintf("title %s %s\n"
                                               "version %s\n"
                                               "linux /%s/%s\n"
                                               "initrd /%s/%s\n"
                                               "options %s\n",
                                               p->name, p->version, p->version, p->name, kname, p->name, iname, cmdline);
        _cleanup_free_ char *ename = xasprintf("%s.conf", nv), *epath = path_join(entries, ename);
        if ((r = write_file(epath, entry, strlen(entry), 0644)) < 0)
                return log_error_errno(r, "cannot write %s", epath);

        /* The same kernel, initrd and entry as update artifacts (the
         * sysupdate source files NAME_VERSION.vmlinuz/.initrd/.conf). */
        const char *staged[] = { kdst, idst, epath };
        const char *suffix[] = { "vmlinuz", "initrd", "conf" };
        for (size_t i = 0; i < ELEMENTSOF(staged); i++) {
                _cleanup_free_ char *tmp = xasprintf("%s/%s.%s", ctx->workdir, nv, suffix[i]);
                _cleanup_free_ char *final = xasprintf("%s/%s.%s", ctx->outdir, nv, suffix[i]);
                if ((r = copy_file(staged[i], tmp)) < 0)
                        return r;
                build_add_artifact(ctx, tmp, final);
        }

        const struct planned_partition *esp = &ctx->plan.parts[ctx->plan.esp_index];
        uint64_t usable = esp->size - esp->size / 64 - MiB, need = esp_staged_bytes(esp_dir);
        if (need > usable) {
                char a[32], b[32], o[256];
                return log_error_errno(-ENOSPC, "%s: the ESP (%s) is too small for systemd-boot, kernel and initrd (%s); "
                                       "raise immutable.esp-size (an update needs room for a second kernel and initrd)",
                                       origin_format(profile_origin(p, "immutable.esp-size"), o, sizeof(o)),
                                       format_bytes(esp->size, a), format_bytes(need, b));
        }
        char a[32];
        log_info("bootloader: systemd-boot, entry %s (kernel %s, initrd %s, ESP files %s)", ename, kernel, initrd,
                 format_bytes(need, a));
        log_info("bootloader: kernel command line \"%s\"", cmdline);
        build_record_change(ctx, "systemd-boot entry with the verity root hash", "ESP:/loader/entries", "immutable.enabled");
        return 0;
}
