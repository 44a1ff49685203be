/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which byte ranges of a disk image an upload to a page blob must send.
 *
 * A page blob reads as zeros wherever nothing was written, so only the
 * 512-byte pages that hold something other than zeros need to go over the
 * wire: holes of the file (SEEK_DATA / SEEK_HOLE) are never read, and
 * all-zero 512-byte sectors inside data extents are skipped too.
 *
 * Skipping every zero sector can cost many requests (a file system's data
 * is full of sub-block gaps: the tails of small files), and each request
 * costs a round trip.  So some zero runs between two runs of data in one
 * extent are sent along, making one request of two: the shortest first,
 * since they save the same one request for the fewest bytes, each at most
 * `merge_gap` bytes, and all of them together at most `zero_percent` % of
 * the non-zero bytes.  That bounds what is sent at (1 + zero_percent/100)
 * times the data for any image.  A hole always ends a request.  Every range
 * starts and ends on a 512-byte boundary and is at most `max_request` bytes
 * long (Azure: 4 MiB per Put Page).  The plan depends only on the file's
 * bytes and extents (ties between equal gaps go to the earlier one). */

#define UPLOAD_PAGE 512
#define UPLOAD_MAX_REQUEST (UINT64_C(4) * 1024 * 1024)

struct upload_range {
        uint64_t offset, length;
};

/* A run of non-zero sectors, while the plan is being built. */
struct upload_run {
        uint64_t start, end;
        bool after_hole;            /* a hole lies between it and the run before */
};

struct upload_plan {
        struct upload_range *ranges;
        size_t n, allocated;
        uint64_t size;              /* the file (and blob) size */
        uint64_t send_bytes;        /* sum of the ranges' lengths */
        uint64_t nonzero_bytes;     /* sectors that are not all zeros */
        uint64_t hole_bytes;        /* holes of the file */
        uint64_t zero_bytes;        /* zero sectors in data extents, not sent */
        uint64_t merged_zero_bytes; /* zero sectors sent to save requests */
        uint64_t present_bytes;     /* already on the service (upload_plan_subtract) */

        /* while building */
        uint64_t max_request, merge_gap;
        unsigned zero_percent;
        struct upload_run *runs;
        size_t n_runs, allocated_runs;
        bool hole_pending;          /* a hole since the last run */
};

/* Starts an empty plan for a file of `size` bytes (a multiple of 512). */
void upload_plan_init(struct upload_plan *p, uint64_t size, uint64_t max_request, uint64_t merge_gap,
                      unsigned zero_percent);
/* Classifies `len` bytes read at `offset` (both multiples of 512, called
 * in increasing offset order): non-zero sectors join the plan. */
void upload_plan_add_data(struct upload_plan *p, uint64_t offset, const uint8_t *buf, size_t len);
/* Accounts `len` bytes of hole (never read). */
void upload_plan_add_hole(struct upload_plan *p, uint64_t len);
/* Chooses the zero runs to send along, merges, and splits every request
 * into pieces of at most max_request bytes. */
void upload_plan_finish(struct upload_plan *p);
void upload_plan_done(struct upload_plan *p);

/* Builds the plan of the first `size` bytes of fd: SEEK_DATA / SEEK_HOLE
 * for the extents, each extent read in chunks and scanned sector by
 * sector.  0 or a negative errno (logged, with `name`); -EINTR when
 * slipway was interrupted. */
int upload_plan_build(int fd, const char *name, uint64_t size, uint64_t max_request, uint64_t merge_gap,
                      unsigned zero_percent, struct upload_plan *ret);

/* Removes from the plan what `have` (sorted, 512-aligned ranges, e.g. what
 * Get Page Ranges reported) already covers; pieces stay within
 * max_request.  Adds the bytes removed to present_bytes and takes them off
 * send_bytes. */
void upload_plan_subtract(struct upload_plan *p, const struct upload_range *have, size_t n_have);
