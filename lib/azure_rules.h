/* SPDX-License-Identifier: MIT */
#pragma once
#include "image_inspect.h"

#include <stdio.h>

/* `slipway verify --azure`: named rules checked against an image read
 * through image_reader/image_inspect (no root, no mounts).  Each rule
 * passes, warns or fails with a one-line explanation and the Azure
 * documentation it comes from. */

enum rule_status { RULE_PASS, RULE_WARN, RULE_FAIL };

struct rule_result {
        const char *name;          /* "container.fixed-vhd", "generalize.ssh-host-keys", ... */
        enum rule_status status;
        char *message;             /* one line */
        const char *source;        /* the documented requirement (URL) */
};

struct azure_report {
        struct rule_result *results;
        size_t n;
        size_t passed, warned, failed;
        /* Facts the fast path found, for --deep to cross-check. */
        bool machine_id_empty;
        char **ssh_host_keys;
        char **fstab_swap;         /* swap entries in /etc/fstab */
        bool swapfile;
        char *kernel;
};

int azure_verify(struct image_reader *r, struct image_info *info, struct azure_report *ret);
/* Opens an image, inspects it (a bad VHD footer checksum is left to the
 * rules) and runs the rules.  0 with *ret_reader, *info and *rep to be freed
 * by the caller, or a negative errno (already logged). */
int azure_verify_path(const char *path, struct image_reader **ret_reader, struct image_info *info,
                      struct azure_report *rep);
void azure_report_done(struct azure_report *rep);
void azure_report_add(struct azure_report *rep, const char *name, enum rule_status st, const char *source,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *rule_status_name(enum rule_status s);
void azure_report_print(const struct azure_report *rep, const char *path, bool json, FILE *out);

/* The whole check on the image at path, report to out (text or JSON).
 * Returns 0 when no rule fails, 1 when one does, a negative errno when the
 * image cannot be read (logged).  The build calls this on its own VHD when
 * the profile sets verify.azure. */
int azure_verify_image(const char *path, bool json, FILE *out);

/* Module names (basename without .ko*) in an initramfs: concatenated cpio
 * archives, uncompressed (early microcode) and compressed (any filter
 * libarchive knows).  Exposed for the unit tests. */
int initramfs_list_modules(const void *data, size_t len, char ***ret);
