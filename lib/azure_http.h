/* SPDX-License-Identifier: MIT */
#pragma once
#include "azure_blob.h"
#include "upload_plan.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Requests to one blob through libcurl: Shared Key or SAS authorization
 * (lib/azure_blob.c), retries with exponential backoff for network errors
 * and 5xx/408/429 answers, and Put Page requests several at once through
 * curl's multi interface.  No URL with its SAS token, no header with a
 * signature and no account key ever reaches a message: everything printed
 * goes through azure_mask() with the blob's secrets. */

struct azure_client {
        const struct azure_blob *blob;
        unsigned retries;           /* further attempts after the first */
        unsigned retry_base_ms;     /* the first wait; doubles, at most 30 s */
        FILE *trace;                /* one line per request (SLIPWAY_UPLOAD_TRACE), or NULL */
        void *easy;                 /* CURL *: the one-at-a-time requests share it (and its connection) */
        uint64_t requests, retried;
};

/* curl_global_init must have been called. */
int azure_client_init(struct azure_client *c, const struct azure_blob *b, unsigned retries);
void azure_client_done(struct azure_client *c);

struct azure_response {
        long status;                /* 0: no HTTP answer */
        int curl_code;
        char error[256];            /* curl's message for curl_code */
        char *body;
        size_t body_len;
        char **headers;             /* "name: value", names lowercased */
};
void azure_response_done(struct azure_response *r);
const char *azure_response_header(const struct azure_response *r, const char *name);
/* The service's error code: x-ms-error-code, else the body's <Code>. */
char *azure_response_code(const struct azure_response *r);

/* Sends one request (retried).  0 with *ret once an HTTP answer came, any
 * status (a 5xx after the last retry too); -EINTR when slipway was
 * interrupted; -EIO when no answer came after the retries (logged, with
 * `what`, e.g. "Put Blob"). */
int azure_request(struct azure_client *c, const char *what, const char *verb, const char *query,
                  char *const *headers, const void *body, size_t len, struct azure_response *ret);

/* Logs an answer that is a failure: "WHAT: HTTP 403 AuthenticationFailed:
 * <Message> (hint)", masked.  Returns -EACCES (401/403), -ENOENT (404),
 * -EEXIST (409), -EIO otherwise. */
int azure_log_failure(struct azure_client *c, const char *what, const struct azure_response *r);

/* ---- the blob operations of an upload ---- */

struct azure_blob_props {
        bool exists;
        bool page_blob;
        uint64_t length;
        char *source;               /* x-ms-meta-slipwaysource, or NULL */
        char *content_md5;          /* or NULL */
};
void azure_blob_props_done(struct azure_blob_props *p);
/* Get Blob Properties (HEAD).  0 (exists or not), or a negative errno
 * (logged: a missing container, bad credentials, ...). */
int azure_get_properties(struct azure_client *c, struct azure_blob_props *ret);
/* Put Blob of an empty page blob of `size` bytes with the metadata
 * slipwaysource=`source`; unless `overwrite`, with If-None-Match: * (an
 * existing blob is -EEXIST, logged). */
int azure_create_page_blob(struct azure_client *c, uint64_t size, const char *source, bool overwrite);
/* Get Page Ranges, every part of it: the pages written so far, sorted and
 * merged. */
int azure_get_page_ranges(struct azure_client *c, struct upload_range **ret, size_t *ret_n);
/* Set Blob Properties with x-ms-blob-content-md5 (base64). */
int azure_set_content_md5(struct azure_client *c, const char *md5_base64);

struct azure_put_stats {
        uint64_t sent;              /* bytes of the Put Page requests that succeeded */
        uint64_t requests, retried;
};
/* Sends every range of the plan from fd as Put Page requests (Content-MD5
 * on each), up to `jobs` at once, each at most the plan's max_request
 * bytes; `rate` > 0 caps the bytes per second of them all.  Counts the
 * bytes in progress_bytes_add().  0 when all were written; -EINTR when
 * interrupted (what is in flight is dropped: a page range is written whole
 * or not at all); a negative errno (logged once) when one failed for good:
 * the other requests in flight finish first. */
int azure_put_pages(struct azure_client *c, int fd, const char *name, const struct upload_plan *plan, unsigned jobs,
                    uint64_t rate, struct azure_put_stats *ret);
