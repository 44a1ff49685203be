/* SPDX-License-Identifier: MIT */
#include "sshkey.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

/* The key types of OpenSSH 9/10 (ssh-keygen -t, and FIDO keys with -sk). */
static const char *const key_types[] = {
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
};

int ssh_public_key_parse(const char *text, char **ret_line, const char **ret_problem) {
        *ret_line = NULL;
        *ret_problem = NULL;
        if (strstr(text, "PRIVATE KEY") || strstr(text, "PuTTY-User-Key-File")) {
                *ret_problem = "this is a private key: give the public key (the .pub file beside it, or "
                               "`ssh-keygen -y -f KEY` prints it); a private key never goes into an image";
                return -EINVAL;
        }
        /* one key: the first line that is not empty or a comment, nothing after it */
        const char *line = NULL;
        size_t len = 0;
        for (const char *p = text; *p;) {
                size_t n = strcspn(p, "\n");
                const char *s = p;
                while (s < p + n && isspace((unsigned char)*s))
                        s++;
                if (s < p + n && *s != '#') {
                        if (line) {
                                *ret_problem = "more than one key in the file: give one public key file per key";
                                return -EINVAL;
                        }
                        line = s;
                        len = (size_t)(p + n - s);
                        while (len > 0 && isspace((unsigned char)line[len - 1]))
                                len--;
                }
                p += n + (p[n] == '\n');
        }
        if (!line) {
                *ret_problem = "no key in the file (expected one line like \"ssh-ed25519 AAAA... user@host\")";
                return -EINVAL;
        }
        _cleanup_free_ char *copy = xstrndup(line, len);
        for (const char *c = copy; *c; c++)
                if ((unsigned char)*c < 0x20 && *c != '\t') {
                        *ret_problem = "control characters in the key line";
                        return -EINVAL;
                }
        size_t tl = strcspn(copy, " \t");
        size_t t = 0;
        while (t < ELEMENTSOF(key_types) && !(strlen(key_types[t]) == tl && strncmp(copy, key_types[t], tl) == 0))
                t++;
        if (t == ELEMENTSOF(key_types)) {
                *ret_problem = "not an OpenSSH public key: expected a line starting with ssh-ed25519, ssh-rsa, "
                               "ecdsa-sha2-nistp256/384/521 or sk-...@openssh.com (an authorized_keys line with "
                               "options belongs in users[].ssh-authorized-keys)";
                return -EINVAL;
        }
        const char *b = copy + tl;
        while (*b == ' ' || *b == '\t')
                b++;
        size_t bl = strcspn(b, " \t");
        bool ok = bl >= 8 && bl % 4 == 0;
        for (size_t i = 0; ok && i < bl; i++)
                ok = isalnum((unsigned char)b[i]) || b[i] == '+' || b[i] == '/' || (b[i] == '=' && i >= bl - 2);
        _cleanup_free_ uint8_t *blob = ok ? xmalloc(bl / 4 * 3 + 1) : NULL;
        int k = ok ? EVP_DecodeBlock(blob, (const unsigned char *)b, (int)bl) : -1;
        /* the blob starts with the type again: uint32 length, name */
        ok = k >= 4;
        uint32_t nl = ok ? (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 | (uint32_t)blob[2] << 8 | blob[3] : 0;
        ok = ok && nl == tl && (size_t)k >= 4 + tl && memcmp(blob + 4, copy, tl) == 0;
        if (!ok) {
                *ret_problem = "the key's base64 is not a public key of the type the line names (truncated or edited?)";
                return -EINVAL;
        }
        *ret_line = TAKE_PTR(copy);
        return 0;
}
