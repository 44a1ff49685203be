/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* OpenPGP signing with gpg, for systemd-sysupdate's SHA256SUMS.gpg.
 * Each call runs gpg in a private home in $TMPDIR or /tmp (created, then
 * removed with its gpg-agent): the host's keyrings are never read or
 * written.  KEY is a secret key file without a passphrase (armored or
 * binary), as a CI system holds it. */

/* The public part of KEY as a binary keyring (what systemd-pull's
 * --keyring= reads: /usr/lib/systemd/import-pubring.gpg), into
 * *ret / *ret_len (malloc'ed).  0 or negative errno, logged. */
int openpgp_public_keyring(const char *key, char **ret, size_t *ret_len);

/* A detached binary signature of FILE by KEY, written to SIG.  Made at
 * EPOCH (gpg --faked-system-time): with an RSA or EdDSA key the same input
 * gives the same bytes.  0 or negative errno, logged. */
int openpgp_detach_sign(const char *key, const char *file, const char *sig, uint64_t epoch);
