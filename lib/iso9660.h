/* SPDX-License-Identifier: MIT */
#pragma once
#include "image_reader.h"

#include <stdint.h>

/* A file of an ISO 9660 filesystem (ECMA-119) that starts at byte 0 of the
 * image, found by path: Rock Ridge names (NM) where the directory records
 * carry them, else the ISO names (";1" and a trailing "." dropped, compared
 * without case).  Only what inspect needs: where the file's bytes are.  A
 * file in several extents (ISO level 3, over 4 GiB) must have them back to
 * back.  Bounded: directories over ISO9660_DIR_MAX bytes are refused.
 * -ENOENT when absent (not logged); -EBADMSG (logged) when the directory
 * tree is corrupt. */
#define ISO9660_DIR_MAX (16 * 1024 * 1024)

int iso9660_find_file(struct image_reader *r, const char *path, uint64_t *ret_offset, uint64_t *ret_size);
