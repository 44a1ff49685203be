/* SPDX-License-Identifier: MIT */
/* References (Microsoft Learn, "Blob service REST API"): Put Blob, Put
 * Page (at most 4 MiB, 512-byte aligned, x-ms-range inclusive), Get Blob
 * Properties, Get Page Ranges, Set Blob Properties; "Azure Storage retry
 * guidance" (exponential backoff for timeouts, 408, 429 and 5xx). */
#include "azure_http.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BODY_MAX (16 * MiB)     /* answers are small XML; a page list is paged by the service */
#define RETRY_MAX_MS 30000

/* Every message of this file: formatted, masked, logged. */
static void alog(struct azure_client *c, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void alog(struct azure_client *c, enum log_level level, const char *fmt, ...) {
        if (level > log_get_level())
                return;
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        _cleanup_free_ char *m = azure_mask(s, c->blob->secrets);
        free(s);
        log_msg(level, "%s", m);
}

static void trace(struct azure_client *c, const char *verb, const char *what, int64_t offset, uint64_t len,
                  const struct azure_response *r, unsigned attempt) {
        if (!c->trace)
                return;
        char op[64];
        size_t n = 0;
        for (const char *p = what; *p && n + 1 < sizeof op; p++)
                op[n++] = *p == ' ' ? '-' : (char)tolower((unsigned char)*p);
        op[n] = 0;
        if (offset >= 0)
                fprintf(c->trace, "%s %s %" PRId64 " %" PRIu64, verb, op, offset, len);
        else
                fprintf(c->trace, "%s %s - %" PRIu64, verb, op, len);
        if (r->status)
                fprintf(c->trace, " %ld", r->status);
        else
                fprintf(c->trace, " curl-%d", r->curl_code);
        fprintf(c->trace, " attempt=%u\n", attempt);
        fflush(c->trace);
}

void azure_response_done(struct azure_response *r) {
        free(r->body);
        strv_free(r->headers);
        memset(r, 0, sizeof *r);
}

const char *azure_response_header(const struct azure_response *r, const char *name) {
        size_t n = strlen(name);
        for (size_t i = 0; r->headers && r->headers[i]; i++)
                if (strncmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
                        return r->headers[i] + n + 1 + strspn(r->headers[i] + n + 1, " \t");
        return NULL;
}

char *azure_response_code(const struct azure_response *r) {
        const char *h = azure_response_header(r, "x-ms-error-code");
        if (h && *h)
                return xstrdup(h);
        return azure_xml_text(r->body, r->body_len, "Code");
}

/* ---- one request on an easy handle ---- */

struct call {
        CURL *easy;
        struct curl_slist *hdrs;
        char *url;
        const uint8_t *body;
        size_t body_len, body_pos;
        struct azure_response resp;
        char errbuf[CURL_ERROR_SIZE];
};

static size_t on_write(char *data, size_t size, size_t nmemb, void *userdata) {
        struct call *k = userdata;
        size_t n = size * nmemb;
        if (k->resp.body_len + n > BODY_MAX)
                return 0; /* CURLE_WRITE_ERROR */
        k->resp.body = xrealloc(k->resp.body, k->resp.body_len + n + 1);
        memcpy(k->resp.body + k->resp.body_len, data, n);
        k->resp.body_len += n;
        k->resp.body[k->resp.body_len] = 0;
        return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata) {
        struct call *k = userdata;
        size_t n = size * nmemb;
        if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
                /* a new answer (after a 100 Continue): forget the previous one's headers */
                strv_free(k->resp.headers);
                k->resp.headers = NULL;
                return n;
        }
        const char *colon = memchr(data, ':', n);
        if (!colon)
                return n;
        size_t e = n;
        while (e > 0 && (data[e - 1] == '\r' || data[e - 1] == '\n'))
                e--;
        _cleanup_free_ char *h = xstrndup(data, e);
        for (char *p = h; *p && *p != ':'; p++)
                *p = (char)tolower((unsigned char)*p);
        strv_push(&k->resp.headers, h);
        return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
        struct call *k = userdata;
        size_t n = MIN(size * nitems, k->body_len - k->body_pos);
        memcpy(buf, k->body + k->body_pos, n);
        k->body_pos += n;
        return n;
}

static int on_seek(void *userdata, curl_off_t offset, int origin) {
        struct call *k = userdata;
        if (origin != SEEK_SET || offset < 0 || (size_t)offset > k->body_len)
                return CURL_SEEKFUNC_CANTSEEK;
        k->body_pos = (size_t)offset;
        return CURL_SEEKFUNC_OK;
}

static void call_reset(struct call *k) {
        curl_slist_free_all(k->hdrs);
        k->hdrs = NULL;
        free(k->url);
        k->url = NULL;
        azure_response_done(&k->resp);
        k->errbuf[0] = 0;
        k->body = NULL;
        k->body_len = k->body_pos = 0;
}

/* Prepares k->easy for VERB on the blob (with ?query), signed now. */
static void call_setup(struct azure_client *c, struct call *k, const char *verb, const char *query,
                       char *const *headers, const void *body, size_t len) {
        const struct azure_blob *b = c->blob;
        call_reset(k);
        k->url = xasprintf("%s%s%s%s%s", b->url, query || b->sas ? "?" : "", query ? query : "",
                           query && b->sas ? "&" : "", b->sas ? b->sas : "");
        char date[32];
        azure_http_date(time(NULL), date);
        _cleanup_strv_free_ char **h = NULL;
        _cleanup_free_ char *dh = xasprintf("x-ms-date: %s", date);
        strv_push(&h, dh);
        strv_push(&h, "x-ms-version: " AZURE_API_VERSION);
        for (char *const *p = headers; p && *p; p++)
                strv_push(&h, *p);
        bool put = strcmp(verb, "PUT") == 0;
        if (put) {
                _cleanup_free_ char *cl = xasprintf("Content-Length: %zu", len);
                strv_push(&h, cl);
        }
        if (b->account) {
                _cleanup_free_ char *sts = azure_string_to_sign(verb, b->account, k->url, h);
                _cleanup_free_ char *auth = azure_shared_key(b->account, b->key, b->key_len, sts);
                _cleanup_free_ char *ah = xasprintf("Authorization: %s", auth);
                strv_push(&h, ah);
                OPENSSL_cleanse(ah, strlen(ah));
        }
        /* curl adds "Expect: 100-continue" to large uploads; Azure needs no such round trip */
        strv_push(&h, "Expect:");
        for (char **p = h; *p; p++)
                k->hdrs = curl_slist_append(k->hdrs, *p);
        /* the Authorization line lives on only in curl's list */
        for (char **p = h; *p; p++)
                OPENSSL_cleanse(*p, strlen(*p));

        CURL *e = k->easy;
        curl_easy_reset(e);
        curl_easy_setopt(e, CURLOPT_URL, k->url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->hdrs);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "slipway/" SLIPWAY_VERSION);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
        /* a stalled connection: under 1 byte/s for 2 minutes */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 120L);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
        curl_easy_setopt(e, CURLOPT_PRIVATE, k);
        if (strcmp(verb, "HEAD") == 0)
                curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        else if (put) {
                k->body = body;
                k->body_len = len;
                curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
                curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
                curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
                curl_easy_setopt(e, CURLOPT_READDATA, k);
                curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
                curl_easy_setopt(e, CURLOPT_SEEKDATA, k);
        } else if (strcmp(verb, "GET") != 0)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, verb);
}

/* After a transfer: the status, or curl's error. */
static void call_finished(struct call *k, CURLcode code) {
        k->resp.curl_code = (int)code;
        if (code == CURLE_OK)
                curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &k->resp.status);
        else {
                k->resp.status = 0;
                snprintf(k->resp.error, sizeof k->resp.error, "%s", k->errbuf[0] ? k->errbuf : curl_easy_strerror(code));
                size_t n = strlen(k->resp.error);
                while (n > 0 && isspace((unsigned char)k->resp.error[n - 1]))
                        k->resp.error[--n] = 0;
        }
}

/* Worth another attempt: no answer (but for errors that repeat the same
 * way every time), or a timeout, throttling or server error. */
static bool retryable(const struct azure_response *r) {
        if (r->status == 0)
                switch (r->curl_code) {
                case CURLE_UNSUPPORTED_PROTOCOL:
                case CURLE_URL_MALFORMAT:
                case CURLE_PEER_FAILED_VERIFICATION:
                case CURLE_SSL_CACERT_BADFILE:
                case CURLE_SSL_CERTPROBLEM:
                case CURLE_WRITE_ERROR:
                case CURLE_OUT_OF_MEMORY:
                        return false;
                default:
                        return true;
                }
        return r->status == 408 || r->status == 429 || r->status >= 500;
}

/* The wait before attempt `attempt` (1 = the first retry): exponential,
 * with a quarter of jitter so that requests failed together do not retry
 * together. */
static uint64_t backoff_ms(const struct azure_client *c, unsigned attempt, uint64_t salt) {
        uint64_t ms = c->retry_base_ms;
        for (unsigned i = 1; i < attempt && ms < RETRY_MAX_MS; i++)
                ms *= 2;
        ms = MIN(ms, (uint64_t)RETRY_MAX_MS);
        uint64_t x = (now_usec() ^ (salt * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
        return ms - ms / 4 + (ms > 0 ? (x >> 33) % (ms / 2 + 1) : 0);
}

/* Sleeps ms unless interrupted: 0 or -EINTR. */
static int sleep_ms(uint64_t ms) {
        uint64_t end = now_usec() + ms * 1000;
        while (now_usec() < end) {
                if (spawn_interrupted())
                        return -EINTR;
                struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        return spawn_interrupted() ? -EINTR : 0;
}

static const char *describe_transport(const struct azure_response *r) {
        return r->error[0] ? r->error : "no answer";
}

int azure_client_init(struct azure_client *c, const struct azure_blob *b, unsigned retries) {
        memset(c, 0, sizeof *c);
        c->blob = b;
        c->retries = retries;
        c->retry_base_ms = 500;
        c->easy = curl_easy_init();
        if (!c->easy) {
                log_error("curl_easy_init failed");
                return -ENOMEM;
        }
        return 0;
}

void azure_client_done(struct azure_client *c) {
        if (c->easy)
                curl_easy_cleanup(c->easy);
        c->easy = NULL;
}

int azure_request(struct azure_client *c, const char *what, const char *verb, const char *query,
                  char *const *headers, const void *body, size_t len, struct azure_response *ret) {
        struct call k = { .easy = c->easy };
        for (unsigned attempt = 0;; attempt++) {
                if (spawn_interrupted()) {
                        call_reset(&k);
                        return -EINTR;
                }
                call_setup(c, &k, verb, query, headers, body, len);
                CURLcode code = curl_easy_perform(k.easy);
                call_finished(&k, code);
                c->requests++;
                trace(c, verb, what, -1, len, &k.resp, attempt + 1);
                if (k.resp.status)
                        alog(c, LOG_DEBUG, "%s: %s %s: HTTP %ld", what, verb, c->blob->url, k.resp.status);
                if (!retryable(&k.resp) || attempt >= c->retries) {
                        if (k.resp.status == 0) {
                                alog(c, LOG_ERR, "%s %s: no answer from the service (%s) after %u attempt%s", what, c->blob->url,
                                     describe_transport(&k.resp), attempt + 1, attempt ? "s" : "");
                                call_reset(&k);
                                return -EIO;
                        }
                        *ret = k.resp;
                        k.resp = (struct azure_response){ 0 };
                        call_reset(&k);
                        return 0;
                }
                uint64_t wait = backoff_ms(c, attempt + 1, attempt);
                if (k.resp.status) {
                        _cleanup_free_ char *code = azure_response_code(&k.resp);
                        alog(c, LOG_WARN, "%s: HTTP %ld%s%s, retrying in %.1f s", what, k.resp.status, code ? " " : "",
                             code ? code : "", (double)wait / 1000);
                } else
                        alog(c, LOG_WARN, "%s: %s, retrying in %.1f s", what, describe_transport(&k.resp), (double)wait / 1000);
                c->retried++;
                if (sleep_ms(wait) < 0) {
                        call_reset(&k);
                        return -EINTR;
                }
        }
}

static const char *hint(const struct azure_client *c, const char *code, long status) {
        /* A SAS that was valid when the upload started can run out during it (a 30 GiB
         * upload takes a while): then the token is what to replace, and what was sent
         * stays (--resume keeps it). */
        if (status == 403 && c->blob->sas_expiry && c->blob->sas_expiry <= time(NULL))
                return "the SAS token's expiry (se=) has passed: make a new one and run the same command "
                       "with it and --resume";
        if (code && strcmp(code, "ContainerNotFound") == 0)
                return "create the container first";
        if (code && strcmp(code, "BlobNotFound") == 0)
                return "the blob is gone";
        if (status == 401 || status == 403)
                return "check the account key, or the SAS token: its signature, its permissions (read, create, write), "
                       "its start and expiry";
        return NULL;
}

int azure_log_failure(struct azure_client *c, const char *what, const struct azure_response *r) {
        _cleanup_free_ char *code = azure_response_code(r);
        _cleanup_free_ char *msg = NULL, *ignored = NULL;
        azure_error_parse(r->body, r->body_len, &ignored, &msg);
        const char *h = hint(c, code, r->status);
        alog(c, LOG_ERR, "%s %s: HTTP %ld%s%s%s%s%s%s%s", what, c->blob->url, r->status, code ? " " : "", code ? code : "",
             msg ? ": " : "", msg ? msg : "", h ? " (" : "", h ? h : "", h ? ")" : "");
        return r->status == 401 || r->status == 403 ? -EACCES
               : r->status == 404                   ? -ENOENT
               : r->status == 409                   ? -EEXIST
                                                    : -EIO;
}

/* ---- blob operations ---- */

void azure_blob_props_done(struct azure_blob_props *p) {
        free(p->source);
        free(p->content_md5);
        memset(p, 0, sizeof *p);
}

static int parse_length(const char *s, uint64_t *ret) {
        if (!s || !isdigit((unsigned char)*s))
                return -EBADMSG;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* Logs a failed Get Blob Properties.  An answer to HEAD has no body: the
 * same question as a GET (Get Blob Metadata) brings the service's
 * <Message>. */
static int properties_failure(struct azure_client *c, struct azure_response *r) {
        struct azure_response g = { 0 };
        if (r->status >= 400 && r->status < 500 && r->body_len == 0 &&
            azure_request(c, "Get Blob Metadata", "GET", "comp=metadata", NULL, NULL, 0, &g) == 0 &&
            g.status == r->status && g.body_len > 0) {
                azure_response_done(r);
                *r = g;
        } else
                azure_response_done(&g);
        return azure_log_failure(c, "Get Blob Properties", r);
}

int azure_get_properties(struct azure_client *c, struct azure_blob_props *ret) {
        struct azure_response r = { 0 };
        memset(ret, 0, sizeof *ret);
        int k = azure_request(c, "Get Blob Properties", "HEAD", NULL, NULL, NULL, 0, &r);
        if (k < 0)
                return k;
        _cleanup_free_ char *code = azure_response_code(&r);
        if (r.status == 404 && !(code && strcmp(code, "ContainerNotFound") == 0)) {
                azure_response_done(&r);
                return 0; /* BlobNotFound */
        }
        if (r.status != 200) {
                k = properties_failure(c, &r);
                azure_response_done(&r);
                return k;
        }
        ret->exists = true;
        const char *t = azure_response_header(&r, "x-ms-blob-type");
        ret->page_blob = t && strcasecmp(t, "PageBlob") == 0;
        if (parse_length(azure_response_header(&r, "content-length"), &ret->length) < 0) {
                alog(c, LOG_ERR, "Get Blob Properties %s: no valid Content-Length in the answer", c->blob->url);
                azure_response_done(&r);
                return -EBADMSG;
        }
        const char *s = azure_response_header(&r, "x-ms-meta-slipwaysource");
        ret->source = s ? xstrdup(s) : NULL;
        const char *m = azure_response_header(&r, "content-md5");
        ret->content_md5 = m && *m ? xstrdup(m) : NULL;
        azure_response_done(&r);
        return 0;
}

int azure_create_page_blob(struct azure_client *c, uint64_t size, const char *source, bool overwrite) {
        _cleanup_strv_free_ char **h = NULL;
        _cleanup_free_ char *len = xasprintf("x-ms-blob-content-length: %" PRIu64, size);
        _cleanup_free_ char *meta = xasprintf("x-ms-meta-slipwaysource: %s", source);
        strv_push(&h, "x-ms-blob-type: PageBlob");
        strv_push(&h, len);
        strv_push(&h, "x-ms-blob-sequence-number: 0");
        strv_push(&h, meta);
        if (!overwrite)
                strv_push(&h, "If-None-Match: *");
        struct azure_response r = { 0 };
        int k = azure_request(c, "Put Blob", "PUT", NULL, h, NULL, 0, &r);
        if (k < 0)
                return k;
        if (r.status == 201)
                k = 0;
        else if (!overwrite && (r.status == 409 || r.status == 412)) {
                _cleanup_free_ char *code = azure_response_code(&r);
                k = code && (strcmp(code, "BlobAlreadyExists") == 0 || strcmp(code, "ConditionNotMet") == 0)
                        ? -EEXIST
                        : azure_log_failure(c, "Put Blob", &r);
        } else
                k = azure_log_failure(c, "Put Blob", &r);
        azure_response_done(&r);
        return k;
}

int azure_get_page_ranges(struct azure_client *c, struct upload_range **ret, size_t *ret_n) {
        struct upload_range *ranges = NULL;
        size_t n = 0;
        _cleanup_free_ char *marker = NULL;
        for (unsigned part = 0;; part++) {
                _cleanup_free_ char *query = NULL;
                if (marker) {
                        _cleanup_free_ char *m = azure_url_encode(marker, false);
                        query = xasprintf("comp=pagelist&marker=%s", m);
                } else
                        query = xstrdup("comp=pagelist");
                struct azure_response r = { 0 };
                int k = azure_request(c, "Get Page Ranges", "GET", query, NULL, NULL, 0, &r);
                if (k < 0) {
                        free(ranges);
                        return k;
                }
                if (r.status != 200) {
                        k = azure_log_failure(c, "Get Page Ranges", &r);
                        azure_response_done(&r);
                        free(ranges);
                        return k;
                }
                free(marker);
                marker = NULL;
                k = azure_page_list_parse(r.body, r.body_len, &ranges, &n, &marker);
                azure_response_done(&r);
                if (k < 0) {
                        alog(c, LOG_ERR, "Get Page Ranges %s: the answer is not a list of whole pages", c->blob->url);
                        free(ranges);
                        return k;
                }
                if (!marker)
                        break;
                if (part > 100000) {
                        alog(c, LOG_ERR, "Get Page Ranges %s: the service's list does not end", c->blob->url);
                        free(ranges);
                        return -EBADMSG;
                }
        }
        *ret_n = upload_ranges_normalize(ranges, n);
        *ret = ranges;
        return 0;
}

int azure_set_content_md5(struct azure_client *c, const char *md5_base64) {
        _cleanup_strv_free_ char **h = NULL;
        _cleanup_free_ char *m = xasprintf("x-ms-blob-content-md5: %s", md5_base64);
        strv_push(&h, m);
        struct azure_response r = { 0 };
        int k = azure_request(c, "Set Blob Properties", "PUT", "comp=properties", h, NULL, 0, &r);
        if (k < 0)
                return k;
        k = r.status == 200 ? 0 : azure_log_failure(c, "Set Blob Properties", &r);
        azure_response_done(&r);
        return k;
}

/* ---- Put Page, several at once ---- */

enum slot_state { SLOT_IDLE, SLOT_BUSY, SLOT_WAITING };

struct slot {
        struct call k;
        enum slot_state state;
        uint8_t *buf;
        struct upload_range range;
        unsigned attempt;           /* attempts started */
        uint64_t retry_at;          /* now_usec() of the next attempt, when waiting */
        char md5[32];
};

static void md5_base64(const uint8_t *data, size_t len, char out[32]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!EVP_Digest(data, len, md, &n, EVP_md5(), NULL))
                abort();
        EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

static int slot_start(struct azure_client *c, CURLM *multi, struct slot *s, uint64_t rate_each) {
        char range[64];
        snprintf(range, sizeof range, "x-ms-range: bytes=%" PRIu64 "-%" PRIu64, s->range.offset,
                 s->range.offset + s->range.length - 1);
        _cleanup_free_ char *md5 = xasprintf("Content-MD5: %s", s->md5);
        char *const h[] = { "x-ms-page-write: update", range, md5, NULL };
        call_setup(c, &s->k, "PUT", "comp=page", h, s->buf, (size_t)s->range.length);
        if (rate_each)
                curl_easy_setopt(s->k.easy, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)rate_each);
        s->attempt++;
        CURLMcode mc = curl_multi_add_handle(multi, s->k.easy);
        if (mc != CURLM_OK) {
                log_error("curl_multi_add_handle: %s", curl_multi_strerror(mc));
                return -EIO;
        }
        s->state = SLOT_BUSY;
        return 0;
}

static int read_range(int fd, const char *name, uint8_t *buf, const struct upload_range *r) {
        for (uint64_t done = 0; done < r->length;) {
                ssize_t n = pread(fd, buf + done, (size_t)(r->length - done), (off_t)(r->offset + done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return log_error_errno(-errno, "read %s", name);
                if (n == 0) {
                        log_error("%s: shorter than expected while reading it (changed during the upload?)", name);
                        return -EIO;
                }
                done += (uint64_t)n;
        }
        return 0;
}

int azure_put_pages(struct azure_client *c, int fd, const char *name, const struct upload_plan *plan, unsigned jobs,
                    uint64_t rate, struct azure_put_stats *ret) {
        struct azure_put_stats st = { 0 };
        jobs = MAX(1u, MIN(jobs, (unsigned)MAX((size_t)1, plan->n)));
        uint64_t rate_each = rate ? MAX(rate / jobs, (uint64_t)1) : 0;
        CURLM *multi = curl_multi_init();
        if (!multi) {
                log_error("curl_multi_init failed");
                return -ENOMEM;
        }
        curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)jobs);
        struct slot *slots = xcalloc(jobs, sizeof *slots);
        int r = 0;
        for (unsigned i = 0; i < jobs; i++) {
                slots[i].k.easy = curl_easy_init();
                slots[i].buf = xmalloc((size_t)plan->max_request);
                if (!slots[i].k.easy) {
                        log_error("curl_easy_init failed");
                        r = -ENOMEM;
                        goto out;
                }
        }
        size_t next = 0;
        bool failed = false;
        for (;;) {
                if (spawn_interrupted()) {
                        r = -EINTR;
                        break;
                }
                uint64_t now = now_usec();
                unsigned busy = 0, waiting = 0;
                for (unsigned i = 0; i < jobs; i++) {
                        struct slot *s = &slots[i];
                        int k = 0;
                        if (!failed && s->state == SLOT_IDLE && next < plan->n) {
                                s->range = plan->ranges[next++];
                                s->attempt = 0;
                                k = read_range(fd, name, s->buf, &s->range);
                                if (k == 0) {
                                        md5_base64(s->buf, (size_t)s->range.length, s->md5);
                                        k = slot_start(c, multi, s, rate_each);
                                }
                        } else if (!failed && s->state == SLOT_WAITING && now >= s->retry_at)
                                k = slot_start(c, multi, s, rate_each);
                        if (k < 0) {
                                if (r == 0)
                                        r = k;
                                failed = true;
                                s->state = SLOT_IDLE;
                        }
                        busy += s->state == SLOT_BUSY;
                        waiting += s->state == SLOT_WAITING && !failed;
                }
                if (busy == 0 && (failed || (waiting == 0 && next >= plan->n)))
                        break;
                int running = 0;
                CURLMcode mc = curl_multi_perform(multi, &running);
                if (mc != CURLM_OK) {
                        log_error("curl_multi_perform: %s", curl_multi_strerror(mc));
                        r = -EIO;
                        break;
                }
                CURLMsg *msg;
                int left;
                while ((msg = curl_multi_info_read(multi, &left))) {
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        struct call *k = NULL;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
                        struct slot *s = (struct slot *)k; /* the call is the slot's first member */
                        call_finished(k, msg->data.result);
                        curl_multi_remove_handle(multi, msg->easy_handle);
                        st.requests++;
                        trace(c, "PUT", "Put Page", (int64_t)s->range.offset, s->range.length, &k->resp, s->attempt);
                        if (k->resp.status == 201) {
                                st.sent += s->range.length;
                                progress_bytes_add(s->range.length);
                                s->state = SLOT_IDLE;
                        } else if (retryable(&k->resp) && s->attempt <= c->retries && !failed) {
                                uint64_t wait = backoff_ms(c, s->attempt, s->range.offset);
                                if (k->resp.status) {
                                        _cleanup_free_ char *code = azure_response_code(&k->resp);
                                        alog(c, LOG_WARN, "Put Page at %" PRIu64 ": HTTP %ld%s%s, retrying in %.1f s",
                                             s->range.offset, k->resp.status, code ? " " : "", code ? code : "",
                                             (double)wait / 1000);
                                } else
                                        alog(c, LOG_WARN, "Put Page at %" PRIu64 ": %s, retrying in %.1f s", s->range.offset,
                                             describe_transport(&k->resp), (double)wait / 1000);
                                st.retried++;
                                s->retry_at = now_usec() + wait * 1000;
                                s->state = SLOT_WAITING;
                        } else {
                                if (!failed) {
                                        if (k->resp.status) {
                                                char what[64];
                                                snprintf(what, sizeof what, "Put Page at %" PRIu64, s->range.offset);
                                                r = azure_log_failure(c, what, &k->resp);
                                        } else {
                                                alog(c, LOG_ERR, "Put Page at %" PRIu64 " %s: no answer from the service (%s) after %u attempt%s",
                                                     s->range.offset, c->blob->url, describe_transport(&k->resp), s->attempt,
                                                     s->attempt > 1 ? "s" : "");
                                                r = -EIO;
                                        }
                                }
                                failed = true;
                                s->state = SLOT_IDLE;
                        }
                }
                mc = curl_multi_poll(multi, NULL, 0, 100, NULL);
                if (mc != CURLM_OK) {
                        log_error("curl_multi_poll: %s", curl_multi_strerror(mc));
                        r = -EIO;
                        break;
                }
        }
out:
        for (unsigned i = 0; i < jobs; i++) {
                if (slots[i].state == SLOT_BUSY)
                        curl_multi_remove_handle(multi, slots[i].k.easy);
                call_reset(&slots[i].k);
                if (slots[i].k.easy)
                        curl_easy_cleanup(slots[i].k.easy);
                free(slots[i].buf);
        }
        free(slots);
        curl_multi_cleanup(multi);
        *ret = st;
        c->requests += st.requests;
        c->retried += st.retried;
        return r;
}
