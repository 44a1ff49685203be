/* SPDX-License-Identifier: MIT */
#include "chroot_run.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

/* Mounts into TREE/<where>; the mount point must be a directory of the
 * tree itself, not a symlink out of it (nor one within it).  It is opened
 * through the tree's resolver (lib/tree.h) with O_NOFOLLOW, created there
 * when missing, and the mount goes onto that fd (/proc/self/fd/N), so the
 * kernel resolves no path of the tree for it. */
static int mount_into(const char *tree, const char *where, const char *src, const char *fstype, unsigned long flags) {
        _cleanup_free_ char *target = path_join(tree, where);
        _cleanup_close_ int root_fd = tree_root_open(tree);
        if (root_fd < 0)
                return log_error_errno(root_fd, "chroot: %s", tree);
        _cleanup_close_ int fd = tree_open(root_fd, where, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
        if (fd == -ENOENT) {
                _cleanup_close_ int dir_fd = -1;
                _cleanup_free_ char *name = NULL;
                int r = tree_resolve(root_fd, where, TREE_NONEXISTENT | TREE_NOFOLLOW, &dir_fd, &name, NULL);
                if (r < 0 || dir_fd < 0)
                        return log_error_errno(r < 0 ? r : -ENOENT, "chroot: %s", target);
                if (mkdirat(dir_fd, name, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(-errno, "chroot: %s", target);
                fd = tree_open(root_fd, where, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
        }
        if (fd == -ELOOP || fd == -ENOTDIR)
                return log_error_errno(-ENOTDIR, "chroot: %s is not a directory of the image", target);
        if (fd < 0)
                return log_error_errno(fd, "chroot: %s", target);
        char fd_path[64];
        snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
        if (mount(src, fd_path, fstype, flags, NULL) < 0) {
                /* In a user namespace (rootless builds, lib/userns.c) a new
                 * proc needs a pid namespace of our own, and sysfs a network
                 * one; the host's, bound recursively, serve the same tools
                 * (mmdebstrap falls back the same way). */
                int e = errno;
                const char *host = fstype && strcmp(fstype, "proc") == 0 ? "/proc" : NULL;
                if ((e == EPERM || e == EACCES) && host && mount(host, fd_path, NULL, MS_BIND | MS_REC, NULL) == 0)
                        return 0;
                return log_error_errno(-e, "chroot: mounting %s on %s", src, target);
        }
        return 0;
}

/* The loopback interface of a new network namespace starts down. */
static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        struct ifreq ifr = {};
        strncpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name) - 1);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return -errno;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return -errno;
        return 0;
}

static void write_all(int fd, const char *p, size_t len) {
        for (size_t off = 0; off < len;) {
                ssize_t k = write(fd, p + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                off += (size_t)k;
        }
}

/* The script's pid: what the init of its PID namespace forwards a
 * SIGTERM or SIGINT to (a handler is what lets a signal reach that init). */
static volatile pid_t script_pid;

static void forward_to_script(int sig) {
        (void)sig;
        if (script_pid > 0)
                kill(script_pid, SIGTERM);
}

/* The init (pid 1) of the program's PID namespace: mounts its own /proc,
 * runs the program with the tree as root and its stdout and stderr on
 * OUT_FD, waits for it and writes its status to STATUS_FD.  When it exits
 * the kernel kills whatever the program left running (a daemon it
 * started), so nothing goes on writing into the tree, and the output pipe
 * reaches its end. */
static int script_init(const char *tree, char *const argv[], const struct chroot_run_opts *opts, int out_fd, int status_fd) {
        int r = mount_into(tree, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
        if (r < 0)
                return r;
        struct sigaction sa = { .sa_handler = forward_to_script };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "fork");
        if (pid == 0) {
                struct sigaction dfl = { .sa_handler = SIG_DFL };
                sigemptyset(&dfl.sa_mask);
                sigaction(SIGTERM, &dfl, NULL);
                sigaction(SIGINT, &dfl, NULL);
                sigaction(SIGHUP, &dfl, NULL);
                int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
                if (in < 0 || dup2(in, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                        _exit(127);
                if (chroot(tree) < 0 || chdir("/") < 0) {
                        dprintf(2, "chroot %s: %s\n", tree, strerror(errno));
                        _exit(127);
                }
                /* the environment spawn.c gives every program in the image */
                spawn_image_environment();
                for (size_t i = 0; opts->env && opts->env[i]; i++)
                        putenv(opts->env[i]);
                execv(argv[0], argv);
                dprintf(2, "%s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        script_pid = pid;
        close(out_fd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(-errno, "waitpid");
        int st = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        write_all(status_fd, (const char *)&st, sizeof(st));
        return 0;
}

static int child_main(const char *tree, char *const argv[], const struct chroot_run_opts *opts, int out_fd, int status_fd) {
        bool script = opts && opts->output_line;
        int flags = CLONE_NEWNS | (opts && opts->private_network ? CLONE_NEWNET : 0) | (script ? CLONE_NEWPID : 0);
        if (unshare(flags) < 0)
                return log_error_errno(-errno, "chroot: unshare(CLONE_NEWNS%s%s)", flags & CLONE_NEWNET ? "|CLONE_NEWNET" : "",
                                       flags & CLONE_NEWPID ? "|CLONE_NEWPID" : "");
        int k;
        if ((flags & CLONE_NEWNET) && (k = loopback_up()) < 0)
                return log_error_errno(k, "chroot: bringing up the loopback interface of a new network namespace");
        /* Private, recursively: our mounts must not propagate to the host. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return log_error_errno(-errno, "chroot: making mounts private");
        int r;
        if ((r = mount_into(tree, "dev", "/dev", NULL, MS_BIND | MS_REC)) < 0 ||
            /* a script's /proc is its PID namespace's, mounted by its init */
            (!script && (r = mount_into(tree, "proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)) < 0) ||
            (r = mount_into(tree, "sys", "/sys", NULL, MS_BIND | MS_REC | MS_RDONLY)) < 0 ||
            /* A booted system has a tmpfs on /run: what tools write there
             * (blkid's cache, locks) must not land in the image, where it
             * would differ between a build that ran them and one that reused
             * their cached result. */
            (r = mount_into(tree, "run", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV)) < 0)
                return r;
        struct run_opts ro = {
                .chroot_dir = tree,
                .env = opts ? opts->env : NULL,
                .quiet = opts && opts->quiet,
                .stdin_fd = -1,
        };
        if (script) {
                pid_t init = fork();
                if (init < 0)
                        return log_error_errno(-errno, "fork");
                if (init == 0)
                        _exit(script_init(tree, argv, opts, out_fd, status_fd) == 0 ? 0 : 1);
                close(out_fd);
                /* Interrupted (slipway forwards SIGTERM to us, whose
                 * handler only sets the flag): pass it to the init. */
                int status = 0;
                bool forwarded = false;
                for (;;) {
                        if (!forwarded && spawn_interrupted()) {
                                kill(init, SIGTERM);
                                forwarded = true;
                        }
                        if (waitpid(init, &status, 0) >= 0)
                                break;
                        if (errno != EINTR)
                                return log_error_errno(-errno, "waitpid");
                }
                return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
        }
        if (out_fd >= 0) {
                /* run_command captures into memory; forward it to the parent. */
                char *out = NULL;
                size_t len = 0;
                ro.capture_stdout = true;
                ro.out = &out;
                ro.out_len = &len;
                r = run_command(argv, &ro);
                for (size_t off = 0; out && off < len;) {
                        ssize_t k = write(out_fd, out + off, len - off);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        off += (size_t)k;
                }
                free(out);
                return r;
        }
        return run_command(argv, &ro);
}

int chroot_run(const char *tree, char *const argv[], const struct chroot_run_opts *opts) {
        if (geteuid() != 0)
                return log_error_errno(-EPERM, "running %s inside the image needs root", argv[0]);
        if (spawn_interrupted())
                return -EINTR;

        int pipefd[2] = { -1, -1 }, statusfd[2] = { -1, -1 };
        bool capture = opts && opts->capture_stdout, lines = opts && opts->output_line && !capture;
        if ((capture || lines) && pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "pipe");
        if (lines && pipe2(statusfd, O_CLOEXEC) < 0) {
                int e = -errno;
                close(pipefd[0]);
                close(pipefd[1]);
                return log_error_errno(e, "pipe");
        }

        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "fork");
        if (pid == 0) {
                /* Stays in slipway's process group and keeps its signal
                 * handler: a SIGINT reaches it and it forwards SIGTERM to the
                 * program, which run_command() put in a group of its own. */
                if (pipefd[0] >= 0)
                        close(pipefd[0]);
                if (statusfd[0] >= 0)
                        close(statusfd[0]);
                int r = child_main(tree, argv, opts, pipefd[1], statusfd[1]);
                _exit(r == 0 ? 0 : r == -EINTR ? 3 : 1);
        }
        if (pipefd[1] >= 0)
                close(pipefd[1]);
        if (statusfd[1] >= 0)
                close(statusfd[1]);

        /* The child is not one of spawn's registered groups, so a SIGINT
         * sent to slipway alone (not to the terminal's whole group) does not
         * reach it: pass it on.  Our handler is installed without
         * SA_RESTART, so read() and waitpid() return EINTR when it runs. */
        bool forwarded = false;
#define FORWARD_INTERRUPT()                                     \
        do {                                                    \
                if (!forwarded && spawn_interrupted()) {        \
                        kill(pid, SIGTERM);                     \
                        forwarded = true;                       \
                }                                               \
        } while (0)

        char *out = NULL;
        size_t len = 0, cap = 0;
        if (lines || capture) {
                /* one reader for both: with lines, whole lines go to the
                 * callback as they come and only the unfinished one is kept */
                char buf[16384];
                for (;;) {
                        FORWARD_INTERRUPT();
                        ssize_t k = read(pipefd[0], buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0)
                                break;
                        if (len + (size_t)k + 1 > cap) {
                                cap = MAX(cap * 2, len + (size_t)k + 1);
                                out = xrealloc(out, cap);
                        }
                        memcpy(out + len, buf, (size_t)k);
                        len += (size_t)k;
                        if (!lines)
                                continue;
                        char *start = out, *nl;
                        while ((nl = memchr(start, '\n', len - (size_t)(start - out)))) {
                                *nl = '\0';
                                opts->output_line(start, opts->userdata);
                                start = nl + 1;
                        }
                        len -= (size_t)(start - out);
                        memmove(out, start, len);
                }
                close(pipefd[0]);
                if (lines) {
                        if (len > 0) {
                                out[len] = '\0';
                                opts->output_line(out, opts->userdata);
                        }
                        /* the lines went to the callback; nothing is captured */
                        free(out);
                        out = NULL;
                        len = 0;
                }
        }

        int status = 0;
        for (;;) {
                FORWARD_INTERRUPT();
                if (waitpid(pid, &status, 0) >= 0 || errno != EINTR)
                        break;
        }
#undef FORWARD_INTERRUPT
        if (capture) {
                if (!out)
                        out = xcalloc(1, 1);
                out[len] = '\0';
                *opts->out = out;
                if (opts->out_len)
                        *opts->out_len = len;
        }
        if (spawn_interrupted()) {
                if (statusfd[0] >= 0)
                        close(statusfd[0]);
                return -EINTR;
        }
        if (lines) {
                int st = -1;
                ssize_t k;
                while ((k = read(statusfd[0], &st, sizeof(st))) < 0 && errno == EINTR)
                        ;
                close(statusfd[0]);
                if (k != (ssize_t)sizeof(st) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        return -EIO;   /* could not be started; the child logged why */
                if (opts->ret_status)
                        *opts->ret_status = st;
                else if (st != 0)
                        return log_error_errno(-EIO, "%s inside the image exited with status %d", argv[0], st);
                return 0;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        /* The child already logged what failed. */
        return -EIO;
}
