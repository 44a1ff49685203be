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
 * or, with bootloader.secure-boot (see "Secure Boot" below), instead of the
 * kernel, initrd and entry:
 *   \EFI\Linux\NAME_VERSION.efi       the signed unified kernel image, a
 *                                     Type #2 entry (counted the same way:
 *                                     NAME_VERSION+3-0.efi from updates)
 *   \loader\keys\auto\{PK,KEK,db}.auth with bootloader.secure-boot-enroll
 * and both systemd-boot copies signed with the profile's key.
 *
 * Kernel command line: roothash=<root hash of root-A> root=/dev/mapper/root
 * rootfstype=<erofs|squashfs> ro, then the profile's kernel.cmdline.  In the
 * initrd, systemd-veritysetup-generator turns roothash= into
 * systemd-veritysetup@root.service with the data and hash partitions found
 * by the partition UUIDs the root hash implies (see stage_disk.c), which
 * opens /dev/mapper/root. */
#include "bootloader.h"
#include "build.h"
#include "fileio.h"
#include "fsimage.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "uki.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A file of the image (through the tree's resolver, lib/tree.h: a symlink
 * such as /boot/vmlinuz-X -> /etc/shadow names the image's own file) onto
 * the host. */
static int copy_tree_file(int root_fd, const char *path, const char *dst) {
        int r = copy_from_tree(root_fd, path, dst, 0644);
        if (r < 0)
                return log_error_errno(r, "cannot copy the image's %s to %s", path, dst);
        return 0;
}

/* The largest kernel, initrd or stub a unified kernel image takes from the
 * tree (the whole UKI must stay below 4 GiB). */
#define UKI_PART_MAX (UINT64_C(1) << 30)

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

/* Secure Boot (bootloader.secure-boot: true): a Type #2 entry instead.
 *
 * A Type #1 entry's options line is plain text on the ESP: with Secure
 * Boot anyone could change roothash= without breaking a signature.  So the
 * kernel, initrd, command line (with roothash=), os-release and kernel
 * release become one unified kernel image (UAPI.5), EFI/Linux/
 * NAME_VERSION.efi, signed with the profile's key, as are systemd-boot's
 * two copies.  systemd-stub (linuxx64.efi.stub of systemd-boot-efi, the
 * image's own) ignores a command line passed by the loader when Secure
 * Boot is on, so the signed .cmdline is the one the kernel gets.
 *
 * Building: ukify needs python3 and python3-pefile in the image (tens of
 * MB the image does not otherwise need, and it would run chrooted as
 * root); objcopy from the host's binutils rewrites the whole PE and
 * needs section addresses computed from objdump's output.  uki_build()
 * (lib/uki.c) does what ukify does with pefile: the stub's section headers
 * get five more entries, the data goes after the last section.
 *
 * Signing: sbsign and sbvarsign (sbsigntool) on the host, where the key
 * is.  sbsign's PKCS#7 carries a PKCS#9 signingTime attribute that
 * OpenSSL fills from the clock (sbsign 0.9.4 has no option to leave it
 * out or set it), and sbvarsign's EFI_VARIABLE_AUTHENTICATION_2 header has
 * an EFI_TIME from time(2).  Everything else in both is a function of the
 * input and the key (RSA PKCS#1 v1.5 signatures are deterministic), so
 * both run under libfaketime (package faketime) with the clock stopped
 * at SOURCE_DATE_EPOCH: two builds give the same bytes.
 *
 * Enrollment (bootloader.secure-boot-enroll: true, for test and
 * development machines): ESP/loader/keys/auto/{PK,KEK,db}.auth, each an
 * EFI_SIGNATURE_LIST with the certificate, signed by the key (one key for
 * all three, as mkosi's SecureBootAutoEnroll does), and `secure-boot-enroll
 * force` in loader.conf: systemd-boot, started by firmware in setup mode,
 * writes db, KEK and PK (a 15 s countdown first) and resets the machine,
 * which then enforces Secure Boot with this key.  Production machines
 * have their keys already (or boot through shim and MOK, not done here). */
#define LIBFAKETIME "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

/* argv run with the clock stopped at the build's epoch (see above). */
static int run_at_epoch(const struct build_ctx *ctx, char **argv) {
        if (access(LIBFAKETIME, R_OK) < 0)
                return log_error_errno(-ENOENT, "bootloader: %s is missing: signing for Secure Boot needs it to give the "
                                       "signatures SOURCE_DATE_EPOCH's time (install the package faketime)", LIBFAKETIME);
        _cleanup_free_ char *preload = xasprintf("LD_PRELOAD=%s", LIBFAKETIME);
        _cleanup_free_ char *when = xasprintf("FAKETIME=%" PRIu64, ctx->epoch);
        char *env[] = { preload, (char *)"FAKETIME_FMT=%s", when, (char *)"TZ=UTC", NULL };
        struct run_opts o = { .quiet = true, .env = env };
        return run_command(argv, &o);
}

static int sb_sign(const struct build_ctx *ctx, const char *in, const char *out) {
        const struct slw_profile *p = ctx->profile;
        char *argv[] = { (char *)"sbsign", (char *)"--key", p->bootloader.secure_boot_key, (char *)"--cert",
                         p->bootloader.secure_boot_certificate, (char *)"--output", (char *)out, (char *)in, NULL };
        return run_at_epoch(ctx, argv);
}

/* The certificate as DER, after checking that it and the key are PEM and
 * belong together: a wrong pair would give an image whose every boot is
 * refused, found only in a VM. */
static int read_key_pair(const struct slw_profile *p, uint8_t **ret_der, size_t *ret_len) {
        char o[256];
        _cleanup_fclose_ FILE *cf = fopen(p->bootloader.secure_boot_certificate, "re");
        _cleanup_fclose_ FILE *kf = fopen(p->bootloader.secure_boot_key, "re");
        if (!cf || !kf)
                return log_error_errno(-errno, "%s: cannot open %s", origin_format(profile_origin(p, cf ? "bootloader.secure-boot-key"
                                       : "bootloader.secure-boot-certificate"), o, sizeof(o)),
                                       cf ? p->bootloader.secure_boot_key : p->bootloader.secure_boot_certificate);
        X509 *cert = PEM_read_X509(cf, NULL, NULL, NULL);
        if (!cert)
                return log_error_errno(-EINVAL, "%s: %s is not a PEM X.509 certificate",
                                       origin_format(profile_origin(p, "bootloader.secure-boot-certificate"), o, sizeof(o)),
                                       p->bootloader.secure_boot_certificate);
        EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
        int r = 0;
        if (!key)
                r = log_error_errno(-EINVAL, "%s: %s is not an unencrypted PEM private key",
                                    origin_format(profile_origin(p, "bootloader.secure-boot-key"), o, sizeof(o)),
                                    p->bootloader.secure_boot_key);
        else if (X509_check_private_key(cert, key) != 1)
                r = log_error_errno(-EINVAL, "%s: the key %s does not belong to the certificate %s",
                                    origin_format(profile_origin(p, "bootloader.secure-boot-key"), o, sizeof(o)),
                                    p->bootloader.secure_boot_key, p->bootloader.secure_boot_certificate);
        unsigned char *der = NULL;
        int len = r < 0 ? -1 : i2d_X509(cert, &der);
        if (r == 0 && len <= 0)
                r = log_error_errno(-EINVAL, "cannot encode %s as DER", p->bootloader.secure_boot_certificate);
        EVP_PKEY_free(key);
        X509_free(cert);
        if (r < 0)
                return r;
        *ret_der = xmalloc((size_t)len);
        memcpy(*ret_der, der, (size_t)len);
        OPENSSL_free(der);
        *ret_len = (size_t)len;
        return 0;
}

static void put_guid(uint8_t *p, const uint8_t g[16]) {
        memcpy(p, g, 16);
}

/* ESP/loader/keys/auto/{PK,KEK,db}.auth for systemd-boot's enrollment. */
static int write_enroll_keys(const struct build_ctx *ctx, const char *esp_dir, const uint8_t *der, size_t der_len) {
        /* EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, as stored (mixed endian) */
        static const uint8_t cert_x509[16] = { 0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a,
                                               0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72 };
        /* The signature owner: any GUID; derived from the certificate so
         * the list is the same in every build. */
        uint8_t owner[32];
        SHA256(der, der_len, owner);
        owner[7] = (uint8_t)((owner[7] & 0x0f) | 0x40);
        owner[8] = (uint8_t)((owner[8] & 0x3f) | 0x80);
        /* EFI_SIGNATURE_LIST: type, list size, header size 0, signature
         * size; then one EFI_SIGNATURE_DATA: owner + the DER certificate */
        size_t sig_size = 16 + der_len, list_size = 28 + sig_size;
        _cleanup_free_ uint8_t *esl = xcalloc(1, list_size);
        put_guid(esl, cert_x509);
        for (int i = 0; i < 4; i++) {
                esl[16 + i] = (uint8_t)(list_size >> (8 * i));
                esl[24 + i] = (uint8_t)(sig_size >> (8 * i));
        }
        put_guid(esl + 28, owner);
        memcpy(esl + 44, der, der_len);
        _cleanup_free_ char *esl_path = xasprintf("%s/secure-boot.esl", ctx->workdir);
        _cleanup_free_ char *dir = path_join(esp_dir, "loader/keys/auto");
        int r;
        if ((r = write_file(esl_path, esl, list_size, 0644)) < 0)
                return log_error_errno(r, "cannot write %s", esl_path);
        if ((r = mkdir_p(dir, 0755)) < 0)
                return log_error_errno(r, "cannot create %s", dir);
        static const char *const vars[] = { "PK", "KEK", "db" };
        const struct slw_profile *p = ctx->profile;
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                _cleanup_free_ char *name = xasprintf("%s.auth", vars[i]), *out = path_join(dir, name);
                char *argv[] = { (char *)"sbvarsign", (char *)"--attr",
                                 (char *)"NON_VOLATILE,BOOTSERVICE_ACCESS,RUNTIME_ACCESS,TIME_BASED_AUTHENTICATED_WRITE_ACCESS",
                                 (char *)"--key", p->bootloader.secure_boot_key, (char *)"--cert",
                                 p->bootloader.secure_boot_certificate, (char *)"--output", out, (char *)vars[i], esl_path, NULL };
                if ((r = run_at_epoch(ctx, argv)) < 0)
                        return r;
        }
        (void)unlink(esl_path);
        return 0;
}

/* ESP/EFI/Linux/NAME_VERSION.efi, signed; *ret_path is where it is. */
static int stage_uki(struct build_ctx *ctx, int root_fd, const char *esp_dir, const char *kernel, const char *initrd,
                     const char *cmdline, char **ret_path) {
        const struct slw_profile *p = ctx->profile;
        static const char stub_path[] = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
        _cleanup_free_ char *stub = NULL, *osrel = NULL, *linux = NULL, *initramfs = NULL;
        size_t stub_len = 0, osrel_len = 0, linux_len = 0, initrd_len = 0;
        int r;
        const char *paths[] = { stub_path, "/usr/lib/os-release", kernel, initrd };
        char **bufs[] = { &stub, &osrel, &linux, &initramfs };
        size_t *lens[] = { &stub_len, &osrel_len, &linux_len, &initrd_len };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if ((r = tree_read_file(root_fd, paths[i], UKI_PART_MAX, bufs[i], lens[i])) < 0)
                        return log_error_errno(r, "cannot read the image's %s%s", paths[i],
                                               i == 0 ? " (systemd-stub, package systemd-boot-efi)" : "");
        const char *uname = kernel + strlen("/boot/vmlinuz-");
        /* ukify's order; systemd-stub finds each by name */
        const struct uki_section sections[] = {
                { ".osrel", osrel, osrel_len },
                { ".cmdline", cmdline, strlen(cmdline) },
                { ".uname", uname, strlen(uname) },
                { ".initrd", initramfs, initrd_len },
                { ".linux", linux, linux_len },
        };
        _cleanup_free_ uint8_t *uki = NULL;
        size_t uki_len = 0;
        r = uki_build((const uint8_t *)stub, stub_len, sections, ELEMENTSOF(sections), &uki, &uki_len);
        if (r < 0)
                return log_error_errno(r, "the image's %s: cannot add the kernel to it as a unified kernel image (%s)", stub_path,
                                       r == -E2BIG ? "no room for five more section headers" : "not an unsigned x86-64 PE32+ image");
        _cleanup_free_ char *linux_dir = path_join(esp_dir, "EFI/Linux");
        _cleanup_free_ char *name = xasprintf("%s_%s.efi", p->name, p->version);
        _cleanup_free_ char *unsigned_path = xasprintf("%s/%s.unsigned", ctx->workdir, name);
        _cleanup_free_ char *out = path_join(linux_dir, name);
        if ((r = mkdir_p(linux_dir, 0755)) < 0)
                return log_error_errno(r, "cannot create %s", linux_dir);
        if ((r = write_file(unsigned_path, uki, uki_len, 0644)) < 0)
                return log_error_errno(r, "cannot write %s", unsigned_path);
        r = sb_sign(ctx, unsigned_path, out);
        (void)unlink(unsigned_path);
        if (r < 0)
                return r;
        *ret_path = TAKE_PTR(out);
        return 0;
}

int bootloader_systemd_boot(struct build_ctx *ctx, const char *esp_dir) {
        const struct slw_profile *p = ctx->profile;
        bool sb = p->bootloader.secure_boot;
        int r;
        if (!ctx->plan.roothash[0])
                return log_error_errno(-EINVAL, "bootloader: no root hash (the disk stage did not build the verity root)");
        _cleanup_close_ int root_fd = tree_root_open(ctx->tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "bootloader: cannot open the tree %s", ctx->tree);
        static const char sdboot[] = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";
        struct stat st;
        if (tree_stat(root_fd, sdboot, &st) < 0 || !S_ISREG(st.st_mode)) {
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
        _cleanup_free_ uint8_t *cert_der = NULL;
        size_t cert_len = 0;
        if (sb && (r = read_key_pair(p, &cert_der, &cert_len)) < 0)
                return r;

        _cleanup_free_ char *nv = xasprintf("%s_%s", p->name, p->version);
        _cleanup_free_ char *boot_dir = path_join(esp_dir, "EFI/BOOT"), *sd_dir = path_join(esp_dir, "EFI/systemd");
        _cleanup_free_ char *loader_dir = path_join(esp_dir, "loader"), *entries = path_join(esp_dir, "loader/entries");
        _cleanup_free_ char *kdir = path_join(esp_dir, p->name);
        const char *dirs[] = { boot_dir, sd_dir, loader_dir, entries, kdir };
        for (size_t i = 0; i < (sb ? 3 : ELEMENTSOF(dirs)); i++)
                if ((r = mkdir_p(dirs[i], 0755)) < 0)
                        return log_error_errno(r, "cannot create %s", dirs[i]);

        _cleanup_free_ char *efi1 = path_join(boot_dir, "BOOTX64.EFI"), *efi2 = path_join(sd_dir, "systemd-bootx64.efi");
        if (sb) {
                /* sbsign reads a copy, never a path of the tree */
                _cleanup_free_ char *unsigned_path = xasprintf("%s/systemd-bootx64.efi.unsigned", ctx->workdir);
                r = copy_tree_file(root_fd, sdboot, unsigned_path);
                if (r >= 0)
                        r = sb_sign(ctx, unsigned_path, efi1);
                (void)unlink(unsigned_path);
        } else
                r = copy_tree_file(root_fd, sdboot, efi1);
        if (r < 0 || (r = copy_file(efi1, efi2)) < 0)
                return r;

        _cleanup_free_ char *loader_conf = xasprintf("timeout %u\neditor no\n%s", p->bootloader.timeout,
                                                     sb && p->bootloader.secure_boot_enroll ? "secure-boot-enroll force\n" : "");
        _cleanup_free_ char *lpath = path_join(loader_dir, "loader.conf");
        if ((r = write_file(lpath, loader_conf, strlen(loader_conf), 0644)) < 0)
                return log_error_errno(r, "cannot write %s", lpath);
        if (sb && p->bootloader.secure_boot_enroll && (r = write_enroll_keys(ctx, esp_dir, cert_der, cert_len)) < 0)
                return r;

        _cleanup_free_ char *cmdline = bootloader_immutable_cmdline(ctx);
        _cleanup_free_ char *ename = NULL, *uki = NULL;
        if (sb) {
                if ((r = stage_uki(ctx, root_fd, esp_dir, kernel, initrd, cmdline, &uki)) < 0)
                        return r;
                ename = xasprintf("%s.efi", nv);
                /* The signed UKI is the whole kernel update (NAME_VERSION.efi). */
                _cleanup_free_ char *tmp = xasprintf("%s/%s.efi", ctx->workdir, nv);
                _cleanup_free_ char *final = xasprintf("%s/%s.efi", ctx->outdir, nv);
                if ((r = copy_file(uki, tmp)) < 0)
                        return r;
                build_add_artifact(ctx, tmp, final);
        } else {
                _cleanup_free_ char *kname = xasprintf("%s.vmlinuz", nv), *iname = xasprintf("%s.initrd", nv);
                _cleanup_free_ char *kdst = path_join(kdir, kname), *idst = path_join(kdir, iname);
                if ((r = copy_tree_file(root_fd, kernel, kdst)) < 0 || (r = copy_tree_file(root_fd, initrd, idst)) < 0)
                        return r;
                _cleanup_free_ char *entry = xasprintf("title %s %s\n"
                                                       "version %s\n"
                                                       "linux /%s/%s\n"
                                                       "initrd /%s/%s\n"
                                                       "options %s\n",
                                                       p->name, p->version, p->version, p->name, kname, p->name, iname, cmdline);
                ename = xasprintf("%s.conf", nv);
                _cleanup_free_ char *epath = path_join(entries, ename);
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
        if (sb)
                log_info("bootloader: systemd-boot and the unified kernel image EFI/Linux/%s (kernel %s, initrd %s), signed "
                         "with %s%s (ESP files %s)", ename, kernel, initrd, p->bootloader.secure_boot_certificate,
                         p->bootloader.secure_boot_enroll ? ", keys for enrollment in loader/keys/auto" : "", format_bytes(need, a));
        else
                log_info("bootloader: systemd-boot, entry %s (kernel %s, initrd %s, ESP files %s)", ename, kernel, initrd,
                         format_bytes(need, a));
        log_info("bootloader: kernel command line \"%s\"", cmdline);
        if (sb)
                build_record_change(ctx, "signed unified kernel image with the verity root hash", "ESP:/EFI/Linux",
                                    "bootloader.secure-boot");
        else
                build_record_change(ctx, "systemd-boot entry with the verity root hash", "ESP:/loader/entries", "immutable.enabled");
        return 0;
}
