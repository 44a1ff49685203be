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
 *  writes one).  Signatures (SHA256SUMS.gpg) are not made yet, so URL
 *  transfers say Verify=no: see profiles/README.md. */
#include "configure.h"
#include "log.h"
#include "rootpath.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static int write_os_release(struct cfg *c) {
        const struct slw_profile *p = c->p;
        _cleanup_free_ char *host = NULL, *old = NULL;
        int r = cfg_read_text(c, "/usr/lib/os-release", "", &host, &old);
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
        if ((r = cfg_write_file(host, out, len, 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "IMAGE_ID and IMAGE_VERSION for systemd-sysupdate", "/usr/lib/os-release", "immutable.enabled");
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
        _cleanup_free_ char *repart_dir = NULL;
        if ((r = cfg_mkdir(c, "/usr/lib/repart.d", 0755, &repart_dir)) < 0)
                return r;
        _cleanup_free_ char *repart_file = path_join(repart_dir, "50-var.conf");
        if ((r = cfg_write_file(repart_file, repart_var, strlen(repart_var), 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "systemd-repart: grow /var into free space", "/usr/lib/repart.d/50-var.conf", "immutable.enabled");

        const char *src = p->immutable.update_source;
        bool url = startswith(src, "http://") || startswith(src, "https://");
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
        const struct transfer transfers[] = {
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
        static const char *const names[] = { "verity", "root", "kernel", "initrd", "entry" };
        _cleanup_free_ char *dir = NULL;
        if ((r = cfg_mkdir(c, "/usr/lib/sysupdate.d", 0755, &dir)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(transfers); i++) {
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
                                                      url ? "# no SHA256SUMS.gpg is published yet (see profiles/README.md)\nVerify=no\n" : "",
                                                      url ? "url-file" : "regular-file", src, p->name, t->source_suffix, target);
                _cleanup_free_ char *fname = xasprintf("%s-%s-%s.transfer", t->id, p->name, names[i]);
                _cleanup_free_ char *path = path_join(dir, fname), *rel = xasprintf("/usr/lib/sysupdate.d/%s", fname);
                if ((r = cfg_write_file(path, body, strlen(body), 0644, 0, 0)) < 0)
                        return r;
                cfg_change(c, "systemd-sysupdate transfer", rel, "immutable.update-source");
        }
        return 0;
}
