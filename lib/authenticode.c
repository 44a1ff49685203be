/* SPDX-License-Identifier: MIT */
#include "authenticode.h"

#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Microsoft Corporation UEFI CA 2011 (issued by Microsoft Corporation
 * Third Party Marketplace Root; SHA-256 48e99b991f57fc52f76149599bff0a58
 * c47154229b9f8d603ac40d3500248507): the db certificate UEFI firmware with
 * Microsoft's keys trusts for third-party loaders such as shim.  Taken from
 * the db of Debian's OVMF_VARS_4M.ms.fd (package ovmf), which enrolls
 * Microsoft's published certificates.  Microsoft's newer "UEFI CA 2023" is
 * not in that db; shim from Debian trixie carries a signature for each. */
static const char microsoft_uefi_ca_2011_pem[] =
        "-----BEGIN CERTIFICATE-----\n"
        "MIIGEDCCA/igAwIBAgIKYQjTxAAAAAAABDANBgkqhkiG9w0BAQsFADCBkTELMAkG\n"
        "A1UEBhMCVVMxEzARBgNVBAgTCldhc2hpbmd0b24xEDAOBgNVBAcTB1JlZG1vbmQx\n"
        "HjAcBgNVBAoTFU1pY3Jvc29mdCBDb3Jwb3JhdGlvbjE7MDkGA1UEAxMyTWljcm9z\n"
        "b2Z0IENvcnBvcmF0aW9uIFRoaXJkIFBhcnR5IE1hcmtldHBsYWNlIFJvb3QwHhcN\n"
        "MTEwNjI3MjEyMjQ1WhcNMjYwNjI3MjEzMjQ1WjCBgTELMAkGA1UEBhMCVVMxEzAR\n"
        "BgNVBAgTCldhc2hpbmd0b24xEDAOBgNVBAcTB1JlZG1vbmQxHjAcBgNVBAoTFU1p\n"
        "Y3Jvc29mdCBDb3Jwb3JhdGlvbjErMCkGA1UEAxMiTWljcm9zb2Z0IENvcnBvcmF0\n"
        "aW9uIFVFRkkgQ0EgMjAxMTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEB\n"
        "AKUIbEzHRQlqSwykwId/BnUMQwFUZOAWfwftkn0LsnO/DArGSkVhoMUWLZbT9Sug\n"
        "+01Jm0GAkDy5VP3mvNGdxKQYin9BilxZg2gyu4xHye5xvCFPmop8/0Q/jY8ysiZI\n"
        "rnW17slMHkoZfuSCmh14d00MsL32D9MW07z6K6VROF31+7rbeALb/+wKG5bVg7gZ\n"
        "E+m2wHtAe+EfKCfJ+u9WXhzmfpR+wPBEsnk55dqyYotNvzhw4mgkFMkzpAg31Vhp\n"
        "XtN87cEEUwjnTrAqh2MIYW9jFVnqsit51wxhZ4pb/V6th3+6hmdPcVgSIgQiIs6L\n"
        "71RxAM5QNVh2lQjuarGiAdUCAwEAAaOCAXYwggFyMBIGCSsGAQQBgjcVAQQFAgMB\n"
        "AAEwIwYJKwYBBAGCNxUCBBYEFPjBa7d/d1NK8yU3HU6hJnsPIHCAMB0GA1UdDgQW\n"
        "BBQTrb9DCb2CcJyM1U8xbtUimIob1DAZBgkrBgEEAYI3FAIEDB4KAFMAdQBiAEMA\n"
        "QTALBgNVHQ8EBAMCAYYwDwYDVR0TAQH/BAUwAwEB/zAfBgNVHSMEGDAWgBRFZlJD\n"
        "4X5YEb/WTp4jVQg7OiJqqDBcBgNVHR8EVTBTMFGgT6BNhktodHRwOi8vY3JsLm1p\n"
        "Y3Jvc29mdC5jb20vcGtpL2NybC9wcm9kdWN0cy9NaWNDb3JUaGlQYXJNYXJSb29f\n"
        "MjAxMC0xMC0wNS5jcmwwYAYIKwYBBQUHAQEEVDBSMFAGCCsGAQUFBzAChkRodHRw\n"
        "Oi8vd3d3Lm1pY3Jvc29mdC5jb20vcGtpL2NlcnRzL01pY0NvclRoaVBhck1hclJv\n"
        "b18yMDEwLTEwLTA1LmNydDANBgkqhkiG9w0BAQsFAAOCAgEANQhC/zDMzvd2DK0Q\n"
        "aFg1KUYydid87xJBJ0IbSqptgThIWRNV8+lYNKYWC4KqXa2C2oCDQQaPtB3yA7nz\n"
        "Gl0b8VCQ+bNVhEIoHCC9sq5RFMXArJeVIRyQ2w/8d56Vc5GIyr29UrkFUA3fV56g\n"
        "Ye0N5W0l2UAPF0DIzqNKwk2vmhIdCFSPvce8uSs9SSsfMvxqIWlPm8h+QjT8NgYX\n"
        "i48gQMCzmiV1J83JA6P2XdHnNlR6uVC10xLRB7+7dN/cHo+A1e0Y9C8UFmsv3maM\n"
        "sCPlx4TY7erBM4KtVksYLfFolQfNz/By8K673YaFmCwhTDMr8A9K8GiHtZJVMnWh\n"
        "aoJqPKMlEaTtrdcErsvYQFmghNGVTGKRIhp0HYw9Rw5EpuSwmzQ1sfq2U6gsgeyk\n"
        "BXHInbi66BtEZuRHVA6OVn+znxaYsobQaD6QI7UvXo9QhY3GjYJfQaH0Lg3gmdJs\n"
        "deS2abUhhvoH0fbiTdHarSx3Ux4lMjfHbFJylYaw8TVhahn1sjuBUFamMi3+oon5\n"
        "QoYnGFWhgspam/gwmFQUpkeWJS/IJuRBlBpcAj/lluOFWzw+P7tHFnJV4iUisdl7\n"
        "5wMGKqP3HpBGwwAN1hmJ4w41J2IDcRWm79AnoKBZN2D4OJS44Hhw+LpMhoeU9uCu\n"
        "AkXuZcK2o35pFnUHkpv1prxZg1g=\n"
        "-----END CERTIFICATE-----\n"
        ;

const struct authenticode_anchor authenticode_microsoft_uefi_ca[] = {
        { "Microsoft Corporation UEFI CA 2011", microsoft_uefi_ca_2011_pem },
};
const size_t authenticode_microsoft_uefi_ca_count = ELEMENTSOF(authenticode_microsoft_uefi_ca);

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* What the image hash needs of the PE headers. */
struct pe_layout {
        size_t checksum_off;        /* the optional header's CheckSum */
        size_t certdir_off;         /* the Certificate Table data directory entry */
        size_t headers_size;        /* SizeOfHeaders */
        uint32_t cert_off, cert_size;
        size_t sections_off;        /* the section table */
        unsigned n_sections;
};

/* True when [off, off + n) lies within len, without overflow. */
static bool in_bounds(size_t off, size_t n, size_t len) {
        return off <= len && n <= len - off;
}

static bool pe_parse(const uint8_t *d, size_t len, struct pe_layout *pe) {
        if (len < 0x40 || d[0] != 'M' || d[1] != 'Z')
                return false;
        size_t nt = le32(d + 0x3c);
        if (!in_bounds(nt, 24, len) || memcmp(d + nt, "PE\0\0", 4) != 0)
                return false;
        const uint8_t *coff = d + nt + 4;
        pe->n_sections = le16(coff + 2);
        size_t opt_size = le16(coff + 16), opt = nt + 24;
        if (!in_bounds(opt, opt_size, len) || opt_size < 2)
                return false;
        uint16_t magic = le16(d + opt);
        size_t dd, nrva_off;
        if (magic == 0x10b) {           /* PE32 */
                dd = 96;
                nrva_off = 92;
        } else if (magic == 0x20b) {    /* PE32+ */
                dd = 112;
                nrva_off = 108;
        } else
                return false;
        if (opt_size < dd)
                return false;
        uint32_t nrva = le32(d + opt + nrva_off);
        pe->checksum_off = opt + 64;
        pe->headers_size = le32(d + opt + 60);
        pe->sections_off = opt + opt_size;
        if (!in_bounds(pe->sections_off, (size_t)pe->n_sections * 40, len) || pe->headers_size > len ||
            pe->headers_size < pe->sections_off)
                return false;
        pe->cert_off = pe->cert_size = 0;
        pe->certdir_off = opt + dd + 4 * 8;     /* directory 4: the Certificate Table */
        if (nrva > 4 && opt_size >= dd + 5 * 8) {
                pe->cert_off = le32(d + pe->certdir_off);       /* a file offset, not an RVA */
                pe->cert_size = le32(d + pe->certdir_off + 4);
                if (pe->cert_size && !in_bounds(pe->cert_off, pe->cert_size, len))
                        return false;
        } else
                pe->certdir_off = 0;
        return true;
}

struct section_span { uint32_t off, size; };

static int cmp_span(const void *a, const void *b) {
        const struct section_span *x = a, *y = b;
        return x->off < y->off ? -1 : x->off > y->off;
}

/* The Authenticode image hash (as EDK2's DxeImageVerificationLib computes
 * it): headers without CheckSum and the Certificate Table entry, the
 * sections in file order, then what follows them up to the certificate
 * table.  0, or -EBADMSG when a section lies outside the file. */
static int pe_image_hash(const uint8_t *d, size_t len, const struct pe_layout *pe, const EVP_MD *md, uint8_t *out,
                         unsigned *out_len) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c)
                return -ENOMEM;
        int r = 0;
        EVP_DigestInit_ex(c, md, NULL);
        EVP_DigestUpdate(c, d, pe->checksum_off);
        if (pe->certdir_off) {
                EVP_DigestUpdate(c, d + pe->checksum_off + 4, pe->certdir_off - (pe->checksum_off + 4));
                EVP_DigestUpdate(c, d + pe->certdir_off + 8, pe->headers_size - (pe->certdir_off + 8));
        } else
                EVP_DigestUpdate(c, d + pe->checksum_off + 4, pe->headers_size - (pe->checksum_off + 4));
        struct section_span *s = xcalloc(pe->n_sections ? pe->n_sections : 1, sizeof(*s));
        size_t n = 0;
        for (unsigned i = 0; i < pe->n_sections; i++) {
                const uint8_t *sh = d + pe->sections_off + (size_t)i * 40;
                uint32_t size = le32(sh + 16), off = le32(sh + 20);
                if (size == 0)
                        continue;
                if (!in_bounds(off, size, len)) {
                        r = -EBADMSG;
                        goto out;
                }
                s[n++] = (struct section_span){ off, size };
        }
        qsort(s, n, sizeof(*s), cmp_span);
        uint64_t hashed = pe->headers_size;
        for (size_t i = 0; i < n; i++) {
                EVP_DigestUpdate(c, d + s[i].off, s[i].size);
                hashed += s[i].size;
        }
        uint64_t end = (uint64_t)len - pe->cert_size;
        if (hashed < end)
                EVP_DigestUpdate(c, d + hashed, (size_t)(end - hashed));
        EVP_DigestFinal_ex(c, out, out_len);
out:
        free(s);
        EVP_MD_CTX_free(c);
        return r;
}

static char *name_cn(X509_NAME *name) {
        int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
        if (i >= 0) {
                ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
                unsigned char *u = NULL;
                int n = ASN1_STRING_to_UTF8(&u, s);
                if (n >= 0) {
                        char *r = xstrndup((const char *)u, (size_t)n);
                        OPENSSL_free(u);
                        return r;
                }
        }
        char *line = X509_NAME_oneline(name, NULL, 0);
        char *r = xstrdup(line ? line : "?");
        OPENSSL_free(line);
        return r;
}

static X509_STORE *anchor_store(const struct authenticode_anchor *anchors, size_t n) {
        X509_STORE *st = X509_STORE_new();
        if (!st)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                BIO *b = BIO_new_mem_buf(anchors[i].pem, -1);
                X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
                if (x)
                        X509_STORE_add_cert(st, x);
                X509_free(x);
                BIO_free(b);
        }
        /* A db entry is trusted as it is (it need not be a root), and
         * firmware has no clock to check validity periods against. */
        X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
        X509_STORE_set_purpose(st, X509_PURPOSE_ANY);
        return st;
}

static const char SPC_INDIRECT_DATA_OID[] = "1.3.6.1.4.1.311.2.1.4";

/* Checks one PKCS#7 SignedData blob. */
static void check_one(const uint8_t *d, size_t len, const struct pe_layout *pe, const uint8_t *blob, size_t blob_len,
                      X509_STORE *store, struct authenticode_signature *sig) {
        const unsigned char *p = blob;
        PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)blob_len);
        STACK_OF(X509) *signers = NULL;
        X509_SIG *di = NULL;
        BIO *content = NULL;
        X509_STORE_CTX *ctx = NULL;
        if (!p7 || !PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents) {
                sig->problem = xstrdup("not a PKCS#7 SignedData");
                goto out;
        }
        PKCS7 *inner = p7->d.sign->contents;
        char oid[64];
        OBJ_obj2txt(oid, sizeof(oid), inner->type, 1);
        if (strcmp(oid, SPC_INDIRECT_DATA_OID) != 0 || !inner->d.other || inner->d.other->type != V_ASN1_SEQUENCE) {
                sig->problem = xasprintf("the signed content is %s, not SpcIndirectDataContent", oid);
                goto out;
        }
        /* SpcIndirectDataContent ::= SEQUENCE { data SpcAttributeTypeAndOptionalValue,
         * messageDigest DigestInfo }.  The signature covers the SEQUENCE's
         * contents, without its tag and length. */
        const ASN1_STRING *seq = inner->d.other->value.sequence;
        const unsigned char *q = ASN1_STRING_get0_data(seq), *start = q;
        long clen = 0, elen = 0;
        int tag, xclass;
        if (ASN1_get_object(&q, &clen, &tag, &xclass, ASN1_STRING_length(seq)) & 0x80 || tag != V_ASN1_SEQUENCE) {
                sig->problem = xstrdup("malformed SpcIndirectDataContent");
                goto out;
        }
        const unsigned char *body = q;
        long body_len = ASN1_STRING_length(seq) - (long)(q - start);
        if (clen > body_len) {
                sig->problem = xstrdup("malformed SpcIndirectDataContent");
                goto out;
        }
        const unsigned char *e = q;
        if (ASN1_get_object(&e, &elen, &tag, &xclass, clen) & 0x80 || elen > clen - (e - q)) {
                sig->problem = xstrdup("malformed SpcIndirectDataContent");
                goto out;
        }
        e += elen;                      /* past SpcAttributeTypeAndOptionalValue */
        const unsigned char *dq = e;
        di = d2i_X509_SIG(NULL, &dq, clen - (e - q));
        if (!di) {
                sig->problem = xstrdup("SpcIndirectDataContent without a DigestInfo");
                goto out;
        }
        const X509_ALGOR *alg = NULL;
        const ASN1_OCTET_STRING *want = NULL;
        X509_SIG_get0(di, &alg, &want);
        const ASN1_OBJECT *aobj = NULL;
        X509_ALGOR_get0(&aobj, NULL, NULL, alg);
        const EVP_MD *md = EVP_get_digestbyobj(aobj);
        if (!md) {
                sig->problem = xstrdup("unknown image digest algorithm");
                goto out;
        }
        uint8_t got[EVP_MAX_MD_SIZE];
        unsigned got_len = 0;
        if (pe_image_hash(d, len, pe, md, got, &got_len) < 0) {
                sig->problem = xstrdup("a section lies outside the file");
                goto out;
        }
        sig->digest_matches = (int)got_len == ASN1_STRING_length(want) && memcmp(got, ASN1_STRING_get0_data(want), got_len) == 0;

        signers = PKCS7_get0_signers(p7, NULL, 0);
        STACK_OF(PKCS7_SIGNER_INFO) *infos = PKCS7_get_signer_info(p7);
        if (!signers || sk_X509_num(signers) != 1 || !infos || sk_PKCS7_SIGNER_INFO_num(infos) != 1) {
                ERR_clear_error();
                sig->problem = xstrdup("not exactly one signer in the signature");
                goto out;
        }
        X509 *leaf = sk_X509_value(signers, 0);

        /* The signature itself, without the chain (checked below, to learn
         * which anchor it reaches): what PKCS7_verify does, spelled out,
         * because OpenSSL 3.0's PKCS7_verify leaks its content copy when
         * the signature's digest setup fails on a damaged signature. */
        content = BIO_new_mem_buf(body, (int)clen);
        BIO *p7bio = content ? PKCS7_dataInit(p7, content) : NULL;
        if (p7bio) {
                content = NULL;         /* now the end of p7bio's chain */
                char buf[4096];
                while (BIO_read(p7bio, buf, sizeof(buf)) > 0)
                        ;
                sig->signature_valid = PKCS7_signatureVerify(p7bio, p7, sk_PKCS7_SIGNER_INFO_value(infos, 0), leaf) == 1;
                BIO_free_all(p7bio);
        }
        ERR_clear_error();
        sig->signer = name_cn(X509_get_subject_name(leaf));
        sig->issuer = name_cn(X509_get_issuer_name(leaf));

        ctx = X509_STORE_CTX_new();
        if (ctx && X509_STORE_CTX_init(ctx, store, leaf, p7->d.sign->cert) == 1 && X509_verify_cert(ctx) == 1) {
                STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
                X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);
                sig->anchor = name_cn(X509_get_subject_name(top));
                uint8_t fp[EVP_MAX_MD_SIZE];
                unsigned fl = 0;
                X509_digest(top, EVP_sha256(), fp, &fl);
                sig->anchor_sha256 = xcalloc(1, fl * 2 + 1);
                for (unsigned i = 0; i < fl; i++)
                        sprintf(sig->anchor_sha256 + 2 * i, "%02x", fp[i]);
        } else {
                int err = ctx ? X509_STORE_CTX_get_error(ctx) : 0;
                sig->problem = xasprintf("its chain reaches no trusted anchor (%s)", X509_verify_cert_error_string(err));
                ERR_clear_error();
                goto out;
        }
        if (!sig->digest_matches)
                sig->problem = xstrdup("the signed image hash is not this image's (modified after signing)");
        else if (!sig->signature_valid)
                sig->problem = xstrdup("the PKCS#7 signature does not verify");
out:
        X509_STORE_CTX_free(ctx);
        sk_X509_free(signers);
        BIO_free(content);
        X509_SIG_free(di);
        PKCS7_free(p7);
        ERR_clear_error();
}

int authenticode_check(const uint8_t *data, size_t len, const struct authenticode_anchor *anchors, size_t n_anchors,
                       struct authenticode_info *ret) {
        *ret = (struct authenticode_info){ 0 };
        struct pe_layout pe;
        if (!pe_parse(data, len, &pe))
                return 0;
        ret->is_pe = true;
        if (pe.cert_size == 0)
                return 0;
        X509_STORE *store = anchor_store(anchors, n_anchors);
        if (!store)
                return -ENOMEM;
        /* WIN_CERTIFICATE { u32 dwLength; u16 wRevision; u16 wCertificateType; bCertificate },
         * each 8-byte aligned; type 2 is PKCS#7 SignedData. */
        size_t at = pe.cert_off, end = (size_t)pe.cert_off + pe.cert_size;
        while (at + 8 <= end && ret->n_sigs < 16) {
                uint32_t l = le32(data + at);
                uint16_t type = le16(data + at + 6);
                if (l < 8 || l > end - at)
                        break;
                if (type == 0x0002) {
                        ret->sigs = xrealloc(ret->sigs, (ret->n_sigs + 1) * sizeof(*ret->sigs));
                        struct authenticode_signature *s = &ret->sigs[ret->n_sigs++];
                        *s = (struct authenticode_signature){ 0 };
                        check_one(data, len, &pe, data + at + 8, l - 8, store, s);
                }
                at += ALIGN_UP((size_t)l, 8);
        }
        X509_STORE_free(store);
        return 0;
}

void authenticode_info_done(struct authenticode_info *info) {
        for (size_t i = 0; i < info->n_sigs; i++) {
                struct authenticode_signature *s = &info->sigs[i];
                free(s->signer);
                free(s->issuer);
                free(s->anchor);
                free(s->anchor_sha256);
                free(s->problem);
        }
        free(info->sigs);
        *info = (struct authenticode_info){ 0 };
}

const struct authenticode_signature *authenticode_trusted(const struct authenticode_info *info) {
        for (size_t i = 0; i < info->n_sigs; i++)
                if (info->sigs[i].anchor && !info->sigs[i].problem)
                        return &info->sigs[i];
        return NULL;
}
