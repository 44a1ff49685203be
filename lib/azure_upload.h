/* SPDX-License-Identifier: MIT */
#pragma once
#include "azure_blob.h"
#include "vhd.h"

#include <stdbool.h>
#include <stdint.h>

/* `slipway upload azure`: a fixed VHD to a page blob, sending only the
 * pages that hold data, resumable, verified with MD5. */

/* Which zero runs inside data go along in a request (lib/upload_plan.h):
 * the shortest first, each at most --merge-gap bytes, all together at most
 * --zero-budget percent of the non-zero bytes.  Measured on azure-base.vhd
 * (30 GiB, 226.8 MB not zero): sending no zeros at all takes 13,539
 * requests, because the file system's data is full of gaps of 512 to 3,584
 * bytes (the tails of small files in 4 KiB blocks); sending every such gap
 * takes 51 requests but 1.145 times the bytes.  The 5 % budget buys the
 * 7,000 or so shortest gaps: 1.05 times the bytes, about 6,470 requests.
 * A gap longer than 64 KiB saves one round trip for more bytes than a
 * round trip moves at the bandwidths uploads run at (20 ms at 25 Mbit/s),
 * so it is never sent. */
#define AZURE_UPLOAD_MERGE_GAP (64 * 1024)
#define AZURE_UPLOAD_ZERO_BUDGET 5

struct azure_upload_opts {
        bool overwrite;         /* replace an existing blob */
        bool resume;            /* continue an upload: send only the pages the blob lacks */
        unsigned jobs;          /* Put Page requests in flight */
        unsigned retries;       /* further attempts of a request after network errors and 5xx */
        uint64_t rate;          /* bytes per second of all requests, 0 = no limit */
        uint64_t merge_gap;     /* see AZURE_UPLOAD_MERGE_GAP */
        unsigned zero_budget;   /* percent, see AZURE_UPLOAD_ZERO_BUDGET */
        const char *trace_path; /* one line per request appended there, or NULL */
};

struct azure_upload_result {
        uint64_t size;          /* of the VHD and the blob */
        uint64_t nonzero;       /* bytes of the VHD that are not zero (in 512-byte sectors) */
        uint64_t to_send;       /* what the plan sends this time */
        uint64_t sent;          /* bytes of the Put Page requests that succeeded */
        uint64_t holes, zeros;  /* skipped: holes of the file, zero sectors in its data */
        uint64_t zeros_sent;    /* zero sectors sent along to save requests */
        uint64_t present;       /* skipped: already in the blob (--resume) */
        uint64_t requests, retried;
        bool resumed;           /* the blob was there and was continued */
        bool md5_set;
        char md5[32];           /* base64 MD5 of the whole VHD, once computed */
        double seconds;         /* in all */
        double put_seconds;     /* of the Put Page requests */
        double md5_wait_seconds;/* waiting for the MD5 after the last page */
};

/* Checks that the file open at fd is what Azure takes: a fixed VHD (the
 * footer's cookie, checksum and fields valid, disk type fixed) whose
 * virtual size is a whole number of MiB and whose file size is that plus
 * the footer.  0 with the file size and the footer, or -EINVAL /
 * -EMEDIUMTYPE / -EBADMSG (logged, saying what is wrong). */
int azure_vhd_check(int fd, const char *path, uint64_t *ret_size, uint8_t ret_footer[VHD_FOOTER_SIZE]);

/* Uploads the VHD at path to the blob.  Fills *ret as far as it got (also
 * on failure).  0 when every page is written and the MD5 property set;
 * -EINTR when interrupted; -EEXIST when the blob exists and neither
 * overwrite nor resume was asked for; another negative errno otherwise.
 * Everything is logged here, masked. */
int azure_upload(const struct azure_blob *b, const char *path, const struct azure_upload_opts *o,
                 struct azure_upload_result *ret);
