/* SPDX-License-Identifier: MIT */
#include "azure_blob.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <strings.h>

/* The emulator's well-known account, documented by Microsoft ("Use the
 * Azurite emulator for local Azure Storage development"): not a secret,
 * but masked like any other key. */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_BLOB_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

static char *errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *errorf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        return s;
}

static int fail(char **ret_error, char *msg) {
        if (ret_error)
                *ret_error = msg;
        else
                free(msg);
        return -EINVAL;
}

/* ---- base64 ---- */

static char *base64_encode(const uint8_t *data, size_t len) {
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);
        EVP_EncodeBlock((unsigned char *)out, data, (int)len);
        return out;
}

/* Strict: whole groups of four, padding only at the end. */
static int base64_decode(const char *s, uint8_t **ret, size_t *ret_len) {
        size_t n = strlen(s);
        if (n == 0 || n % 4 != 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/' || (s[i] == '=' && i >= n - 2)))
                        return -EINVAL;
        uint8_t *out = xmalloc(n / 4 * 3 + 1);
        int k = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
        if (k < 0) {
                free(out);
                return -EINVAL;
        }
        size_t len = (size_t)k;
        if (s[n - 1] == '=')
                len--;
        if (s[n - 2] == '=')
                len--;
        *ret = out;
        *ret_len = len;
        return 0;
}

/* ---- URLs ---- */

char *azure_url_encode(const char *s, bool keep_slash) {
        static const char hexd[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/'))
                        *o++ = (char)*p;
                else {
                        *o++ = '%';
                        *o++ = hexd[*p >> 4];
                        *o++ = hexd[*p & 15];
                }
        }
        *o = 0;
        return out;
}

static int hexval(char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

char *azure_url_decode(const char *s, size_t len) {
        char *out = xmalloc(len + 1), *o = out;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
                        *o++ = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
                        i += 2;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

/* The path of an absolute URL ("/" when it has none), without the query. */
static char *url_path(const char *url) {
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        p += strcspn(p, "/?#");
        size_t n = strcspn(p, "?#");
        return n == 0 ? xstrdup("/") : xstrndup(p, n);
}

static bool url_is_http(const char *u) {
        return (strncasecmp(u, "https://", 8) == 0 && u[8] && u[8] != '/') ||
               (strncasecmp(u, "http://", 7) == 0 && u[7] && u[7] != '/');
}

/* ---- time ---- */

void azure_http_date(time_t t, char out[32]) {
        static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int azure_parse_time(const char *s, time_t *ret) {
        struct tm tm = { 0 };
        int n = 0;
        if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
                return -EINVAL;
        const char *p = s + n;
        if (*p == 'T') {
                int m = 0;
                if (sscanf(p, "T%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2 || m != 6)
                        return -EINVAL;
                p += m;
                if (*p == ':') {
                        if (sscanf(p, ":%2d%n", &tm.tm_sec, &m) != 1 || m != 3)
                                return -EINVAL;
                        p += m;
                        if (*p == '.') {
                                p++;
                                if (!isdigit((unsigned char)*p))
                                        return -EINVAL;
                                while (isdigit((unsigned char)*p))
                                        p++;
                        }
                }
                if (*p == 'Z')
                        p++;
        }
        if (*p)
                return -EINVAL;
        if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 60)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret = t;
        return 0;
}

/* ---- connection strings ---- */

void azure_connection_done(struct azure_connection *c) {
        free(c->protocol);
        free(c->account_name);
        free(c->account_key);
        free(c->blob_endpoint);
        free(c->sas);
        memset(c, 0, sizeof *c);
}

static void set_once(char **field, const char *v, size_t n) {
        free(*field);
        *field = xstrndup(v, n);
}

int azure_connection_parse(const char *s, struct azure_connection *ret, char **ret_error) {
        struct azure_connection c = { 0 };
        bool dev = false;
        char *suffix = NULL;
        int r = 0;
        size_t seg = 0;
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, ";");
                const char *end = p + n;
                /* blanks around a segment, as when a string is pasted over lines */
                while (p < end && isspace((unsigned char)*p))
                        p++;
                const char *e = end;
                while (e > p && isspace((unsigned char)e[-1]))
                        e--;
                if (e > p) {
                        seg++;
                        const char *eq = memchr(p, '=', (size_t)(e - p));
                        if (!eq || eq == p) {
                                r = fail(ret_error, errorf("connection string: part %zu is not Key=Value", seg));
                                goto out;
                        }
                        size_t kn = (size_t)(eq - p);
                        const char *v = eq + 1;
                        size_t vn = (size_t)(e - v);
#define KEY(k) (kn == strlen(k) && strncasecmp(p, k, kn) == 0)
                        if (KEY("DefaultEndpointsProtocol"))
                                set_once(&c.protocol, v, vn);
                        else if (KEY("AccountName"))
                                set_once(&c.account_name, v, vn);
                        else if (KEY("AccountKey"))
                                set_once(&c.account_key, v, vn);
                        else if (KEY("BlobEndpoint"))
                                set_once(&c.blob_endpoint, v, vn);
                        else if (KEY("SharedAccessSignature"))
                                set_once(&c.sas, v, vn);
                        else if (KEY("EndpointSuffix"))
                                set_once(&suffix, v, vn);
                        else if (KEY("UseDevelopmentStorage"))
                                dev = vn == 4 && strncasecmp(v, "true", 4) == 0;
                        /* the other services' endpoints, DevelopmentStorageProxyUri: not needed */
#undef KEY
                }
                p = *end ? end + 1 : end;
        }
        if (dev) {
                if (!c.account_name)
                        c.account_name = xstrdup(DEV_ACCOUNT);
                if (!c.account_key && !c.sas)
                        c.account_key = xstrdup(DEV_KEY);
                if (!c.blob_endpoint)
                        c.blob_endpoint = xstrdup(DEV_BLOB_ENDPOINT);
        }
        if (!c.protocol)
                c.protocol = xstrdup("https");
        if (strcasecmp(c.protocol, "https") != 0 && strcasecmp(c.protocol, "http") != 0) {
                r = fail(ret_error, errorf("connection string: DefaultEndpointsProtocol must be https or http"));
                goto out;
        }
        if (c.sas && c.sas[0] == '?')
                memmove(c.sas, c.sas + 1, strlen(c.sas));
        if (!c.sas && !c.account_key) {
                r = fail(ret_error, errorf("connection string: neither AccountKey nor SharedAccessSignature"));
                goto out;
        }
        if (c.account_key && !c.account_name) {
                r = fail(ret_error, errorf("connection string: AccountKey without AccountName"));
                goto out;
        }
        if (c.account_key) {
                uint8_t *k = NULL;
                size_t kl = 0;
                if (base64_decode(c.account_key, &k, &kl) < 0 || kl == 0) {
                        r = fail(ret_error, errorf("connection string: AccountKey is not base64"));
                        goto out;
                }
                free(k);
        }
        if (!c.blob_endpoint) {
                if (!c.account_name) {
                        r = fail(ret_error, errorf("connection string: neither BlobEndpoint nor AccountName"));
                        goto out;
                }
                c.blob_endpoint = xasprintf("%s://%s.blob.%s", c.protocol, c.account_name,
                                            suffix ? suffix : "core.windows.net");
        }
        size_t l = strlen(c.blob_endpoint);
        while (l > 0 && c.blob_endpoint[l - 1] == '/')
                c.blob_endpoint[--l] = 0;
        if (!url_is_http(c.blob_endpoint) || strpbrk(c.blob_endpoint, "?#")) {
                r = fail(ret_error, errorf("connection string: BlobEndpoint is not an http(s) URL without a query"));
                goto out;
        }
out:
        free(suffix);
        if (r < 0)
                azure_connection_done(&c);
        else
                *ret = c;
        return r;
}

/* ---- blobs ---- */

void azure_blob_done(struct azure_blob *b) {
        free(b->url);
        free(b->container);
        free(b->name);
        free(b->account);
        if (b->key)
                OPENSSL_cleanse(b->key, b->key_len);
        free(b->key);
        free(b->sas);
        strv_free(b->secrets);
        memset(b, 0, sizeof *b);
}

/* A SAS token: needs sig=; se= (expiry), when present, must parse.  Each
 * sig value is registered as a secret, raw and decoded. */
static int sas_check(struct azure_blob *b, const char *sas, char **ret_error) {
        bool sig = false;
        for (const char *p = sas; *p;) {
                size_t n = strcspn(p, "&");
                const char *eq = memchr(p, '=', n);
                if (eq) {
                        size_t kn = (size_t)(eq - p), vn = n - kn - 1;
                        if (kn == 3 && strncmp(p, "sig", 3) == 0 && vn > 0) {
                                sig = true;
                                _cleanup_free_ char *raw = xstrndup(eq + 1, vn);
                                _cleanup_free_ char *d = azure_url_decode(eq + 1, vn);
                                strv_push(&b->secrets, raw);
                                strv_push(&b->secrets, d);
                        } else if (kn == 2 && strncmp(p, "se", 2) == 0) {
                                _cleanup_free_ char *d = azure_url_decode(eq + 1, vn);
                                if (azure_parse_time(d, &b->sas_expiry) < 0)
                                        return fail(ret_error, errorf("the SAS token's expiry (se=) is not a time"));
                        }
                }
                p += n;
                if (*p)
                        p++;
        }
        if (!sig)
                return fail(ret_error, errorf("the SAS token has no signature (sig=)"));
        b->sas = xstrdup(sas);
        strv_push(&b->secrets, sas);
        return 0;
}

/* The container and the blob name from a blob URL's path: the last two
 * segments (path-style URLs have the account name first). */
static int split_blob_path(const char *url, char **ret_container, char **ret_name) {
        _cleanup_free_ char *path = url_path(url);
        const char *p = path + 1;
        if (strlen(p) == 0)
                return -EINVAL;
        /* https://account.blob.../container/dir/name: the first segment is the
         * container unless the host is an IP address or localhost (the
         * emulator's path-style URLs: /account/container/name). */
        const char *host = strstr(url, "://") + 3;
        size_t hn = strcspn(host, "/:");
        bool path_style = (hn == 9 && strncasecmp(host, "localhost", 9) == 0) ||
                          strspn(host, "0123456789.") == hn || host[0] == '[';
        if (path_style) {
                const char *slash = strchr(p, '/');
                if (!slash)
                        return -EINVAL;
                p = slash + 1;
        }
        const char *slash = strchr(p, '/');
        if (!slash || slash == p || !slash[1])
                return -EINVAL;
        *ret_container = azure_url_decode(p, (size_t)(slash - p));
        *ret_name = azure_url_decode(slash + 1, strlen(slash + 1));
        return 0;
}

int azure_blob_from_sas_url(const char *sas_url, const char *name, struct azure_blob *ret, char **ret_error) {
        struct azure_blob b = { 0 };
        int r;
        const char *q = strchr(sas_url, '?');
        if (!url_is_http(sas_url))
                return fail(ret_error, errorf("--sas-url: not an http(s) URL"));
        if (!q || !q[1])
                return fail(ret_error, errorf("--sas-url: the URL has no SAS token (no query string)"));
        _cleanup_free_ char *base = xstrndup(sas_url, (size_t)(q - sas_url));
        if (strchr(base, '#'))
                return fail(ret_error, errorf("--sas-url: the URL has a fragment"));
        size_t l = strlen(base);
        while (l > 0 && base[l - 1] == '/')
                base[--l] = 0;
        r = sas_check(&b, q + 1, ret_error);
        if (r < 0)
                goto fail;
        if (name) {
                _cleanup_free_ char *enc = azure_url_encode(name, true);
                b.url = xasprintf("%s/%s", base, enc);
        } else
                b.url = xstrdup(base);
        if (split_blob_path(b.url, &b.container, &b.name) < 0) {
                r = fail(ret_error, errorf("--sas-url: %s does not name a container and a blob%s", b.url,
                                           name ? "" : " (with a container's URL, give --name)"));
                goto fail;
        }
        *ret = b;
        return 0;
fail:
        azure_blob_done(&b);
        return r;
}

int azure_blob_from_connection(const struct azure_connection *c, const char *container, const char *name,
                               struct azure_blob *ret, char **ret_error) {
        struct azure_blob b = { 0 };
        int r;
        _cleanup_free_ char *enc = azure_url_encode(name, true);
        b.url = xasprintf("%s/%s/%s", c->blob_endpoint, container, enc);
        b.container = xstrdup(container);
        b.name = xstrdup(name);
        if (c->account_key) {
                b.account = xstrdup(c->account_name);
                r = base64_decode(c->account_key, &b.key, &b.key_len);
                if (r < 0) {
                        r = fail(ret_error, errorf("connection string: AccountKey is not base64"));
                        goto fail;
                }
                strv_push(&b.secrets, c->account_key);
        } else {
                r = sas_check(&b, c->sas, ret_error);
                if (r < 0)
                        goto fail;
        }
        *ret = b;
        return 0;
fail:
        azure_blob_done(&b);
        return r;
}

/* ---- Shared Key ---- */

struct hdr {
        char *name;     /* lowercased */
        char *value;    /* trimmed, inner whitespace runs as one space */
};

static int hdr_cmp(const void *a, const void *b) {
        return strcmp(((const struct hdr *)a)->name, ((const struct hdr *)b)->name);
}

static struct hdr hdr_parse(const char *h) {
        size_t n = strcspn(h, ":");
        struct hdr x = { .name = xstrndup(h, n) };
        for (char *p = x.name; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        size_t e = n;
        while (e > 0 && isspace((unsigned char)x.name[e - 1]))
                x.name[--e] = 0;
        const char *v = h[n] ? h + n + 1 : h + n;
        x.value = xmalloc(strlen(v) + 1);
        char *o = x.value;
        bool space = false;
        for (; *v; v++) {
                if (isspace((unsigned char)*v)) {
                        space = o != x.value;
                        continue;
                }
                if (space)
                        *o++ = ' ';
                space = false;
                *o++ = *v;
        }
        *o = 0;
        return x;
}

struct qparam {
        char *name, *value;
};

static int qparam_cmp(const void *a, const void *b) {
        const struct qparam *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : strcmp(x->value, y->value);
}

char *azure_string_to_sign(const char *verb, const char *account, const char *url, char *const *headers) {
        static const char *const standard[] = { "content-encoding", "content-language", "content-length",
                                                "content-md5", "content-type", "date", "if-modified-since",
                                                "if-match", "if-none-match", "if-unmodified-since", "range" };
        size_t nh = strv_length(headers);
        struct hdr *h = xcalloc(nh ? nh : 1, sizeof *h);
        for (size_t i = 0; i < nh; i++)
                h[i] = hdr_parse(headers[i]);
        qsort(h, nh, sizeof *h, hdr_cmp);

        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (!f)
                abort();
        fprintf(f, "%s\n", verb);
        for (size_t s = 0; s < ELEMENTSOF(standard); s++) {
                const char *v = "";
                for (size_t i = 0; i < nh; i++)
                        if (strcmp(h[i].name, standard[s]) == 0)
                                v = h[i].value;
                /* 2015-02-21 and later: a zero Content-Length is signed as empty */
                if (s == 2 && strcmp(v, "0") == 0)
                        v = "";
                fprintf(f, "%s\n", v);
        }
        for (size_t i = 0; i < nh; i++)
                if (startswith(h[i].name, "x-ms-"))
                        fprintf(f, "%s:%s\n", h[i].name, h[i].value);

        _cleanup_free_ char *path = url_path(url);
        fprintf(f, "/%s%s", account, path);
        const char *q = strchr(url, '?');
        if (q) {
                q++;
                size_t nq = 0;
                struct qparam *qp = NULL;
                for (const char *p = q; *p;) {
                        size_t n = strcspn(p, "&#");
                        if (n > 0) {
                                const char *eq = memchr(p, '=', n);
                                size_t kn = eq ? (size_t)(eq - p) : n;
                                qp = xrealloc(qp, (nq + 1) * sizeof *qp);
                                qp[nq].name = azure_url_decode(p, kn);
                                for (char *c = qp[nq].name; *c; c++)
                                        *c = (char)tolower((unsigned char)*c);
                                qp[nq].value = eq ? azure_url_decode(eq + 1, n - kn - 1) : xstrdup("");
                                nq++;
                        }
                        p += n;
                        if (*p == '#')
                                break;
                        if (*p)
                                p++;
                }
                qsort(qp, nq, sizeof *qp, qparam_cmp);
                for (size_t i = 0; i < nq; i++) {
                        if (i == 0 || strcmp(qp[i].name, qp[i - 1].name) != 0)
                                fprintf(f, "\n%s:%s", qp[i].name, qp[i].value);
                        else
                                fprintf(f, ",%s", qp[i].value);
                }
                for (size_t i = 0; i < nq; i++) {
                        free(qp[i].name);
                        free(qp[i].value);
                }
                free(qp);
        }
        fclose(f);
        for (size_t i = 0; i < nh; i++) {
                free(h[i].name);
                free(h[i].value);
        }
        free(h);
        return out;
}

char *azure_shared_key(const char *account, const uint8_t *key, size_t key_len, const char *string_to_sign) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)string_to_sign, strlen(string_to_sign), mac,
                  &mac_len))
                abort();
        _cleanup_free_ char *b64 = base64_encode(mac, mac_len);
        OPENSSL_cleanse(mac, sizeof mac);
        return xasprintf("SharedKey %s:%s", account, b64);
}

/* ---- masking ---- */

static FILE *memstream(char **buf, size_t *len) {
        FILE *f = open_memstream(buf, len);
        if (!f)
                abort();
        return f;
}

/* Masks, case-insensitively, what follows each `prefix` (not preceded by a
 * letter or digit) up to a character in `stop` or the end. */
static char *mask_after(const char *s, const char *prefix, const char *stop) {
        size_t pn = strlen(prefix), len = 0;
        char *out = NULL;
        FILE *f = memstream(&out, &len);
        for (const char *p = s; *p;) {
                if (strncasecmp(p, prefix, pn) == 0 && (p == s || !isalnum((unsigned char)p[-1]))) {
                        fwrite(p, 1, pn, f);
                        p += pn;
                        size_t v = strcspn(p, stop);
                        if (v > 0)
                                fputs("***", f);
                        p += v;
                } else
                        fputc(*p++, f);
        }
        fclose(f);
        return out;
}

static char *mask_literal(const char *s, const char *secret) {
        size_t sn = strlen(secret), len = 0;
        char *out = NULL;
        FILE *f = memstream(&out, &len);
        for (const char *p = s; *p;) {
                if (sn > 0 && strncmp(p, secret, sn) == 0) {
                        fputs("***", f);
                        p += sn;
                } else
                        fputc(*p++, f);
        }
        fclose(f);
        return out;
}

/* "SharedKey account:signature" keeps the account. */
static char *mask_shared_key(const char *s) {
        size_t len = 0;
        char *out = NULL;
        FILE *f = memstream(&out, &len);
        for (const char *p = s; *p;) {
                if (strncasecmp(p, "SharedKey ", 10) == 0) {
                        size_t a = strcspn(p + 10, ": \t\r\n");
                        if (p[10 + a] == ':') {
                                fwrite(p, 1, 11 + a, f);
                                p += 11 + a;
                                size_t v = strcspn(p, " \t\r\n\"'<>");
                                if (v > 0)
                                        fputs("***", f);
                                p += v;
                                continue;
                        }
                }
                fputc(*p++, f);
        }
        fclose(f);
        return out;
}

char *azure_mask(const char *s, char *const *secrets) {
        if (!s)
                return NULL;
        char *cur = xstrdup(s);
        /* longest first: a secret that contains another (a SAS and its sig) is masked whole */
        size_t n = strv_length(secrets);
        _cleanup_strv_free_ char **sorted = strv_copy(secrets);
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strlen(sorted[j]) > strlen(sorted[j - 1]); j--) {
                        char *t = sorted[j];
                        sorted[j] = sorted[j - 1];
                        sorted[j - 1] = t;
                }
        for (size_t i = 0; i < n; i++) {
                char *m = mask_literal(cur, sorted[i]);
                free(cur);
                cur = m;
        }
        static const struct {
                const char *prefix, *stop;
        } rules[] = {
                { "sig=", "&; \t\r\n\"'<>" },
                { "AccountKey=", "; \t\r\n\"'<>" },
                { "SharedAccessSignature=", "; \t\r\n\"'<>" },
        };
        for (size_t i = 0; i < ELEMENTSOF(rules); i++) {
                char *m = mask_after(cur, rules[i].prefix, rules[i].stop);
                free(cur);
                cur = m;
        }
        char *m = mask_shared_key(cur);
        free(cur);
        return m;
}

/* ---- XML answers ---- */

static char *xml_decode(const char *s, size_t n) {
        static const struct {
                const char *ent;
                char c;
        } ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' } };
        char *out = xmalloc(n + 1), *o = out;
        for (size_t i = 0; i < n;) {
                bool done = false;
                if (s[i] == '&')
                        for (size_t e = 0; e < ELEMENTSOF(ents); e++) {
                                size_t en = strlen(ents[e].ent);
                                if (i + en <= n && memcmp(s + i, ents[e].ent, en) == 0) {
                                        *o++ = ents[e].c;
                                        i += en;
                                        done = true;
                                        break;
                                }
                        }
                if (!done)
                        *o++ = s[i++];
        }
        *o = 0;
        return out;
}

/* [*ret_start, *ret_end) is the content of the first <tag> in [xml, xml+len). */
static bool xml_find(const char *xml, size_t len, const char *tag, const char **ret_start, const char **ret_end) {
        _cleanup_free_ char *open = xasprintf("<%s>", tag), *close = xasprintf("</%s>", tag);
        const char *a = memmem(xml, len, open, strlen(open));
        if (!a)
                return false;
        a += strlen(open);
        const char *b = memmem(a, len - (size_t)(a - xml), close, strlen(close));
        if (!b)
                return false;
        *ret_start = a;
        *ret_end = b;
        return true;
}

char *azure_xml_text(const char *xml, size_t len, const char *tag) {
        const char *a, *b;
        if (!xml || !xml_find(xml, len, tag, &a, &b))
                return NULL;
        return xml_decode(a, (size_t)(b - a));
}

void azure_error_parse(const char *xml, size_t len, char **ret_code, char **ret_message) {
        *ret_code = azure_xml_text(xml, len, "Code");
        *ret_message = azure_xml_text(xml, len, "Message");
        /* The message's other lines are RequestId: and Time:. */
        if (*ret_message)
                (*ret_message)[strcspn(*ret_message, "\r\n")] = 0;
}

static int parse_u64(const char *s, const char *e, uint64_t *ret) {
        if (s == e || e - s > 20)
                return -EBADMSG;
        uint64_t v = 0;
        for (const char *p = s; p < e; p++) {
                if (!isdigit((unsigned char)*p))
                        return -EBADMSG;
                uint64_t d = (uint64_t)(*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -EBADMSG;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int azure_page_list_parse(const char *xml, size_t len, struct upload_range **ranges, size_t *n, char **ret_next_marker) {
        *ret_next_marker = NULL;
        const char *p = xml, *end = xml + len;
        const char *a, *b;
        while (p < end && xml_find(p, (size_t)(end - p), "PageRange", &a, &b)) {
                const char *s0, *s1, *e0, *e1;
                uint64_t start, last;
                if (!xml_find(a, (size_t)(b - a), "Start", &s0, &s1) || !xml_find(a, (size_t)(b - a), "End", &e0, &e1) ||
                    parse_u64(s0, s1, &start) < 0 || parse_u64(e0, e1, &last) < 0 || last < start ||
                    start % UPLOAD_PAGE != 0 || (last + 1) % UPLOAD_PAGE != 0)
                        return -EBADMSG;
                *ranges = xrealloc(*ranges, (*n + 1) * sizeof **ranges);
                (*ranges)[(*n)++] = (struct upload_range){ start, last - start + 1 };
                p = b;
        }
        char *m = azure_xml_text(xml, len, "NextMarker");
        if (m && !*m) {
                free(m);
                m = NULL;
        }
        *ret_next_marker = m;
        return 0;
}

static int range_cmp(const void *a, const void *b) {
        const struct upload_range *x = a, *y = b;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

size_t upload_ranges_normalize(struct upload_range *r, size_t n) {
        if (n == 0)
                return 0;
        qsort(r, n, sizeof *r, range_cmp);
        size_t o = 0;
        for (size_t i = 1; i < n; i++) {
                if (r[i].offset <= r[o].offset + r[o].length) {
                        uint64_t end = MAX(r[o].offset + r[o].length, r[i].offset + r[i].length);
                        r[o].length = end - r[o].offset;
                } else
                        r[++o] = r[i];
        }
        return o + 1;
}
