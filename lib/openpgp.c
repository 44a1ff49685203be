/* SPDX-License-Identifier: MIT */
#include "openpgp.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Stops the gpg-agent the import started (it would outlive the build)
 * and removes the home. */
static void gpg_home_done(char *home) {
        char *argv[] = { "gpgconf", "--homedir", home, "--kill", "all", NULL };
        (void)run_command(argv, &(struct run_opts){ .quiet = true, .stdin_fd = -1 });
        (void)rm_rf(home);
        free(home);
}

/* A gpg home of our own with KEY imported; the caller removes it with
 * gpg_home_done().  In the temporary directory, not the work directory:
 * gpg-agent's socket lives in the home, and a socket path must fit in 108
 * bytes. */
static int gpg_home_new(const char *key, char **ret_home) {
        const char *tmp = getenv("TMPDIR");
        _cleanup_free_ char *home = xasprintf("%s/slipway-gnupg-XXXXXX", tmp && *tmp == '/' && strlen(tmp) < 40 ? tmp : "/tmp");
        if (!mkdtemp(home))
                return log_error_errno(-errno, "openpgp: cannot create %s", home);
        char *argv[] = { "gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback",
                         "--passphrase", "", "--import", (char *)key, NULL };
        int r = run_command(argv, &(struct run_opts){ .quiet = true, .stdin_fd = -1 });
        if (r < 0) {
                gpg_home_done(TAKE_PTR(home));
                return log_error_errno(r, "openpgp: gpg could not import the signing key %s", key);
        }
        *ret_home = TAKE_PTR(home);
        return 0;
}

int openpgp_public_keyring(const char *key, char **ret, size_t *ret_len) {
        char *home = NULL;
        int r = gpg_home_new(key, &home);
        if (r < 0)
                return r;
        char *argv[] = { "gpg", "--homedir", home, "--batch", "--no-tty", "--export", NULL };
        char *out = NULL;
        size_t len = 0;
        r = run_command(argv, &(struct run_opts){ .capture_stdout = true, .out = &out, .out_len = &len, .stdin_fd = -1 });
        gpg_home_done(home);
        if (r < 0) {
                free(out);
                return log_error_errno(r, "openpgp: gpg --export of %s", key);
        }
        if (len == 0) {
                free(out);
                return log_error_errno(-ENOKEY, "openpgp: %s holds no key", key);
        }
        *ret = out;
        *ret_len = len;
        return 0;
}

/* The newest creation time of the secret key and its subkeys (gpg
 * --with-colons: field 6 of the "sec" and "ssb" lines), or 0. */
static uint64_t newest_key_time(const char *home) {
        char *argv[] = { "gpg", "--homedir", (char *)home, "--batch", "--no-tty", "--with-colons", "--list-secret-keys", NULL };
        _cleanup_free_ char *out = NULL;
        if (run_command(argv, &(struct run_opts){ .capture_stdout = true, .out = &out, .stdin_fd = -1 }) < 0 || !out)
                return 0;
        uint64_t newest = 0;
        for (char *line = out, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                if (!startswith(line, "sec:") && !startswith(line, "ssb:"))
                        continue;
                char *f = line;
                for (int i = 0; i < 5 && f; i++) {
                        f = strchr(f, ':');
                        if (f)
                                f++;
                }
                uint64_t t = f ? strtoull(f, NULL, 10) : 0;
                if (t > newest)
                        newest = t;
        }
        return newest;
}

int openpgp_detach_sign(const char *key, const char *file, const char *sig, uint64_t epoch) {
        char *home = NULL;
        int r = gpg_home_new(key, &home);
        if (r < 0)
                return r;
        /* "T!" freezes gpg's clock at T: the signature's creation time is
         * the build's, not the wall clock's.  T is the epoch, or the key's
         * creation when the key is newer (a signature older than its key
         * is refused by gpg and by every verifier); both are inputs, so T
         * is the same every time. */
        uint64_t key_time = newest_key_time(home), t = epoch > key_time ? epoch : key_time;
        if (t != epoch)
                log_info("openpgp: %s is newer than SOURCE_DATE_EPOCH; the signature is dated at its creation", key);
        _cleanup_free_ char *when = xasprintf("%" PRIu64 "!", t);
        (void)unlink(sig);
        char *argv[] = { "gpg", "--homedir", home, "--batch", "--quiet", "--no-tty", "--pinentry-mode", "loopback",
                         "--passphrase", "", "--faked-system-time", when, "--digest-algo", "SHA256",
                         "--detach-sign", "--output", (char *)sig, (char *)file, NULL };
        r = run_command(argv, &(struct run_opts){ .quiet = true, .stdin_fd = -1 });
        gpg_home_done(home);
        if (r < 0) {
                (void)unlink(sig);
                return log_error_errno(r, "openpgp: signing %s with %s", file, key);
        }
        return 0;
}
