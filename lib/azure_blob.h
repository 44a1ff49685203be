/* SPDX-License-Identifier: MIT */
#pragma once
#include "upload_plan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Azure Blob Storage, the parts `slipway upload azure` needs that do not
 * talk to the network: where a blob is and how a request to it is
 * authorized (Shared Key or a SAS token), masking those secrets in every
 * message, and reading the service's XML answers.  lib/azure_http.c sends
 * the requests.
 *
 * References (Microsoft Learn, "Azure Storage REST API"):
 *   "Authorize with Shared Key"            the string-to-sign, below
 *   "Configure Azure Storage connection strings"
 *   "Create a service SAS"                 the SAS query parameters (se, sig)
 *   "Status and error codes"               <Error><Code/><Message/></Error>
 *   "Get Page Ranges"                      <PageList><PageRange>... */

/* The REST API version slipway speaks (x-ms-version): Get Page Ranges with
 * continuation markers needs 2020-10-02 or later. */
#define AZURE_API_VERSION "2021-08-06"

/* A parsed connection string ("Key=Value;..." as the portal shows it, or
 * UseDevelopmentStorage=true for the emulator).  account_key and sas are
 * secrets. */
struct azure_connection {
        char *protocol;             /* DefaultEndpointsProtocol, default "https" */
        char *account_name;
        char *account_key;          /* base64 */
        char *blob_endpoint;        /* BlobEndpoint, or built from the name and the suffix; no trailing '/' */
        char *sas;                  /* SharedAccessSignature, without a leading '?' */
};
/* 0, or -EINVAL with *ret_error saying what is wrong (never a value). */
int azure_connection_parse(const char *s, struct azure_connection *ret, char **ret_error);
void azure_connection_done(struct azure_connection *c);

/* One blob and how to authorize requests to it. */
struct azure_blob {
        char *url;                  /* scheme://host[:port]/path/container/name, encoded; no query: safe to print */
        char *container, *name;
        char *account;              /* Shared Key; NULL with a SAS */
        uint8_t *key;               /* the decoded account key */
        size_t key_len;
        char *sas;                  /* the SAS query (without '?'), or NULL */
        time_t sas_expiry;          /* its se=, 0 when it has none */
        char **secrets;             /* every string that must never be printed */
};
/* From a blob URL with a SAS token; with `name`, the URL is the container's
 * and the blob is `name` in it.  0, or -EINVAL with *ret_error. */
int azure_blob_from_sas_url(const char *sas_url, const char *name, struct azure_blob *ret, char **ret_error);
/* From a connection string (Shared Key, or its SharedAccessSignature). */
int azure_blob_from_connection(const struct azure_connection *c, const char *container, const char *name,
                               struct azure_blob *ret, char **ret_error);
void azure_blob_done(struct azure_blob *b);

/* The Shared Key string-to-sign of a request (version 2015-02-21 and
 * later): VERB, the standard headers in their fixed order (Content-Length
 * empty when zero), the x-ms-* headers lowercased and sorted, then the
 * canonicalized resource: "/" account, the URL's path, and each query
 * parameter as "\nname:value[,value]" sorted by name.  `headers` are
 * "Name: value" strings (as given to curl). */
char *azure_string_to_sign(const char *verb, const char *account, const char *url, char *const *headers);
/* "SharedKey account:base64(HMAC-SHA256(key, string_to_sign))". */
char *azure_shared_key(const char *account, const uint8_t *key, size_t key_len, const char *string_to_sign);

/* A copy of s with every secret masked as "***": the value of a sig=
 * query parameter, of AccountKey= and SharedAccessSignature= in a
 * connection string, the signature after "SharedKey account:", and each
 * string in `secrets` (NULL-terminated, may be NULL) wherever it appears. */
char *azure_mask(const char *s, char *const *secrets);

/* The decoded text of the first <tag>...</tag> in xml, or NULL. */
char *azure_xml_text(const char *xml, size_t len, const char *tag);
/* The <Code> and the first line of the <Message> of an error body (each
 * NULL when absent). */
void azure_error_parse(const char *xml, size_t len, char **ret_code, char **ret_message);
/* The <PageRange>s of a Get Page Ranges answer, appended to *ranges as
 * [Start, End + 1), and its <NextMarker> (NULL when it is the last part).
 * -EBADMSG for ranges that are not whole pages. */
int azure_page_list_parse(const char *xml, size_t len, struct upload_range **ranges, size_t *n, char **ret_next_marker);
/* Sorts ranges and merges those that overlap or touch; returns the new count. */
size_t upload_ranges_normalize(struct upload_range *r, size_t n);

/* RFC 1123 date for x-ms-date ("Sun, 11 Oct 2009 21:49:13 GMT"). */
void azure_http_date(time_t t, char out[32]);
/* Percent-encodes s except unreserved characters and, with keep_slash, '/'. */
char *azure_url_encode(const char *s, bool keep_slash);
/* Decodes %XX (and '+' as itself). */
char *azure_url_decode(const char *s, size_t len);
/* Parses an ISO 8601 UTC time as SAS tokens write it: "2026-01-31",
 * "2026-01-31T12:00Z", "2026-01-31T12:00:00Z", "...:00.0000000Z". */
int azure_parse_time(const char *s, time_t *ret);
