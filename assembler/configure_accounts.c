/* SPDX-License-Identifier: MIT */
/* Users and groups, written by editing the tree's /etc/passwd, shadow,
 * group and gshadow directly: no host tools (the host's useradd would
 * consult the host's databases and login.defs), deterministic IDs.
 * Allocation follows adduser's defaults: system IDs are the lowest free in
 * 100–999, normal IDs the lowest free from 1000 upward, in profile order;
 * a user's own group gets the user's ID when that is free. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "configure.h"
#include "fileio.h"
#include "log.h"
#include "tree.h"
#include "util.h"

#define FIRST_SYSTEM_ID 100
#define LAST_SYSTEM_ID 999
#define FIRST_NORMAL_ID 1000
#define LAST_NORMAL_ID 59999

static int acc_file_load(struct cfg *c, struct acc_file *f, const char *rel) {
        f->rel = rel;
        _cleanup_free_ char *data = NULL;
        int r = cfg_read_file(c, rel, &data, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "reading %s in the tree", rel);
        f->present = true;
        for (char *line = data, *nl; line && *line; line = nl) {
                nl = strchr(line, '\n');
                if (nl)
                        *nl++ = '\0';
                f->lines = xrealloc(f->lines, (f->n_lines + 1) * sizeof(char *));
                f->lines[f->n_lines++] = xstrdup(line);
        }
        return 0;
}

static void acc_file_free(struct acc_file *f) {
        for (size_t i = 0; i < f->n_lines; i++)
                free(f->lines[i]);
        free(f->lines);
        f->lines = NULL;
        f->n_lines = 0;
}

void accounts_free(struct acc_db *db) {
        acc_file_free(&db->passwd);
        acc_file_free(&db->shadow);
        acc_file_free(&db->group);
        acc_file_free(&db->gshadow);
}

int accounts_load(struct cfg *c) {
        int r;
        if ((r = acc_file_load(c, &c->acc.passwd, "/etc/passwd")) < 0 ||
            (r = acc_file_load(c, &c->acc.shadow, "/etc/shadow")) < 0 ||
            (r = acc_file_load(c, &c->acc.group, "/etc/group")) < 0 ||
            (r = acc_file_load(c, &c->acc.gshadow, "/etc/gshadow")) < 0)
                return r;
        return 0;
}

/* The index of the line whose first field is name, or -1. */
static ssize_t acc_find(const struct acc_file *f, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; i < f->n_lines; i++)
                if (strncmp(f->lines[i], name, n) == 0 && f->lines[i][n] == ':')
                        return (ssize_t)i;
        return -1;
}

/* Field k (0-based) of a line, copied; NULL when absent. */
static char *acc_field(const char *line, unsigned k) {
        const char *p = line;
        for (unsigned i = 0; i < k; i++) {
                p = strchr(p, ':');
                if (!p)
                        return NULL;
                p++;
        }
        return xstrndup(p, strcspn(p, ":"));
}

static bool acc_id_used(const struct acc_file *f, int64_t id) {
        for (size_t i = 0; i < f->n_lines; i++) {
                _cleanup_free_ char *v = acc_field(f->lines[i], 2);
                if (v && *v && strtoll(v, NULL, 10) == id)
                        return true;
        }
        return false;
}

static void acc_append(struct acc_file *f, char *line) {
        f->lines = xrealloc(f->lines, (f->n_lines + 1) * sizeof(char *));
        f->lines[f->n_lines++] = line;
        f->dirty = true;
}

static int64_t acc_allocate(const struct acc_file *f, const struct acc_file *also, bool system, int64_t prefer) {
        if (prefer >= 0 && !acc_id_used(f, prefer))
                return prefer;
        int64_t lo = system ? FIRST_SYSTEM_ID : FIRST_NORMAL_ID, hi = system ? LAST_SYSTEM_ID : LAST_NORMAL_ID;
        for (int64_t id = lo; id <= hi; id++)
                if (!acc_id_used(f, id) && !(also && acc_id_used(also, id)))
                        return id;
        return -1;
}

int accounts_user_id(struct cfg *c, const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        ssize_t i = acc_find(&c->acc.passwd, name);
        if (i < 0)
                return -ENOENT;
        _cleanup_free_ char *u = acc_field(c->acc.passwd.lines[i], 2), *g = acc_field(c->acc.passwd.lines[i], 3);
        if (!u || !g)
                return -EBADMSG;
        if (ret_uid)
                *ret_uid = (uid_t)strtoul(u, NULL, 10);
        if (ret_gid)
                *ret_gid = (gid_t)strtoul(g, NULL, 10);
        return 0;
}

int accounts_group_id(struct cfg *c, const char *name, gid_t *ret_gid) {
        ssize_t i = acc_find(&c->acc.group, name);
        if (i < 0)
                return -ENOENT;
        _cleanup_free_ char *g = acc_field(c->acc.group.lines[i], 2);
        if (!g)
                return -EBADMSG;
        if (ret_gid)
                *ret_gid = (gid_t)strtoul(g, NULL, 10);
        return 0;
}

/* The profile's validation refuses the same (lib/profile.c); checked
 * again here because the configure stage writes the files. */
static bool valid_account_name(const char *s) { return profile_account_name_ok(s); }
static bool valid_field(const char *s) { return profile_passwd_field_ok(s); }

/* Autologin: drop-ins for systemd's getty units that start agetty with
 * --autologin.  agetty adds "-f USER" to login's command line only without
 * -o, so -o says it: '-p -f -- \\u' (keep the environment, no password,
 * the user).  The rest is the ExecStart of systemd's getty@.service and
 * serial-getty@.service: tty1 (the VGA console) and ttyS0 (what `slipway
 * qemu` and Azure's serial console show; the kernel's console=ttyS0 makes
 * systemd start it). */
static const struct {
        const char *dir, *args;
} autologin_units[] = {
        { "/etc/systemd/system/getty@tty1.service.d", "--noreset --noclear" },
        { "/etc/systemd/system/serial-getty@ttyS0.service.d", "--noreset --noclear --keep-baud 115200,57600,38400,9600" },
};
#define AUTOLOGIN_DROPIN "slipway-autologin.conf"

static const char *getty_program(struct cfg *c) {
        static const char *const where[] = { "/usr/sbin/agetty", "/sbin/agetty" };
        for (size_t i = 0; i < ELEMENTSOF(where); i++)
                if (tree_exists(c->tree_fd, where[i]))
                        return where[i];
        return NULL;
}

static int autologin_apply(struct cfg *c, const struct slw_user *u) {
        const char *agetty = getty_program(c);
        if (!agetty)
                return log_error_errno(-ENOENT, "autologin: no agetty in the tree");
        for (size_t i = 0; i < ELEMENTSOF(autologin_units); i++) {
                int r = cfg_mkdir(c, autologin_units[i].dir, 0755);
                if (r < 0)
                        return r;
                _cleanup_free_ char *text = xasprintf("# slipway: users[].autologin (%s): no password on this console\n"
                                                      "[Service]\nExecStart=\n"
                                                      "ExecStart=-%s -o '-p -f -- \\\\u' %s --autologin %s - ${TERM}\n",
                                                      u->origin_path, agetty, autologin_units[i].args, u->name);
                _cleanup_free_ char *path = xasprintf("%s/" AUTOLOGIN_DROPIN, autologin_units[i].dir);
                if ((r = cfg_write_file(c, path, text, strlen(text), 0644, 0, 0)) < 0)
                        return r;
                cfg_change(c, "autologin", path, u->origin_path);
        }
        return 0;
}

/* Adds a group to group and gshadow (in memory). */
static void group_add(struct cfg *c, const char *name, int64_t gid) {
        acc_append(&c->acc.group, xasprintf("%s:x:%lld:", name, (long long)gid));
        if (c->acc.gshadow.present)
                acc_append(&c->acc.gshadow, xasprintf("%s:!::", name));
}

/* Validation also plans: groups and users are added to the in-memory
 * databases here, so later checks (file owners, supplementary groups,
 * duplicates) see the image as it will be.  Nothing is written until
 * accounts_apply(). */
int accounts_validate(struct cfg *c) {
        const struct slw_profile *p = c->p;
        unsigned errors_before = c->n_errors;
        if ((p->n_groups || p->n_users) && (!c->acc.passwd.present || !c->acc.group.present))
                return cfg_error(c, p->n_users ? p->users[0].origin_path : p->groups[0].origin_path,
                                 "the tree has no /etc/passwd or /etc/group to add accounts to");

        for (size_t i = 0; i < p->n_groups; i++) {
                const struct slw_group *g = &p->groups[i];
                if (!valid_account_name(g->name)) {
                        cfg_error(c, g->origin_path, "invalid group name '%s'", g->name ? g->name : "");
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (strcmp(p->groups[j].name, g->name) == 0 && p->groups[j].gid != g->gid)
                                cfg_error(c, g->origin_path, "group '%s' is declared twice with different IDs (also at %s)",
                                          g->name, p->groups[j].origin_path);
                gid_t have;
                if (accounts_group_id(c, g->name, &have) == 0) {
                        if (g->gid >= 0 && (int64_t)have != g->gid)
                                cfg_error(c, g->origin_path, "group '%s' exists in the image with GID %u, not %lld",
                                          g->name, (unsigned)have, (long long)g->gid);
                        continue;
                }
                int64_t gid = g->gid;
                if (gid >= 0 && acc_id_used(&c->acc.group, gid)) {
                        cfg_error(c, g->origin_path, "GID %lld of group '%s' is already taken", (long long)gid, g->name);
                        continue;
                }
                if (gid < 0)
                        gid = acc_allocate(&c->acc.group, NULL, g->system, -1);
                if (gid < 0) {
                        cfg_error(c, g->origin_path, "no free GID for group '%s'", g->name);
                        continue;
                }
                group_add(c, g->name, gid);
        }

        for (size_t i = 0; i < p->n_users; i++) {
                const struct slw_user *u = &p->users[i];
                if (!valid_account_name(u->name)) {
                        cfg_error(c, u->origin_path, "invalid user name '%s'", u->name ? u->name : "");
                        continue;
                }
                if (!valid_field(u->shell) || !valid_field(u->home) || !valid_field(u->comment) || !valid_field(u->password)) {
                        cfg_error(c, u->origin_path, "user '%s': fields must not contain ':' or newlines", u->name);
                        continue;
                }
                const char *pw_problem = profile_password_problem(u->password);
                if (pw_problem)
                        cfg_error(c, u->origin_path, "user '%s': password: %s", u->name, pw_problem);
                if (u->autologin) {
                        for (size_t j = 0; j < i; j++)
                                if (p->users[j].autologin && strcmp(p->users[j].name, u->name) != 0)
                                        cfg_error(c, u->origin_path, "user '%s': autologin is %s's already (%s)", u->name,
                                                  p->users[j].name, p->users[j].origin_path);
                        if (!getty_program(c))
                                cfg_error(c, u->origin_path, "user '%s': autologin needs agetty (util-linux) in the image", u->name);
                }
                if (u->home && !root_path_is_clean(u->home))
                        cfg_error(c, u->origin_path, "user '%s': home '%s' must be a clean absolute path", u->name, u->home);
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(p->users[j].name, u->name) == 0) {
                                dup = true;
                                if (p->users[j].uid != u->uid || p->users[j].gid != u->gid)
                                        cfg_error(c, u->origin_path, "user '%s' is declared twice with different IDs (also at %s)",
                                                  u->name, p->users[j].origin_path);
                        }
                for (char **s = u->groups; s && *s; s++)
                        if (accounts_group_id(c, *s, NULL) < 0)
                                cfg_error(c, u->origin_path, "user '%s': supplementary group '%s' exists neither in the image nor in the profile",
                                          u->name, *s);
                for (char **k = u->ssh_authorized_keys; k && *k; k++)
                        if (strchr(*k, '\n'))
                                cfg_error(c, u->origin_path, "user '%s': an SSH key must be one line", u->name);
                if (dup)
                        continue;

                uid_t have_uid;
                gid_t have_gid;
                if (accounts_user_id(c, u->name, &have_uid, &have_gid) == 0) {
                        /* An existing account (root, say): keys, groups and
                         * password may change, its IDs may not. */
                        if (u->uid >= 0 && (int64_t)have_uid != u->uid)
                                cfg_error(c, u->origin_path, "user '%s' exists in the image with UID %u, not %lld",
                                          u->name, (unsigned)have_uid, (long long)u->uid);
                        if (u->gid >= 0 && (int64_t)have_gid != u->gid)
                                cfg_error(c, u->origin_path, "user '%s' exists in the image with GID %u, not %lld",
                                          u->name, (unsigned)have_gid, (long long)u->gid);
                        continue;
                }
                int64_t uid = u->uid;
                if (uid >= 0 && acc_id_used(&c->acc.passwd, uid)) {
                        cfg_error(c, u->origin_path, "UID %lld of user '%s' is already taken", (long long)uid, u->name);
                        continue;
                }
                int64_t gid = u->gid;
                if (gid >= 0) {
                        if (!acc_id_used(&c->acc.group, gid)) {
                                cfg_error(c, u->origin_path, "user '%s': primary GID %lld exists neither in the image nor in the profile",
                                          u->name, (long long)gid);
                                continue;
                        }
                } else if (accounts_group_id(c, u->name, NULL) == 0) {
                        /* A group of the user's name already exists: use it. */
                        gid_t g;
                        accounts_group_id(c, u->name, &g);
                        gid = g;
                }
                if (uid < 0)
                        uid = acc_allocate(&c->acc.passwd, gid < 0 ? &c->acc.group : NULL, u->system, -1);
                if (uid < 0) {
                        cfg_error(c, u->origin_path, "no free UID for user '%s'", u->name);
                        continue;
                }
                if (gid < 0) {
                        gid = acc_allocate(&c->acc.group, NULL, u->system, uid);
                        if (gid < 0) {
                                cfg_error(c, u->origin_path, "no free GID for user '%s'", u->name);
                                continue;
                        }
                        group_add(c, u->name, gid);
                }
                const char *home = u->home ? u->home : u->system ? "/nonexistent" : NULL;
                _cleanup_free_ char *home_alloc = home ? NULL : xasprintf("/home/%s", u->name);
                const char *shell = u->shell;
                if (!shell) {
                        shell = u->system ? "/usr/sbin/nologin"
                                : tree_exists(c->tree_fd, "/bin/bash") ? "/bin/bash" : "/bin/sh";
                }
                acc_append(&c->acc.passwd, xasprintf("%s:x:%lld:%lld:%s:%s:%s", u->name, (long long)uid, (long long)gid,
                                                     u->comment ? u->comment : "", home ? home : home_alloc, shell));
        }
        return c->n_errors > errors_before ? -EINVAL : 0;
}

/* Replaces field k of line *pl. */
static void line_set_field(char **pl, unsigned k, const char *value) {
        const char *line = *pl, *p = line;
        for (unsigned i = 0; i < k; i++) {
                const char *q = strchr(p, ':');
                if (!q)
                        return;
                p = q + 1;
        }
        size_t flen = strcspn(p, ":");
        char *n = xasprintf("%.*s%s%s", (int)(p - line), line, value, p + flen);
        free(*pl);
        *pl = n;
}

static void member_add(struct acc_file *f, const char *group, const char *user, unsigned field) {
        ssize_t i = acc_find(f, group);
        if (i < 0)
                return;
        _cleanup_free_ char *members = acc_field(f->lines[i], field);
        if (!members)
                return;
        /* Already a member? */
        size_t ul = strlen(user);
        for (const char *m = members; *m;) {
                size_t n = strcspn(m, ",");
                if (n == ul && strncmp(m, user, n) == 0)
                        return;
                m += n + (m[n] == ',');
        }
        _cleanup_free_ char *nv = *members ? xasprintf("%s,%s", members, user) : xstrdup(user);
        line_set_field(&f->lines[i], field, nv);
        f->dirty = true;
}

static int acc_file_write_as(struct cfg *c, struct acc_file *f, mode_t default_mode, const char *what, const char *origin) {
        if (!f->dirty)
                return 0;
        /* Keep the owner and mode Debian gave the file (shadow is root:shadow 0640). */
        struct stat st;
        uid_t uid = 0;
        gid_t gid = 0;
        mode_t mode = default_mode;
        if (tree_stat(c->tree_fd, f->rel, &st) == 0) {
                uid = st.st_uid;
                gid = st.st_gid;
                mode = st.st_mode & 07777;
        }
        size_t len = 0;
        for (size_t i = 0; i < f->n_lines; i++)
                len += strlen(f->lines[i]) + 1;
        _cleanup_free_ char *buf = xmalloc(len + 1);
        char *w = buf;
        for (size_t i = 0; i < f->n_lines; i++)
                w = stpcpy(stpcpy(w, f->lines[i]), "\n");
        int r = cfg_write_file(c, f->rel, buf, len, mode, uid, gid);
        if (r < 0)
                return r;
        if (what)
                cfg_change(c, what, f->rel, origin);
        else
                log_debug("configure: wrote %s", f->rel);
        f->dirty = false;
        return 0;
}

static int acc_file_write(struct cfg *c, struct acc_file *f, mode_t default_mode) {
        return acc_file_write_as(c, f, default_mode, "edited", "users");
}

/* shadow's "date of last password change" (field 3, days since 1970) is
 * what the install's tools (pwconv, useradd, systemd-sysusers) took from
 * SOURCE_DATE_EPOCH: the epoch of the build that filled the rootfs cache,
 * not this build's, when the tree came from the cache.  Every such day is
 * set to this build's, in /etc/shadow and its backup /etc/shadow-, so a
 * cached tree gives the bytes a fresh install would; 0 (change at next
 * login) and empty (no aging) stay.  Only for trees this build's backends
 * install (apt, dnf): an imported tree's days are its own.  Not a change
 * in build.json (no profile line asks for it; a build from the cache and
 * one from an empty cache list the same changes).  Returns true when a
 * line changed. */
static bool shadow_set_days(struct acc_file *f, unsigned long long days) {
        char d[32];
        snprintf(d, sizeof(d), "%llu", days);
        bool changed = false;
        for (size_t i = 0; i < f->n_lines; i++) {
                _cleanup_free_ char *v = acc_field(f->lines[i], 2);
                if (!v || !*v || strcmp(v, "0") == 0 || strspn(v, "0123456789") != strlen(v) || strcmp(v, d) == 0)
                        continue;
                line_set_field(&f->lines[i], 2, d);
                changed = true;
        }
        f->dirty |= changed;
        return changed;
}

static int shadow_epoch_apply(struct cfg *c) {
        if (c->p->distribution.backend == BACKEND_IMPORT)
                return 0;
        unsigned long long days = c->ctx->epoch / 86400;
        int r;
        if (c->acc.shadow.present && shadow_set_days(&c->acc.shadow, days) &&
            (r = acc_file_write_as(c, &c->acc.shadow, 0640, NULL, NULL)) < 0)
                return r;
        struct acc_file backup = {};
        if ((r = acc_file_load(c, &backup, "/etc/shadow-")) < 0)
                return r;
        if (backup.present && shadow_set_days(&backup, days))
                r = acc_file_write_as(c, &backup, 0600, NULL, NULL);
        acc_file_free(&backup);
        return r;
}

/* Copies /etc/skel into a new home (regular files, dirs, symlinks), both
 * open as directory fds inside the tree: nothing is followed, so a skel
 * entry that is a symlink is copied as a symlink. */
#define SKEL_MAX_DEPTH 32
#define SKEL_FILE_MAX (16 * MiB)

static int copy_skel_at(int from, int to, uid_t uid, gid_t gid, unsigned depth) {
        if (depth > SKEL_MAX_DEPTH)
                return -ELOOP;
        DIR *d = tree_fdopendir(from, NULL);
        if (!d)
                return -errno;
        struct dirent *de;
        int r = 0;
        while (r == 0 && (de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                struct stat st;
                if (fstatat(from, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(to, de->d_name, st.st_mode & 07777) < 0 && errno != EEXIST) {
                                r = -errno;
                                break;
                        }
                        _cleanup_close_ int sfd = openat(from, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int tfd = openat(to, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sfd < 0 || tfd < 0) {
                                r = -errno;
                                break;
                        }
                        r = copy_skel_at(sfd, tfd, uid, gid, depth + 1);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t k = readlinkat(from, de->d_name, target, sizeof(target) - 1);
                        if (k < 0)
                                continue;
                        target[k] = '\0';
                        if (symlinkat(target, to, de->d_name) < 0 && errno != EEXIST)
                                r = -errno;
                } else if (S_ISREG(st.st_mode)) {
                        if ((uint64_t)st.st_size > SKEL_FILE_MAX) {
                                r = -EFBIG;
                                break;
                        }
                        _cleanup_close_ int sfd = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                        _cleanup_close_ int tfd = openat(to, de->d_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
                        if (sfd < 0 || tfd < 0)
                                r = -errno;
                        else
                                r = copy_sparse(sfd, tfd);
                } else
                        continue;
                if (r == 0 && fchownat(to, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
        }
        closedir(d);
        return r;
}

static int user_apply(struct cfg *c, const struct slw_user *u) {
        uid_t uid;
        gid_t gid;
        int r = accounts_user_id(c, u->name, &uid, &gid);
        if (r < 0)
                return log_error_errno(r, "user %s vanished from the plan", u->name);
        ssize_t pi = acc_find(&c->acc.passwd, u->name);
        _cleanup_free_ char *home = acc_field(c->acc.passwd.lines[pi], 5);

        /* shadow: the password field and the day of the last change,
         * counted from the build's epoch so it is reproducible. */
        if (c->acc.shadow.present) {
                const char *pw = (!u->password || strcmp(u->password, "locked") == 0) ? (u->system ? "*" : "!") : u->password;
                ssize_t si = acc_find(&c->acc.shadow, u->name);
                unsigned long long days = c->ctx->epoch / 86400;
                if (si < 0)
                        acc_append(&c->acc.shadow, xasprintf("%s:%s:%llu:0:99999:7:::", u->name, pw, days));
                else if (u->password) {
                        _cleanup_free_ char *d = xasprintf("%llu", days);
                        line_set_field(&c->acc.shadow.lines[si], 1, pw);
                        line_set_field(&c->acc.shadow.lines[si], 2, d);
                        c->acc.shadow.dirty = true;
                }
        }
        for (char **g = u->groups; g && *g; g++) {
                member_add(&c->acc.group, *g, u->name, 3);
                if (c->acc.gshadow.present)
                        member_add(&c->acc.gshadow, *g, u->name, 3);
        }

        bool want_home = home && strcmp(home, "/nonexistent") != 0 && (!u->system || u->home);
        if (want_home) {
                struct stat st;
                r = tree_lstat(c->tree_fd, home, &st);
                if (r == -ENOENT) {
                        _cleanup_free_ char *parent = xstrdup(home);
                        *strrchr(parent, '/') = '\0';
                        if (*parent && (r = cfg_mkdir(c, parent, 0755)) < 0)
                                return r;
                        _cleanup_close_ int home_fd = -1, skel_fd = -1;
                        if ((r = tree_mkdir_p(c->tree_fd, home, 0700)) < 0 ||
                            (home_fd = r = tree_open(c->tree_fd, home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0)) < 0)
                                return log_error_errno(r, "creating home %s in the tree", home);
                        skel_fd = tree_open(c->tree_fd, "/etc/skel", O_RDONLY | O_DIRECTORY, 0);
                        if (skel_fd >= 0 && (r = copy_skel_at(skel_fd, home_fd, uid, gid, 0)) < 0)
                                return log_error_errno(r, "copying /etc/skel into %s", home);
                        if (fchown(home_fd, uid, gid) < 0 || fchmod(home_fd, 0700) < 0)
                                return log_error_errno(-errno, "chown %s", home);
                        cfg_change(c, "created home", home, u->origin_path);
                } else if (r < 0)
                        return log_error_errno(r, "resolving home %s in the tree", home);
        }
        if (u->ssh_authorized_keys && u->ssh_authorized_keys[0]) {
                if (!home)
                        return log_error_errno(-EINVAL, "user %s has no home for SSH keys", u->name);
                _cleanup_free_ char *sshdir = xasprintf("%s/.ssh", home);
                r = cfg_mkdir(c, sshdir, 0700);
                if (r < 0)
                        return r;
                _cleanup_close_ int ssh_fd = tree_open(c->tree_fd, sshdir, O_RDONLY | O_DIRECTORY, 0);
                if (ssh_fd < 0)
                        return log_error_errno(ssh_fd, "opening %s in the tree", sshdir);
                if (fchown(ssh_fd, uid, gid) < 0 || fchmod(ssh_fd, 0700) < 0)
                        return log_error_errno(-errno, "chown %s in the tree", sshdir);
                size_t len = 0;
                for (char **k = u->ssh_authorized_keys; *k; k++)
                        len += strlen(*k) + 1;
                _cleanup_free_ char *buf = xmalloc(len + 1);
                char *w = buf;
                for (char **k = u->ssh_authorized_keys; *k; k++)
                        w = stpcpy(stpcpy(w, *k), "\n");
                _cleanup_free_ char *where = xasprintf("%s/authorized_keys", sshdir);
                r = cfg_write_file(c, where, buf, len, 0600, uid, gid);
                if (r < 0)
                        return r;
                cfg_change(c, "wrote SSH authorized keys", where, u->origin_path);
        }
        return 0;
}

int accounts_apply(struct cfg *c) {
        const struct slw_profile *p = c->p;
        int r;
        for (size_t i = 0; i < p->n_users; i++) {
                bool dup = false;
                for (size_t j = 0; j < i; j++)
                        dup = dup || strcmp(p->users[j].name, p->users[i].name) == 0;
                if (!dup && (r = user_apply(c, &p->users[i])) < 0)
                        return r;
                if (!dup && p->users[i].autologin && (r = autologin_apply(c, &p->users[i])) < 0)
                        return r;
                if (!dup)
                        cfg_change(c, "user", p->users[i].name, p->users[i].origin_path);
        }
        for (size_t i = 0; i < p->n_groups; i++)
                cfg_change(c, "group", p->groups[i].name, p->groups[i].origin_path);
        if ((r = acc_file_write(c, &c->acc.group, 0644)) < 0 ||
            (r = acc_file_write(c, &c->acc.gshadow, 0640)) < 0 ||
            (r = acc_file_write(c, &c->acc.passwd, 0644)) < 0 ||
            (r = acc_file_write(c, &c->acc.shadow, 0640)) < 0)
                return r;
        return shadow_epoch_apply(c);
}
