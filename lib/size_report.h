/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "manifest.h"

struct json_object;

/* size.json: where the bytes of an image go.
 *
 * Accounting (documented in size.json's "accounting" too): only regular
 * files count; "bytes" is st_size, "disk_bytes" is st_size rounded up to
 * 4 KiB, the block size of the image's ext4 (the tree's own st_blocks are
 * not used: they depend on the build host's filesystem, and the report must
 * be the same on every host).  A file with several hard links is counted
 * once, at its first path in byte order.  Symlinks, directories and device
 * nodes are not counted (fast symlinks live in the inode; directories are
 * ext4 metadata like the inode tables).  A file belongs to the first
 * package (in name order) whose /var/lib/dpkg/info/<pkg>.list names it;
 * files no package lists (the initramfs, generated caches, the dpkg
 * database) are "unowned".  Trees without a dpkg database have no
 * per-package contribution (null). */

#define SIZE_REPORT_FORMAT 1
#define SIZE_REPORT_BLOCK 4096
#define SIZE_REPORT_LARGEST 50

/* Reads packages.json (manifest_write_json's format). */
int manifest_read_json(const char *path, struct pkg_list *ret, char **ret_backend);

struct size_report_input {
        const char *image_name, *image_version;
        const char *tree;                      /* NULL: no tree sections */
        const struct pkg_list *packages;       /* NULL: no manifest */
        struct json_object *filesystems;       /* array or NULL; a reference is taken */
        struct json_object *artifacts;         /* array or NULL; a reference is taken */
};

/* Builds size.json's object.  Deterministic: the same inputs give the same
 * bytes (keys in a fixed order, arrays sorted). */
int size_report_build(const struct size_report_input *in, struct json_object **ret);

/* Pretty JSON text with a final newline; caller frees. */
char *size_report_to_string(struct json_object *report);

/* Self-contained HTML (inline CSS and JS, no network) of a report: sorted
 * bars of packages and directories, the largest files.  The page sets
 * data-ok="1" on <body> once its script rendered every table. */
char *size_report_html(struct json_object *report);

/* Bytes an ext4 filesystem has in use the way df counts them (statfs:
 * blocks - free - metadata overhead, i.e. without inode tables, bitmaps,
 * group descriptors and the journal); independent of the filesystem size. */
int ext4_df_used_bytes(const char *image, uint64_t offset, uint64_t *ret);

/* Budgets. */
enum size_limit_kind { LIMIT_ROOT_USED, LIMIT_ARTIFACT, LIMIT_PACKAGE };
struct size_limit {
        enum size_limit_kind kind;
        const char *name;          /* artifact file name / package name; NULL for root-used */
        uint64_t max;              /* bytes */
        const char *origin;        /* "file:line:col" of the profile line, for messages */
};

/* Checks the limits against a report; adds "budget" to it (every limit with
 * its actual value and verdict) and prints each overrun with the top
 * contributors to f.  Returns the number of limits exceeded, or negative
 * errno when a limit names something the report does not have. */
int size_budget_check(struct json_object *report, const struct size_limit *limits, size_t n, FILE *f);
