/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Authenticode signatures of a PE/COFF image (an EFI binary), checked the
 * way UEFI firmware checks them (EDK2's DxeImageVerificationLib, after
 * Microsoft's "Windows Authenticode Portable Executable Signature Format"):
 * the image hash over headers and sections without the checksum, the
 * certificate-table entry and the table itself; each WIN_CERTIFICATE a
 * PKCS#7 SignedData whose SpcIndirectDataContent carries that hash; the
 * PKCS#7 signature valid for its signer; the signer's chain, through the
 * certificates the signature carries, reaching a trust anchor as a db
 * entry would (a partial chain: the anchor need not be a root; no time
 * check, as firmware has no trusted clock). */

struct authenticode_anchor {
        const char *name;       /* "Microsoft Corporation UEFI CA 2011" */
        const char *pem;        /* its certificate */
};

/* The anchors of Azure's Trusted Launch db that sign third-party boot
 * loaders (shim): Microsoft's UEFI CA 2011. */
extern const struct authenticode_anchor authenticode_microsoft_uefi_ca[];
extern const size_t authenticode_microsoft_uefi_ca_count;

struct authenticode_signature {
        char *signer;           /* the signing certificate's subject CN (or whole subject) */
        char *issuer;           /* its issuer's CN */
        char *anchor;           /* the anchor the chain reached, NULL when none */
        char *anchor_sha256;    /* that anchor certificate's SHA-256, hex */
        bool digest_matches;    /* the signed image hash is this image's */
        bool signature_valid;   /* the PKCS#7 signature verifies with the signer's key */
        char *problem;          /* why it does not hold, one line; NULL when all holds */
};

struct authenticode_info {
        bool is_pe;             /* a PE/COFF image at all */
        struct authenticode_signature *sigs;
        size_t n_sigs;
};

/* Reads the signatures of the PE image DATA[0..LEN) and checks each against
 * ANCHORS.  0 with *ret filled (an unsigned or non-PE image is 0 with no
 * signatures; see is_pe), or -ENOMEM.  Input is untrusted: every offset
 * is bounds-checked. */
int authenticode_check(const uint8_t *data, size_t len, const struct authenticode_anchor *anchors, size_t n_anchors,
                       struct authenticode_info *ret);
void authenticode_info_done(struct authenticode_info *info);
/* The first signature that holds and reaches an anchor, or NULL. */
const struct authenticode_signature *authenticode_trusted(const struct authenticode_info *info);
