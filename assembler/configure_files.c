/* SPDX-License-Identifier: MIT */
/* files, hostname, locale, timezone, /etc/fstab and the kernel command line. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chroot_run.h"
#include "configure.h"
#include "log.h"
#include "tree.h"
#include "util.h"

static int file_owner(struct cfg *c, const struct slw_file *f, uid_t *uid, gid_t *gid) {
        *uid = 0;
        *gid = 0;
        if (f->owner && strcmp(f->owner, "root") != 0 && accounts_user_id(c, f->owner, uid, NULL) < 0)
                return cfg_error(c, f->origin_path, "%s: owner '%s' is not a user of the image", f->path, f->owner);
        if (f->group && strcmp(f->group, "root") != 0 && accounts_group_id(c, f->group, gid) < 0)
                return cfg_error(c, f->origin_path, "%s: group '%s' is not a group of the image", f->path, f->group);
        return 0;
}

int files_validate(struct cfg *c) {
        const struct slw_profile *p = c->p;
        for (size_t i = 0; i < p->n_files; i++) {
                const struct slw_file *f = &p->files[i];
                if (!root_path_is_clean(f->path) || strcmp(f->path, "/") == 0 || endswith(f->path, "/")) {
                        cfg_error(c, f->origin_path, "file path '%s' must be absolute, name a file, and have no '.', '..' or '//'",
                                  f->path ? f->path : "");
                        continue;
                }
                int r = cfg_resolve(c, f->path, TREE_NONEXISTENT | TREE_REFUSE_ESCAPE, NULL);
                if (r < 0) {
                        cfg_error(c, f->origin_path, "file path '%s' does not resolve inside the image: %s", f->path,
                                  r == -EXDEV ? "a symlink climbs above the root" : strerror(-r));
                        continue;
                }
                struct stat st;
                if (tree_stat(c->tree_fd, f->path, &st) == 0 && S_ISDIR(st.st_mode))
                        cfg_error(c, f->origin_path, "file path '%s' is a directory in the image", f->path);
                if (!!f->content == !!f->source)
                        cfg_error(c, f->origin_path, "file '%s' needs exactly one of content or source", f->path);
                if (f->source && (stat(f->source, &st) < 0 || !S_ISREG(st.st_mode) || access(f->source, R_OK) < 0))
                        cfg_error(c, f->origin_path, "file '%s': source '%s' is not a readable regular file", f->path, f->source);
                if (f->mode & ~07777u)
                        cfg_error(c, f->origin_path, "file '%s': mode %o is not a permission mode", f->path, f->mode);
                uid_t uid;
                gid_t gid;
                file_owner(c, f, &uid, &gid);
        }
        return 0;
}

int files_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        for (size_t i = 0; i < p->n_files; i++) {
                const struct slw_file *f = &p->files[i];
                uid_t uid;
                gid_t gid;
                int r = file_owner(c, f, &uid, &gid);
                if (r < 0)
                        return r;
                _cleanup_free_ char *dir = xstrdup(f->path), *data = NULL;
                *strrchr(dir, '/') = '\0';
                if (*dir && (r = cfg_mkdir(c, dir, 0755)) < 0)
                        return r;
                r = cfg_resolve(c, f->path, TREE_NONEXISTENT | TREE_REFUSE_ESCAPE, NULL);
                if (r < 0)
                        return log_error_errno(r, "resolving %s in the tree", f->path);
                size_t len;
                if (f->source) {
                        r = read_file(f->source, &data, &len);
                        if (r < 0)
                                return log_error_errno(r, "reading %s", f->source);
                } else {
                        data = xstrdup(f->content);
                        len = strlen(data);
                }
                r = cfg_write_file(c, f->path, data, len, f->mode ? f->mode : 0644, uid, gid);
                if (r < 0)
                        return r;
                cfg_change(c, "wrote file", f->path, f->origin_path);
        }
        return 0;
}

static bool valid_hostname(const char *s) {
        size_t n = strlen(s), label = 0;
        if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (const char *p = s; *p; p++) {
                if (*p == '.') {
                        if (label == 0 || p[-1] == '-')
                                return false;
                        label = 0;
                        continue;
                }
                bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-';
                if (!ok || (label == 0 && *p == '-') || ++label > 63)
                        return false;
        }
        return s[n - 1] != '-';
}

static bool is_c_locale(const char *l) {
        return strcmp(l, "C") == 0 || strcmp(l, "POSIX") == 0 || strcmp(l, "C.UTF-8") == 0 || strcmp(l, "C.utf8") == 0;
}

int system_settings_validate(struct cfg *c) {
        const struct slw_profile *p = c->p;
        if (p->hostname && !valid_hostname(p->hostname))
                cfg_error(c, "hostname", "'%s' is not a valid host name (RFC 1123 labels of letters, digits, '-')", p->hostname);
        if (p->locale && !is_c_locale(p->locale)) {
                /* Other locales must be generated; the tree needs locale-gen. */
                if (strpbrk(p->locale, "/\n ") || !tree_exists(c->tree_fd, "/usr/sbin/locale-gen"))
                        cfg_error(c, "locale", "locale '%s' needs the 'locales' package in the image (only C.UTF-8 is built in)",
                                  p->locale);
        }
        if (p->timezone) {
                _cleanup_free_ char *rel = xasprintf("/usr/share/zoneinfo/%s", p->timezone);
                struct stat st;
                if (p->timezone[0] == '/' || !root_path_is_clean(rel))
                        cfg_error(c, "timezone", "'%s' is not a time zone name like Europe/Paris", p->timezone);
                else if (tree_stat(c->tree_fd, rel, &st) < 0 || !S_ISREG(st.st_mode))
                        cfg_error(c, "timezone", "time zone '%s' is not in the image (%s; is tzdata installed?)", p->timezone, rel);
        }
        for (char **a = p->kernel.cmdline; a && *a; a++)
                if (strpbrk(*a, "\n") || !**a)
                        cfg_error(c, "kernel.cmdline", "kernel argument '%s' is empty or has a newline", *a);
        if (p->distribution.backend == BACKEND_APT && p->distribution.release) {
                bool bad = !*p->distribution.release || strpbrk(p->distribution.release, " \t\n\r");
                for (char **k = p->distribution.components; k && *k; k++)
                        bad = bad || !**k || strpbrk(*k, " \t\n\r");
                if (bad)
                        cfg_error(c, "distribution.release", "the release and its components must be single words "
                                  "(they are written into the image's /etc/apt/sources.list.d/debian.sources)");
        }
        return 0;
}

/* Debian's public archive: what the installer writes into a new system's
 * sources, and what an image's apt uses unless distribution.image-mirror
 * names another archive.  Neither is the mirror the build installed from
 * (distribution.mirror, --mirror, or the build host's own sources): that
 * one may be a proxy or a local copy that means nothing on the machines
 * the image runs on. */
#define DEBIAN_ARCHIVE "http://deb.debian.org/debian"
#define DEBIAN_SECURITY_ARCHIVE "http://security.debian.org/debian-security"
#define DEBIAN_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"

/* Releases with -updates and -security suites (Debian's stable releases,
 * old and upcoming; unstable and experimental have neither). */
static bool release_has_updates(const char *r) {
        static const char *const known[] = { "bullseye", "bookworm", "trixie", "forky", "duke",
                                             "oldoldstable", "oldstable", "stable", "testing", NULL };
        return strv_contains((char *const *)known, r);
}

/* /etc/apt/sources.list.d/debian.sources (deb822, as Debian 12 and later
 * write it) for apt images; written before files: so a profile's own file
 * at that path wins. */
int image_sources_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        struct stat st;
        if (p->distribution.backend != BACKEND_APT || !p->distribution.release ||
            tree_stat(c->tree_fd, "/etc/apt", &st) < 0 || !S_ISDIR(st.st_mode))
                return 0;
        const char *uri = p->distribution.image_mirror && *p->distribution.image_mirror ? p->distribution.image_mirror
                                                                                       : DEBIAN_ARCHIVE;
        const char *rel = p->distribution.release;
        bool updates = release_has_updates(rel);
        size_t clen = 1;
        for (char **k = p->distribution.components; k && *k; k++)
                clen += strlen(*k) + 1;
        _cleanup_free_ char *comps = xcalloc(1, clen + 8);
        for (char **k = p->distribution.components; k && *k; k++) {
                if (k != p->distribution.components)
                        strcat(comps, " ");
                strcat(comps, *k);
        }
        if (!*comps)
                strcat(comps, "main");
        bool keyring = tree_exists(c->tree_fd, DEBIAN_KEYRING);
        _cleanup_free_ char *signed_by = keyring ? xstrdup("Signed-By: " DEBIAN_KEYRING "\n") : xstrdup("");
        _cleanup_free_ char *main = updates ? xasprintf("Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: %s\n%s", uri, rel,
                                                        rel, comps, signed_by)
                                            : xasprintf("Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n%s", uri, rel, comps,
                                                        signed_by);
        _cleanup_free_ char *security = updates ? xasprintf("\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: %s\n%s",
                                                            DEBIAN_SECURITY_ARCHIVE, rel, comps, signed_by)
                                                : xstrdup("");
        _cleanup_free_ char *text = xasprintf("%s%s", main, security);
        int r = cfg_mkdir(c, "/etc/apt/sources.list.d", 0755);
        if (r < 0 || (r = cfg_write_file(c, "/etc/apt/sources.list.d/debian.sources", text, strlen(text), 0644, 0, 0)) < 0)
                return r;
        cfg_change(c, "the image's package sources", "/etc/apt/sources.list.d/debian.sources",
                   p->distribution.image_mirror ? "distribution.image-mirror" : "distribution.release");
        return 0;
}

/* Replaces or adds the "127.0.1.1 NAME" line Debian's installer writes. */
static int hosts_apply(struct cfg *c, const char *hostname) {
        _cleanup_free_ char *data = NULL;
        int r = cfg_read_text(c, "/etc/hosts", "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n", &data);
        if (r < 0)
                return r;
        const char *short_name = hostname;
        _cleanup_free_ char *shortbuf = NULL;
        if (strchr(hostname, '.'))
                short_name = shortbuf = xstrndup(hostname, strcspn(hostname, "."));
        _cleanup_free_ char *entry = strcmp(short_name, hostname) == 0 ? xasprintf("127.0.1.1\t%s", hostname)
                                                                      : xasprintf("127.0.1.1\t%s %s", hostname, short_name);
        size_t cap = strlen(data) + strlen(entry) + 4, len = 0;
        _cleanup_free_ char *out = xcalloc(1, cap);
        bool done = false;
        for (char *line = data, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = '\0';
                const char *put = line;
                if (startswith(line, "127.0.1.1") && (line[9] == ' ' || line[9] == '\t')) {
                        if (done)
                                continue;
                        put = entry;
                        done = true;
                }
                len += (size_t)sprintf(out + len, "%s\n", put);
                if (!done && startswith(line, "127.0.0.1")) {
                        /* Insert right after localhost; a later 127.0.1.1 line is dropped. */
                        len += (size_t)sprintf(out + len, "%s\n", entry);
                        done = true;
                }
                if (len + strlen(entry) + 2 >= cap) {
                        cap = cap * 2 + strlen(entry);
                        out = xrealloc(out, cap);
                }
        }
        if (!done)
                len += (size_t)sprintf(out + len, "%s\n", entry);
        return cfg_write_file(c, "/etc/hosts", out, len, 0644, 0, 0);
}

static int write_tree_file(struct cfg *c, const char *rel, const char *data) {
        _cleanup_free_ char *dir = xstrdup(rel);
        *strrchr(dir, '/') = '\0';
        int r;
        if (*dir && (r = cfg_mkdir(c, dir, 0755)) < 0)
                return r;
        return cfg_write_file(c, rel, data, strlen(data), 0644, 0, 0);
}

int system_settings_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        int r;
        if (p->hostname) {
                _cleanup_free_ char *line = xasprintf("%s\n", p->hostname);
                if ((r = write_tree_file(c, "/etc/hostname", line)) < 0 || (r = hosts_apply(c, p->hostname)) < 0)
                        return r;
                cfg_change(c, "hostname", "/etc/hostname /etc/hosts", "hostname");
        }
        if (p->locale) {
                _cleanup_free_ char *line = xasprintf("LANG=%s\n", p->locale);
                if ((r = write_tree_file(c, "/etc/default/locale", line)) < 0)
                        return r;
                if (!is_c_locale(p->locale)) {
                        /* Debian's locales: uncommented lines of /etc/locale.gen are generated. */
                        const char *dot = strchr(p->locale, '.');
                        _cleanup_free_ char *gen = xasprintf("%s %s\n", p->locale, dot ? dot + 1 : "ISO-8859-1");
                        if ((r = write_tree_file(c, "/etc/locale.gen", gen)) < 0)
                                return r;
                        char *argv[] = { (char *)"locale-gen", NULL };
                        if ((r = chroot_run(c->tree, argv, &(struct chroot_run_opts){ .quiet = true })) < 0)
                                return r;
                }
                cfg_change(c, "locale", "/etc/default/locale", "locale");
        }
        if (p->timezone) {
                _cleanup_free_ char *target = xasprintf("../usr/share/zoneinfo/%s", p->timezone), *line = xasprintf("%s\n", p->timezone);
                if ((r = cfg_symlink(c, target, "/etc/localtime")) < 0 || (r = write_tree_file(c, "/etc/timezone", line)) < 0)
                        return r;
                cfg_change(c, "timezone", "/etc/localtime /etc/timezone", "timezone");
        }
        if (p->kernel.cmdline && p->kernel.cmdline[0]) {
                size_t len = 2;
                for (char **a = p->kernel.cmdline; *a; a++)
                        len += strlen(*a) + 1;
                _cleanup_free_ char *buf = xcalloc(1, len);
                for (char **a = p->kernel.cmdline; *a; a++) {
                        if (a != p->kernel.cmdline)
                                strcat(buf, " ");
                        strcat(buf, *a);
                }
                strcat(buf, "\n");
                if ((r = write_tree_file(c, "/etc/kernel/cmdline", buf)) < 0)
                        return r;
                cfg_change(c, "kernel command line", "/etc/kernel/cmdline", "kernel.cmdline");
        }
        return 0;
}

static const char *fs_name(enum slw_fs fs) {
        return fs == FS_EXT4 ? "ext4" : fs == FS_VFAT ? "vfat" : NULL;
}

/* /etc/fstab by filesystem UUID from the disk plan; no swap (Azure). */
int fstab_apply(struct cfg *c) {
        const struct disk_plan *plan = &c->ctx->plan;
        const bool *out = c->ctx->enabled_outputs;
        /* A tar (WSL, containers) or a live ISO has no disk and no
         * filesystem UUIDs to mount: the tree keeps its own fstab. */
        if (!out[OUT_RAW] && !out[OUT_VHD] && !out[OUT_VHD_DYNAMIC] && !out[OUT_QCOW2]) {
                log_debug("configure: no disk output, /etc/fstab left as is");
                return 0;
        }
        if (plan->root_index < 0 || (size_t)plan->root_index >= plan->n_parts) {
                log_debug("configure: no disk plan with a root partition, /etc/fstab left as is");
                return 0;
        }
        char buf[4096];
        size_t len = (size_t)snprintf(buf, sizeof(buf), "# /etc/fstab: written by slipway from the profile's disk layout.\n"
                                      "# <file system> <mount point> <type> <options> <dump> <pass>\n");
        const struct planned_partition *root = &plan->parts[plan->root_index];
        bool immutable = c->p->immutable.enabled;
        /* An immutable root is /dev/mapper/root from the kernel command line
         * (roothash=), read-only: no fstab line.  Its ESP is at /efi, where
         * systemd-sysupdate and bootctl look first. */
        if (!immutable)
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "UUID=%s / %s defaults,errors=remount-ro 0 1\n", root->fs_uuid,
                                        fs_name(root->spec && root->spec->fs != FS_NONE ? root->spec->fs : FS_EXT4));
        int r;
        const char *esp_dir = immutable ? "/efi" : "/boot/efi";
        if (plan->esp_index >= 0 && (size_t)plan->esp_index < plan->n_parts) {
                /* immutable: mounted on first access (systemd-sysupdate,
                 * bootctl), not on every boot's critical path; named by
                 * partition name, because a later version's build (another
                 * version or epoch, so other derived UUIDs) must find the
                 * ESP and /var this disk was made with */
                if (immutable)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                                "PARTLABEL=%s %s vfat umask=0077,noauto,x-systemd.automount 0 2\n",
                                                plan->parts[plan->esp_index].spec->label, esp_dir);
                else
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "UUID=%s %s vfat umask=0077 0 2\n",
                                                plan->parts[plan->esp_index].fs_uuid, esp_dir);
                if ((r = cfg_mkdir(c, esp_dir, 0755)) < 0)
                        return r;
        }
        for (size_t i = 0; i < plan->n_parts && len < sizeof(buf) - 256; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                if ((int)i == plan->root_index || (int)i == plan->esp_index || !pp->spec)
                        continue;
                if (pp->spec->type == PART_SWAP || pp->spec->type == PART_BIOS_BOOT || !pp->spec->mountpoint || !fs_name(pp->spec->fs))
                        continue;
                /* immutable /var: grown with its partition (systemd-repart, see configure_immutable.c) */
                if (immutable && pp->spec->label)
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "PARTLABEL=%s %s %s defaults%s 0 2\n", pp->spec->label,
                                                pp->spec->mountpoint, fs_name(pp->spec->fs),
                                                pp->spec->type == PART_VAR ? ",x-systemd.growfs" : "");
                else
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "UUID=%s %s %s defaults 0 2\n", pp->fs_uuid,
                                                pp->spec->mountpoint, fs_name(pp->spec->fs));
                if ((r = cfg_mkdir(c, pp->spec->mountpoint, 0755)) < 0)
                        return r;
        }
        r = cfg_write_file(c, "/etc/fstab", buf, len, 0644, 0, 0);
        if (r < 0)
                return r;
        cfg_change(c, "fstab by UUID", "/etc/fstab", "disk.partitions");
        return 0;
}
