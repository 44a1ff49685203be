/* SPDX-License-Identifier: MIT */
/* timeout: 60 (tests/run-all.sh) */
/* Authenticode checks (lib/authenticode.c) on the fixtures that
 * tests/fixtures/authenticode/make.sh made with sbsign: a chain that
 * reaches its anchor through an intermediate the signature carries, one
 * that reaches none, an unsigned image, a modified one, and damaged
 * headers, none of which may crash or read out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "authenticode.h"
#include "util.h"

#define FIX "tests/fixtures/authenticode/"

static char *fixture(const char *name, size_t *len) {
        char *d = NULL;
        if (read_file(name, &d, len) < 0)
                fail_msg("cannot read %s (run the unit tests from the source tree)", name);
        return d;
}

static struct authenticode_anchor anchor(const char *name, const char *file) {
        size_t n;
        return (struct authenticode_anchor){ name, fixture(file, &n) };
}

static void test_chain_to_root(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.signed.efi", &len);
        struct authenticode_anchor a[] = { anchor("other", FIX "other-root.crt"), anchor("root", FIX "root.crt") };
        struct authenticode_info info;
        assert_int_equal(authenticode_check((uint8_t *)img, len, a, 2, &info), 0);
        assert_true(info.is_pe);
        assert_int_equal(info.n_sigs, 1);
        const struct authenticode_signature *s = authenticode_trusted(&info);
        assert_non_null(s);
        assert_string_equal(s->signer, "Test Signer");
        assert_string_equal(s->issuer, "Test Intermediate");
        assert_string_equal(s->anchor, "Test Root");
        assert_int_equal(strlen(s->anchor_sha256), 64);
        assert_true(s->digest_matches);
        assert_true(s->signature_valid);
        authenticode_info_done(&info);
        /* An intermediate as the anchor is a partial chain, as a db entry
         * that is not a root (Microsoft's UEFI CA 2011) is. */
        struct authenticode_anchor mid = anchor("mid", FIX "intermediate.crt");
        assert_int_equal(authenticode_check((uint8_t *)img, len, &mid, 1, &info), 0);
        assert_non_null(authenticode_trusted(&info));
        assert_string_equal(info.sigs[0].anchor, "Test Intermediate");
        authenticode_info_done(&info);
        free((char *)mid.pem);
        free((char *)a[0].pem);
        free((char *)a[1].pem);
        free(img);
}

static void test_no_anchor(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.signed.efi", &len);
        struct authenticode_info info;
        /* Microsoft's anchors do not vouch for the test signer. */
        assert_int_equal(authenticode_check((uint8_t *)img, len, authenticode_microsoft_uefi_ca,
                                            authenticode_microsoft_uefi_ca_count, &info), 0);
        assert_int_equal(info.n_sigs, 1);
        assert_null(authenticode_trusted(&info));
        assert_null(info.sigs[0].anchor);
        assert_non_null(strstr(info.sigs[0].problem, "reaches no trusted anchor"));
        assert_string_equal(info.sigs[0].signer, "Test Signer");
        authenticode_info_done(&info);
        free(img);
}

static void test_unsigned_and_not_pe(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.efi", &len);
        struct authenticode_info info;
        assert_int_equal(authenticode_check((uint8_t *)img, len, NULL, 0, &info), 0);
        assert_true(info.is_pe);
        assert_int_equal(info.n_sigs, 0);
        assert_null(authenticode_trusted(&info));
        authenticode_info_done(&info);
        const char text[] = "#!/bin/sh\necho not a PE\n";
        assert_int_equal(authenticode_check((const uint8_t *)text, sizeof(text), NULL, 0, &info), 0);
        assert_false(info.is_pe);
        free(img);
}

static void test_modified_after_signing(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.signed.efi", &len);
        struct authenticode_anchor root = anchor("root", FIX "root.crt");
        img[0x200] ^= 0x01;     /* the .text section's first byte */
        struct authenticode_info info;
        assert_int_equal(authenticode_check((uint8_t *)img, len, &root, 1, &info), 0);
        assert_int_equal(info.n_sigs, 1);
        assert_false(info.sigs[0].digest_matches);
        assert_null(authenticode_trusted(&info));
        assert_non_null(strstr(info.sigs[0].problem, "modified after signing"));
        authenticode_info_done(&info);
        free((char *)root.pem);
        free(img);
}


static void test_bad_signature_value(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.signed.efi", &len);
        struct authenticode_anchor root = anchor("root", FIX "root.crt");
        /* The Certificate Table entry (optional header 0x98 + 112 + 4 * 8)
         * gives the WIN_CERTIFICATE; its PKCS#7 ends with the signer's RSA
         * signature value. */
        const uint8_t *u = (const uint8_t *)img;
        uint32_t off = u[0x128] | u[0x129] << 8 | u[0x12a] << 16 | (uint32_t)u[0x12b] << 24;
        uint32_t wlen = u[off] | u[off + 1] << 8 | u[off + 2] << 16 | (uint32_t)u[off + 3] << 24;
        assert_true(off + wlen <= len);
        img[off + wlen - 10] ^= 0x40;
        struct authenticode_info info;
        assert_int_equal(authenticode_check((uint8_t *)img, len, &root, 1, &info), 0);
        assert_int_equal(info.n_sigs, 1);
        assert_true(info.sigs[0].digest_matches);
        assert_false(info.sigs[0].signature_valid);
        assert_null(authenticode_trusted(&info));
        assert_non_null(strstr(info.sigs[0].problem, "does not verify"));
        authenticode_info_done(&info);
        free((char *)root.pem);
        free(img);
}

static void test_damaged(void **state) {
        (void)state;
        size_t len;
        char *img = fixture(FIX "min.signed.efi", &len);
        struct authenticode_anchor root = anchor("root", FIX "root.crt");
        struct authenticode_info info;
        /* Every prefix, and every single byte of the headers and the
         * certificate table set to 0xff: any answer but a crash. */
        for (size_t n = 0; n < len; n += 7) {
                char *copy = xmalloc(n + 1);
                memcpy(copy, img, n);
                assert_int_equal(authenticode_check((uint8_t *)copy, n, &root, 1, &info), 0);
                authenticode_info_done(&info);
                free(copy);
        }
        for (size_t i = 0; i < len; i++) {
                if (i >= 0x200 && i < 0x400)
                        continue;       /* section data: only the hash changes */
                char *copy = xmalloc(len);
                memcpy(copy, img, len);
                copy[i] = (char)0xff;
                assert_int_equal(authenticode_check((uint8_t *)copy, len, &root, 1, &info), 0);
                /* Every header byte is covered by the hash but the CheckSum
                 * (the optional header starts at 0x80 + 24 = 0x98; CheckSum is
                 * 64 bytes in, 0xd8) and the table entry. */
                if (i < 0x200 && !(i >= 0xd8 && i < 0xdc) && authenticode_trusted(&info))
                        fail_msg("byte 0x%zx of the headers changed and the image is still trusted", i);
                authenticode_info_done(&info);
                free(copy);
        }
        free((char *)root.pem);
        free(img);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chain_to_root),
                cmocka_unit_test(test_no_anchor),
                cmocka_unit_test(test_unsigned_and_not_pe),
                cmocka_unit_test(test_modified_after_signing),
                cmocka_unit_test(test_bad_signature_value),
                cmocka_unit_test(test_damaged),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
