/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Running a program of the image inside the image tree, with /dev, /proc
 * and /sys available (update-initramfs, depmod, lsinitramfs need them).
 *
 * A child process enters a new mount namespace, makes every mount private
 * (so nothing propagates back to the host), bind-mounts the host's /dev and
 * /sys and mounts a fresh proc into the tree, then runs the program through
 * run_command() with chroot_dir = tree.  When the child exits its mount
 * namespace dies with it and the mounts vanish: nothing is left mounted in
 * the tree, even when slipway is killed.  Needs root (CAP_SYS_ADMIN). */

struct chroot_run_opts {
        char *const *env;         /* extra "K=V" entries */
        bool quiet;               /* the program's stdout to /dev/null */
        bool capture_stdout;      /* stdout into *out (NUL-terminated) */
        char **out;
        size_t *out_len;
};

/* 0 when the program exited 0; -EPERM when not root; -EIO (logged) on a
 * failure of the program; -EINTR when interrupted. */
int chroot_run(const char *tree, char *const argv[], const struct chroot_run_opts *opts);
