/* SPDX-License-Identifier: MIT */
/* timeout: 60 (tests/run-all.sh) */
/* What users[].password and `slipway build --ssh-key` accept (issue 19). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profile.h"
#include "sshkey.h"
#include "util.h"

#define SHA512 "$6$abcdefgh$3rj1vTLX64btReFsM4MQ22otcD40l7vbtw7qCyr0dxc4kxNmgx53xVM8gWiLYbCqTHTbXFaVFU7ZT28pnvdyu0"
#define YESCRYPT "$y$j9T$6RRmtfbkSWuqRTzZESz7Y0$Dqxk4WBDbgBXKBGqqxVUGOTfGnSN.kt0tjnUSZ3ww/4"
#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMpT3X+7SDRv1i5SB2TREOnEn6wNi0TG0xnGGjmzOtE users-test"

static void test_password(void **state) {
        (void)state;
        const char *ok[] = { NULL, "locked", "!", "*", SHA512, YESCRYPT, "!" SHA512,
                             "$6$rounds=5000$fixturesalt$Bb8cJ7oGZ0nfWjvUjwX3dQp0Xg2Zt7uM3m4l4x6T8Ckc3Dq9cQ0rV1y2w3e4r5t6y7u8i9o0pAsDfGhJkLzXcV",
                             "$5$saltsalt$Ue0Vh0YJ2Vr8hQq4m1yGQ0g2vU5Nn0dD3bHcZ.9fXy8",
                             "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy" };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                if (profile_password_problem(ok[i]))
                        fail_msg("refused: %s: %s", ok[i] ? ok[i] : "NULL", profile_password_problem(ok[i]));
        struct {
                const char *pw, *says;
        } bad[] = {
                { "hunter2", "plain-text" },
                { "!hunter2", "plain-text" },
                { "", "empty" },
                { "$6$salt$hash", "truncated or malformed" },
                { "$6$onlysalt", "truncated or malformed" },
                { SHA512 "x", "truncated or malformed" },
                { "$y$j9T$salt$short", "truncated or malformed" },
                { "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "MD5" },
                { "$9$abc$def", "unknown crypt(3) method" },
                { "$6$abc def$ghi", "characters no hash has" },
                { "abDES0123456.", "plain-text" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                const char *why = profile_password_problem(bad[i].pw);
                if (!why || !strstr(why, bad[i].says))
                        fail_msg("'%s': %s", bad[i].pw, why ? why : "accepted");
                /* the value is never repeated: it may be a secret */
                if (*bad[i].pw && strstr(why, bad[i].pw))
                        fail_msg("'%s' repeated in: %s", bad[i].pw, why);
        }
        assert_true(profile_password_locks(NULL) && profile_password_locks("locked") && profile_password_locks("*"));
        assert_false(profile_password_locks(SHA512));
}

static void check_key(const char *text, const char *want_line, const char *want_problem) {
        char *line = NULL;
        const char *problem = NULL;
        int r = ssh_public_key_parse(text, &line, &problem);
        if (want_line) {
                if (r != 0)
                        fail_msg("refused '%s': %s", text, problem);
                assert_string_equal(line, want_line);
        } else {
                assert_int_equal(r, -EINVAL);
                assert_null(line);
                if (!strstr(problem, want_problem))
                        fail_msg("'%s': %s (wanted '%s')", text, problem, want_problem);
        }
        free(line);
}

static void test_ssh_key(void **state) {
        (void)state;
        check_key(ED25519 "\n", ED25519, NULL);
        check_key("# my key\n\n  " ED25519 "  \r\n", ED25519, NULL);
        check_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMpT3X+7SDRv1i5SB2TREOnEn6wNi0TG0xnGGjmzOtE",
                  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMpT3X+7SDRv1i5SB2TREOnEn6wNi0TG0xnGGjmzOtE", NULL);
        check_key("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n",
                  NULL, "this is a private key");
        check_key("-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n-----END RSA PRIVATE KEY-----\n", NULL, "this is a private key");
        check_key("PuTTY-User-Key-File-3: ssh-ed25519\n", NULL, "this is a private key");
        check_key("", NULL, "no key");
        check_key("# nothing\n", NULL, "no key");
        check_key(ED25519 "\n" ED25519 "\n", NULL, "more than one key");
        check_key("command=\"ls\" " ED25519, NULL, "not an OpenSSH public key");
        /* the base64 names another type, is cut short, or is not base64 */
        check_key("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAMpT3X+7SDRv1i5SB2TREOnEn6wNi0TG0xnGGjmzOtE", NULL, "not a public key of the type");
        check_key("ssh-ed25519 AAAAC3Nz", NULL, "not a public key of the type");
        check_key("ssh-ed25519 !!!!", NULL, "not a public key of the type");
        check_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAMpT3X+7SDRv1i5SB2TREOnEn6wNi0TG0xnGGjmzOtE a\033[2Jb", NULL, "control characters");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_password),
                cmocka_unit_test(test_ssh_key),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
