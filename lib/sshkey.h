/* SPDX-License-Identifier: MIT */
/* OpenSSH public keys as `slipway build --ssh-key FILE` takes them: the
 * contents of a .pub file (what ssh-keygen writes beside the private key). */
#pragma once

/* TEXT is a public key file: one key, "TYPE BASE64 [COMMENT]", the base64
 * a key blob of TYPE (its first field names TYPE again).  Returns 0 and
 * the key's line (without the newline) in *ret_line, or -EINVAL and, in
 * *ret_problem (static text), why not: a private key is named as such and
 * its contents never repeated. */
int ssh_public_key_parse(const char *text, char **ret_line, const char **ret_problem);
