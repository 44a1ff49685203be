/* SPDX-License-Identifier: MIT */
#include "spawn.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

void spawn_image_environment(void) {
        clearenv();
        putenv((char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        putenv((char *)"HOME=/root");
        putenv((char *)"LANG=C.UTF-8");
}

extern char **environ;

/* Signal-handler state: process groups of running children.  This and the
 * log level are the only global mutable state (a handler has no context
 * argument). */
#define MAX_CHILDREN 16
/* Lock-free atomics: read by the handler, claimed by exports running in
 * parallel threads. */
static atomic_int child_pgids[MAX_CHILDREN];
static volatile sig_atomic_t interrupt_signal;

static void on_signal(int sig) {
        interrupt_signal = sig;
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                int pgid = atomic_load(&child_pgids[i]);
                if (pgid > 0)
                        kill(-(pid_t)pgid, SIGTERM);
        }
}

void spawn_install_signal_handlers(void) {
        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
}

bool spawn_interrupted(void) { return interrupt_signal != 0; }
int spawn_interrupt_signal(void) { return interrupt_signal; }

static void register_child(pid_t pid) {
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                int free_slot = 0;
                if (atomic_compare_exchange_strong(&child_pgids[i], &free_slot, (int)pid))
                        break;
        }
        /* A signal handled on another thread before the slot was taken
         * did not see this child. */
        if (interrupt_signal)
                kill(-pid, SIGTERM);
}

static void unregister_child(pid_t pid) {
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                int mine = (int)pid;
                atomic_compare_exchange_strong(&child_pgids[i], &mine, 0);
        }
}

char *argv_to_string(char *const argv[]) {
        size_t cap = 256, len = 0;
        char *s = xmalloc(cap);
        s[0] = '\0';
        for (size_t i = 0; argv[i]; i++) {
                bool quote = argv[i][0] == '\0' || strpbrk(argv[i], " \t\n'\"\\$*?;&|<>()") != NULL;
                size_t need = strlen(argv[i]) * 4 + 4;
                while (len + need + 1 >= cap)
                        s = xrealloc(s, cap *= 2);
                if (i > 0)
                        s[len++] = ' ';
                if (quote)
                        s[len++] = '\'';
                for (const char *c = argv[i]; *c; c++) {
                        if (*c == '\'' && quote) {
                                memcpy(s + len, "'\\''", 4);
                                len += 4;
                        } else
                                s[len++] = *c;
                }
                if (quote)
                        s[len++] = '\'';
                s[len] = '\0';
        }
        return s;
}

char *find_program(const char *name) {
        if (strchr(name, '/'))
                return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
        const char *path = getenv("PATH");
        if (!path)
                path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                char *p = path_join(dir, name);
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* Keeps the last few KiB of a stream, enough to quote a tool's error. */
struct tail_buf {
        char data[8192];
        size_t len;
};

static void tail_append(struct tail_buf *t, const char *p, size_t n) {
        if (n >= sizeof(t->data)) {
                memcpy(t->data, p + n - sizeof(t->data), sizeof(t->data));
                t->len = sizeof(t->data);
                return;
        }
        if (t->len + n > sizeof(t->data)) {
                size_t drop = t->len + n - sizeof(t->data);
                memmove(t->data, t->data + drop, t->len - drop);
                t->len -= drop;
        }
        memcpy(t->data + t->len, p, n);
        t->len += n;
}

/* The last `lines` non-empty lines of the tail. */
static char *tail_lines(const struct tail_buf *t, int lines) {
        size_t end = t->len;
        while (end > 0 && (t->data[end - 1] == '\n' || t->data[end - 1] == '\r'))
                end--;
        size_t start = end;
        int seen = 0;
        while (start > 0) {
                if (t->data[start - 1] == '\n' && ++seen == lines)
                        break;
                start--;
        }
        return xstrndup(t->data + start, end - start);
}

/* Splits a stream into lines for run_opts.stderr_line.  A line longer
 * than the buffer is passed on in pieces: the callbacks look for a prefix
 * and lose nothing by that. */
struct line_buf {
        char *buf;
        size_t len;
};
#define LINE_MAX_BYTES 4096

static void lines_feed(struct line_buf *l, const char *p, size_t n, void (*fn)(const char *, void *), void *userdata) {
        if (!l->buf)
                l->buf = xmalloc(LINE_MAX_BYTES + 1);
        for (size_t i = 0; i < n; i++) {
                if (p[i] != '\n' && l->len < LINE_MAX_BYTES) {
                        l->buf[l->len++] = p[i];
                        continue;
                }
                l->buf[l->len] = '\0';
                fn(l->buf, userdata);
                l->len = 0;
                if (p[i] != '\n')
                        l->buf[l->len++] = p[i];
        }
}

int run_command_status(char *const argv[], const struct run_opts *opts, char **ret_stderr_tail) {
        static const struct run_opts no_opts = { .stdin_fd = -1 };
        if (!opts)
                opts = &no_opts;
        if (spawn_interrupted())
                return -EINTR;

        _cleanup_free_ char *cmdline = argv_to_string(argv);
        log_debug("running: %s", cmdline);

        int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
        if (opts->capture_stdout && pipe2(out_pipe, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "pipe");
        if (pipe2(err_pipe, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "pipe");

        /* Block the signals while forking so the handler never sees a child
         * that is not registered yet. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &block, &old);

        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                pthread_sigmask(SIG_SETMASK, &old, NULL);
                return log_error_errno(r, "fork");
        }
        if (pid == 0) {
                struct sigaction dfl = { .sa_handler = SIG_DFL };
                sigemptyset(&dfl.sa_mask);
                sigaction(SIGINT, &dfl, NULL);
                sigaction(SIGTERM, &dfl, NULL);
                sigaction(SIGHUP, &dfl, NULL);
                sigprocmask(SIG_SETMASK, &old, NULL);
                setpgid(0, 0);

                int in = opts->stdin_fd > 0 ? opts->stdin_fd : open("/dev/null", O_RDONLY);
                if (in >= 0 && in != 0)
                        dup2(in, 0);
                if (opts->capture_stdout)
                        dup2(out_pipe[1], 1);
                else if (opts->quiet) {
                        int devnull = open("/dev/null", O_WRONLY);
                        if (devnull >= 0)
                                dup2(devnull, 1);
                }
                dup2(err_pipe[1], 2);
                if (opts->chroot_dir && (chroot(opts->chroot_dir) < 0 || chdir("/") < 0)) {
                        fprintf(stderr, "chroot %s: %s\n", opts->chroot_dir, strerror(errno));
                        _exit(127);
                }
                if (opts->cwd && chdir(opts->cwd) < 0) {
                        fprintf(stderr, "chdir %s: %s\n", opts->cwd, strerror(errno));
                        _exit(127);
                }
                if (opts->chroot_dir) {
                        /* Inside the image only the image's own settings
                         * count: the host's TMPDIR, PATH or HOME name places
                         * the tree does not have (dracut refuses a TMPDIR
                         * that is not there) and would make a build depend
                         * on who ran it. */
                        spawn_image_environment();
                }
                for (size_t i = 0; opts->env && opts->env[i]; i++)
                        putenv(opts->env[i]);
                execvp(argv[0], argv);
                fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        setpgid(pid, pid); /* both sides, to close the race */
        register_child(pid);
        pthread_sigmask(SIG_SETMASK, &old, NULL);

        if (out_pipe[1] >= 0)
                close(out_pipe[1]);
        close(err_pipe[1]);

        struct tail_buf *tail = xcalloc(1, sizeof(*tail));
        struct line_buf lines = {};
        size_t out_cap = 0, out_len = 0;
        char *out = NULL;
        bool pass_stderr = opts->keep_stderr || log_get_level() >= LOG_DEBUG;
        struct pollfd fds[2] = {
                { .fd = err_pipe[0], .events = POLLIN },
                { .fd = out_pipe[0], .events = POLLIN },
        };
        int open_fds = out_pipe[0] >= 0 ? 2 : 1;
        while (open_fds > 0) {
                int n = poll(fds, 2, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (size_t i = 0; i < 2; i++) {
                        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        char buf[16384];
                        ssize_t k = read(fds[i].fd, buf, sizeof(buf));
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k <= 0) {
                                close(fds[i].fd);
                                fds[i].fd = -1;
                                open_fds--;
                                continue;
                        }
                        if (i == 0) {
                                if (opts->stderr_line)
                                        lines_feed(&lines, buf, (size_t)k, opts->stderr_line, opts->userdata);
                                tail_append(tail, buf, (size_t)k);
                                if (pass_stderr)
                                        fwrite(buf, 1, (size_t)k, stderr);
                        } else {
                                if (out_len + (size_t)k + 1 > out_cap) {
                                        out_cap = MAX(out_cap * 2, out_len + (size_t)k + 1);
                                        out = xrealloc(out, out_cap);
                                }
                                memcpy(out + out_len, buf, (size_t)k);
                                out_len += (size_t)k;
                        }
                }
        }

        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        unregister_child(pid);

        if (opts->capture_stdout) {
                if (!out)
                        out = xcalloc(1, 1);
                out[out_len] = '\0';
                *opts->out = out;
                if (opts->out_len)
                        *opts->out_len = out_len;
        }
        if (opts->stderr_line && lines.len > 0) {
                lines.buf[lines.len] = '\0';
                opts->stderr_line(lines.buf, opts->userdata);
        }
        if (ret_stderr_tail)
                *ret_stderr_tail = tail_lines(tail, 5);
        free(tail);
        free(lines.buf);

        if (spawn_interrupted())
                return -EINTR;
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int run_command(char *const argv[], const struct run_opts *opts) {
        _cleanup_free_ char *err = NULL;
        int r = run_command_status(argv, opts, &err);
        if (r < 0)
                return r;
        if (r == 0)
                return 0;
        _cleanup_free_ char *cmdline = argv_to_string(argv);
        log_error("command failed with exit status %d: %s%s%s", r, cmdline,
                  err && *err ? "\n  " : "", err && *err ? err : "");
        return -EIO;
}
