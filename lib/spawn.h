/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Running external tools.  Always an argv array, never a shell string.
 *
 * Children run in their own process group.  SIGINT/SIGTERM received by
 * slipway are forwarded to every running child group (SIGTERM), and
 * spawn_interrupted() turns true; the build then unwinds through its normal
 * error paths, which remove temporary files and trees.  Nothing but a flag
 * and kill() happens in the signal handler. */

struct run_opts {
        const char *cwd;          /* chdir before exec */
        const char *chroot_dir;   /* chroot before exec (root only) */
        char *const *env;         /* extra "K=V" entries added to the environment */
        bool quiet;               /* stdout to /dev/null */
        bool capture_stdout;      /* stdout into *out (NUL-terminated) */
        char **out;
        size_t *out_len;
        int stdin_fd;             /* -1 or 0 = /dev/null; else this fd */
        bool keep_stderr;         /* stderr passes through even when quiet */
        /* Called with each whole line of stderr (without the newline), on
         * the calling thread, as the tool writes them (and with a last line
         * that has no newline). */
        void (*stderr_line)(const char *line, void *userdata);
        void *userdata;
};

/* Installs the SIGINT/SIGTERM handlers.  Call once from main(). */
void spawn_install_signal_handlers(void);
/* True once SIGINT or SIGTERM arrived. */
bool spawn_interrupted(void);
/* The signal that interrupted us (for the exit code), or 0. */
int spawn_interrupt_signal(void);

/* Runs argv[0] (looked up in PATH) and waits.  Returns 0 when it exited 0;
 * -EINTR when slipway was interrupted; otherwise logs the command, its exit
 * status and the last lines of its stderr, and returns -EIO.  stderr is
 * always captured to remember its last lines and re-printed at debug level
 * (or passed through when keep_stderr). */
int run_command(char *const argv[], const struct run_opts *opts);

/* Like run_command, but returns the exit status (>= 0) instead of
 * treating non-zero as an error, and puts the tail of stderr into
 * *ret_stderr_tail when non-NULL.  Negative errno only when the command
 * could not be run or slipway was interrupted. */
int run_command_status(char *const argv[], const struct run_opts *opts, char **ret_stderr_tail);

/* Formats argv as a human-readable line for logs (quoted where needed). */
char *argv_to_string(char *const argv[]);

/* Which "tool" resolves to in PATH, or NULL. */
char *find_program(const char *name);

/* In a child about to run a program of the image: the environment every
 * such program gets (PATH, HOME, LANG only), nothing of the host's. */
void spawn_image_environment(void);
