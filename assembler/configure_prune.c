/* SPDX-License-Identifier: MIT */
/* prune (docs, locales, caches; kernel modules are in configure_kernel.c)
 * and generalize (the image must look like it never booted). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"
#include "tree.h"
#include "util.h"

int prune_validate(struct cfg *c) {
        for (char **k = c->p->prune.keep_locales; k && *k; k++)
                if (strchr(*k, '/') || !**k)
                        cfg_error(c, "prune.keep-locales", "'%s' is not a locale name or pattern", *k);
        for (char **g = c->p->prune.kernel_modules; g && *g; g++)
                if ((*g)[0] == '/' || strstr(*g, ".."))
                        cfg_error(c, "prune.kernel-modules", "'%s' must be a glob relative to lib/modules/<version>/kernel", *g);
        /* generalize wants no passwords: a root password contradicts it. */
        if (c->p->generalize)
                for (size_t i = 0; i < c->p->n_users; i++) {
                        const struct slw_user *u = &c->p->users[i];
                        if (!profile_password_locks(u->password))
                                cfg_error(c, u->origin_path, "user '%s' has a password, but generalize: true asks for none", u->name);
                }
        return 0;
}

/* Directory walks below are on fds of the tree (lib/tree.h): entries are
 * examined with AT_SYMLINK_NOFOLLOW and directories opened O_NOFOLLOW, so a
 * symlink in /usr/share/doc or /var/log is itself removed or left alone and
 * never leads out of the image.  Nesting deeper than this is refused. */
#define PRUNE_MAX_DEPTH 256

/* Removes everything below /usr/share/doc but the copyright files (the
 * licences must stay with the binaries), then empty directories. */
static int prune_docs_at(DIR *d, unsigned depth, unsigned *count) {
        if (depth > PRUNE_MAX_DEPTH)
                return -ELOOP;
        int dfd = dirfd(d);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        DIR *sub = tree_fdopendir(dfd, de->d_name);
                        if (!sub)
                                return -errno;
                        r = prune_docs_at(sub, depth + 1, count);
                        closedir(sub);
                        if (r == 0 && unlinkat(dfd, de->d_name, AT_REMOVEDIR) == 0)
                                (*count)++;
                        continue;
                }
                if (strcmp(de->d_name, "copyright") == 0)
                        continue;
                if (unlinkat(dfd, de->d_name, 0) < 0)
                        r = -errno;
                else
                        (*count)++;
        }
        return r;
}

static bool locale_kept(struct cfg *c, const char *name) {
        /* C.UTF-8 is part of libc in Debian (/usr/lib/locale/C.utf8). */
        if (startswith(name, "C.") || strcmp(name, "C") == 0 || strcmp(name, "locale.alias") == 0)
                return true;
        for (char **k = c->p->prune.keep_locales; k && *k; k++) {
                if (fnmatch(*k, name, 0) == 0)
                        return true;
                /* "de_DE.UTF-8" keeps /usr/share/locale/de_DE and de, and /usr/lib/locale/de_DE.utf8. */
                size_t n = strcspn(*k, "._@");
                if (strncmp(*k, name, n) == 0 && (name[n] == '\0' || name[n] == '.' || name[n] == '@'))
                        return true;
                if (strncmp(*k, name, 2) == 0 && name[2] == '\0')
                        return true;
        }
        return false;
}

static int prune_locales(struct cfg *c, unsigned *count) {
        const char *dirs[] = { "/usr/share/locale", "/usr/lib/locale" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                DIR *d = NULL;
                if (tree_opendir(c->tree_fd, dirs[i], &d) < 0)
                        continue;
                struct dirent *de;
                int r = 0;
                while (r == 0 && (de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || locale_kept(c, de->d_name))
                                continue;
                        if (strcmp(de->d_name, "locale-archive") == 0 && c->p->prune.keep_locales && c->p->prune.keep_locales[0])
                                continue;
                        r = tree_remove_at(dirfd(d), de->d_name, TREE_RM_DIR);
                        if (r == 0)
                                (*count)++;
                }
                closedir(d);
                if (r < 0)
                        return log_error_errno(r, "pruning %s", dirs[i]);
        }
        return 0;
}

int prune_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        int r;
        if (p->prune.docs) {
                unsigned n = 0;
                DIR *doc = NULL;
                if (tree_opendir(c->tree_fd, "/usr/share/doc", &doc) == 0) {
                        r = prune_docs_at(doc, 0, &n);
                        closedir(doc);
                        if (r < 0)
                                return log_error_errno(r, "pruning /usr/share/doc");
                }
                if ((r = cfg_remove_glob(c, "/usr/share/man/*", false, &n)) < 0 || (r = cfg_remove_glob(c, "/usr/share/info/*", false, &n)) < 0)
                        return r;
                _cleanup_free_ char *what = xasprintf("pruned docs (%u entries)", n);
                cfg_change(c, what, "/usr/share/doc /usr/share/man /usr/share/info", "prune.docs");
        }
        if (p->prune.keep_locales) {
                unsigned n = 0;
                if ((r = prune_locales(c, &n)) < 0)
                        return r;
                _cleanup_free_ char *what = xasprintf("pruned locales (%u entries)", n);
                cfg_change(c, what, "/usr/share/locale /usr/lib/locale", "prune.keep-locales");
        }
        if (p->prune.caches) {
                /* __pycache__ stays: removing it costs every first start of python. */
                static const char *const globs[] = { "/var/cache/apt/*.bin", "/var/cache/apt/archives/*.deb",
                                                     "/var/cache/apt/archives/partial/*", "/var/lib/apt/lists/*",
                                                     "/var/cache/debconf/*-old" };
                unsigned n = 0;
                for (size_t i = 0; i < ELEMENTSOF(globs); i++)
                        if ((r = cfg_remove_glob(c, globs[i], !strcmp(globs[i], "/var/lib/apt/lists/*"), &n)) < 0)
                                return r;
                /* /var/lib/apt/lists/partial is a directory apt expects. */
                _cleanup_free_ char *what = xasprintf("pruned caches (%u files)", n);
                cfg_change(c, what, "/var/cache/apt /var/lib/apt/lists /var/cache/debconf", "prune.caches");
        }
        return 0;
}

/* Empties every regular file below a directory (logs: truncate, keep the
 * file and its owner so daemons that append find it). */
static int remove_files_at(DIR *d, unsigned depth, unsigned *count) {
        if (depth > PRUNE_MAX_DEPTH)
                return -ELOOP;
        int dfd = dirfd(d);
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        DIR *sub = tree_fdopendir(dfd, de->d_name);
                        if (!sub)
                                return -errno;
                        r = remove_files_at(sub, depth + 1, count);
                        closedir(sub);
                } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
                        /* Rotated logs go; live logs are emptied. */
                        if (endswith(de->d_name, ".gz") || endswith(de->d_name, ".xz") || endswith(de->d_name, ".zst") ||
                            endswith(de->d_name, ".old") || strpbrk(de->d_name + strlen(de->d_name) - 2, "0123456789"))
                                r = unlinkat(dfd, de->d_name, 0) < 0 ? -errno : 0;
                        else {
                                int fd = openat(dfd, de->d_name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                                r = fd < 0 || ftruncate(fd, 0) < 0 ? -errno : 0;
                                if (fd >= 0)
                                        close(fd);
                        }
                        (*count)++;
                }
        }
        return r;
}

static bool ssh_keys_regenerated(struct cfg *c) {
        /* Debian trixie's openssh-server ships sshd-keygen.service
         * (ConditionFirstBoot=yes, ssh-keygen -A, WantedBy=ssh.service):
         * an empty machine-id makes the first boot regenerate the keys. */
        return systemd_unit_exists(c, "sshd-keygen.service");
}

#define SLIPWAY_KEYGEN_UNIT \
        "# Written by slipway's generalize step: the image ships without SSH host\n" \
        "# keys, and nothing else in it regenerates them.\n" \
        "[Unit]\n" \
        "Description=Generate SSH host keys (slipway)\n" \
        "ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key\n" \
        "Before=ssh.service sshd.service\n" \
        "\n" \
        "[Service]\n" \
        "Type=oneshot\n" \
        "ExecStart=/usr/bin/ssh-keygen -A\n" \
        "RemainAfterExit=yes\n" \
        "\n" \
        "[Install]\n" \
        "WantedBy=multi-user.target\n"

int generalize_apply(struct cfg *c) {
        int r;
        unsigned n = 0;

        /* Empty, not absent: systemd then treats the boot as the first one
         * (ConditionFirstBoot) and writes a new ID.  A symlink there is
         * replaced, not written through. */
        struct stat st;
        if (tree_lstat(c->tree_fd, "/etc/machine-id", &st) == 0 && S_ISLNK(st.st_mode) &&
            (r = cfg_remove(c, "/etc/machine-id", false)) < 0)
                return r;
        if ((r = cfg_write_file(c, "/etc/machine-id", "", 0, 0444, 0, 0)) < 0)
                return r;
        if (tree_lstat(c->tree_fd, "/var/lib/dbus/machine-id", &st) == 0 && S_ISREG(st.st_mode) &&
            (r = cfg_remove(c, "/var/lib/dbus/machine-id", false)) < 0)
                return r;

        /* SSH host keys. */
        bool had_ssh = false;
        had_ssh = tree_exists(c->tree_fd, "/usr/sbin/sshd");
        if ((r = cfg_remove_glob(c, "/etc/ssh/ssh_host_*", false, &n)) < 0)
                return r;
        if (had_ssh) {
                if (ssh_keys_regenerated(c)) {
                        /* Make sure it is wired (ssh.service.wants) even if a profile disabled it. */
                        if (systemd_unit_exists(c, "ssh.service") && (r = systemd_enable_unit(c, "sshd-keygen.service", "generalize")) < 0)
                                return r;
                } else {
                        if ((r = cfg_mkdir(c, "/etc/systemd/system", 0755)) < 0)
                                return r;
                        if ((r = cfg_write_file(c, "/etc/systemd/system/slipway-ssh-keygen.service", SLIPWAY_KEYGEN_UNIT, strlen(SLIPWAY_KEYGEN_UNIT), 0644, 0, 0)) < 0 ||
                            (r = systemd_enable_unit(c, "slipway-ssh-keygen.service", "generalize")) < 0)
                                return r;
                        cfg_change(c, "installed SSH host key generation on first boot", "/etc/systemd/system/slipway-ssh-keygen.service", "generalize");
                }
        }

        /* Logs: files emptied or removed, directories kept (their owners and
         * modes matter to the daemons).  The journal is removed whole. */
        if ((r = cfg_remove_glob(c, "/var/log/journal/*", false, &n)) < 0)
                return r;
        DIR *log = NULL;
        if (tree_opendir(c->tree_fd, "/var/log", &log) == 0) {
                r = remove_files_at(log, 0, &n);
                closedir(log);
                if (r < 0)
                        return log_error_errno(r, "emptying /var/log");
        }

        static const char *const globs[] = {
                "/var/lib/systemd/random-seed", "/var/lib/systemd/credential.secret",
                "/var/lib/dhcp/*.leases", "/var/lib/dhcp/*.lease", "/var/lib/NetworkManager/*.lease",
                "/var/lib/systemd/network/*", "/run/systemd/netif/leases/*",
                "/root/.bash_history", "/root/.lesshst", "/root/.viminfo", "/root/.python_history",
                "/home/*/.bash_history", "/home/*/.lesshst", "/home/*/.viminfo", "/home/*/.python_history",
                "/var/lib/cloud/*", "/tmp/*", "/tmp/.*", "/var/tmp/*", "/var/tmp/.*",
        };
        for (size_t i = 0; i < ELEMENTSOF(globs); i++)
                if ((r = cfg_remove_glob(c, globs[i], false, &n)) < 0)
                        return r;

        /* Root locked: '*' unless already locked with '!' or '*'. */
        if (c->acc.shadow.present) {
                for (size_t i = 0; i < c->acc.shadow.n_lines; i++) {
                        char *l = c->acc.shadow.lines[i];
                        if (!startswith(l, "root:"))
                                continue;
                        if (l[5] != '!' && l[5] != '*') {
                                const char *rest = strchr(l + 5, ':');
                                char *nl = xasprintf("root:*%s", rest ? rest : ":");
                                free(l);
                                c->acc.shadow.lines[i] = nl;
                                size_t len = 0;
                                for (size_t j = 0; j < c->acc.shadow.n_lines; j++)
                                        len += strlen(c->acc.shadow.lines[j]) + 1;
                                _cleanup_free_ char *buf = xmalloc(len + 1);
                                char *w = buf;
                                for (size_t j = 0; j < c->acc.shadow.n_lines; j++)
                                        w = stpcpy(stpcpy(w, c->acc.shadow.lines[j]), "\n");
                                struct stat sst;
                                if ((r = tree_stat(c->tree_fd, "/etc/shadow", &sst)) < 0)
                                        return log_error_errno(r, "stat /etc/shadow in the tree");
                                if ((r = cfg_write_file(c, "/etc/shadow", buf, len, sst.st_mode & 07777, sst.st_uid, sst.st_gid)) < 0)
                                        return r;
                        }
                        break;
                }
        }
        _cleanup_free_ char *what = xasprintf("generalized (%u files removed or emptied)", n);
        cfg_change(c, what, "/etc/machine-id /etc/ssh /var/log /var/lib /tmp", "generalize");
        return 0;
}
