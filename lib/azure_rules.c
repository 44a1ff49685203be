/* SPDX-License-Identifier: MIT */
/* The Azure rules.  Sources (Microsoft Learn; checked 2026-11):
 *   GENERIC  "Information for creating and uploading a generic Linux VHD"
 *   DEBIAN   "Prepare a Debian VHD for Azure"
 *   GEN2     "Support for generation 2 VMs on Azure"
 *   DISKS    managed disks: OS disk size limits
 *   MARKET   Marketplace VM certification: OS disk size range
 * The rule functions say, beside each check, what the page requires. */
#include "azure_rules.h"
#include "ext4_reader.h"
#include "log.h"
#include "spawn.h"
#include "strindex.h"
#include "util.h"

#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#define SRC_GENERIC "https://learn.microsoft.com/en-us/azure/virtual-machines/linux/create-upload-generic"
#define SRC_DEBIAN "https://learn.microsoft.com/en-us/azure/virtual-machines/linux/debian-create-upload-vhd"
#define SRC_GEN2 "https://learn.microsoft.com/en-us/azure/virtual-machines/generation-2"
#define SRC_DISKS "https://learn.microsoft.com/en-us/azure/virtual-machines/managed-disks-overview"
/* Azure VM sizes with NVMe disks; the udev rules that name them are
 * Azure's azure-vm-utils (Debian trixie: package azure-vm-utils). */
#define SRC_NVME "https://learn.microsoft.com/en-us/azure/virtual-machines/nvme-overview"
#define SRC_NVME_RULES "https://learn.microsoft.com/en-us/azure/virtual-machines/enable-nvme-interface"
#define SRC_MARKET "https://learn.microsoft.com/en-us/partner-center/marketplace-offers/azure-vm-certification-faq"
/* SERIAL: "Azure Serial Console for Linux": the console is the guest's
 * ttyS0 getty, reachable by anyone with the VM Contributor role; the
 * guest's login (a local user with a password) is what guards it. */
#define SRC_SERIAL "https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/linux/serial-console-linux"

const char *rule_status_name(enum rule_status s) {
        return s == RULE_PASS ? "pass" : s == RULE_WARN ? "warn" : "fail";
}

void azure_report_add(struct azure_report *rep, const char *name, enum rule_status st, const char *source, const char *fmt, ...) {
        rep->results = xrealloc(rep->results, (rep->n + 1) * sizeof *rep->results);
        struct rule_result *r = &rep->results[rep->n++];
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&r->message, fmt, ap) < 0)
                abort();
        va_end(ap);
        r->name = name;
        r->status = st;
        r->source = source;
        if (st == RULE_PASS)
                rep->passed++;
        else if (st == RULE_WARN)
                rep->warned++;
        else
                rep->failed++;
}

void azure_report_done(struct azure_report *rep) {
        for (size_t i = 0; i < rep->n; i++)
                free(rep->results[i].message);
        free(rep->results);
        strv_free(rep->ssh_host_keys);
        strv_free(rep->fstab_swap);
        free(rep->kernel);
        memset(rep, 0, sizeof *rep);
}

/* ---- container ---- */
static void rules_container(struct image_reader *r, struct azure_report *rep) {
        bool vhd = r->format == IMAGE_FORMAT_VHD_FIXED || r->format == IMAGE_FORMAT_VHD_DYNAMIC;
        /* GENERIC: "The VHDX format isn't supported in Azure, only fixed VHD";
         * dynamic VHDs must be converted to fixed before upload. */
        if (r->format == IMAGE_FORMAT_VHD_FIXED)
                azure_report_add(rep, "container.fixed-vhd", RULE_PASS, SRC_GENERIC, "fixed VHD");
        else if (r->format == IMAGE_FORMAT_VHD_DYNAMIC)
                azure_report_add(rep, "container.fixed-vhd", RULE_FAIL, SRC_GENERIC,
                                 "dynamic VHD: Azure accepts only fixed VHDs (qemu-img convert -O vpc -o subformat=fixed,force_size)");
        else
                azure_report_add(rep, "container.fixed-vhd", RULE_WARN, SRC_GENERIC,
                                 "%s image: would fail once uploaded as is; convert it to a fixed VHD", image_format_name(r->format));

        /* The VHD specification's footer checksum: Azure rejects a VHD whose footer does not validate. */
        if (!vhd)
                azure_report_add(rep, "container.footer", RULE_WARN, SRC_GENERIC, "no VHD footer (%s image)", image_format_name(r->format));
        else if (r->vhd_footer_status == -EINVAL)
                azure_report_add(rep, "container.footer", RULE_FAIL, SRC_GENERIC, "VHD footer: %s", r->vhd.problem);
        else if (r->vhd_footer_status < 0)
                azure_report_add(rep, "container.footer", RULE_FAIL, SRC_GENERIC,
                                 "VHD footer checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
                                 r->vhd.checksum_stored, r->vhd.checksum_computed);
        else
                azure_report_add(rep, "container.footer", RULE_PASS, SRC_GENERIC, "footer cookie, checksum and fields valid");

        /* GENERIC: "All VHDs on Azure must have a virtual size aligned to 1 MB". */
        if (r->size % MiB == 0)
                azure_report_add(rep, "container.size-aligned", RULE_PASS, SRC_GENERIC, "virtual size %" PRIu64 " is a multiple of 1 MiB", r->size);
        else
                azure_report_add(rep, "container.size-aligned", vhd ? RULE_FAIL : RULE_WARN, SRC_GENERIC,
                                 "virtual size %" PRIu64 " is not a multiple of 1 MiB%s", r->size,
                                 vhd ? "" : " (would fail once converted)");
}

static void rule_disk_size(struct image_reader *r, struct image_info *info, struct azure_report *rep) {
        bool vhd = r->format == IMAGE_FORMAT_VHD_FIXED || r->format == IMAGE_FORMAT_VHD_DYNAMIC;
        bool gpt = info->table && strcmp(info->table, "gpt") == 0;
        /* DISKS: an OS disk is at most 4,095 GiB; GEN2: generation 1 (BIOS, MBR)
         * OS disks are limited to 2 TiB, only generation 2 (UEFI, GPT) goes beyond.
         * MARKET: Marketplace Linux OS disks are 30 GiB to 1,023 GiB. */
        enum rule_status bad = vhd ? RULE_FAIL : RULE_WARN;
        if (r->size > 4095 * GiB)
                azure_report_add(rep, "container.os-disk-size", bad, SRC_DISKS, "%" PRIu64 " bytes exceeds Azure's 4,095 GiB OS disk limit", r->size);
        else if (r->size > 2048 * GiB && !gpt)
                azure_report_add(rep, "container.os-disk-size", bad, SRC_GEN2, "%" PRIu64 " bytes on an MBR disk exceeds generation 1's 2 TiB OS disk limit", r->size);
        else if (r->size < 30 * GiB || r->size > 1023 * GiB)
                azure_report_add(rep, "container.os-disk-size", RULE_WARN, SRC_MARKET,
                                 "%" PRIu64 " MiB: fine for a private image, but Marketplace OS disks must be 30-1023 GiB", r->size / MiB);
        else
                azure_report_add(rep, "container.os-disk-size", RULE_PASS, SRC_MARKET, "%" PRIu64 " MiB is within Azure's and Marketplace's limits", r->size / MiB);
}

/* ---- boot ---- */
static void rules_boot(struct image_info *info, struct azure_report *rep) {
        bool gpt = info->table && strcmp(info->table, "gpt") == 0;
        bool has_esp = false;
        for (size_t i = 0; i < info->n_partitions; i++)
                has_esp |= info->partitions[i].is_esp;
        /* GEN2: generation 1 boots with BIOS from MBR boot code (GRUB's
         * boot.img; on GPT its core.img lives in a BIOS boot partition);
         * generation 2 boots with UEFI from an ESP on a GPT disk. */
        bool gen1 = info->mbr_boot_code && (!gpt || info->bios_boot_partition_used);
        bool gen2 = gpt && has_esp && info->efi_loader;
        if (gen1)
                azure_report_add(rep, "boot.gen1-bios", RULE_PASS, SRC_GEN2, "MBR boot code%s%s", info->mbr_grub ? " (GRUB)" : "",
                                 gpt ? " and a populated BIOS boot partition" : "");
        else
                azure_report_add(rep, "boot.gen1-bios", gen2 ? RULE_WARN : RULE_FAIL, SRC_GEN2, "%s%s",
                                 !info->mbr_boot_code ? "no MBR boot code" : "GPT disk without a populated BIOS boot partition",
                                 gen2 ? ": generation 2 only" : "");
        if (gen2)
                azure_report_add(rep, "boot.gen2-uefi", RULE_PASS, SRC_GEN2, "GPT, ESP with \\EFI\\BOOT\\BOOTX64.EFI");
        else
                azure_report_add(rep, "boot.gen2-uefi", gen1 ? RULE_WARN : RULE_FAIL, SRC_GEN2, "%s%s",
                                 !gpt ? "not a GPT disk" : !has_esp ? "no EFI system partition" : "no \\EFI\\BOOT\\BOOTX64.EFI on the ESP",
                                 gen1 ? ": generation 1 only" : "");
}

/* ---- Secure Boot (Trusted Launch) ---- */
/* Trusted Launch (Secure Boot + vTPM) is the default for new Gen2 VMs and
 * Compute Gallery image definitions; its db holds Microsoft's UEFI CA 2011,
 * so the removable-media loader must be signed in a chain to it (shim). */
#define SRC_TRUSTED_LAUNCH "https://learn.microsoft.com/en-us/azure/virtual-machines/trusted-launch"

static void rule_secure_boot(struct image_info *info, struct azure_report *rep) {
        if (!info->efi_loader)
                return;         /* boot.gen2-uefi says why; nothing to sign */
        const struct authenticode_info *sigs = &info->efi_signatures;
        const struct authenticode_signature *ok = authenticode_trusted(sigs);
        _cleanup_free_ char *signer = NULL, *anchor = NULL;
        if (info->efi_loader_unread)
                azure_report_add(rep, "boot.secure-boot-signed", RULE_FAIL, SRC_TRUSTED_LAUNCH,
                                 "\\EFI\\BOOT\\BOOTX64.EFI is too large to be a boot loader; its signature was not read");
        else if (ok) {
                signer = term_escaped(ok->signer);
                anchor = term_escaped(ok->anchor);
                azure_report_add(rep, "boot.secure-boot-signed", RULE_PASS, SRC_TRUSTED_LAUNCH,
                                 "\\EFI\\BOOT\\BOOTX64.EFI is signed by %s, a chain to %s (sha256 %.16s...)", signer, anchor,
                                 ok->anchor_sha256);
        } else if (sigs->n_sigs == 0)
                azure_report_add(rep, "boot.secure-boot-signed", RULE_FAIL, SRC_TRUSTED_LAUNCH,
                                 "\\EFI\\BOOT\\BOOTX64.EFI is not signed: Trusted Launch (Secure Boot) firmware refuses it "
                                 "(bootloader.secure-boot: true installs shim and the distribution's signed GRUB)");
        else {
                _cleanup_free_ char *problem = term_escaped(sigs->sigs[0].problem);
                signer = term_escaped(sigs->sigs[0].signer);
                azure_report_add(rep, "boot.secure-boot-signed", RULE_FAIL, SRC_TRUSTED_LAUNCH,
                                 "\\EFI\\BOOT\\BOOTX64.EFI has no signature Microsoft's UEFI CA 2011 vouches for: signed by %s, %s",
                                 signer ? signer : "?", problem ? problem : "?");
        }
}

/* ---- NVMe disk naming ---- */
/* SRC_NVME_RULES: on NVMe sizes the OS and data disks are told apart by
 * Azure's udev rules (azure-vm-utils: 80-azure-disk.rules, which run
 * azure-nvme-id), giving /dev/disk/azure/os and /dev/disk/azure/data/by-lun/N. */
static void rule_nvme_naming(struct ext4_reader *e, struct azure_report *rep) {
        static const char *const rules[] = { "/usr/lib/udev/rules.d/80-azure-disk.rules", "/lib/udev/rules.d/80-azure-disk.rules",
                                             "/etc/udev/rules.d/80-azure-disk.rules" };
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                _cleanup_free_ char *text = NULL;
                if (ext4_read_file(e, rules[i], 1 * MiB, &text, NULL) < 0)
                        continue;
                if (!strstr(text, "azure-nvme-id")) {
                        azure_report_add(rep, "nvme.disk-naming", RULE_FAIL, SRC_NVME_RULES,
                                         "%s does not run azure-nvme-id: NVMe data disks get no /dev/disk/azure names", rules[i]);
                        return;
                }
                ext2_ino_t ino;
                bool helper = ext4_lookup(e, "/usr/sbin/azure-nvme-id", &ino, NULL) == 0 ||
                              ext4_lookup(e, "/usr/bin/azure-nvme-id", &ino, NULL) == 0 ||
                              ext4_lookup(e, "/usr/lib/udev/azure-nvme-id", &ino, NULL) == 0;
                if (helper)
                        azure_report_add(rep, "nvme.disk-naming", RULE_PASS, SRC_NVME_RULES, "%s and azure-nvme-id (azure-vm-utils)", rules[i]);
                else
                        azure_report_add(rep, "nvme.disk-naming", RULE_FAIL, SRC_NVME_RULES,
                                         "%s is there but azure-nvme-id, which it runs, is not", rules[i]);
                return;
        }
        azure_report_add(rep, "nvme.disk-naming", RULE_FAIL, SRC_NVME_RULES,
                         "no 80-azure-disk.rules: NVMe OS and data disks get no /dev/disk/azure names (install azure-vm-utils)");
}

/* ---- kernel command line ---- */
static bool word_present(const char *line, const char *word) {
        size_t n = strlen(word);
        for (const char *p = line; (p = strstr(p, word)); p += n)
                if ((p == line || isspace((unsigned char)p[-1])) && (p[n] == 0 || isspace((unsigned char)p[n]) || p[n] == ','))
                        return true;
        return false;
}

static void rules_cmdline(struct ext4_reader *e, struct azure_report *rep) {
        _cleanup_free_ char *cfg = NULL;
        int k = ext4_read_file(e, "/boot/grub/grub.cfg", 16 * MiB, &cfg, NULL);
        if (k < 0) {
                azure_report_add(rep, "kernel.console", RULE_FAIL, SRC_GENERIC, "no /boot/grub/grub.cfg to read the kernel command line from");
                return;
        }
        size_t lines = 0, console = 0, early = 0;
        for (char *line = cfg, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (isspace((unsigned char)*line))
                        line++;
                if (!startswith(line, "linux ") && !startswith(line, "linux\t") && !startswith(line, "linuxefi "))
                        continue;
                lines++;
                /* console=ttyS0 or console=ttyS0,115200n8 */
                console += word_present(line, "console=ttyS0");
                early += word_present(line, "earlyprintk=ttyS0");
        }
        /* GENERIC / DEBIAN: the kernel command line must include
         * "console=ttyS0,115200n8 earlyprintk=ttyS0" so that the serial
         * console and boot diagnostics work.  (rootdelay=300, also in the
         * Debian page, is deliberately not required: Debian's initramfs-tools
         * sleeps it unconditionally.) */
        if (lines == 0)
                azure_report_add(rep, "kernel.console", RULE_FAIL, SRC_GENERIC, "no 'linux' line in /boot/grub/grub.cfg");
        else if (console < lines)
                azure_report_add(rep, "kernel.console", RULE_FAIL, SRC_GENERIC, "%zu of %zu grub.cfg entries lack console=ttyS0", lines - console, lines);
        else
                azure_report_add(rep, "kernel.console", RULE_PASS, SRC_GENERIC, "console=ttyS0 on all %zu grub.cfg entries", lines);
        if (lines > 0 && early < lines)
                azure_report_add(rep, "kernel.earlyprintk", RULE_WARN, SRC_GENERIC, "%zu of %zu grub.cfg entries lack earlyprintk=ttyS0", lines - early, lines);
        else if (lines > 0)
                azure_report_add(rep, "kernel.earlyprintk", RULE_PASS, SRC_GENERIC, "earlyprintk=ttyS0 on all grub.cfg entries");
}

/* ---- swap ---- */
static void rule_swap(struct image_info *info, struct ext4_reader *e, struct azure_report *rep) {
        _cleanup_free_ char *fstab = NULL;
        int k = ext4_read_file(e, "/etc/fstab", 1 * MiB, &fstab, NULL);
        for (char *line = k >= 0 ? fstab : NULL, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (isspace((unsigned char)*line))
                        line++;
                if (*line == '#' || *line == 0)
                        continue;
                char spec[256], file[256], type[64];
                if (sscanf(line, "%255s %255s %63s", spec, file, type) == 3 && strcmp(type, "swap") == 0)
                        strv_push(&rep->fstab_swap, spec);
        }
        rep->swapfile = ext4_exists(e, "/swapfile");
        const char *swap_part = NULL;
        for (size_t i = 0; i < info->n_partitions; i++)
                if (info->partitions[i].is_swap || (info->partitions[i].fs_type && strcmp(info->partitions[i].fs_type, "swap") == 0))
                        swap_part = "a swap partition";
        /* GENERIC: "don't create swap space on the OS disk"; the provisioning
         * agent (cloud-init or waagent) puts swap on the resource disk. */
        if (rep->fstab_swap)
                azure_report_add(rep, "swap.none", RULE_FAIL, SRC_GENERIC, "swap entry in /etc/fstab: %s", rep->fstab_swap[0]);
        else if (rep->swapfile)
                azure_report_add(rep, "swap.none", RULE_FAIL, SRC_GENERIC, "/swapfile on the OS disk");
        else if (swap_part)
                azure_report_add(rep, "swap.none", RULE_FAIL, SRC_GENERIC, "the OS disk has %s", swap_part);
        else
                azure_report_add(rep, "swap.none", RULE_PASS, SRC_GENERIC, "no swap partition, swap file or fstab swap entry");
}

/* ---- initramfs ---- */

/* The initramfs is read as a stream of pieces (from the image through
 * ext4_file_pread, or from memory), never whole: an initrd may claim 1 GiB
 * (holes) in an image of 80 MB. */
struct initramfs_source {
        int (*pread)(void *ctx, void *buf, size_t n, uint64_t off, size_t *got);
        void *ctx;
        uint64_t size;
};

/* Uncompressed bytes of the compressed part read before giving up: real
 * ones are a few hundred MB; a small bomb must not cost hours. */
#define INITRAMFS_MAX_UNPACKED (UINT64_C(4) << 30)
#define INITRAMFS_CHUNK (64 * 1024)

struct module_set {
        char **names;
        size_t n;
        struct str_index seen;
};

static void add_module_name(struct module_set *mods, const char *path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        const char *ko = strstr(base, ".ko");
        if (!ko || (ko[3] != 0 && ko[3] != '.'))
                return;
        char *n = xstrndup(base, (size_t)(ko - base));
        for (char *c = n; *c; c++)
                if (*c == '-')
                        *c = '_';
        size_t dummy;
        if (str_index_get(&mods->seen, n, &dummy)) {
                free(n);
                return;
        }
        if ((mods->n & (mods->n + 1)) == 0 || !mods->names)   /* room for n + 1 names and the NULL */
                mods->names = xrealloc(mods->names, (2 * mods->n + 2) * sizeof(char *));
        mods->names[mods->n++] = n;
        mods->names[mods->n] = NULL;
        str_index_add(&mods->seen, n, mods->n - 1);
}

static void module_set_free(struct module_set *mods) {
        str_index_clear(&mods->seen);
        strv_free(mods->names);
        *mods = (struct module_set){ 0 };
}

static uint32_t hex8(const uint8_t *p, bool *ok) {
        uint32_t v = 0;
        for (int i = 0; i < 8; i++) {
                int c = p[i], d;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
                else { *ok = false; return 0; }
                v = v << 4 | (uint32_t)d;
        }
        return v;
}

/* libarchive's view of the source from `pos` on. */
struct stream_cursor {
        const struct initramfs_source *src;
        uint64_t pos;
        uint8_t *buf;
        int failed;             /* a negative errno from pread */
};

static la_ssize_t stream_read(struct archive *a, void *ctx, const void **out) {
        struct stream_cursor *c = ctx;
        if (spawn_interrupted()) {
                c->failed = -EINTR;
                archive_set_error(a, EINTR, "interrupted");
                return -1;
        }
        size_t got = 0;
        int k = c->src->pread(c->src->ctx, c->buf, INITRAMFS_CHUNK, c->pos, &got);
        if (k < 0) {
                c->failed = k;
                archive_set_error(a, -k, "read error");
                return -1;
        }
        c->pos += got;
        *out = c->buf;
        return (la_ssize_t)got;
}

static la_int64_t stream_skip(struct archive *a, void *ctx, la_int64_t request) {
        struct stream_cursor *c = ctx;
        uint64_t left = c->pos < c->src->size ? c->src->size - c->pos : 0;
        uint64_t n = request > 0 ? MIN((uint64_t)request, left) : 0;
        c->pos += n;
        return (la_int64_t)n;
}

static int source_read_exact(const struct initramfs_source *src, void *buf, size_t n, uint64_t off) {
        size_t got = 0;
        int k = src->pread(src->ctx, buf, n, off, &got);
        return k < 0 ? k : got == n ? 0 : -EBADMSG;
}

static int list_modules(const struct initramfs_source *src, char ***ret) {
        _cleanup_(module_set_free) struct module_set mods = { 0 };
        _cleanup_free_ uint8_t *buf = xmalloc(INITRAMFS_CHUNK);
        const uint64_t len = src->size;
        uint64_t off = 0;
        int k;
        /* Uncompressed "newc" cpio segments (early microcode, firmware) come
         * first; parse them by hand to find where the compressed one starts. */
        for (;;) {
                /* the zeros between segments (holes, maybe), a chunk at a time */
                bool found = false;
                while (!found && off < len) {
                        if (spawn_interrupted())
                                return -EINTR;
                        size_t got = 0;
                        if ((k = src->pread(src->ctx, buf, INITRAMFS_CHUNK, off, &got)) < 0)
                                return k;
                        if (got == 0)
                                return -EBADMSG;
                        size_t z = 0;
                        while (z < got && buf[z] == 0)
                                z++;
                        off += z;
                        found = z < got;
                }
                uint8_t hdr[110];
                if (off + 110 > len)
                        break;
                if ((k = source_read_exact(src, hdr, sizeof hdr, off)) < 0)
                        return k;
                if (memcmp(hdr, "07070", 5) != 0)
                        break;
                bool ok = true;
                uint32_t filesize = hex8(hdr + 54, &ok), namesize = hex8(hdr + 94, &ok);
                if (!ok || namesize == 0 || namesize > 4096 || off + 110 + namesize > len)
                        return -EBADMSG;
                char name[4097];
                if ((k = source_read_exact(src, name, namesize, off + 110)) < 0)
                        return k;
                name[namesize - 1] = 0;
                uint64_t next = ALIGN_UP(off + 110 + namesize, 4);
                if (next > len || filesize > len - next)
                        return -EBADMSG;
                off = ALIGN_UP(next + filesize, 4);
                if (strcmp(name, "TRAILER!!!") != 0)
                        add_module_name(&mods, name);
        }
        if (off < len) {
                struct archive *a = archive_read_new();
                archive_read_support_filter_all(a);
                archive_read_support_format_cpio(a);
                struct stream_cursor c = { .src = src, .pos = off, .buf = buf };
                int r = archive_read_open2(a, &c, NULL, stream_read, stream_skip, NULL);
                struct archive_entry *ae;
                bool too_big = false;
                while (r == ARCHIVE_OK && (r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
                        const char *n = archive_entry_pathname(ae);
                        if (n)
                                add_module_name(&mods, n);
                        if ((uint64_t)archive_filter_bytes(a, 0) > INITRAMFS_MAX_UNPACKED) {
                                too_big = true;
                                break;
                        }
                }
                bool bad = too_big || r != ARCHIVE_EOF;
                if (bad && !too_big)
                        log_debug("initramfs: %s", archive_error_string(a) ? archive_error_string(a) : "read error");
                archive_read_free(a);
                if (c.failed)
                        return c.failed;
                if (too_big)
                        return -EFBIG;
                if (bad)
                        return -EBADMSG;
        }
        strv_sort(mods.names);
        *ret = mods.names ? TAKE_PTR(mods.names) : xcalloc(1, sizeof(char *));
        return 0;
}

struct memory_source {
        const uint8_t *data;
        size_t len;
};

static int memory_pread(void *ctx, void *buf, size_t n, uint64_t off, size_t *got) {
        const struct memory_source *m = ctx;
        *got = off < m->len ? (size_t)MIN((uint64_t)n, m->len - off) : 0;
        memcpy(buf, m->data + off, *got);
        return 0;
}

int initramfs_list_modules(const void *data, size_t len, char ***ret) {
        struct memory_source m = { data, len };
        struct initramfs_source src = { .pread = memory_pread, .ctx = &m, .size = len };
        return list_modules(&src, ret);
}

static int ext4_source_pread(void *ctx, void *buf, size_t n, uint64_t off, size_t *got) {
        return ext4_file_pread(ctx, buf, n, off, got);
}

/* The initramfs at path in the image, as a stream. */
static int initramfs_list_modules_at(struct ext4_reader *e, const char *path, char ***ret) {
        _cleanup_ext4_file_ struct ext4_file *f = NULL;
        /* an initramfs is tens of MB; more than 1 GiB is not one */
        int k = ext4_file_open(e, path, 1024 * MiB, &f);
        if (k < 0)
                return k;
        struct initramfs_source src = { .pread = ext4_source_pread, .ctx = f, .size = ext4_file_size(f) };
        return list_modules(&src, ret);
}

static bool builtin_has(const char *builtin, const char *module) {
        /* modules.builtin lists paths like kernel/drivers/nvme/host/nvme.ko */
        _cleanup_free_ char *needle = xasprintf("/%s.ko\n", module);
        _cleanup_free_ char *alt = NULL;
        if (!builtin)
                return false;
        if (strstr(builtin, needle))
                return true;
        alt = xstrdup(needle);
        for (char *c = alt; *c; c++)
                if (*c == '_')
                        *c = '-';
        return strstr(builtin, alt) != NULL;
}

static void rules_modules(struct image_info *info, struct ext4_reader *e, struct azure_report *rep) {
        const char *kver = image_info_kernel(info);
        if (!kver) {
                azure_report_add(rep, "initramfs.hyperv", RULE_FAIL, SRC_GENERIC, "no kernel (/boot/vmlinuz-*) found");
                azure_report_add(rep, "modules.udf", RULE_FAIL, SRC_GENERIC, "no kernel (/boot/vmlinuz-*) found");
                return;
        }
        _cleanup_free_ char *builtin_path = xasprintf("/lib/modules/%s/modules.builtin", kver);
        _cleanup_free_ char *builtin = NULL;
        (void)ext4_read_file(e, builtin_path, 16 * MiB, &builtin, NULL);

        _cleanup_free_ char *initrd_path = xasprintf("/boot/initrd.img-%s", kver);
        _cleanup_strv_free_ char **mods = NULL;
        int k = initramfs_list_modules_at(e, initrd_path, &mods);
        /* GENERIC: the Hyper-V drivers hv_vmbus, hv_storvsc and hv_netvsc
         * must be in the initramfs (the root disk sits behind storvsc);
         * NVMe for the VM sizes with NVMe disks. */
        if (k < 0)
                azure_report_add(rep, "initramfs.hyperv", RULE_FAIL, SRC_GENERIC, "%s: %s", initrd_path,
                                 k == -ENOENT ? "missing"
                                 : k == -EFBIG ? "too large for an initramfs (over 1 GiB, or over 4 GiB unpacked)"
                                 : k == -EINTR ? "interrupted"
                                               : "unreadable (not a cpio archive libarchive understands)");
        else {
                static const char *const hv[] = { "hv_vmbus", "hv_storvsc", "hv_netvsc" };
                char missing[128] = "";
                for (size_t i = 0; i < ELEMENTSOF(hv); i++)
                        if (!strv_contains(mods, hv[i]) && !builtin_has(builtin, hv[i]))
                                snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", *missing ? ", " : "", hv[i]);
                if (*missing)
                        azure_report_add(rep, "initramfs.hyperv", RULE_FAIL, SRC_GENERIC, "initramfs lacks %s (add them to /etc/initramfs-tools/modules)", missing);
                else
                        azure_report_add(rep, "initramfs.hyperv", RULE_PASS, SRC_GENERIC, "hv_vmbus, hv_storvsc, hv_netvsc in %s (%zu modules)", initrd_path, strv_length(mods));
                /* NVME: v6 and newer sizes present the OS disk only as NVMe. */
                if (strv_contains(mods, "nvme") || builtin_has(builtin, "nvme"))
                        azure_report_add(rep, "initramfs.nvme", RULE_PASS, SRC_NVME, "nvme %s",
                                         strv_contains(mods, "nvme") ? "in the initramfs" : "built into the kernel (modules.builtin)");
                else
                        azure_report_add(rep, "initramfs.nvme", RULE_FAIL, SRC_NVME,
                                         "no nvme driver in the initramfs or built into the kernel: NVMe-only VM sizes cannot find the OS disk");
        }
        /* GENERIC: "The udf module is needed": provisioning data arrives on a
         * UDF-formatted virtual CD. */
        _cleanup_free_ char *udf_dir = xasprintf("/lib/modules/%s/kernel/fs/udf", kver);
        _cleanup_strv_free_ char **udf = NULL;
        bool udf_mod = false;
        if (ext4_list_dir(e, udf_dir, &udf) >= 0)
                for (size_t i = 0; udf[i]; i++)
                        udf_mod |= startswith(udf[i], "udf.ko");
        if (udf_mod || builtin_has(builtin, "udf"))
                azure_report_add(rep, "modules.udf", RULE_PASS, SRC_GENERIC, "udf %s", udf_mod ? "module present" : "built into the kernel");
        else
                azure_report_add(rep, "modules.udf", RULE_FAIL, SRC_GENERIC, "no udf module for kernel %s: the provisioning medium cannot be read", kver);
}

/* ---- provisioning agent ---- */
static bool dir_has_prefix(struct ext4_reader *e, const char *dir, const char *prefix) {
        _cleanup_strv_free_ char **l = NULL;
        if (ext4_list_dir(e, dir, &l) < 0)
                return false;
        for (size_t i = 0; l[i]; i++)
                if (startswith(l[i], prefix))
                        return true;
        return false;
}

/* The last datasource_list in cloud.cfg then cloud.cfg.d/NN.cfg (later files
 * win), or NULL: cloud-init's built-in default list, which includes Azure. */
static char *cloud_datasource_list(struct ext4_reader *e, char **ret_file) {
        char *found = NULL;
        _cleanup_strv_free_ char **files = NULL;
        strv_push(&files, "/etc/cloud/cloud.cfg");
        _cleanup_strv_free_ char **d = NULL;
        if (ext4_list_dir(e, "/etc/cloud/cloud.cfg.d", &d) >= 0)
                for (size_t i = 0; d[i]; i++)
                        if (endswith(d[i], ".cfg")) {
                                _cleanup_free_ char *p = xasprintf("/etc/cloud/cloud.cfg.d/%s", d[i]);
                                strv_push(&files, p);
                        }
        for (size_t i = 0; files[i]; i++) {
                _cleanup_free_ char *c = NULL;
                if (ext4_read_file(e, files[i], 1 * MiB, &c, NULL) < 0)
                        continue;
                for (char *line = c, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        if (!startswith(line, "datasource_list"))
                                continue;
                        /* datasource_list: [ Azure ] (one line), or a block list:
                         * its items appended, each after a space, into a buffer
                         * that grows by doubling (an xasprintf per item was
                         * quadratic: a 1 MiB cloud.cfg took minutes) */
                        _cleanup_free_ char *v = xstrdup(line);
                        if (!strchr(line, '[')) {
                                size_t len = strlen(v), cap = len + 1;
                                for (char *l2 = next, *n2; l2 && *l2 && (*l2 == ' ' || *l2 == '-'); l2 = n2) {
                                        n2 = strchr(l2, '\n');
                                        size_t il = n2 ? (size_t)(n2 - l2) : strlen(l2);
                                        if (len + 1 + il + 1 > cap) {
                                                cap = MAX(cap * 2, len + 1 + il + 1);
                                                v = xrealloc(v, cap);
                                        }
                                        v[len++] = ' ';
                                        memcpy(v + len, l2, il);
                                        len += il;
                                        v[len] = 0;
                                        if (n2)
                                                n2++;
                                }
                        }
                        free(found);
                        found = TAKE_PTR(v);
                        free(*ret_file);
                        *ret_file = xstrdup(files[i]);
                }
        }
        return found;
}

static void rule_agent(struct ext4_reader *e, struct azure_report *rep) {
        /* GENERIC: a provisioning agent is required: cloud-init (with the
         * Azure datasource) or the Azure Linux Agent (walinuxagent). */
        bool waagent = ext4_exists(e, "/usr/sbin/waagent");
        bool waagent_on = dir_has_prefix(e, "/etc/systemd/system/multi-user.target.wants", "walinuxagent.service") ||
                          dir_has_prefix(e, "/etc/systemd/system/multi-user.target.wants", "waagent.service");
        bool ci = ext4_exists(e, "/usr/bin/cloud-init");
        /* cloud-init's units hang off cloud-init.target, which its systemd
         * generator activates unless /etc/cloud/cloud-init.disabled exists. */
        bool ci_on = dir_has_prefix(e, "/etc/systemd/system/cloud-init.target.wants", "cloud-init") ||
                     dir_has_prefix(e, "/etc/systemd/system/multi-user.target.wants", "cloud-init");
        bool ci_disabled = ext4_exists(e, "/etc/cloud/cloud-init.disabled");
        if (ci && ci_on && !ci_disabled) {
                _cleanup_free_ char *file = NULL;
                _cleanup_free_ char *ds = cloud_datasource_list(e, &file);
                if (!ds)
                        azure_report_add(rep, "provisioning.agent", RULE_PASS, SRC_GENERIC, "cloud-init enabled; default datasource list (includes Azure)");
                else if (strstr(ds, "Azure"))
                        azure_report_add(rep, "provisioning.agent", RULE_PASS, SRC_GENERIC, "cloud-init enabled with the Azure datasource");
                else if (waagent && waagent_on)
                        azure_report_add(rep, "provisioning.agent", RULE_PASS, SRC_GENERIC, "walinuxagent enabled (cloud-init lacks the Azure datasource)");
                else
                        azure_report_add(rep, "provisioning.agent", RULE_FAIL, SRC_GENERIC, "cloud-init's datasource_list lacks Azure (%s: %.60s)", file, ds);
        } else if (waagent && waagent_on)
                azure_report_add(rep, "provisioning.agent", RULE_PASS, SRC_GENERIC, "walinuxagent installed and enabled");
        else if (ci)
                azure_report_add(rep, "provisioning.agent", RULE_FAIL, SRC_GENERIC, "cloud-init installed but not enabled%s",
                                 ci_disabled ? " (/etc/cloud/cloud-init.disabled)" : "");
        else if (waagent)
                azure_report_add(rep, "provisioning.agent", RULE_FAIL, SRC_GENERIC, "walinuxagent installed but not enabled");
        else
                azure_report_add(rep, "provisioning.agent", RULE_FAIL, SRC_GENERIC, "no provisioning agent: install cloud-init or walinuxagent");
}

/* ---- sshd ---- */
static char *sshd_option(const char *text, const char *key) {
        _cleanup_free_ char *copy = xstrdup(text);
        for (char *line = copy, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (isspace((unsigned char)*line))
                        line++;
                size_t n = strlen(key);
                if (strncasecmp(line, key, n) == 0 && (isspace((unsigned char)line[n]) || line[n] == '=')) {
                        char *v = line + n;
                        while (isspace((unsigned char)*v) || *v == '=')
                                v++;
                        size_t l = strcspn(v, " \t\r#");
                        return xstrndup(v, l);
                }
        }
        return NULL;
}

static void rules_ssh(struct ext4_reader *e, struct azure_report *rep) {
        bool installed = ext4_exists(e, "/usr/sbin/sshd");
        bool enabled = dir_has_prefix(e, "/etc/systemd/system/multi-user.target.wants", "ssh.service") ||
                       dir_has_prefix(e, "/etc/systemd/system/multi-user.target.wants", "sshd.service") ||
                       dir_has_prefix(e, "/etc/systemd/system/sockets.target.wants", "ssh.socket");
        /* GENERIC: the SSH server must be installed and start at boot. */
        if (!installed)
                azure_report_add(rep, "ssh.enabled", RULE_FAIL, SRC_GENERIC, "no /usr/sbin/sshd (openssh-server not installed)");
        else if (!enabled)
                azure_report_add(rep, "ssh.enabled", RULE_FAIL, SRC_GENERIC, "sshd installed but not enabled (no ssh.service or ssh.socket link)");
        else
                azure_report_add(rep, "ssh.enabled", RULE_PASS, SRC_GENERIC, "sshd installed and enabled");

        /* GENERIC / DEBIAN: set ClientAliveInterval (180 recommended) so idle
         * sessions survive Azure's load balancer timeout.  sshd takes the first
         * value it reads; Debian includes sshd_config.d/NN.conf at the top. */
        char *value = NULL, *where = NULL;
        _cleanup_strv_free_ char **d = NULL;
        if (ext4_list_dir(e, "/etc/ssh/sshd_config.d", &d) >= 0)
                for (size_t i = 0; d[i] && !value; i++) {
                        if (!endswith(d[i], ".conf"))
                                continue;
                        _cleanup_free_ char *p = xasprintf("/etc/ssh/sshd_config.d/%s", d[i]), *c = NULL;
                        if (ext4_read_file(e, p, 1 * MiB, &c, NULL) >= 0 && (value = sshd_option(c, "ClientAliveInterval")))
                                where = TAKE_PTR(p);
                }
        if (!value) {
                _cleanup_free_ char *c = NULL;
                if (ext4_read_file(e, "/etc/ssh/sshd_config", 1 * MiB, &c, NULL) >= 0 && (value = sshd_option(c, "ClientAliveInterval")))
                        where = xstrdup("/etc/ssh/sshd_config");
        }
        if (!value)
                azure_report_add(rep, "ssh.client-alive", RULE_FAIL, SRC_GENERIC, "ClientAliveInterval not set in sshd_config or sshd_config.d");
        else if (atoi(value) <= 0)
                azure_report_add(rep, "ssh.client-alive", RULE_FAIL, SRC_GENERIC, "ClientAliveInterval %s in %s disables keepalives", value, where);
        else
                azure_report_add(rep, "ssh.client-alive", strcmp(value, "180") == 0 ? RULE_PASS : RULE_WARN, SRC_GENERIC,
                                 "ClientAliveInterval %s in %s%s", value, where, strcmp(value, "180") == 0 ? "" : " (Azure recommends 180)");
        free(value);
        free(where);
}

/* ---- console autologin ---- */
/* An ExecStart= of a getty unit that runs agetty with --autologin (or -a):
 * systemd drop-ins (what users[].autologin writes) and whole units in
 * /etc/systemd/system, and drop-ins in /usr/lib/systemd/system. */
static bool getty_autologin(const char *text) {
        _cleanup_free_ char *copy = xstrdup(text);
        for (char *line = copy, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                while (isspace((unsigned char)*line))
                        line++;
                if (!startswith(line, "ExecStart=") || !strstr(line, "getty"))
                        continue;
                char *save = NULL;
                for (char *w = strtok_r(line + strlen("ExecStart="), " \t", &save); w; w = strtok_r(NULL, " \t", &save))
                        if (strcmp(w, "--autologin") == 0 || startswith(w, "--autologin=") || strcmp(w, "-a") == 0)
                                return true;
        }
        return false;
}

static void rule_autologin(struct ext4_reader *e, struct azure_report *rep) {
        static const char *const dirs[] = { "/etc/systemd/system", "/usr/lib/systemd/system" };
        for (size_t d = 0; d < ELEMENTSOF(dirs); d++) {
                _cleanup_strv_free_ char **l = NULL;
                if (ext4_list_dir(e, dirs[d], &l) < 0)
                        continue;
                for (size_t i = 0; l[i]; i++) {
                        if (!strstr(l[i], "getty"))
                                continue;
                        _cleanup_strv_free_ char **files = NULL;
                        _cleanup_free_ char *p = xasprintf("%s/%s", dirs[d], l[i]);
                        if (endswith(l[i], ".service.d")) {
                                _cleanup_strv_free_ char **c = NULL;
                                if (ext4_list_dir(e, p, &c) >= 0)
                                        for (size_t j = 0; c[j]; j++)
                                                if (endswith(c[j], ".conf")) {
                                                        _cleanup_free_ char *f = xasprintf("%s/%s", p, c[j]);
                                                        strv_push(&files, f);
                                                }
                        } else if (d == 0 && endswith(l[i], ".service"))
                                strv_push(&files, p);
                        for (size_t j = 0; files && files[j]; j++) {
                                _cleanup_free_ char *text = NULL;
                                if (ext4_read_file(e, files[j], 1 * MiB, &text, NULL) < 0 || !getty_autologin(text))
                                        continue;
                                azure_report_add(rep, "console.autologin", RULE_FAIL, SRC_SERIAL,
                                                 "%s runs agetty --autologin: that console gives a shell without a password "
                                                 "(on Azure's serial console, to anyone allowed to open it); users[].autologin "
                                                 "is for development images",
                                                 files[j]);
                                return;
                        }
                }
        }
        azure_report_add(rep, "console.autologin", RULE_PASS, SRC_SERIAL, "no getty logs in automatically");
}

/* ---- generalized ---- */
static void rules_generalized(struct ext4_reader *e, struct azure_report *rep) {
        /* GENERIC ("deprovision"): a generalized image has an empty
         * machine-id (systemd makes a new one on first boot), no SSH host
         * keys, no passwords, no shell history and no cloud-init state, so
         * that every VM made from it is a new machine. */
        _cleanup_free_ char *mid = NULL;
        size_t mid_len = 0;
        int k = ext4_read_file(e, "/etc/machine-id", 4096, &mid, &mid_len);
        rep->machine_id_empty = k == -ENOENT || (k >= 0 && (mid_len == 0 || strcmp(mid, "uninitialized\n") == 0));
        if (rep->machine_id_empty)
                azure_report_add(rep, "generalize.machine-id", RULE_PASS, SRC_GENERIC, "/etc/machine-id %s", k == -ENOENT ? "absent" : "empty");
        else
                azure_report_add(rep, "generalize.machine-id", RULE_FAIL, SRC_GENERIC, "/etc/machine-id holds an ID (%.32s): every VM would share it", mid ? mid : "?");

        _cleanup_strv_free_ char **ssh = NULL;
        if (ext4_list_dir(e, "/etc/ssh", &ssh) >= 0)
                for (size_t i = 0; ssh[i]; i++)
                        if (startswith(ssh[i], "ssh_host_"))
                                strv_push(&rep->ssh_host_keys, ssh[i]);
        if (rep->ssh_host_keys)
                azure_report_add(rep, "generalize.ssh-host-keys", RULE_FAIL, SRC_GENERIC, "%zu SSH host key files left (/etc/ssh/%s...)",
                                 strv_length(rep->ssh_host_keys), rep->ssh_host_keys[0]);
        else
                azure_report_add(rep, "generalize.ssh-host-keys", RULE_PASS, SRC_GENERIC, "no /etc/ssh/ssh_host_* keys");

        /* the first account of each kind is all the rule names (a list of
         * them, one strv_push per line, was quadratic: a 800 KB shadow took
         * 39 s) */
        _cleanup_free_ char *shadow = NULL;
        const char *with_hash = NULL, *locked_hash = NULL;
        bool more_hashes = false;
        if (ext4_read_file(e, "/etc/shadow", 16 * MiB, &shadow, NULL) >= 0)
                for (char *line = shadow, *next; line && *line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        char *colon = strchr(line, ':');
                        if (!colon)
                                continue;
                        *colon = 0;
                        const char *pw = colon + 1;
                        if (pw[0] == '$') {
                                if (with_hash)
                                        more_hashes = true;
                                else
                                        with_hash = line;
                        } else if (pw[0] == '!' && pw[1] == '$' && !locked_hash)
                                locked_hash = line;
                }
        if (with_hash)
                azure_report_add(rep, "generalize.passwords", RULE_FAIL, SRC_GENERIC, "password hash set for %s%s", with_hash,
                                 more_hashes ? " and others" : "");
        else if (locked_hash)
                azure_report_add(rep, "generalize.passwords", RULE_WARN, SRC_GENERIC, "locked password hash kept for %s", locked_hash);
        else
                azure_report_add(rep, "generalize.passwords", RULE_PASS, SRC_GENERIC, "no password hashes in /etc/shadow");

        _cleanup_strv_free_ char **hist = NULL;
        static const char *const hist_names[] = { ".bash_history", ".zsh_history", ".sh_history", ".python_history", ".lesshst" };
        _cleanup_strv_free_ char **homes = NULL;
        strv_push(&homes, "/root");
        _cleanup_strv_free_ char **h = NULL;
        if (ext4_list_dir(e, "/home", &h) >= 0)
                for (size_t i = 0; h[i]; i++) {
                        _cleanup_free_ char *p = xasprintf("/home/%s", h[i]);
                        strv_push(&homes, p);
                }
        for (size_t i = 0; homes[i]; i++)
                for (size_t j = 0; j < ELEMENTSOF(hist_names); j++) {
                        _cleanup_free_ char *p = xasprintf("%s/%s", homes[i], hist_names[j]);
                        if (ext4_exists(e, p))
                                strv_push(&hist, p);
                }
        if (hist)
                azure_report_add(rep, "generalize.history", RULE_FAIL, SRC_GENERIC, "shell history left: %s%s", hist[0], strv_length(hist) > 1 ? " and others" : "");
        else
                azure_report_add(rep, "generalize.history", RULE_PASS, SRC_GENERIC, "no shell history in /root or /home");

        _cleanup_strv_free_ char **cloud = NULL;
        k = ext4_list_dir(e, "/var/lib/cloud", &cloud);
        if (k >= 0 && cloud[0])
                azure_report_add(rep, "generalize.cloud-init-state", RULE_FAIL, SRC_GENERIC, "/var/lib/cloud is not empty (%s...): cloud-init would not run again",
                                 cloud[0]);
        else
                azure_report_add(rep, "generalize.cloud-init-state", RULE_PASS, SRC_GENERIC, "no cloud-init instance state");
}

int azure_verify(struct image_reader *r, struct image_info *info, struct azure_report *rep) {
        memset(rep, 0, sizeof *rep);
        rules_container(r, rep);
        rule_disk_size(r, info, rep);
        rules_boot(info, rep);
        rule_secure_boot(info, rep);
        if (!info->root) {
                azure_report_add(rep, "os.root", RULE_FAIL, SRC_GENERIC, "no ext2/3/4 root filesystem with /etc/os-release found");
                return 0;
        }
        if (image_info_kernel(info))
                rep->kernel = xstrdup(image_info_kernel(info));
        rules_cmdline(info->root, rep);
        rule_swap(info, info->root, rep);
        rules_modules(info, info->root, rep);
        rule_nvme_naming(info->root, rep);
        rule_agent(info->root, rep);
        rules_ssh(info->root, rep);
        rule_autologin(info->root, rep);
        rules_generalized(info->root, rep);
        return 0;
}

void azure_report_print(const struct azure_report *rep, const char *path, bool json, FILE *out) {
        if (json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "image", json_object_new_string(path));
                json_object *a = json_object_new_array();
                for (size_t i = 0; i < rep->n; i++) {
                        json_object *j = json_object_new_object();
                        json_object_object_add(j, "rule", json_object_new_string(rep->results[i].name));
                        json_object_object_add(j, "status", json_object_new_string(rule_status_name(rep->results[i].status)));
                        json_object_object_add(j, "message", json_object_new_string(rep->results[i].message));
                        json_object_object_add(j, "source", json_object_new_string(rep->results[i].source));
                        json_object_array_add(a, j);
                }
                json_object_object_add(o, "rules", a);
                json_object_object_add(o, "passed", json_object_new_int64((int64_t)rep->passed));
                json_object_object_add(o, "warnings", json_object_new_int64((int64_t)rep->warned));
                json_object_object_add(o, "failed", json_object_new_int64((int64_t)rep->failed));
                fprintf(out, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return;
        }
        for (size_t i = 0; i < rep->n; i++)
                fprintf(out, "%-4s  %-28s %s\n", rep->results[i].status == RULE_PASS ? "PASS" : rep->results[i].status == RULE_WARN ? "WARN" : "FAIL",
                        rep->results[i].name, rep->results[i].message);
        fprintf(out, "%s: %zu passed, %zu warnings, %zu failed\n", path, rep->passed, rep->warned, rep->failed);
}

int azure_verify_path(const char *path, struct image_reader **ret_reader, struct image_info *info,
                      struct azure_report *rep) {
        _cleanup_image_reader_ struct image_reader *r = NULL;
        int k = image_reader_open(path, &r);
        if (k < 0)
                return k;
        /* A bad footer checksum is a rule failure here, not a read error:
         * the data of a fixed VHD is still readable. */
        int footer = r->vhd_footer_status;
        r->vhd_footer_status = 0;
        k = image_inspect(r, info);
        r->vhd_footer_status = footer;
        if (k < 0) {
                image_info_done(info);
                return k;
        }
        azure_verify(r, info, rep);
        *ret_reader = TAKE_PTR(r);
        return 0;
}

int azure_verify_image(const char *path, bool json, FILE *out) {
        _cleanup_image_reader_ struct image_reader *r = NULL;
        struct image_info info;
        struct azure_report rep;
        int k = azure_verify_path(path, &r, &info, &rep);
        if (k < 0)
                return k;
        azure_report_print(&rep, path, json, out);
        int ret = rep.failed > 0 ? 1 : 0;
        azure_report_done(&rep);
        image_info_done(&info);
        return ret;
}
