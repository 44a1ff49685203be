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
 * the tree, even when slipway is killed.  Needs root (CAP_SYS_ADMIN): real
 * root, or root of the build's user namespace (rootless builds, lib/userns.c). */

struct chroot_run_opts {
        char *const *env;         /* extra "K=V" entries */
        bool quiet;               /* the program's stdout to /dev/null */
        bool capture_stdout;      /* stdout into *out (NUL-terminated) */
        char **out;
        size_t *out_len;
        /* A network namespace of the program's own, with only a loopback
         * interface (up): no route to the host's networks. */
        bool private_network;
        /* The program's stdout and stderr, merged, line by line, called in
         * the calling process as they come (not with capture_stdout).  Such
         * a program (a profile's script) also gets a PID namespace with its
         * own /proc: what it leaves running is killed when it exits. */
        void (*output_line)(const char *line, void *userdata);
        void *userdata;
        /* When set, the program's exit status (128 + N for signal N) goes
         * here and chroot_run returns 0 whenever the program ran, whatever
         * its status; -EIO then means it could not be started. */
        int *ret_status;
};

/* 0 when the program exited 0; -EPERM when not root; -EIO (logged) on a
 * failure of the program; -EINTR when interrupted. */
int chroot_run(const char *tree, char *const argv[], const struct chroot_run_opts *opts);
