/* SPDX-License-Identifier: MIT */
/* immutable.enabled.  The design, in one place (each step is in its module):
 *  - initrd: dracut (Debian trixie: dracut 106), not initramfs-tools, which
 *    has no dm-verity support.  dracut's systemd-veritysetup module brings
 *    systemd-veritysetup-generator into the initrd; it turns `roothash=`
 *    into systemd-veritysetup@root.service and, with no
 *    systemd.verity_root_data=/hash= given, looks for the data and hash
 *    partitions by the UUIDs the root hash implies (first/last 128 bits,
 *    Discoverable Partitions Specification).  configure_kernel.c writes the
 *    dracut drop-in and always regenerates the initramfs.
 *  - root: erofs (or squashfs) of the configured tree + veritysetup format
 *    on the host (erofs-utils, cryptsetup-bin), lib/verity.c and
 *    stage_disk.c.  The kernel command line is `roothash=H
 *    root=/dev/mapper/root rootfstype=erofs ro`.
 *  - boot loader: systemd-boot with Type #1 entries on the ESP
 *    (bootloader_sdboot.c): boot counting in file names, which GRUB lacks,
 *    and what systemd-sysupdate's transfers write.
 *  - image packages (trixie): dracut, systemd-cryptsetup (veritysetup
 *    generator), systemd-boot-efi (systemd-bootx64.efi), and for updates
 *    systemd-container (systemd-sysupdate) and systemd-boot
 *    (systemd-bless-boot).
 *
 * This file: what the read-only root needs from configure before it is
 * frozen into erofs (the disk stage):
 *
 *  - IMAGE_ID= and IMAGE_VERSION= in /usr/lib/os-release: systemd-sysupdate
 *    knows the booted version from them (%A in ProtectVersion=), and the
 *    boot tests read them;
 *  - the systemd-sysupdate transfer definitions in /usr/lib/sysupdate.d,
 *    one per resource of a version, in the order sysupdate applies them:
 *      10-NAME-verity   NAME_@v_@u.verity          -> the free verity slot
 *                                                      (label NAME_@v_verity)
 *      20-NAME-root     NAME_@v_@u.root.erofs      -> the free root slot
 *                                                      (label NAME_@v)
 *      30-NAME-kernel   NAME_@v.vmlinuz            -> ESP /NAME/
 *      40-NAME-initrd   NAME_@v.initrd             -> ESP /NAME/
 *      50-NAME-entry    NAME_@v.conf               -> ESP /loader/entries/
 *                                                      NAME_@v+TRIES-0.conf
 *    or, with bootloader.secure-boot, in place of 30..50:
 *      30-NAME-uki      NAME_@v.efi (signed UKI)   -> ESP /EFI/Linux/
 *                                                      NAME_@v+TRIES-0.efi
 *    The partition UUIDs come from the file names (@u): the build names
 *    them after the root hash (stage_disk.c), so the new entry's roothash=
 *    finds the new slots.  The boot entry comes last: a version whose
 *    files are not all in place has no entry and is never booted.  It is
 *    written with TRIES tries left (Automatic Boot Assessment):
 *    systemd-boot counts each start down, systemd-bless-boot (package
 *    systemd-boot) drops the counter once boot-complete.target is
 *    reached, and an entry at +0 is tried only after every other, so a
 *    version that never completes a boot falls back to the previous one.
 *    The running version is protected (ProtectVersion=%A), two instances
 *    of each are kept (the A/B pair).
 *  Sources: a directory (Type=regular-file) or an http(s) URL
 *  (Type=url-file, which needs SHA256SUMS next to the files; the build
 *  writes one).  With immutable.signing-key the report stage signs it
 *  (SHA256SUMS.gpg) and the image carries the public key where
 *  systemd-pull looks (/usr/lib/systemd/import-pubring.gpg), so URL
 *  transfers verify (sysupdate's default, Verify=yes); without a key they
 *  say Verify=no and the build warns. */
#include "configure.h"
#include "log.h"
#include "openpgp.h"
#include "tree.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static int write_os_release(struct cfg *c) {
        const struct slw_profile *p = c->p;
        _cleanup_free_ char *old = NULL;
        int r = cfg_read_text(c, "/usr/lib/os-release", "", &old);
        if (r < 0)
                return r;
        size_t cap = strlen(old) + strlen(p->name) + strlen(p->version) + 64, len = 0;
        _cleanup_free_ char *out = xmalloc(cap);
        out[0] = '\0';
        for (char *line = old, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = '\0';
                if (startswith(line, "IMAGE_ID=") || startswith(line, "IMAGE_VERSION="))
                        continue;
                len += (size_t)snprintf(out + len, cap - len, "%s\n", line);
        }
        len += (size_t)snprintf(out + len, cap - len, "IMAGE_ID=%s\nIMAGE_VERSION=%s\n", p->name, p->version);
        if ((r = cfg_write_file(c, "/usr/lib/os-release", out, len, 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "IMAGE_ID and IMAGE_VERSION for systemd-sysupdate", "/usr/lib/os-release", "immutable.enabled");
        return 0;
}

/* immutable.etc: overlay.  /etc is an overlayfs: lower = the image's /etc
 * (read-only, in the verity root), upper and work = SLW_ETC_OVERLAY_DIR/
 * {upper,work} on the /var partition, so changes survive reboots and
 * updates.  It has to be in place before the real root's systemd starts
 * (PID 1 reads /etc first: machine-id, units, fstab), so it is mounted in
 * the initrd, the way ostree-prepare-root does for ostree systems: a dracut
 * module of ours installs three static units there, ordered after
 * sysroot.mount and before initrd-root-fs.target (so also before
 * initrd-parse-etc.service, which reads the overlaid /sysroot/etc/fstab):
 *   sysroot-var.mount                 the var partition by PARTLABEL, as
 *                                     fstab names it, checked by
 *                                     systemd-fsck@ first (the real root's
 *                                     fsck skips a mounted file system)
 *   slipway-etc-overlay-dirs.service  creates upper/ and work/ (first boot,
 *                                     or a /var from an image without them)
 *   sysroot-etc.mount                 the overlay, required by
 *                                     initrd-root-fs.target
 * switch-root moves /sysroot with its submounts, so the real root starts
 * with /var and /etc mounted (fstab's /var line finds var.mount active).
 * At shutdown systemd leaves /etc alone (an "extrinsic" mount, like /) and
 * unmounts /var, whose ext4 stays alive under the overlay's own clone of
 * the mount until systemd-shutdown unmounts /etc last.  Why not fstab:
 * x-initrd.mount lines of /sysroot/etc/fstab are mounted by
 * initrd-parse-etc.service, after initrd-root-fs.target, and neither they
 * nor systemd.mount-extra= can create the upper and work directories.
 *
 * The overlay features that make offline changes of the lower layer
 * undefined (index, metacopy, redirect_dir, xino; Documentation/
 * filesystems/overlayfs.rst) are off: the lower /etc does change offline,
 * at every A/B update.  The upper layer is kept as is over the new lower
 * /etc: a file changed or deleted on the running system stays so after
 * an update, the others come from the new version.
 *
 * machine-id: the lower one is empty (generalize); PID 1 sees a writable
 * /etc and writes the new ID through the overlay into the upper layer, so
 * it is kept from the first boot on. */
static int write_etc_overlay_module(struct cfg *c) {
        static const char module_setup[] =
                "#!/bin/bash\n"
                "# written by slipway (immutable.etc: overlay): mounts /var and the /etc overlay\n"
                "# at /sysroot before initrd-root-fs.target (see the units next to this file)\n"
                "check() { return 255; }\n"
                "depends() { echo systemd fs-lib; return 0; }\n"
                "installkernel() { hostonly='' instmods overlay ext4; }\n"
                "install() {\n"
                "    local u\n"
                "    inst_multiple mkdir\n"
                "    for u in sysroot-var.mount slipway-etc-overlay-dirs.service sysroot-etc.mount; do\n"
                "        inst_simple \"$moddir/$u\" \"$systemdsystemunitdir/$u\"\n"
                "    done\n"
                "    mkdir -p \"$initdir$systemdsystemunitdir/initrd-root-fs.target.requires\"\n"
                "    ln_r \"$systemdsystemunitdir/sysroot-etc.mount\" \"$systemdsystemunitdir/initrd-root-fs.target.requires/sysroot-etc.mount\"\n"
                "}\n";
        static const char var_mount[] =
                "# written by slipway (immutable.etc: overlay); in the initrd only\n"
                "[Unit]\n"
                "Description=/var, which holds the /etc overlay's upper layer\n"
                "DefaultDependencies=no\n"
                "Requires=systemd-fsck@dev-disk-by\\x2dpartlabel-var.service\n"
                "After=systemd-fsck@dev-disk-by\\x2dpartlabel-var.service sysroot.mount\n"
                "Before=initrd-root-fs.target\n"
                "\n"
                "[Mount]\n"
                "What=/dev/disk/by-partlabel/var\n"
                "Where=/sysroot/var\n"
                "Type=ext4\n";
        static const char dirs_service[] =
                "# written by slipway (immutable.etc: overlay); in the initrd only\n"
                "[Unit]\n"
                "Description=Upper and work directories of the /etc overlay\n"
                "DefaultDependencies=no\n"
                "RequiresMountsFor=/sysroot/var\n"
                "Before=initrd-root-fs.target\n"
                "\n"
                "[Service]\n"
                "Type=oneshot\n"
                "RemainAfterExit=yes\n"
                "ExecStart=mkdir -p -m 0700 /sysroot" SLW_ETC_OVERLAY_DIR "\n"
                "ExecStart=mkdir -p -m 0755 /sysroot" SLW_ETC_OVERLAY_DIR "/upper /sysroot" SLW_ETC_OVERLAY_DIR "/work\n";
        static const char etc_mount[] =
                "# written by slipway (immutable.etc: overlay); in the initrd only\n"
                "[Unit]\n"
                "Description=/etc: the image's read-only /etc under a writable layer on /var\n"
                "DefaultDependencies=no\n"
                "Requires=slipway-etc-overlay-dirs.service\n"
                "After=slipway-etc-overlay-dirs.service sysroot.mount\n"
                "Before=initrd-root-fs.target\n"
                "\n"
                "[Mount]\n"
                "What=overlay\n"
                "Where=/sysroot/etc\n"
                "Type=overlay\n"
                "Options=lowerdir=/sysroot/etc,upperdir=/sysroot" SLW_ETC_OVERLAY_DIR "/upper,"
                "workdir=/sysroot" SLW_ETC_OVERLAY_DIR "/work,index=off,metacopy=off,redirect_dir=off,xino=off\n";
        const struct {
                const char *name, *data;
                mode_t mode;
        } files[] = {
                { "module-setup.sh", module_setup, 0755 },
                { "sysroot-var.mount", var_mount, 0644 },
                { "slipway-etc-overlay-dirs.service", dirs_service, 0644 },
                { "sysroot-etc.mount", etc_mount, 0644 },
        };
        int r = cfg_mkdir(c, IMMUTABLE_ETC_DRACUT_MODULE, 0755);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = path_join(IMMUTABLE_ETC_DRACUT_MODULE, files[i].name);
                if ((r = cfg_write_file(c, path, files[i].data, strlen(files[i].data), files[i].mode, 0, 0)) < 0)
                        return r;
        }
        cfg_change(c, "dracut module: /var and the persistent /etc overlay mounted in the initrd", IMMUTABLE_ETC_DRACUT_MODULE,
                   "immutable.etc");
        return 0;
}

/* immutable.signing-key: the public key systemd-pull checks SHA256SUMS.gpg
 * with, and gpg, which it runs to do so. */
static int write_import_pubring(struct cfg *c) {
        const struct slw_profile *p = c->ctx->profile;
        struct stat st;
        if (tree_stat(c->tree_fd, "/usr/bin/gpg", &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return log_error_errno(-ENOENT, "configure: immutable.signing-key: the image has no /usr/bin/gpg (package "
                                       "gpg), which systemd-sysupdate runs to check SHA256SUMS.gpg");
        _cleanup_free_ char *ring = NULL;
        size_t len = 0;
        int r = openpgp_public_keyring(p->immutable.signing_key, &ring, &len);
        if (r < 0)
                return r;
        if ((r = cfg_mkdir(c, "/usr/lib/systemd", 0755)) < 0)
                return r;
        if ((r = cfg_write_file(c, "/usr/lib/systemd/import-pubring.gpg", ring, len, 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "the public key that signs SHA256SUMS (SHA256SUMS.gpg)", "/usr/lib/systemd/import-pubring.gpg",
                   "immutable.signing-key");
        return 0;
}

struct transfer {
        const char *id;              /* file name part: 10-NAME-<id>.transfer */
        const char *source_suffix;   /* after NAME_@v */
        const char *target;          /* [Target] body; %1$s = name */
};

int immutable_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        if (!p->immutable.enabled)
                return 0;
        int r = write_os_release(c);
        if (r < 0)
                return r;

        /* /var grows into the space a larger disk has after it (the disk an
         * image is written to is usually larger than the image): the
         * definition matches the existing var partition by type, so
         * systemd-repart (package systemd-repart) grows it early in the boot,
         * and fstab's x-systemd.growfs grows its ext4 once mounted. */
        static const char repart_var[] = "# written by slipway (immutable.enabled): grow /var into free space after it\n"
                                         "[Partition]\n"
                                         "Type=var\n"
                                         "Label=var\n";
        if ((r = cfg_mkdir(c, "/usr/lib/repart.d", 0755)) < 0)
                return r;
        if ((r = cfg_write_file(c, "/usr/lib/repart.d/50-var.conf", repart_var, strlen(repart_var), 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "systemd-repart: grow /var into free space", "/usr/lib/repart.d/50-var.conf", "immutable.enabled");

        if (p->immutable.etc == ETC_OVERLAY && (r = write_etc_overlay_module(c)) < 0)
                return r;

        const char *src = p->immutable.update_source;
        /* file:/// goes through systemd-pull like http(s): sysupdate takes
         * it for tests, and so it verifies SHA256SUMS.gpg the same way. */
        bool url = startswith(src, "http://") || startswith(src, "https://") || startswith(src, "file:///");
        if (p->immutable.signing_key && (r = write_import_pubring(c)) < 0)
                return r;
        if (url && !p->immutable.signing_key)
                log_warning("configure: updates from %s will not be verified (Verify=no): set immutable.signing-key to "
                            "publish SHA256SUMS.gpg", src);
        const char *fs = p->immutable.filesystem == FS_SQUASHFS ? "squashfs" : "erofs";
        _cleanup_free_ char *root_suffix = xasprintf("_@u.root.%s", fs);
        _cleanup_free_ char *entry_target = xasprintf("Type=regular-file\n"
                                                      "Path=/loader/entries\n"
                                                      "PathRelativeTo=esp\n"
                                                      "MatchPattern=%%1$s_@v+@l-@d.conf %%1$s_@v+@l.conf %%1$s_@v.conf\n"
                                                      "Mode=0644\n"
                                                      "TriesLeft=%u\n"
                                                      "TriesDone=0\n"
                                                      "InstancesMax=2\n", p->immutable.tries);
        /* bootloader.secure-boot: the kernel, initrd and command line are
         * one signed UKI, a Type #2 entry that systemd-boot counts tries on
         * by its file name the same way (see bootloader_sdboot.c). */
        _cleanup_free_ char *uki_target = xasprintf("Type=regular-file\n"
                                                    "Path=/EFI/Linux\n"
                                                    "PathRelativeTo=esp\n"
                                                    "MatchPattern=%%1$s_@v+@l-@d.efi %%1$s_@v+@l.efi %%1$s_@v.efi\n"
                                                    "Mode=0644\n"
                                                    "TriesLeft=%u\n"
                                                    "TriesDone=0\n"
                                                    "InstancesMax=2\n", p->immutable.tries);
        const struct transfer type1[] = {
                { "10", "_@u.verity", "Type=partition\nPath=auto\nMatchPattern=%1$s_@v_verity\nMatchPartitionType=root-verity\n"
                                      "PartitionFlags=0\nReadOnly=1\n" },
                { "20", root_suffix, "Type=partition\nPath=auto\nMatchPattern=%1$s_@v\nMatchPartitionType=root\n"
                                     "PartitionFlags=0\nReadOnly=1\n" },
                { "30", ".vmlinuz", "Type=regular-file\nPath=/%1$s\nPathRelativeTo=esp\nMatchPattern=%1$s_@v.vmlinuz\nMode=0644\n"
                                    "InstancesMax=2\n" },
                { "40", ".initrd", "Type=regular-file\nPath=/%1$s\nPathRelativeTo=esp\nMatchPattern=%1$s_@v.initrd\nMode=0644\n"
                                   "InstancesMax=2\n" },
                { "50", ".conf", entry_target },
        };
        static const char *const type1_names[] = { "verity", "root", "kernel", "initrd", "entry" };
        const struct transfer uki[] = { type1[0], type1[1], { "30", ".efi", uki_target } };
        static const char *const uki_names[] = { "verity", "root", "uki" };
        bool sb = p->bootloader.secure_boot;
        const struct transfer *transfers = sb ? uki : type1;
        const char *const *names = sb ? uki_names : type1_names;
        size_t n_transfers = sb ? ELEMENTSOF(uki) : ELEMENTSOF(type1);
        if ((r = cfg_mkdir(c, "/usr/lib/sysupdate.d", 0755)) < 0)
                return r;
        for (size_t i = 0; i < n_transfers; i++) {
                const struct transfer *t = &transfers[i];
                _cleanup_free_ char *target = NULL;
                if (asprintf(&target, t->target, p->name) < 0)
                        return log_error_errno(-ENOMEM, "out of memory");
                _cleanup_free_ char *body = xasprintf("# written by slipway (immutable.enabled, immutable.update-source)\n"
                                                      "[Transfer]\n"
                                                      "ProtectVersion=%%A\n"
                                                      "%s"
                                                      "\n[Source]\n"
                                                      "Type=%s\n"
                                                      "Path=%s\n"
                                                      "MatchPattern=%s_@v%s\n"
                                                      "\n[Target]\n"
                                                      "%s",
                                                      url && !p->immutable.signing_key
                                                              ? "# no immutable.signing-key: no SHA256SUMS.gpg to check\nVerify=no\n"
                                                              : "",
                                                      url ? "url-file" : "regular-file", src, p->name, t->source_suffix, target);
                _cleanup_free_ char *fname = xasprintf("%s-%s-%s.transfer", t->id, p->name, names[i]);
                _cleanup_free_ char *rel = xasprintf("/usr/lib/sysupdate.d/%s", fname);
                if ((r = cfg_write_file(c, rel, body, strlen(body), 0644, 0, 0)) < 0)
                        return r;
                cfg_change(c, "systemd-sysupdate transfer", rel, "immutable.update-source");
        }
        return 0;
}
