/* SPDX-License-Identifier: MIT */
/* Kernel modules: presence checks, pruning outside an allow-list, the
 * initramfs module list and its regeneration inside the image. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chroot_run.h"
#include "configure.h"
#include "derive.h"
#include "log.h"
#include "tree.h"
#include "spawn.h"
#include "util.h"

int kernel_find_version(struct cfg *c) {
        DIR *d = NULL;
        if (tree_opendir(c->tree_fd, "/lib/modules", &d) < 0)
                return 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                _cleanup_free_ char *dep = xasprintf("/lib/modules/%s/modules.dep", de->d_name);
                if (!tree_exists(c->tree_fd, dep))
                        continue;
                /* Several kernels: the newest one is what the bootloader boots. */
                if (!c->kver || strverscmp(de->d_name, c->kver) > 0) {
                        free(c->kver);
                        c->kver = xstrdup(de->d_name);
                }
        }
        closedir(d);
        return 0;
}

/* "kernel/drivers/hv/hv_vmbus.ko.xz" -> "hv_vmbus" (dashes as underscores). */
static char *module_name_of(const char *path) {
        const char *b = strrchr(path, '/');
        b = b ? b + 1 : path;
        const char *ko = strstr(b, ".ko");
        char *n = xstrndup(b, ko ? (size_t)(ko - b) : strlen(b));
        for (char *p = n; *p; p++)
                if (*p == '-')
                        *p = '_';
        return n;
}

static char *normalize(const char *name) {
        char *n = xstrdup(name);
        for (char *p = n; *p; p++)
                if (*p == '-')
                        *p = '_';
        return n;
}

static int read_modfile(struct cfg *c, const char *file, char **ret) {
        _cleanup_free_ char *rel = xasprintf("/lib/modules/%s/%s", c->kver, file);
        return cfg_read_file(c, rel, ret, NULL);
}

int kernel_module_state(struct cfg *c, const char *name) {
        if (!c->kver)
                return 0;
        _cleanup_free_ char *want = normalize(name);
        for (int pass = 0; pass < 2; pass++) {
                _cleanup_free_ char *data = NULL;
                if (read_modfile(c, pass == 0 ? "modules.dep" : "modules.builtin", &data) < 0)
                        continue;
                for (char *line = data, *nl; line && *line; line = nl) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl++ = '\0';
                        line[strcspn(line, ":")] = '\0';
                        _cleanup_free_ char *n = module_name_of(line);
                        if (strcmp(n, want) == 0)
                                return pass == 0 ? 1 : 2;
                }
        }
        return 0;
}

static bool module_allowed(struct cfg *c, const char *relpath /* below kernel/ */) {
        for (char **g = c->p->prune.kernel_modules; g && *g; g++)
                if (fnmatch(*g, relpath, 0) == 0)
                        return true;
        _cleanup_free_ char *n = module_name_of(relpath);
        for (char **m = c->p->kernel.initramfs_modules; m && *m; m++) {
                _cleanup_free_ char *w = normalize(*m);
                if (strcmp(w, n) == 0)
                        return true;
        }
        return false;
}

static bool tree_has(struct cfg *c, const char *path) {
        return tree_exists(c->tree_fd, path);
}

/* 1: initramfs-tools, 2: dracut, 0: neither (config and program both needed). */
static int initramfs_kind(struct cfg *c) {
        if (tree_has(c, "/etc/initramfs-tools") && (tree_has(c, "/usr/sbin/update-initramfs") || tree_has(c, "/sbin/update-initramfs")))
                return 1;
        if (tree_has(c, "/usr/lib/dracut") && (tree_has(c, "/usr/bin/dracut") || tree_has(c, "/usr/sbin/dracut")))
                return 2;
        return 0;
}

int kernel_validate(struct cfg *c) {
        const struct slw_profile *p = c->p;
        bool have_modules = p->kernel.initramfs_modules && p->kernel.initramfs_modules[0];
        if ((have_modules || p->prune.kernel_modules) && !c->kver)
                return cfg_error(c, have_modules ? "kernel.initramfs-modules" : "prune.kernel-modules",
                                 "the image has no kernel (no /lib/modules/<version>/modules.dep)");
        for (size_t i = 0; c->kver && p->kernel.initramfs_modules && p->kernel.initramfs_modules[i]; i++) {
                const char *m = p->kernel.initramfs_modules[i];
                _cleanup_free_ char *origin = xasprintf("kernel.initramfs-modules[%zu]", i);
                if (strpbrk(m, "/ \n") || !*m)
                        cfg_error(c, origin, "'%s' is not a module name", m);
                else if (kernel_module_state(c, m) == 0)
                        cfg_error(c, origin, "module '%s' is not in kernel %s (neither in modules.dep nor built in)", m, c->kver);
        }
        if (c->kver) {
                /* Azure provisions through a UDF medium. */
                int udf = kernel_module_state(c, "udf");
                if (udf == 0)
                        log_warning("configure: kernel %s has no udf module (Azure's provisioning medium needs it)", c->kver);
                else if (udf == 1 && p->prune.kernel_modules) {
                        _cleanup_free_ char *dep = NULL;
                        bool kept = false;
                        if (read_modfile(c, "modules.dep", &dep) == 0) {
                                for (char *line = dep, *nl; line && *line; line = nl) {
                                        nl = strchr(line, '\n');
                                        if (nl)
                                                *nl++ = '\0';
                                        line[strcspn(line, ":")] = '\0';
                                        _cleanup_free_ char *n = module_name_of(line);
                                        if (strcmp(n, "udf") == 0 && startswith(line, "kernel/"))
                                                kept = module_allowed(c, line + 7);
                                }
                        }
                        if (!kept)
                                cfg_warning(c, "prune.kernel-modules", "the allow-list prunes udf (Azure's provisioning medium needs it)");
                }
        }
        if (p->immutable.enabled && !c->kver)
                return cfg_error(c, "immutable.enabled", "the image has no kernel (no /lib/modules/<version>/modules.dep)");
        if (p->immutable.enabled) {
                if (!tree_has(c, "/usr/lib/dracut/modules.d/01systemd-veritysetup"))
                        return cfg_error(c, "immutable.enabled", "an immutable image needs dracut in the image (packages.install: "
                                         "dracut; initramfs-tools cannot open a dm-verity root)");
                if (!tree_has(c, "/usr/lib/systemd/system-generators/systemd-veritysetup-generator"))
                        return cfg_error(c, "immutable.enabled", "an immutable image needs systemd-veritysetup-generator in the "
                                         "image (packages.install: systemd-cryptsetup)");
        }
        /* The initramfs is regenerated for the profile's module list, for
         * an immutable image (dracut with verity), and after pruning when
         * the image has one (it may carry pruned modules); an image without
         * one keeps having none.  Whether the image can do it is checked
         * here, before anything is written. */
        if (c->kver) {
                _cleanup_free_ char *initrd_rel = xasprintf("/boot/initrd.img-%s", c->kver);
                bool have_initrd = tree_has(c, initrd_rel);
                c->regenerate_initramfs = have_modules || p->immutable.enabled || (p->prune.kernel_modules && have_initrd);
                /* The initramfs the install made carries the epoch of the
                 * build that filled the rootfs cache: made again with this
                 * build's (and kept in the initramfs cache, whose key has
                 * the epoch).  An imported tree's is its own. */
                bool installed_initrd = have_initrd && p->distribution.backend != BACKEND_IMPORT && initramfs_kind(c) != 0;
                if (!c->regenerate_initramfs && installed_initrd)
                        c->regenerate_initramfs = true;
                else if (c->regenerate_initramfs && initramfs_kind(c) == 0)
                        cfg_error(c, have_modules ? "kernel.initramfs-modules" : "prune.kernel-modules",
                                  "the image has neither initramfs-tools (/etc/initramfs-tools, update-initramfs) nor dracut "
                                  "to regenerate the initramfs of kernel %s with", c->kver);
        }
        return 0;
}

struct dep_entry {
        char *path;             /* relative to lib/modules/<ver> */
        char **deps;
        bool keep;
};

static void mark_keep(struct dep_entry *e, size_t n, size_t i) {
        if (e[i].keep)
                return;
        e[i].keep = true;
        for (char **d = e[i].deps; d && *d; d++)
                for (size_t j = 0; j < n; j++)
                        if (strcmp(e[j].path, *d) == 0)
                                mark_keep(e, n, j);
}

static ssize_t dep_find_name(struct dep_entry *e, size_t n, const char *name) {
        _cleanup_free_ char *want = normalize(name);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *m = module_name_of(e[i].path);
                if (strcmp(m, want) == 0)
                        return (ssize_t)i;
        }
        return -1;
}

/* modules.softdep ("softdep ext4 pre: crc32c", names or aliases such as
 * "crypto-md5") is not in modules.dep but modprobe loads those too: keep
 * them for kept modules, resolving aliases through modules.alias, until
 * nothing new is kept. */
static void keep_softdeps(struct cfg *c, struct dep_entry *e, size_t n) {
        _cleanup_free_ char *soft = NULL, *alias = NULL;
        if (read_modfile(c, "modules.softdep", &soft) < 0)
                return;
        if (read_modfile(c, "modules.alias", &alias) < 0)
                alias = xstrdup("");
        for (bool changed = true; changed;) {
                changed = false;
                _cleanup_free_ char *copy = xstrdup(soft);
                for (char *line = copy, *nl; line && *line; line = nl) {
                        nl = strchr(line, '\n');
                        if (nl)
                                *nl++ = '\0';
                        char *save = NULL, *tok = strtok_r(line, " \t", &save);
                        if (!tok || strcmp(tok, "softdep") != 0 || !(tok = strtok_r(NULL, " \t", &save)))
                                continue;
                        ssize_t owner = dep_find_name(e, n, tok);
                        if (owner < 0 || !e[owner].keep)
                                continue;
                        while ((tok = strtok_r(NULL, " \t", &save))) {
                                if (endswith(tok, ":"))
                                        continue;
                                ssize_t j = dep_find_name(e, n, tok);
                                if (j < 0) {
                                        /* "alias crypto-md5 md5" */
                                        _cleanup_free_ char *key = xasprintf("\nalias %s ", tok);
                                        const char *a = strstr(alias, key);
                                        if (a) {
                                                a += strlen(key);
                                                _cleanup_free_ char *target = xstrndup(a, strcspn(a, "\n"));
                                                j = dep_find_name(e, n, target);
                                        }
                                }
                                if (j >= 0 && !e[j].keep) {
                                        mark_keep(e, n, (size_t)j);
                                        changed = true;
                                }
                        }
                }
        }
}

/* Removes the empty directories below the directory open at DIR_FD (not
 * it), depth first; never follows a symlink. */
static int remove_empty_dirs_at(int dir_fd, unsigned depth) {
        if (depth > 64)
                return -ELOOP;
        DIR *d = tree_fdopendir(dir_fd, NULL);
        if (!d)
                return -errno;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                _cleanup_close_ int sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = -errno;
                        break;
                }
                if ((r = remove_empty_dirs_at(sub, depth + 1)) < 0)
                        break;
                /* Fails with ENOTEMPTY where something is left: fine. */
                (void)unlinkat(dir_fd, de->d_name, AT_REMOVEDIR);
        }
        closedir(d);
        return r;
}

/* Removes modules outside the allow-list, keeping what the kept ones and
 * the initramfs list depend on (modules.dep), then runs the image's depmod. */
int kernel_prune_modules(struct cfg *c) {
        if (!c->p->prune.kernel_modules || !c->kver)
                return 0;
        _cleanup_free_ char *dep = NULL, *moddir_rel = xasprintf("/lib/modules/%s", c->kver);
        int r = read_modfile(c, "modules.dep", &dep);
        if (r < 0)
                return log_error_errno(r, "reading modules.dep of %s", c->kver);

        struct dep_entry *e = NULL;
        size_t n = 0;
        for (char *line = dep, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = '\0';
                char *colon = strchr(line, ':');
                if (!colon)
                        continue;
                *colon = '\0';
                e = xrealloc(e, (n + 1) * sizeof(*e));
                e[n] = (struct dep_entry) { .path = xstrdup(line) };
                for (char *tok = strtok(colon + 1, " \t"); tok; tok = strtok(NULL, " \t"))
                        strv_push(&e[n].deps, tok);
                n++;
        }
        for (size_t i = 0; i < n; i++)
                if (startswith(e[i].path, "kernel/") && module_allowed(c, e[i].path + 7))
                        mark_keep(e, n, i);
        keep_softdeps(c, e, n);
        unsigned removed = 0, kept = 0;
        r = 0;
        for (size_t i = 0; i < n; i++) {
                if (e[i].keep) {
                        kept++;
                        continue;
                }
                /* modules.dep is the tree's text: only plain relative
                 * paths below the module directory are removed. */
                _cleanup_free_ char *p = xasprintf("%s/%s", moddir_rel, e[i].path);
                if (!root_path_is_clean(p) || e[i].path[0] == '/') {
                        cfg_warning(c, "prune.kernel-modules", "modules.dep lists '%s', not a path below %s; left alone",
                                    e[i].path, moddir_rel);
                        continue;
                }
                if ((r = tree_remove(c->tree_fd, p, 0)) < 0) {
                        log_error_errno(r, "removing %s in the tree", p);
                        break;
                }
                removed++;
        }
        for (size_t i = 0; i < n; i++) {
                free(e[i].path);
                strv_free(e[i].deps);
        }
        free(e);
        if (r < 0)
                return r;
        /* Empty directories left behind: rmdir fails on non-empty ones. */
        _cleanup_free_ char *kdir_rel = xasprintf("%s/kernel", moddir_rel);
        _cleanup_close_ int kdir = tree_open(c->tree_fd, kdir_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
        if (kdir >= 0 && (r = remove_empty_dirs_at(kdir, 0)) < 0)
                return log_error_errno(r, "removing empty directories below %s", kdir_rel);
        log_info("configure: kernel modules: kept %u, removed %u", kept, removed);
        _cleanup_free_ char *what = xasprintf("pruned %u kernel modules, kept %u", removed, kept);
        cfg_change(c, what, moddir_rel, "prune.kernel-modules");

        /* The image's own depmod (the host may have none, or another kmod). */
        if (!tree_has(c, "/usr/sbin/depmod") && !tree_has(c, "/sbin/depmod")) {
                log_warning("configure: the image has no depmod; modules.dep of %s still lists the pruned modules", c->kver);
                return 0;
        }
        char *argv[] = { (char *)"depmod", (char *)"-a", c->kver, NULL };
        return chroot_run(c->tree, argv, &(struct chroot_run_opts){ .quiet = true });
}

/* Appends the profile's modules to /etc/initramfs-tools/modules (or a
 * dracut drop-in).  Returns 1 for initramfs-tools, 2 for dracut. */
static int initramfs_config(struct cfg *c) {
        char **mods = c->p->kernel.initramfs_modules;
        /* an immutable image's initramfs is dracut's (checked in kernel_validate) */
        int r, kind = c->p->immutable.enabled ? 2 : initramfs_kind(c);
        if (kind == 1) {
                _cleanup_free_ char *data = NULL;
                if ((r = cfg_read_text(c, "/etc/initramfs-tools/modules", "", &data)) < 0)
                        return r;
                size_t len = strlen(data), cap = len + 128;
                for (char **m = mods; m && *m; m++)
                        cap += strlen(*m) + 1;
                char *out = xmalloc(cap);
                memcpy(out, data, len + 1);
                bool header = false;
                for (char **m = mods; m && *m; m++) {
                        /* Already listed (a line that is exactly the name)? */
                        bool listed = false;
                        size_t ml = strlen(*m);
                        for (const char *q = data; (q = strstr(q, *m)); q += ml)
                                if ((q == data || q[-1] == '\n') && (q[ml] == '\n' || q[ml] == '\0')) {
                                        listed = true;
                                        break;
                                }
                        if (listed)
                                continue;
                        if (!header) {
                                if (len > 0 && out[len - 1] != '\n')
                                        out[len++] = '\n';
                                len += (size_t)sprintf(out + len, "# slipway: kernel.initramfs-modules\n");
                                header = true;
                        }
                        len += (size_t)sprintf(out + len, "%s\n", *m);
                }
                r = header ? cfg_write_file(c, "/etc/initramfs-tools/modules", out, len, 0644, 0, 0) : 0;
                free(out);
                if (r < 0)
                        return r;
                if (header)
                        cfg_change(c, "initramfs modules", "/etc/initramfs-tools/modules", "kernel.initramfs-modules");
                return 1;
        }
        if (kind == 2) {
                size_t cap = 64;
                for (char **m = mods; m && *m; m++)
                        cap += strlen(*m) + 1;
                _cleanup_free_ char *buf = xcalloc(1, cap);
                strcpy(buf, "add_drivers+=\" ");
                for (char **m = mods; m && *m; m++) {
                        strcat(buf, *m);
                        strcat(buf, " ");
                }
                strcat(buf, "\"\n");
                if (c->p->immutable.enabled) {
                        /* The verity root: systemd in the initrd, whose
                         * veritysetup generator turns roothash= into
                         * /dev/mapper/root; the device-mapper target and
                         * the read-only filesystems; the disk drivers
                         * (dracut's generic mode has them already). */
                        static const char extra[] =
                                "# slipway: immutable.enabled (dm-verity root)\n"
                                "add_dracutmodules+=\" systemd systemd-veritysetup dm \"\n"
                                "add_drivers+=\" dm-verity erofs squashfs virtio_blk virtio_scsi virtio_pci nvme sd_mod \"\n";
                        char *nb = xasprintf("%s%s%s", buf, extra,
                                             c->p->immutable.etc == ETC_OVERLAY ?
                                             "# slipway: immutable.etc: overlay (/var and /etc mounted in the initrd)\n"
                                             "add_dracutmodules+=\" slipway-etc-overlay \"\n" : "");
                        free(buf);
                        buf = nb;
                }
                if ((r = cfg_mkdir(c, "/etc/dracut.conf.d", 0755)) < 0)
                        return r;
                if ((r = cfg_write_file(c, "/etc/dracut.conf.d/50-slipway.conf", buf, strlen(buf), 0644, 0, 0)) < 0)
                        return r;
                cfg_change(c, "initramfs modules", "/etc/dracut.conf.d/50-slipway.conf", "kernel.initramfs-modules");
                return 2;
        }
        return log_error_errno(-ENOENT, "the image has neither initramfs-tools nor dracut");
}

/* Adds the paths, modes and contents below directory REL of the tree to a
 * running text that is hashed (in strcmp order; symlinks by mode only). */
static void hash_tree(struct cfg *c, const char *rel, unsigned depth, char **acc, size_t *len) {
        char **names = NULL;
        if (depth > 64 || tree_dir_entries_sorted(c->tree_fd, rel, &names) < 0)
                return;
        for (char **n = names; n && *n; n++) {
                _cleanup_free_ char *r = xasprintf("%s/%s", rel, *n);
                struct stat st;
                if (tree_lstat(c->tree_fd, r, &st) < 0)
                        continue;
                char sum[65] = "";
                if (S_ISDIR(st.st_mode)) {
                        hash_tree(c, r, depth + 1, acc, len);
                        continue;
                }
                if (S_ISREG(st.st_mode)) {
                        _cleanup_close_ int fd = tree_open(c->tree_fd, r, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
                        if (fd >= 0)
                                (void)sha256_fd_hex(fd, sum);
                }
                _cleanup_free_ char *line = xasprintf("%s %o %s\n", r, (unsigned)st.st_mode, sum);
                size_t l = strlen(line);
                *acc = xrealloc(*acc, *len + l + 1);
                memcpy(*acc + *len, line, l + 1);
                *len += l;
        }
        strv_free(names);
}

/* The inputs of the initramfs: kernel version, module list, everything
 * under /etc/initramfs-tools (or dracut.conf.d), slipway's own dracut
 * module (immutable.etc: overlay) and the module files the kernel has
 * after pruning.  Same hash = same initramfs. */
static void initramfs_inputs_hash(struct cfg *c, char out[65]) {
        /* format 2: the cached file keeps the generator's mode (dracut
         * writes 0600, update-initramfs 0644); format-1 entries were all
         * 0644, so a dracut image differed between a regenerated and a
         * reused initrd. */
        char *acc = xasprintf("format 2\nkernel %s\nepoch %llu\n", c->kver, (unsigned long long)c->ctx->epoch);
        size_t len = strlen(acc);
        const char *dirs[] = { "/etc/initramfs-tools", "/etc/dracut.conf.d", "/usr/share/initramfs-tools", IMMUTABLE_ETC_DRACUT_MODULE };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (tree_has(c, dirs[i]))
                        hash_tree(c, dirs[i], 0, &acc, &len);
        }
        if (c->inputs) {
                /* extra trees and post-install scripts (configure_scripts.c):
                 * they may change what the generator reads anywhere */
                char sum[65];
                sha256_hex(c->inputs, c->inputs_len, sum);
                _cleanup_free_ char *line = xasprintf("configure-inputs %s\n", sum);
                acc = xrealloc(acc, len + strlen(line) + 1);
                strcpy(acc + len, line);
                len += strlen(line);
        }
        _cleanup_free_ char *dep = NULL, *builtin = NULL;
        if (read_modfile(c, "modules.dep", &dep) == 0) {
                char sum[65];
                sha256_hex(dep, strlen(dep), sum);
                _cleanup_free_ char *line = xasprintf("modules.dep %s\n", sum);
                acc = xrealloc(acc, len + strlen(line) + 1);
                strcpy(acc + len, line);
                len += strlen(line);
        }
        sha256_hex(acc, len, out);
        free(acc);
}

/* An initramfs is read whole (to cache it or to put a cached one back);
 * one beyond this is not a generator's output. */
#define INITRD_MAX (1 * GiB)

/* Writes a cache file atomically (temp + rename), owned by the builder. */
static int write_cache_file(const char *path, const char *data, size_t len, mode_t mode) {
        _cleanup_free_ char *tmp = xasprintf("%s.slipway-tmp-%d", path, (int)getpid());
        int r = write_file(tmp, data, len, mode);
        if (r == 0 && (chmod(tmp, mode) < 0 || rename(tmp, path) < 0))
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

/* build.json "initramfs": {cache: hit|miss, key}, next to "rootfs". */
static void record_initramfs_cache(struct build_ctx *ctx, bool hit, const char *key) {
        if (!ctx->build_json)
                return;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "cache", json_object_new_string(hit ? "hit" : "miss"));
        json_object_object_add(o, "key", json_object_new_string(key));
        json_object_object_add(ctx->build_json, "initramfs", o);
}

int kernel_apply_initramfs(struct cfg *c) {
        if (!c->regenerate_initramfs || !c->kver)
                return 0;
        int kind = initramfs_config(c);
        if (kind < 0)
                return kind;

        char hash[65];
        initramfs_inputs_hash(c, hash);
        /* the profile line that asks for it; none when the reason is only
         * the installed initramfs's epoch (kernel_validate) */
        const struct slw_profile *p = c->p;
        const char *origin = p->kernel.initramfs_modules && p->kernel.initramfs_modules[0] ? "kernel.initramfs-modules"
                             : p->immutable.enabled                                       ? "immutable.enabled"
                             : p->prune.kernel_modules                                    ? "prune.kernel-modules"
                                                                                          : NULL;
        _cleanup_free_ char *initrd_rel = xasprintf("/boot/initrd.img-%s", c->kver), *cached = NULL;
        int r;
        if (c->ctx->cache_dir) {
                cached = xasprintf("%s/initramfs/%s", c->ctx->cache_dir, hash);
                _cleanup_free_ char *data = NULL;
                size_t len;
                struct stat st;
                if (stat(cached, &st) == 0 && read_file(cached, &data, &len) == 0) {
                        /* the mode the generator gave it, kept in the cache */
                        if ((r = cfg_write_file(c, initrd_rel, data, len, st.st_mode & 07777, 0, 0)) < 0)
                                return r;
                        log_info("configure: initramfs inputs unchanged (%.12s), reused the cached one", hash);
                        cfg_change(c, "initramfs (cached)", initrd_rel, origin);
                        record_initramfs_cache(c->ctx, true, hash);
                        return 0;
                }
        }
        record_initramfs_cache(c->ctx, false, hash);

        uint64_t t0 = now_usec();
        _cleanup_free_ char *sde = xasprintf("SOURCE_DATE_EPOCH=%llu", (unsigned long long)c->ctx->epoch);
        char *env[] = { sde, (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C.UTF-8", NULL };
        char *argv_it[] = { (char *)"update-initramfs", (char *)"-u", (char *)"-k", c->kver, NULL };
        char *argv_dracut[] = { (char *)"dracut", (char *)"--force", (char *)"--reproducible", (char *)"--kver", c->kver, NULL };
        r = chroot_run(c->tree, kind == 1 ? argv_it : argv_dracut, &(struct chroot_run_opts){ .env = env, .quiet = true });
        if (r < 0)
                return log_error_errno(r, "regenerating the initramfs of %s inside the image", c->kver);
        log_info("configure: initramfs regenerated in %.1f s (inputs %.12s)", (double)(now_usec() - t0) / 1e6, hash);
        _cleanup_free_ char *what = xasprintf("regenerated initramfs (inputs sha256 %s)", hash);
        cfg_change(c, what, initrd_rel, origin);

        if (cached) {
                _cleanup_free_ char *dir = xasprintf("%s/initramfs", c->ctx->cache_dir), *data = NULL;
                size_t len;
                struct stat st;
                /* The cache is the host's own directory (write_cache_file);
                 * the initrd is read from the tree like any of its files. */
                if (mkdir_p(dir, 0755) == 0 && tree_stat(c->tree_fd, initrd_rel, &st) == 0 &&
                    tree_read_file(c->tree_fd, initrd_rel, INITRD_MAX, &data, &len) == 0 &&
                    write_cache_file(cached, data, len, st.st_mode & 07777) < 0)
                        log_warning("configure: could not cache the initramfs in %s", dir);
        }
        return 0;
}
