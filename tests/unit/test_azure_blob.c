/* SPDX-License-Identifier: MIT */
/* timeout: 60 (tests/run-all.sh) */
/* The parts of `slipway upload azure` that need no server: the Shared Key
 * string-to-sign and signature, connection strings, SAS URLs, masking of
 * secrets, the service's XML answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "azure_blob.h"
#include "util.h"

/* bytes 0..63 */
#define KEY_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
#define DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static void key_bytes(uint8_t k[64]) {
        for (int i = 0; i < 64; i++)
                k[i] = (uint8_t)i;
}

/* The expected strings are written by hand from "Authorize with Shared
 * Key"; the signatures were computed independently, with Python:
 *   base64.b64encode(hmac.new(bytes(range(64)), sts.encode(), hashlib.sha256).digest()) */
static void test_string_to_sign_put_page(void **state) {
        char *const headers[] = {
                "x-ms-date: Sun, 11 Oct 2009 21:49:13 GMT", "x-ms-version: 2021-08-06",
                "x-ms-page-write: update",                   "x-ms-range: bytes=0-511",
                "Content-MD5: rL0Y20zC+Fzt72VPzMSk2A==",     "Content-Length: 512",
                "Expect:",                                   NULL,
        };
        _cleanup_free_ char *sts = azure_string_to_sign(
                "PUT", "myaccount", "https://myaccount.blob.core.windows.net/mycontainer/my%20blob.vhd?comp=page", headers);
        assert_string_equal(sts, "PUT\n\n\n512\nrL0Y20zC+Fzt72VPzMSk2A==\n\n\n\n\n\n\n\n"
                                 "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
                                 "x-ms-page-write:update\n"
                                 "x-ms-range:bytes=0-511\n"
                                 "x-ms-version:2021-08-06\n"
                                 "/myaccount/mycontainer/my%20blob.vhd\n"
                                 "comp:page");
        uint8_t k[64];
        key_bytes(k);
        _cleanup_free_ char *auth = azure_shared_key("myaccount", k, sizeof k, sts);
        assert_string_equal(auth, "SharedKey myaccount:p5AfQJwC0Ch96CQ3LVi+H3ulw++UMqLRdP+BsCyn0M8=");
}

/* The emulator's path-style URL (the account twice in the resource), query
 * parameters decoded and sorted, header names lowercased and sorted, inner
 * whitespace of a value collapsed, a zero Content-Length signed as empty. */
static void test_string_to_sign_emulator_get(void **state) {
        char *const headers[] = {
                "X-MS-Version: 2021-08-06", "x-ms-client-request-id:   a   b c  ",
                "x-ms-date: Sun, 11 Oct 2009 21:49:13 GMT", "Content-Length: 0", NULL,
        };
        _cleanup_free_ char *sts = azure_string_to_sign(
                "GET", "devstoreaccount1",
                "http://127.0.0.1:10000/devstoreaccount1/images/disk.vhd?marker=2%21abc%2Fdef&comp=pagelist", headers);
        assert_string_equal(sts, "GET\n\n\n\n\n\n\n\n\n\n\n\n"
                                 "x-ms-client-request-id:a b c\n"
                                 "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
                                 "x-ms-version:2021-08-06\n"
                                 "/devstoreaccount1/devstoreaccount1/images/disk.vhd\n"
                                 "comp:pagelist\n"
                                 "marker:2!abc/def");
        uint8_t k[64];
        key_bytes(k);
        _cleanup_free_ char *auth = azure_shared_key("devstoreaccount1", k, sizeof k, sts);
        assert_string_equal(auth, "SharedKey devstoreaccount1:oyVKCvKWUYwcUi3i4XYtbKXr01WuSx9AmxTsaY8N/98=");
}

static void test_standard_headers_order(void **state) {
        char *const headers[] = { "Range: bytes=0-1", "If-None-Match: *", "Content-Type: text/plain",
                                  "If-Match: \"e\"", "Date: x", "Content-Encoding: gzip", "Content-Language: de",
                                  "If-Modified-Since: m", "If-Unmodified-Since: u", NULL };
        _cleanup_free_ char *sts = azure_string_to_sign("HEAD", "a", "https://a.blob.core.windows.net/c/b", headers);
        assert_string_equal(sts, "HEAD\ngzip\nde\n\n\ntext/plain\nx\nm\n\"e\"\n*\nu\nbytes=0-1\n/a/c/b");
}

static void test_connection_string(void **state) {
        struct azure_connection c;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(azure_connection_parse("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" KEY_B64
                                                ";EndpointSuffix=core.windows.net",
                                                &c, &err), 0);
        assert_string_equal(c.account_name, "acct");
        assert_string_equal(c.account_key, KEY_B64);
        assert_string_equal(c.blob_endpoint, "https://acct.blob.core.windows.net");
        assert_null(c.sas);
        azure_connection_done(&c);

        /* Azurite's documented connection string, pasted with blanks, a trailing ';' and a '/' */
        assert_int_equal(azure_connection_parse(" DefaultEndpointsProtocol=http; AccountName=devstoreaccount1;"
                                                "AccountKey=" DEV_KEY ";"
                                                "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1/;",
                                                &c, &err), 0);
        assert_string_equal(c.protocol, "http");
        assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        azure_connection_done(&c);

        assert_int_equal(azure_connection_parse("UseDevelopmentStorage=true", &c, &err), 0);
        assert_string_equal(c.account_name, "devstoreaccount1");
        assert_string_equal(c.account_key, DEV_KEY);
        assert_string_equal(c.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        azure_connection_done(&c);

        assert_int_equal(azure_connection_parse("BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=?sv=1&sig=abc",
                                                &c, &err), 0);
        assert_string_equal(c.sas, "sv=1&sig=abc");
        assert_null(c.account_key);
        azure_connection_done(&c);
}

static void test_connection_string_errors(void **state) {
        static const struct {
                const char *s, *error;
        } bad[] = {
                { "AccountName=a", "connection string: neither AccountKey nor SharedAccessSignature" },
                { "AccountName=a;AccountKey=not*base64", "connection string: AccountKey is not base64" },
                { "AccountKey=" KEY_B64, "connection string: AccountKey without AccountName" },
                { "AccountName=a;garbage;AccountKey=" KEY_B64, "connection string: part 2 is not Key=Value" },
                { "DefaultEndpointsProtocol=ftp;AccountName=a;AccountKey=" KEY_B64,
                  "connection string: DefaultEndpointsProtocol must be https or http" },
                { "AccountName=a;AccountKey=" KEY_B64 ";BlobEndpoint=a.blob.core.windows.net",
                  "connection string: BlobEndpoint is not an http(s) URL without a query" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct azure_connection c;
                char *err = NULL;
                assert_int_equal(azure_connection_parse(bad[i].s, &c, &err), -EINVAL);
                assert_string_equal(err, bad[i].error);
                /* no message repeats a value */
                assert_null(strstr(err, KEY_B64));
                free(err);
        }
}

static void test_blob_from_connection(void **state) {
        struct azure_connection c;
        assert_int_equal(azure_connection_parse("AccountName=devstoreaccount1;AccountKey=" KEY_B64
                                                ";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1",
                                                &c, NULL), 0);
        struct azure_blob b;
        assert_int_equal(azure_blob_from_connection(&c, "images", "dir/my disk.vhd", &b, NULL), 0);
        assert_string_equal(b.url, "http://127.0.0.1:10000/devstoreaccount1/images/dir/my%20disk.vhd");
        assert_string_equal(b.account, "devstoreaccount1");
        assert_int_equal(b.key_len, 64);
        assert_int_equal(b.key[63], 63);
        assert_null(b.sas);
        assert_true(strv_contains(b.secrets, KEY_B64));
        azure_blob_done(&b);
        azure_connection_done(&c);
}

static void test_blob_from_sas_url(void **state) {
        struct azure_blob b;
        _cleanup_free_ char *err = NULL;
        assert_int_equal(azure_blob_from_sas_url("https://acct.blob.core.windows.net/images/disk.vhd"
                                                 "?sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=rcw&sig=AbC%2Bd%3D",
                                                 NULL, &b, &err), 0);
        assert_string_equal(b.url, "https://acct.blob.core.windows.net/images/disk.vhd");
        assert_string_equal(b.container, "images");
        assert_string_equal(b.name, "disk.vhd");
        assert_null(b.account);
        assert_string_equal(b.sas, "sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=rcw&sig=AbC%2Bd%3D");
        assert_int_equal(b.sas_expiry, 4070908800);
        assert_true(strv_contains(b.secrets, "AbC%2Bd%3D"));
        assert_true(strv_contains(b.secrets, "AbC+d="));
        azure_blob_done(&b);

        /* a container's URL with --name; the emulator's path-style URL */
        assert_int_equal(azure_blob_from_sas_url("http://127.0.0.1:10000/devstoreaccount1/images?sp=rcw&sig=x", "a b.vhd",
                                                 &b, &err), 0);
        assert_string_equal(b.url, "http://127.0.0.1:10000/devstoreaccount1/images/a%20b.vhd");
        assert_string_equal(b.container, "images");
        assert_string_equal(b.name, "a b.vhd");
        assert_int_equal(b.sas_expiry, 0);
        azure_blob_done(&b);

        static const struct {
                const char *url, *error;
        } bad[] = {
                { "https://acct.blob.core.windows.net/images/disk.vhd", "--sas-url: the URL has no SAS token (no query string)" },
                { "https://acct.blob.core.windows.net/images/disk.vhd?sv=1&sp=r", "the SAS token has no signature (sig=)" },
                { "https://acct.blob.core.windows.net/images?sv=1&sig=s",
                  "--sas-url: https://acct.blob.core.windows.net/images does not name a container and a blob (with a container's URL, give --name)" },
                { "https://acct.blob.core.windows.net/c/b?se=tomorrow&sig=s", "the SAS token's expiry (se=) is not a time" },
                { "ftp://x/c/b?sig=s", "--sas-url: not an http(s) URL" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *e = NULL;
                assert_int_equal(azure_blob_from_sas_url(bad[i].url, NULL, &b, &e), -EINVAL);
                assert_string_equal(e, bad[i].error);
                free(e);
        }
}

static void test_mask(void **state) {
        char *const secrets[] = { "sv=1&sig=SeCrEt%3D", "SeCrEt%3D", "SeCrEt=", DEV_KEY, NULL };
        static const struct {
                const char *in, *out;
        } cases[] = {
                /* a SAS URL: the whole query is a secret, and the sig alone too */
                { "GET https://a.blob.core.windows.net/c/b?sv=1&sig=SeCrEt%3D failed",
                  "GET https://a.blob.core.windows.net/c/b?*** failed" },
                { "signature SeCrEt= did not match", "signature *** did not match" },
                /* any sig= parameter, even one not registered */
                { "url ...?sp=r&sig=other%2Bsig&se=2026 x", "url ...?sp=r&sig=***&se=2026 x" },
                { "<Message>sig=abc</Message>", "<Message>sig=***</Message>" },
                { "AccountName=a;AccountKey=" DEV_KEY ";BlobEndpoint=x", "AccountName=a;AccountKey=***;BlobEndpoint=x" },
                { "AccountKey=zzz;", "AccountKey=***;" },
                { "SharedAccessSignature=sv=1&sp=r;x", "SharedAccessSignature=***;x" },
                { "Authorization: SharedKey acct:AbCd+/==", "Authorization: SharedKey acct:***" },
                { "the key " DEV_KEY " leaked", "the key *** leaked" },
                { "nothing secret here", "nothing secret here" },
                { "", "" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *m = azure_mask(cases[i].in, secrets);
                assert_string_equal(m, cases[i].out);
        }
        _cleanup_free_ char *m = azure_mask("sig=x", NULL);
        assert_string_equal(m, "sig=***");
        assert_null(azure_mask(NULL, secrets));
}

static void test_error_parse(void **state) {
        const char *xml = "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
                          "<Message>Server failed to authenticate the request. Make sure &quot;x&quot; &amp; y.\n"
                          "RequestId:1f\nTime:2026-01-01T00:00:00.0000000Z</Message>"
                          "<AuthenticationErrorDetail>The MAC signature found in the HTTP request 'abc' is not the same"
                          "</AuthenticationErrorDetail></Error>";
        char *code, *msg;
        azure_error_parse(xml, strlen(xml), &code, &msg);
        assert_string_equal(code, "AuthenticationFailed");
        assert_string_equal(msg, "Server failed to authenticate the request. Make sure \"x\" & y.");
        free(code);
        free(msg);
        azure_error_parse("", 0, &code, &msg);
        assert_null(code);
        assert_null(msg);
        azure_error_parse(NULL, 0, &code, &msg);
        assert_null(code);
}

static void test_page_list(void **state) {
        const char *xml = "<?xml version=\"1.0\"?><PageList><PageRange><Start>0</Start><End>511</End></PageRange>"
                          "<ClearRange><Start>512</Start><End>1023</End></ClearRange>"
                          "<PageRange><Start>4194304</Start><End>8388607</End></PageRange>"
                          "<NextMarker>2!104!MDAwMDQ2</NextMarker></PageList>";
        struct upload_range *r = NULL;
        size_t n = 0;
        char *marker = NULL;
        assert_int_equal(azure_page_list_parse(xml, strlen(xml), &r, &n, &marker), 0);
        assert_int_equal(n, 2);
        assert_int_equal(r[0].offset, 0);
        assert_int_equal(r[0].length, 512);
        assert_int_equal(r[1].offset, 4194304);
        assert_int_equal(r[1].length, 4194304);
        assert_string_equal(marker, "2!104!MDAwMDQ2");
        free(marker);
        /* the last part: an empty marker */
        const char *last = "<PageList><PageRange><Start>1024</Start><End>1535</End></PageRange><NextMarker /></PageList>";
        assert_int_equal(azure_page_list_parse(last, strlen(last), &r, &n, &marker), 0);
        assert_int_equal(n, 3);
        assert_null(marker);
        /* merged: [0,512) and [512,...) touch; [1024,1536) lies in between the others */
        r = xrealloc(r, 4 * sizeof *r);
        r[3] = (struct upload_range){ 512, 512 };
        n = upload_ranges_normalize(r, 4);
        assert_int_equal(n, 2);
        assert_int_equal(r[0].offset, 0);
        assert_int_equal(r[0].length, 1536);
        assert_int_equal(r[1].offset, 4194304);
        free(r);

        static const char *const bad[] = {
                "<PageList><PageRange><Start>1</Start><End>512</End></PageRange></PageList>",
                "<PageList><PageRange><Start>512</Start><End>511</End></PageRange></PageList>",
                "<PageList><PageRange><Start>0</Start><End>510</End></PageRange></PageList>",
                "<PageList><PageRange><Start>x</Start><End>511</End></PageRange></PageList>",
                "<PageList><PageRange><Start>0</Start></PageRange></PageList>",
                "<PageList><PageRange><Start>99999999999999999999999</Start><End>511</End></PageRange></PageList>",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                struct upload_range *x = NULL;
                size_t nx = 0;
                char *m = NULL;
                assert_int_equal(azure_page_list_parse(bad[i], strlen(bad[i]), &x, &nx, &m), -EBADMSG);
                free(x);
                free(m);
        }
}

static void test_times(void **state) {
        char d[32];
        azure_http_date(1255297753, d);
        assert_string_equal(d, "Sun, 11 Oct 2009 21:49:13 GMT");
        time_t t;
        assert_int_equal(azure_parse_time("2009-10-11T21:49:13Z", &t), 0);
        assert_int_equal(t, 1255297753);
        assert_int_equal(azure_parse_time("2009-10-11T21:49Z", &t), 0);
        assert_int_equal(t, 1255297740);
        assert_int_equal(azure_parse_time("2009-10-11", &t), 0);
        assert_int_equal(t, 1255219200);
        assert_int_equal(azure_parse_time("2009-10-11T21:49:13.1234567Z", &t), 0);
        assert_int_equal(t, 1255297753);
        assert_int_equal(azure_parse_time("2009-13-11", &t), -EINVAL);
        assert_int_equal(azure_parse_time("2009-10-11T21:49:13+02:00", &t), -EINVAL);
        assert_int_equal(azure_parse_time("soon", &t), -EINVAL);
}

static void test_url_coding(void **state) {
        _cleanup_free_ char *e = azure_url_encode("dir/a b+c%~.vhd", true);
        assert_string_equal(e, "dir/a%20b%2Bc%25~.vhd");
        _cleanup_free_ char *e2 = azure_url_encode("a/b", false);
        assert_string_equal(e2, "a%2Fb");
        _cleanup_free_ char *d = azure_url_decode("a%20b%2fc%zz%4", 14);
        assert_string_equal(d, "a b/c%zz%4");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_string_to_sign_put_page),
                cmocka_unit_test(test_string_to_sign_emulator_get),
                cmocka_unit_test(test_standard_headers_order),
                cmocka_unit_test(test_connection_string),
                cmocka_unit_test(test_connection_string_errors),
                cmocka_unit_test(test_blob_from_connection),
                cmocka_unit_test(test_blob_from_sas_url),
                cmocka_unit_test(test_mask),
                cmocka_unit_test(test_error_parse),
                cmocka_unit_test(test_page_list),
                cmocka_unit_test(test_times),
                cmocka_unit_test(test_url_coding),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
