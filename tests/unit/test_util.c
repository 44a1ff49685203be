/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* term_escaped: what inspect and cache list print of an image's or a
 * cache's text (issue 16 item 7: an os-release name or GPT partition name
 * with escape sequences retitled or cleared the terminal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void expect(const char *in, const char *want) {
        char *got = term_escaped(in);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
}

static void test_term_escaped(void **state) {
        expect("Debian GNU/Linux 13 (trixie)", "Debian GNU/Linux 13 (trixie)");
        expect("", "");
        expect("a\\b", "a\\b");
        expect("\x1b]0;owned\x07", "\\x1b]0;owned\\x07");   /* OSC: set the title */
        expect("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");         /* clear the screen */
        expect("line\nnext\r", "line\\x0anext\\x0d");
        expect("del\x7f", "del\\x7f");
        expect("\xc2\x9b" "31m", "\\u009b31m");            /* CSI as UTF-8 (C1) */
        expect("\x9b" "31m", "\\x9b31m");                  /* CSI as a raw 8-bit byte */
        expect("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xa7");   /* UTF-8 text stays */
        expect("\xc0\xaf", "\\xc0\\xaf");                  /* overlong '/' */
        expect("\xed\xa0\x80", "\\xed\\xa0\\x80");         /* a surrogate */
        expect("cut\xe2\x82", "cut\\xe2\\x82");            /* truncated sequence */
        assert_null(term_escaped(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_term_escaped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
