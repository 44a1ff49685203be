/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdint.h>
#include <stdio.h>

struct json_object;

/* `slipway size diff`: two size.json reports compared.
 *
 * Packages are compared by the bytes they contribute after pruning
 * (disk_bytes); when either report lacks that (no dpkg database), by the
 * manifest's installed size.  Directories by disk_bytes, at both depths.
 * Entries are "grew", "shrank", "added", "removed" or (same size, other
 * version) "changed"; unchanged ones are left out.  Sorted by absolute
 * change, largest first, then by name.  Totals: the root filesystem's used
 * bytes (df's count), the tree's files, each artifact on disk. */

/* Loads a size.json, or DIR/size.json when path is a directory. */
int size_diff_load(const char *path, struct json_object **ret);

/* The diff as a JSON object (see above). */
int size_diff_compute(struct json_object *old, struct json_object *new, struct json_object **ret);

/* The growth --fail-over compares: the root filesystem's used bytes when
 * both reports have them, else the tree's disk bytes. */
int64_t size_diff_growth(struct json_object *diff);

/* Human-readable text; top = entries per section (0 = all). */
void size_diff_print(struct json_object *diff, FILE *f, size_t top);
