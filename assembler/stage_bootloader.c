/* SPDX-License-Identifier: MIT */
/* The bootloader stage: GRUB for BIOS (boot.img in the MBR, core.img in the
 * BIOS boot partition) and UEFI (\EFI\BOOT\BOOTX64.EFI on the ESP), written
 * into the raw disk without loop devices, mounts or root.
 *
 * Where things live (the design answer to "the ext4 root is already made
 * when this stage runs"):
 *  - grub.cfg is /boot/grub/grub.cfg IN THE ROOT FILESYSTEM.  It is written
 *    into the tree by bootloader_prepare_tree(), which stage_disk calls
 *    before mke2fs; it is generated from grub/disk.cfg.in.
 *  - GRUB's modules are the image's own /usr/lib/grub/<platform> in the
 *    root filesystem: the boot images set prefix=($root)/usr/lib/grub, so
 *    nothing is copied (17 MB saved) and modules always match the image's
 *    grub (the prune stage must keep /usr/lib/grub/<platform>).
 *  - core.img and BOOTX64.EFI each embed the same small config
 *    (grub/early.cfg.in): search the root by filesystem UUID, set the
 *    prefix, configfile /boot/grub/grub.cfg.  So BIOS and UEFI read one
 *    grub.cfg, a BIOS-only disk needs no ESP, and the ESP holds only
 *    BOOTX64.EFI.
 *
 * Which grub-mkimage: the image's own (TREE/usr/bin/grub-mkimage, from
 * grub-common of the image's distribution), run through the tree's own
 * dynamic loader with --library-path pointing into the tree.  That needs
 * no chroot, hence no root, and the tool's version is the modules'
 * version.  Measured on trixie's grub 2.12 with the host's (bookworm)
 * grub-mkimage 2.06 and `-d TREE/usr/lib/grub/<platform>`: both write
 * byte-identical core.img and BOOTX64.EFI, so the host's grub-mkimage
 * (grub-common, in DEPS_RUN) is the fallback when the tree has no
 * grub-mkimage or is not x86-64.  What must match the image is the
 * modules, kernel.img and boot.img, which always come from the tree.
 *
 * boot.img and core.img are patched exactly as grub-bios-setup does
 * (trixie's grub-pc-bin no longer ships grub-bios-setup): see
 * grub_patch_mbr() and grub_patch_core().  No Reed-Solomon redundancy is
 * added to core.img (it sits in its own partition, not in the MBR gap
 * where other tools might overwrite it).
 *
 * Secure Boot (bootloader.secure-boot: true): firmware with Microsoft's
 * keys only starts Microsoft-signed binaries, and a signed GRUB loads no
 * module from disk (lockdown), so nothing is built with grub-mkimage for
 * UEFI.  The ESP gets the image's own signed binaries:
 *   \EFI\BOOT\BOOTX64.EFI  shim    (shim-signed: /usr/lib/shim/shimx64.efi.signed)
 *   \EFI\BOOT\grubx64.efi  GRUB    (grub-efi-amd64-signed:
 *                                   /usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed)
 *   \EFI\BOOT\mmx64.efi    MokManager, when the image has it
 * shim started as the removable-media loader starts grubx64.efi from its
 * own directory (no fbx64.efi is copied, so shim does not run the
 * fallback that writes boot entries).  Debian's signed GRUB has the
 * prefix /EFI/debian (on the device it was loaded from) and no embedded
 * config, so it reads \EFI\debian\grub.cfg (seen in trixie's
 * grubx64.efi.signed 2.12-9+deb13u4: "/EFI/debian" is the prefix object
 * after the memdisk).  grub/secureboot-esp.cfg.in goes there, and also to
 * \EFI\BOOT\grub.cfg for signed GRUBs that look next to themselves
 * ($cmdpath) when booted as removable media: find the root by UUID and
 * read the disk's /boot/grub/grub.cfg, the one BIOS and plain UEFI read.  Its
 * `insmod part_gpt`/`insmod ext2` are no-ops there: Debian's signed GRUB
 * has those modules (and serial, linux, search, gzio, test) built in. */
#include "bootloader.h"
#include "build.h"
#include "fileio.h"
#include "datadir.h"
#include "fsimage.h"
#include "gpt_layout.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

/* boot.img / core.img layout (grub-core/boot/i386/pc/boot.S, diskboot.S). */
#define BOOT_BPB_START 0x03
#define BOOT_BPB_END 0x5a
#define BOOT_KERNEL_SECTOR 0x5c
#define BOOT_BOOT_DRIVE 0x64
#define BOOT_DRIVE_CHECK 0x66
#define BOOT_CODE_END 0x1b8      /* disk signature and partition table follow */
#define DISKBOOT_BLOCKLIST 0x1f4 /* last blocklist entry: u64 start, u16 len, u16 segment */

enum grub_platform { GRUB_I386_PC, GRUB_X86_64_EFI };
static const char *const platform_dir[] = { "i386-pc", "x86_64-efi" };
/* Files grub-mkimage (and our MBR step) read besides the modules. */
static const char *const platform_files[][5] = {
        { "kernel.img", "diskboot.img", "lzma_decompress.img", "boot.img", "moddep.lst" },
        { "kernel.img", "moddep.lst", NULL, NULL, NULL },
};

/* Every file of the tree is looked up through its resolver (lib/tree.h):
 * a symlink in the image (/boot -> /somewhere, /usr/lib/grub/i386-pc ->
 * ../../../../x, /etc/os-release -> /usr/lib/os-release) resolves inside
 * the image as the booted system (and GRUB) would resolve it, never into
 * the build host.  Files handed to a tool are private copies (the GRUB
 * modules, see grub_stage_modules) or canonical paths (tree_host_path). */
static bool tree_file_exists(int root_fd, const char *path) {
        struct stat st;
        return tree_stat(root_fd, path, &st) == 0 && S_ISREG(st.st_mode);
}

int template_expand(const char *template, const char *const *keys, const char *const *values, size_t n, char **ret) {
        size_t cap = strlen(template) + 256, len = 0;
        _cleanup_free_ char *out = xmalloc(cap);
        for (const char *p = template; *p;) {
                const char *end = NULL, *value = NULL;
                if (*p == '@' && (end = strchr(p + 1, '@'))) {
                        size_t klen = (size_t)(end - p - 1);
                        bool is_key = klen > 0;
                        for (size_t i = 0; i < klen; i++)
                                if (!((p[1 + i] >= 'A' && p[1 + i] <= 'Z') || p[1 + i] == '_'))
                                        is_key = false;
                        if (is_key) {
                                for (size_t i = 0; i < n && !value; i++)
                                        if (strlen(keys[i]) == klen && strncmp(keys[i], p + 1, klen) == 0)
                                                value = values[i];
                                if (!value)
                                        return log_error_errno(-EINVAL, "template: unknown placeholder @%.*s@", (int)klen, p + 1);
                        }
                }
                const char *piece = value ? value : p;
                size_t plen = value ? strlen(value) : 1;
                if (len + plen + 1 > cap)
                        out = xrealloc(out, cap = (len + plen + 1) * 2);
                memcpy(out + len, piece, plen);
                len += plen;
                p = value ? end + 1 : p + 1;
        }
        out[len] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static int read_template(const char *name, char **ret) {
        _cleanup_free_ char *path = path_join(slipway_datadir(), name);
        int r = read_file(path, ret, NULL);
        if (r < 0)
                return log_error_errno(r, "cannot read the GRUB template %s (SLIPWAY_DATADIR?)", path);
        return 0;
}

/* A module list: one name a line, '#' comments. */
static int read_module_list(enum grub_platform plat, char ***ret) {
        _cleanup_free_ char *name = xasprintf("grub/modules-%s.lst", platform_dir[plat]);
        _cleanup_free_ char *text = NULL;
        int r = read_template(name, &text);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **mods = NULL;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                line += strspn(line, " \t");
                size_t l = strcspn(line, " \t#");
                if (l == 0)
                        continue;
                line[l] = '\0';
                strv_push(&mods, line);
        }
        *ret = TAKE_PTR(mods);
        return 0;
}

/* Every file grub-mkimage will read for this platform exists in the tree. */
static int check_grub_platform(int root_fd, enum grub_platform plat, char **mods) {
        _cleanup_free_ char *dir = xasprintf("/usr/lib/grub/%s", platform_dir[plat]);
        _cleanup_strv_free_ char **missing = NULL;
        struct stat st;
        if (tree_stat(root_fd, dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error_errno(-ENOENT, "the image has no GRUB for %s: /usr/lib/grub/%s does not exist; "
                                       "install %s in the image (packages.install) and keep that directory when pruning",
                                       platform_dir[plat], platform_dir[plat],
                                       plat == GRUB_I386_PC ? "grub-pc-bin" : "grub-efi-amd64-bin");
        for (size_t i = 0; i < ELEMENTSOF(platform_files[plat]) && platform_files[plat][i]; i++) {
                _cleanup_free_ char *p = path_join(dir, platform_files[plat][i]);
                if (!tree_file_exists(root_fd, p))
                        strv_push(&missing, platform_files[plat][i]);
        }
        for (char **m = mods; m && *m; m++) {
                _cleanup_free_ char *f = xasprintf("%s/%s.mod", dir, *m);
                if (!tree_file_exists(root_fd, f)) {
                        _cleanup_free_ char *n = xasprintf("%s.mod", *m);
                        strv_push(&missing, n);
                }
        }
        if (missing) {
                size_t n = strv_length(missing);
                log_error("the image has no usable GRUB for %s: %zu file(s) missing in /usr/lib/grub/%s:",
                          platform_dir[plat], n, platform_dir[plat]);
                for (char **m = missing; *m; m++)
                        log_error("  %s", *m);
                log_error("install %s in the image (packages.install), and keep /usr/lib/grub/%s when pruning",
                          plat == GRUB_I386_PC ? "grub-pc-bin" : "grub-efi-amd64-bin", platform_dir[plat]);
                return -ENOENT;
        }
        return 0;
}

/* "vmlinuz-6.12.1-cloud-amd64" newer than "vmlinuz-6.1.0-cloud-amd64". */
static int cmp_version_desc(const void *a, const void *b) {
        return -strverscmp(*(char *const *)a, *(char *const *)b);
}

int bootloader_find_kernel(const char *tree, char **ret_kernel, char **ret_initrd) {
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "cannot open the tree %s", tree);
        _cleanup_strv_free_ char **names = NULL;
        int r = tree_dir_entries_sorted(root_fd, "/boot", &names);
        if (r < 0)
                return log_error_errno(r, "cannot read %s/boot", tree);
        _cleanup_strv_free_ char **kernels = NULL;
        for (char **n = names; n && *n; n++) {
                if (!startswith(*n, "vmlinuz-"))
                        continue;
                _cleanup_free_ char *path = xasprintf("/boot/%s", *n);
                if (tree_file_exists(root_fd, path))
                        strv_push(&kernels, *n);
                else
                        log_warning("/boot/%s is not a file of the image (a symlink to nothing in it?): not a kernel to boot", *n);
        }
        if (!kernels)
                return log_error_errno(-ENOENT, "no kernel in the image: %s/boot/vmlinuz-* does not exist "
                                       "(install a linux-image package)", tree);
        qsort(kernels, strv_length(kernels), sizeof(char *), cmp_version_desc);
        const char *version = kernels[0] + strlen("vmlinuz-");
        _cleanup_free_ char *initrd = xasprintf("/boot/initrd.img-%s", version);
        *ret_kernel = xasprintf("/boot/%s", kernels[0]);
        *ret_initrd = tree_file_exists(root_fd, initrd) ? TAKE_PTR(initrd) : NULL;
        if (!*ret_initrd)
                log_warning("no initrd for kernel %s in the image (%s): booting without one", version, initrd);
        return 0;
}

static char *os_pretty_name(int root_fd, const char *fallback) {
        static const char *const candidates[] = { "/etc/os-release", "/usr/lib/os-release" };
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_free_ char *text = NULL;
                if (tree_read_file(root_fd, candidates[i], 1 << 20, &text, NULL) < 0)
                        continue;
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                        if (!startswith(line, "PRETTY_NAME="))
                                continue;
                        char *v = line + strlen("PRETTY_NAME=");
                        size_t l = strlen(v);
                        if (l >= 2 && (v[0] == '"' || v[0] == '\'') && v[l - 1] == v[0]) {
                                v[l - 1] = '\0';
                                v++;
                        }
                        /* grub's menuentry title is single-quoted: keep quotes out */
                        for (char *c = v; *c; c++)
                                if (*c == '\'')
                                        *c = ' ';
                        return xstrdup(v);
                }
        }
        return xstrdup(fallback);
}

static const char *root_fs_uuid(const struct build_ctx *ctx) {
        return ctx->plan.root_index >= 0 ? ctx->plan.parts[ctx->plan.root_index].fs_uuid : NULL;
}

static char *kernel_cmdline(const struct build_ctx *ctx) {
        _cleanup_free_ char *s = xasprintf("root=UUID=%s ro", root_fs_uuid(ctx));
        for (char **a = ctx->profile->kernel.cmdline; a && *a; a++) {
                char *t = xasprintf("%s %s", s, *a);
                free(s);
                s = t;
        }
        return TAKE_PTR(s);
}

/* The signed binaries of the Secure Boot chain, in the image tree; the
 * first existing name of each is used (a ".latest" name is what some
 * shim-signed versions ship next to, or instead of, the plain one). */
struct secureboot_file {
        const char *esp_name;
        const char *const tree_paths[3];
        const char *package;
        bool optional;
};
static const struct secureboot_file secureboot_files[] = {
        { "BOOTX64.EFI", { "usr/lib/shim/shimx64.efi.signed", "usr/lib/shim/shimx64.efi.signed.latest", NULL },
          "shim-signed", false },
        { "grubx64.efi", { "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed", NULL, NULL }, "grub-efi-amd64-signed",
          false },
        { "mmx64.efi", { "usr/lib/shim/mmx64.efi.signed", "usr/lib/shim/mmx64.efi.signed.latest", NULL },
          "shim-helpers-amd64-signed", true },
};

/* The path in the tree of one Secure Boot file, or NULL. */
static const char *secureboot_source(int root_fd, const struct secureboot_file *f) {
        for (size_t i = 0; i < ELEMENTSOF(f->tree_paths) && f->tree_paths[i]; i++)
                if (tree_file_exists(root_fd, f->tree_paths[i]))
                        return f->tree_paths[i];
        return NULL;
}

/* Every required Secure Boot file is in the tree; otherwise one error
 * naming the profile line and the packages to add.  Runs before anything
 * is written. */
static int check_secureboot_tree(const struct build_ctx *ctx, int root_fd) {
        const struct slw_profile *p = ctx->profile;
        char o[256];
        if (!p->bootloader.uefi)
                return log_error_errno(-EINVAL, "%s: bootloader.secure-boot: true needs bootloader.uefi: true",
                                       origin_format(profile_origin(p, "bootloader.secure-boot"), o, sizeof(o)));
        _cleanup_free_ char *files = NULL, *pkgs = NULL;
        for (size_t i = 0; i < ELEMENTSOF(secureboot_files); i++) {
                const struct secureboot_file *f = &secureboot_files[i];
                const char *src = secureboot_source(root_fd, f);
                if (src || f->optional)
                        continue;
                char *nf = files ? xasprintf("%s, /%s", files, f->tree_paths[0]) : xasprintf("/%s", f->tree_paths[0]);
                char *np = pkgs ? xasprintf("%s and %s", pkgs, f->package) : xstrdup(f->package);
                free(files);
                free(pkgs);
                files = nf;
                pkgs = np;
        }
        if (files) {
                return log_error_errno(-ENOENT, "%s: bootloader.secure-boot: true, but the image has no %s; "
                                       "add %s to packages.install",
                                       origin_format(profile_origin(p, "bootloader.secure-boot"), o, sizeof(o)),
                                       files, pkgs);
        }
        return 0;
}

/* The epoch as the times of PATH itself (not a symlink's target). */
static void tree_set_epoch_times(int root_fd, const char *path, uint64_t epoch) {
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *name = NULL;
        if (tree_resolve(root_fd, path, TREE_NOFOLLOW, &dir_fd, &name, NULL) < 0)
                return;
        struct timespec ts[2] = { { .tv_sec = (time_t)epoch }, { .tv_sec = (time_t)epoch } };
        (void)utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW);
}

int bootloader_prepare_tree(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        int r;
        if (!p->bootloader.bios && !p->bootloader.uefi)
                return 0;
        _cleanup_close_ int root_fd = tree_root_open(ctx->tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "bootloader: cannot open the tree %s", ctx->tree);
        if (p->bootloader.secure_boot && (r = check_secureboot_tree(ctx, root_fd)) < 0)
                return r;
        if (!root_fs_uuid(ctx))
                return log_error_errno(-EINVAL, "bootloader: the disk has no root partition");
        for (enum grub_platform plat = GRUB_I386_PC; plat <= GRUB_X86_64_EFI; plat++) {
                if (!(plat == GRUB_I386_PC ? p->bootloader.bios : p->bootloader.uefi))
                        continue;
                /* Secure Boot: the signed GRUB has its modules built in */
                if (plat == GRUB_X86_64_EFI && p->bootloader.secure_boot)
                        continue;
                _cleanup_strv_free_ char **mods = NULL;
                if ((r = read_module_list(plat, &mods)) < 0 || (r = check_grub_platform(root_fd, plat, mods)) < 0)
                        return r;
        }

        _cleanup_free_ char *kernel = NULL, *initrd = NULL;
        if ((r = bootloader_find_kernel(ctx->tree, &kernel, &initrd)) < 0)
                return r;
        _cleanup_free_ char *tmpl = NULL, *terminal = NULL, *cfg = NULL;
        if ((r = read_template("grub/disk.cfg.in", &tmpl)) < 0)
                return r;
        if (p->bootloader.serial) {
                if ((r = read_template("grub/terminal-serial.cfg.in", &terminal)) < 0)
                        return r;
        } else
                terminal = xstrdup("");
        _cleanup_free_ char *cmdline = kernel_cmdline(ctx);
        _cleanup_free_ char *timeout = xasprintf("%u", p->bootloader.timeout);
        _cleanup_free_ char *title = os_pretty_name(root_fd, p->name ? p->name : "Linux");
        _cleanup_free_ char *initrd_line = initrd ? xstrdup(initrd) : xstrdup("");
        const char *keys[] = { "TIMEOUT", "TERMINAL", "ROOT_UUID", "TITLE", "KERNEL", "CMDLINE", "INITRD" };
        const char *values[] = { timeout, terminal, root_fs_uuid(ctx), title, kernel, cmdline, initrd_line };
        if ((r = template_expand(tmpl, keys, values, ELEMENTSOF(keys), &cfg)) < 0)
                return r;

        /* Inside the tree: a /boot symlink (absolute or not) leads to the
         * image's directory, never to the build host's /boot. */
        if ((r = tree_mkdir_p(root_fd, "/boot/grub", 0755)) < 0)
                return log_error_errno(r, "cannot create %s/boot/grub", ctx->tree);
        if ((r = tree_write_file(root_fd, "/boot/grub/grub.cfg", cfg, strlen(cfg), 0644, (uid_t)-1, (gid_t)-1)) < 0)
                return log_error_errno(r, "cannot write %s/boot/grub/grub.cfg", ctx->tree);
        /* So that two builds of the same tree give the same ext4. */
        tree_set_epoch_times(root_fd, "/boot/grub/grub.cfg", ctx->epoch);
        tree_set_epoch_times(root_fd, "/boot/grub", ctx->epoch);
        build_record_change(ctx, "grub.cfg: boots the newest kernel with the profile's command line", "/boot/grub/grub.cfg",
                            "bootloader");
        log_info("bootloader: grub.cfg boots %s with \"%s\"", kernel, cmdline);
        return 0;
}

/* argv prefix that runs the image's grub-mkimage (see the top comment),
 * or the host's.  Returns the strv; *ret_which says which. */
char **grub_mkimage_command(const char *tree, const char **ret_which) {
        struct utsname u;
        _cleanup_free_ char *tool = NULL, *loader = NULL, *usrlib = NULL, *lib = NULL;
        struct stat st, lst;
        char **argv = NULL;
        /* The tool, its loader and its libraries as canonical paths of the
         * tree (tree_host_path: resolved inside it, no symlink left on the
         * way): an absolute symlink names the tree's file, never the
         * host's.  The tool and the loader must be regular files. */
        if (uname(&u) == 0 && strcmp(u.machine, "x86_64") == 0 &&
            tree_host_path(tree, "/usr/bin/grub-mkimage", 0, &tool) >= 0 && lstat(tool, &st) == 0 && S_ISREG(st.st_mode) &&
            tree_host_path(tree, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0, &loader) >= 0 &&
            lstat(loader, &lst) == 0 && S_ISREG(lst.st_mode) &&
            tree_host_path(tree, "/usr/lib/x86_64-linux-gnu", 0, &usrlib) >= 0) {
                _cleanup_free_ char *libs = tree_host_path(tree, "/lib/x86_64-linux-gnu", 0, &lib) >= 0 && strcmp(lib, usrlib) != 0
                                                    ? xasprintf("%s:%s", usrlib, lib) : xstrdup(usrlib);
                strv_push(&argv, loader);
                strv_push(&argv, "--library-path");
                strv_push(&argv, libs);
                strv_push(&argv, tool);
                *ret_which = "the image's grub-mkimage";
        } else {
                strv_push(&argv, "grub-mkimage");
                *ret_which = "the host's grub-mkimage";
        }
        return argv;
}

int grub_stage_modules(int root_fd, const char *platform, const char *dest) {
        _cleanup_free_ char *dir = xasprintf("/usr/lib/grub/%s", platform);
        _cleanup_strv_free_ char **names = NULL;
        int r = tree_dir_entries_sorted(root_fd, dir, &names);
        if (r < 0)
                return log_error_errno(r, "cannot read the image's %s", dir);
        if ((r = mkdir_p(dest, 0755)) < 0)
                return log_error_errno(r, "cannot create %s", dest);
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *path = path_join(dir, *n), *dst = path_join(dest, *n);
                /* subdirectories (x86_64-efi/monolithic) are not modules */
                if (!tree_file_exists(root_fd, path))
                        continue;
                if ((r = copy_from_tree(root_fd, path, dst, 0644)) < 0)
                        return log_error_errno(r, "cannot copy the image's %s to %s", path, dst);
        }
        return 0;
}

static int make_grub_image(const struct build_ctx *ctx, int root_fd, enum grub_platform plat, const char *early_cfg,
                           const char *scratch, const char *out) {
        _cleanup_strv_free_ char **mods = NULL;
        int r = read_module_list(plat, &mods);
        if (r < 0 || (r = check_grub_platform(root_fd, plat, mods)) < 0)
                return r;
        /* grub-mkimage reads the modules (and kernel.img, moddep.lst and
         * the boot images) by path: it gets a private copy of the tree's
         * regular files, so no symlink in the image can hand it a host file. */
        _cleanup_free_ char *name = xasprintf("grub-%s", platform_dir[plat]);
        _cleanup_free_ char *dir = path_join(scratch, name);
        if ((r = grub_stage_modules(root_fd, platform_dir[plat], dir)) < 0)
                return r;
        const char *which = NULL;
        _cleanup_strv_free_ char **argv = grub_mkimage_command(ctx->tree, &which);
        const char *args[] = { "-O", platform_dir[plat], "-d", dir, "-c", early_cfg, "-p", "/usr/lib/grub", "-o", out };
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                strv_push(&argv, args[i]);
        for (char **m = mods; *m; m++)
                strv_push(&argv, *m);
        log_debug("bootloader: %s image with %s", platform_dir[plat], which);
        struct run_opts o = { .quiet = true };
        return run_command(argv, &o);
}

static int read_exact(const char *path, size_t max, uint8_t **ret, size_t *ret_size) {
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r = read_file(path, &data, &n);
        if (r < 0)
                return log_error_errno(r, "cannot read %s", path);
        if (n > max)
                return log_error_errno(-EFBIG, "%s: %zu bytes, at most %zu fit", path, n, max);
        *ret = (uint8_t *)TAKE_PTR(data);
        *ret_size = n;
        return 0;
}

static void put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

int grub_patch_mbr(uint8_t mbr[512], const uint8_t *boot_img, size_t boot_img_size, uint64_t core_lba) {
        if (boot_img_size != 512 || boot_img[510] != 0x55 || boot_img[511] != 0xaa)
                return -EINVAL;
        uint8_t keep_bpb[BOOT_BPB_END - BOOT_BPB_START];
        memcpy(keep_bpb, mbr + BOOT_BPB_START, sizeof(keep_bpb));
        /* Code only: the disk signature, the (protective) partition table and
         * 0x55aa from 0x1b8 on stay as libfdisk wrote them. */
        memcpy(mbr, boot_img, BOOT_CODE_END);
        memcpy(mbr + BOOT_BPB_START, keep_bpb, sizeof(keep_bpb));
        put_le64(mbr + BOOT_KERNEL_SECTOR, core_lba);
        /* 0xff: use the drive number the BIOS passed in %dl. */
        mbr[BOOT_BOOT_DRIVE] = 0xff;
        /* A hard disk: replace the "jmp" that trusts %dl only for 0x80..0x8f
         * by two NOPs, as grub-bios-setup does for buggy BIOSes. */
        mbr[BOOT_DRIVE_CHECK] = 0x90;
        mbr[BOOT_DRIVE_CHECK + 1] = 0x90;
        return 0;
}

int grub_patch_core(uint8_t *core, size_t core_size, uint64_t core_lba) {
        size_t sectors = (core_size + 511) / 512;
        if (core_size < 1024 || sectors - 1 > UINT16_MAX)
                return -EINVAL;
        /* diskboot.img loads the rest of core.img: one contiguous run right
         * after its own sector. */
        put_le64(core + DISKBOOT_BLOCKLIST, core_lba + 1);
        put_le16(core + DISKBOOT_BLOCKLIST + 8, (uint16_t)(sectors - 1));
        return 0;
}

/* boot_path: boot.img of the modules make_grub_image() staged. */
static int install_bios(struct build_ctx *ctx, const char *core_path, const char *boot_path) {
        const struct planned_partition *bios = &ctx->plan.parts[ctx->plan.bios_index];
        _cleanup_free_ uint8_t *core = NULL, *boot = NULL;
        size_t core_size = 0, boot_size = 0;
        int r = read_exact(core_path, bios->size, &core, &core_size);
        if (r == -EFBIG) {
                char a[32], b[32];
                return log_error_errno(r, "core.img is %s but the BIOS boot partition has %s",
                                       format_bytes(core_size, a), format_bytes(bios->size, b));
        }
        if (r < 0 || (r = read_exact(boot_path, 512, &boot, &boot_size)) < 0)
                return r;
        /* read_file() NUL-terminates: core has room to pad to whole sectors */
        size_t padded = ALIGN_UP(core_size, 512);
        core = xrealloc(core, padded);
        memset(core + core_size, 0, padded - core_size);
        uint64_t core_lba = bios->offset / GPT_SECTOR;
        if (grub_patch_core(core, core_size, core_lba) < 0)
                return log_error_errno(-EINVAL, "%s is not a usable core.img (%zu bytes)", core_path, core_size);

        _cleanup_close_ int fd = open(ctx->raw_tmp, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open %s", ctx->raw_tmp);
        uint8_t mbr[512];
        if (pread(fd, mbr, sizeof(mbr), 0) != (ssize_t)sizeof(mbr))
                return log_error_errno(-EIO, "cannot read the MBR of %s", ctx->raw_tmp);
        if (mbr[510] != 0x55 || mbr[511] != 0xaa || mbr[0x1be + 4] != 0xee)
                return log_error_errno(-EINVAL, "%s has no protective MBR: was the GPT written?", ctx->raw_tmp);
        if (grub_patch_mbr(mbr, boot, boot_size, core_lba) < 0)
                return log_error_errno(-EINVAL, "%s is not a GRUB boot.img", boot_path);
        if ((r = pwrite_all(fd, core, padded, bios->offset)) < 0 || (r = pwrite_all(fd, mbr, sizeof(mbr), 0)) < 0)
                return log_error_errno(r, "cannot write the BIOS boot code to %s", ctx->raw_tmp);
        char a[32];
        log_info("bootloader: BIOS: boot.img in the MBR, core.img (%s) at sector %" PRIu64, format_bytes(core_size, a),
                 core_lba);
        return 0;
}

uint64_t esp_staged_bytes(const char *dir) {
        uint64_t n = 4096;
        DIR *d = opendir(dir);
        if (!d)
                return n;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *p = path_join(dir, de->d_name);
                struct stat st;
                if (lstat(p, &st) < 0)
                        continue;
                n += S_ISDIR(st.st_mode) ? esp_staged_bytes(p) : ALIGN_UP((uint64_t)st.st_size, 4096);
        }
        closedir(d);
        return n;
}

/* Copies the signed chain into ESP_DIR/EFI/BOOT and the GRUB config
 * into ESP_DIR/EFI/debian and ESP_DIR/EFI/BOOT (see the top comment). */
static int stage_secureboot_esp(const struct build_ctx *ctx, int root_fd, const char *esp_dir) {
        _cleanup_free_ char *boot_dir = path_join(esp_dir, "EFI/BOOT");
        _cleanup_free_ char *debian_dir = path_join(esp_dir, "EFI/debian");
        int r;
        if ((r = mkdir_p(boot_dir, 0755)) < 0 || (r = mkdir_p(debian_dir, 0755)) < 0)
                return log_error_errno(r, "cannot create %s", debian_dir);
        for (size_t i = 0; i < ELEMENTSOF(secureboot_files); i++) {
                const struct secureboot_file *f = &secureboot_files[i];
                const char *src = secureboot_source(root_fd, f);
                if (!src) {
                        if (f->optional) {
                                log_info("bootloader: no %s in the image (%s): the ESP has no MokManager",
                                         f->tree_paths[0], f->package);
                                continue;
                        }
                        return log_error_errno(-ENOENT, "the image has no %s (%s)", f->tree_paths[0], f->package);
                }
                _cleanup_free_ char *dst = path_join(boot_dir, f->esp_name);
                if ((r = copy_from_tree(root_fd, src, dst, 0644)) < 0)
                        return log_error_errno(r, "cannot copy the image's /%s to %s", src, dst);
        }
        _cleanup_free_ char *tmpl = NULL, *cfg = NULL;
        const char *keys[] = { "ROOT_UUID" };
        const char *values[] = { root_fs_uuid(ctx) };
        if ((r = read_template("grub/secureboot-esp.cfg.in", &tmpl)) < 0 ||
            (r = template_expand(tmpl, keys, values, ELEMENTSOF(keys), &cfg)) < 0)
                return r;
        const char *dirs[] = { debian_dir, boot_dir };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                _cleanup_free_ char *path = path_join(dirs[i], "grub.cfg");
                if ((r = write_file(path, cfg, strlen(cfg), 0644)) < 0)
                        return log_error_errno(r, "cannot write %s", path);
        }
        return 0;
}

int stage_bootloader(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        const struct disk_plan *plan = &ctx->plan;
        bool bios = p->bootloader.bios, uefi = p->bootloader.uefi;
        int r;
        if (!bios && !uefi) {
                log_info("bootloader: none (bootloader.bios and bootloader.uefi are false)");
                return 0;
        }
        if (!ctx->raw_tmp) {
                /* The ISO export makes its own boot images. */
                log_info("bootloader: no disk image (no disk output enabled)");
                return 0;
        }
        _cleanup_close_ int root_fd = tree_root_open(ctx->tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "bootloader: cannot open the tree %s", ctx->tree);
        /* (an immutable image's Secure Boot is its own signed UKI, not shim) */
        if (p->bootloader.secure_boot && !p->immutable.enabled && (r = check_secureboot_tree(ctx, root_fd)) < 0)
                return r;
        if (bios && plan->bios_index < 0)
                return log_error_errno(-EINVAL, "bootloader.bios: true needs a partition of type bios-boot for core.img");
        if (uefi && plan->esp_index < 0)
                return log_error_errno(-EINVAL, "bootloader.uefi: true needs a partition of type esp");
        if (uefi && plan->parts[plan->esp_index].spec->fs != FS_VFAT)
                return log_error_errno(-EINVAL, "the ESP must have fs: vfat");

        /* Everything is built in a scratch directory and checked first;
         * only then is anything written into the disk image. */
        _cleanup_free_ char *scratch = xasprintf("%s.boot.XXXXXX", ctx->raw_tmp);
        if (!mkdtemp(scratch))
                return log_error_errno(-errno, "cannot create a scratch directory next to %s", ctx->raw_tmp);
        _cleanup_free_ char *early_path = path_join(scratch, "early.cfg");
        _cleanup_free_ char *core_path = path_join(scratch, "core.img");
        _cleanup_free_ char *esp_dir = path_join(scratch, "esp");
        _cleanup_free_ char *efi_dir = path_join(scratch, "esp/EFI/BOOT");
        _cleanup_free_ char *efi_path = path_join(efi_dir, "BOOTX64.EFI");
        _cleanup_free_ char *boot_img_path = path_join(scratch, "grub-i386-pc/boot.img");
        _cleanup_free_ char *tmpl = NULL, *early = NULL;
        const char *keys[] = { "ROOT_UUID" };
        const char *values[] = { root_fs_uuid(ctx) };

        if (p->immutable.enabled) {
                /* systemd-boot, its entry and the kernel on the ESP, or the
                 * signed UKI with bootloader.secure-boot (bootloader_sdboot.c) */
                struct planned_partition *esp = &ctx->plan.parts[plan->esp_index];
                if ((r = bootloader_systemd_boot(ctx, esp_dir)) < 0 || (r = vfat_copy_tree(ctx->raw_tmp, esp->offset, esp_dir, ctx->epoch)) < 0)
                        goto out;
                if (vfat_used_bytes(ctx->raw_tmp, esp->offset, &esp->fs_used) < 0)
                        esp->fs_used = 0;
                r = 0;
                goto out;
        }
        if (!values[0]) {
                r = log_error_errno(-EINVAL, "bootloader: the disk has no root partition");
                goto out;
        }
        if ((r = read_template("grub/early.cfg.in", &tmpl)) < 0 || (r = template_expand(tmpl, keys, values, 1, &early)) < 0)
                goto out;
        if ((r = write_file(early_path, early, strlen(early), 0644)) < 0) {
                log_error_errno(r, "cannot write %s", early_path);
                goto out;
        }
        if (bios && (r = make_grub_image(ctx, root_fd, GRUB_I386_PC, early_path, scratch, core_path)) < 0)
                goto out;
        if (uefi) {
                if ((r = mkdir_p(efi_dir, 0755)) < 0) {
                        log_error_errno(r, "cannot create %s", efi_dir);
                        goto out;
                }
                if (p->bootloader.secure_boot)
                        r = stage_secureboot_esp(ctx, root_fd, esp_dir);
                else
                        r = make_grub_image(ctx, root_fd, GRUB_X86_64_EFI, early_path, scratch, efi_path);
                if (r < 0)
                        goto out;
                const struct planned_partition *esp = &plan->parts[plan->esp_index];
                /* FAT: two FAT copies (4 bytes per 512-byte cluster at worst), reserved sectors, root dir */
                uint64_t usable = esp->size - esp->size / 64 - MiB;
                uint64_t need = esp_staged_bytes(esp_dir);
                if (need > usable) {
                        char a[32], b[32], o[256];
                        r = log_error_errno(-ENOSPC, "%s: the ESP (partition %u, %s) is too small for its files (%s)",
                                            origin_format(profile_origin(p, esp->spec->origin_path), o, sizeof(o)),
                                            esp->number, format_bytes(esp->size, a), format_bytes(need, b));
                        goto out;
                }
        }
        if (spawn_interrupted()) {
                r = -EINTR;
                goto out;
        }

        if (bios && (r = install_bios(ctx, core_path, boot_img_path)) < 0)
                goto out;
        if (uefi) {
                struct planned_partition *esp = &ctx->plan.parts[plan->esp_index];
                if ((r = vfat_copy_tree(ctx->raw_tmp, esp->offset, esp_dir, ctx->epoch)) < 0)
                        goto out;
                if (vfat_used_bytes(ctx->raw_tmp, esp->offset, &esp->fs_used) < 0)
                        esp->fs_used = 0;   /* FAT16: unknown */
                struct stat st;
                log_info("bootloader: UEFI: \\EFI\\BOOT\\BOOTX64.EFI (%s, %jd bytes) on the ESP",
                         p->bootloader.secure_boot ? "shim, with signed GRUB as grubx64.efi" : "GRUB",
                         stat(efi_path, &st) == 0 ? (intmax_t)st.st_size : (intmax_t)-1);
        }
        r = 0;
out:
        (void)rm_rf(scratch);
        return r;
}
