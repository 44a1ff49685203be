/* SPDX-License-Identifier: MIT */
/* Rootless builds in a user namespace.
 *
 * An unprivileged build must still make a tree whose files belong to root,
 * _apt, systemd-network, messagebus..., run the image's own tools chrooted
 * (update-initramfs, useradd) and let mke2fs -d record those owners.  All of
 * that works inside a user namespace in which the builder is root and its
 * subordinate ids stand for the other users: podman's and mkosi's layout
 * (caller -> 0, subuid start.. -> 1..N).  mmdebstrap's own --mode=unshare
 * maps 0 to the first subordinate id instead and cannot be nested in
 * another namespace (it refuses to unshare a user namespace as root), so the
 * build enters this one first and runs mmdebstrap in its root mode inside,
 * which mmdebstrap supports ("root mode inside an unshared user namespace").
 *
 * Only the setuid helpers newuidmap/newgidmap (package uidmap) may map
 * subordinate ids; they must be run from outside the namespace on its pid,
 * hence the helper child below. */
#include "userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "util.h"

int subid_lookup(const char *file, const char *user, unsigned long id, struct subid_range *ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_file(file, &text, NULL);
        if (r < 0)
                return r;
        char idbuf[32];
        snprintf(idbuf, sizeof(idbuf), "%lu", id);
        for (char *line = text; line && *line;) {
                char *eol = strchr(line, '\n');
                if (eol)
                        *eol = '\0';
                char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c1 && c2) {
                        *c1 = '\0';
                        if ((user && strcmp(line, user) == 0) || strcmp(line, idbuf) == 0) {
                                char *end1, *end2;
                                errno = 0;
                                unsigned long start = strtoul(c1 + 1, &end1, 10);
                                unsigned long count = strtoul(c2 + 1, &end2, 10);
                                if (errno == 0 && end1 == c2 && end2 != c2 + 1 && (*end2 == '\0' || *end2 == '\r') &&
                                    count > 0) {
                                        *ret = (struct subid_range){ .start = start, .count = count };
                                        return 0;
                                }
                        }
                }
                line = eol ? eol + 1 : NULL;
        }
        return -ENOENT;
}

static int write_proc(const char *path, const char *text) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        size_t n = strlen(text);
        if (write(fd, text, n) != (ssize_t)n)
                return errno ? -errno : -EIO;
        return 0;
}

/* Runs in the helper child, outside the namespace: maps PID's ids. */
static int map_ids_of(pid_t pid, uid_t uid, gid_t gid, const struct subid_range *su, const struct subid_range *sg,
                      const char *newuidmap, const char *newgidmap) {
        char p[32], u[32], us[32], uc[32], g[32], gs[32], gc[32];
        snprintf(p, sizeof(p), "%d", (int)pid);
        snprintf(u, sizeof(u), "%u", (unsigned)uid);
        snprintf(us, sizeof(us), "%lu", su->start);
        snprintf(uc, sizeof(uc), "%lu", su->count);
        snprintf(g, sizeof(g), "%u", (unsigned)gid);
        snprintf(gs, sizeof(gs), "%lu", sg->start);
        snprintf(gc, sizeof(gc), "%lu", sg->count);
        char *uargv[] = { (char *)newuidmap, p, "0", u, "1", "1", us, uc, NULL };
        char *gargv[] = { (char *)newgidmap, p, "0", g, "1", "1", gs, gc, NULL };
        struct run_opts o = { .stdin_fd = -1 };
        int r = run_command(uargv, &o);
        if (r != 0)
                return r < 0 ? r : -EPERM;
        r = run_command(gargv, &o);
        return r != 0 ? (r < 0 ? r : -EPERM) : 0;
}

static int become_root_single(uid_t uid, gid_t gid) {
        if (unshare(CLONE_NEWUSER) < 0)
                return -errno;
        char map[64];
        int r = write_proc("/proc/self/setgroups", "deny");
        if (r < 0 && r != -ENOENT)
                return r;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
        if ((r = write_proc("/proc/self/uid_map", map)) < 0)
                return r;
        snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
        if ((r = write_proc("/proc/self/gid_map", map)) < 0)
                return r;
        return 0;
}

static int become_root_subid(uid_t uid, gid_t gid, const struct subid_range *su, const struct subid_range *sg,
                             const char *newuidmap, const char *newgidmap) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid_t parent = getpid();
        pid_t child = fork();
        if (child < 0) {
                int e = -errno;
                close(pfd[0]);
                close(pfd[1]);
                return e;
        }
        if (child == 0) {
                close(pfd[1]);
                char c;
                /* One byte: the parent has unshared; EOF: it gave up. */
                if (read(pfd[0], &c, 1) != 1)
                        _exit(2);
                _exit(map_ids_of(parent, uid, gid, su, sg, newuidmap, newgidmap) == 0 ? 0 : 1);
        }
        close(pfd[0]);
        int r = 0;
        if (unshare(CLONE_NEWUSER) < 0)
                r = -errno;
        else if (write(pfd[1], "x", 1) != 1)
                r = -EIO;
        close(pfd[1]);
        int status;
        while (waitpid(child, &status, 0) < 0)
                if (errno != EINTR)
                        return r < 0 ? r : -errno;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return -EPERM;
        return 0;
}

int userns_become_root(enum userns_kind *ret) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (geteuid() == 0) {
                *ret = userns_current();
                return 0;
        }
        struct passwd *pw = getpwuid(uid);
        _cleanup_free_ char *user = pw ? xstrdup(pw->pw_name) : NULL;
        struct subid_range su, sg;
        _cleanup_free_ char *newuidmap = find_program("newuidmap"), *newgidmap = find_program("newgidmap");
        bool have_subids = subid_lookup("/etc/subuid", user, uid, &su) == 0 &&
                           subid_lookup("/etc/subgid", user, uid, &sg) == 0;
        int r;
        if (have_subids && newuidmap && newgidmap) {
                r = become_root_subid(uid, gid, &su, &sg, newuidmap, newgidmap);
                if (r < 0)
                        return log_error_errno(r, "could not enter a user namespace with the subordinate ids of %s "
                                                  "(newuidmap %lu+%lu, newgidmap %lu+%lu)",
                                               user ? user : "you", su.start, su.count, sg.start, sg.count);
                *ret = USERNS_SUBID;
        } else {
                r = become_root_single(uid, gid);
                if (r < 0)
                        return log_error_errno(r, "could not enter a user namespace (are unprivileged user "
                                                  "namespaces disabled? kernel.unprivileged_userns_clone, "
                                                  "user.max_user_namespaces); build as root instead");
                if (!have_subids)
                        log_warning("no subordinate ids for %s in /etc/subuid and /etc/subgid: the build runs with "
                                    "one id, and trees that need other owners fail (as root: usermod "
                                    "--add-subuids 100000-165535 --add-subgids 100000-165535 %s)",
                                    user ? user : "you", user ? user : "<you>");
                else
                        log_warning("newuidmap/newgidmap are not installed (package uidmap): the build runs with one id");
                *ret = USERNS_SINGLE;
        }
        /* Root inside: the creator already has every capability in the new
         * namespace; setresuid(0) keeps them across exec for the tools. */
        if (setgroups(0, NULL) < 0 && errno != EPERM)
                return log_error_errno(-errno, "setgroups in the user namespace");
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return log_error_errno(-errno, "becoming root in the user namespace");
        /* Mounts need a mount namespace owned by the new user namespace
         * (mmdebstrap's root mode bind-mounts /dev nodes, /proc and /sys into
         * the tree); private, so that none of them reaches the host's. */
        if (unshare(CLONE_NEWNS) < 0)
                return log_error_errno(-errno, "unshare(CLONE_NEWNS) in the user namespace");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return log_error_errno(-errno, "making mounts private in the user namespace");
        log_debug("entered a user namespace: uid %u is 0%s", (unsigned)uid,
                  *ret == USERNS_SUBID ? ", subordinate ids are 1.." : " (no other ids)");
        return 0;
}

static char *read_map(const char *path) {
        _cleanup_free_ char *text = NULL;
        if (read_file(path, &text, NULL) < 0)
                return NULL;
        /* collapse runs of blanks; lines joined by ';' */
        char *out = xmalloc(strlen(text) + 1), *w = out;
        bool blank = true;
        for (const char *c = text; *c; c++) {
                if (*c == ' ' || *c == '\t') {
                        if (!blank)
                                *w++ = ' ';
                        blank = true;
                } else if (*c == '\n') {
                        if (w > out && w[-1] == ' ')
                                w--;
                        *w++ = ';';
                        blank = true;
                } else {
                        *w++ = *c;
                        blank = false;
                }
        }
        *w = '\0';
        return out;
}

enum userns_kind userns_current(void) {
        _cleanup_free_ char *m = read_map("/proc/self/uid_map");
        if (!m || strcmp(m, "0 0 4294967295;") == 0)
                return USERNS_HOST;
        /* Ours: "0 UID 1;1 START COUNT;" or "0 UID 1;" */
        unsigned long a, b, c, d, e, f;
        int n = sscanf(m, "0 %lu %lu;%lu %lu %lu;%lu", &a, &b, &c, &d, &e, &f);
        if (n == 5 && b == 1 && c == 1)
                return USERNS_SUBID;
        if (n == 2 && b == 1)
                return USERNS_SINGLE;
        return USERNS_FOREIGN;
}

char *userns_describe(void) {
        if (userns_current() == USERNS_HOST)
                return xstrdup("host");
        _cleanup_free_ char *u = read_map("/proc/self/uid_map"), *g = read_map("/proc/self/gid_map");
        return xasprintf("uid %s gid %s", u ? u : "?", g ? g : "?");
}
