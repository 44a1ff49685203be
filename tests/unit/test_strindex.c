/* SPDX-License-Identifier: MIT */
/* timeout: 60 (tests/run-all.sh) */
/* lib/strindex: the string -> position index the profile loader looks keys
 * and list entries up in (issue 16 item 14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "strindex.h"
#include "util.h"

static void test_get(void **state) {
        struct str_index x = { 0 };
        size_t v = 99;
        assert_false(str_index_get(&x, "a", &v));   /* empty: no table yet */
        enum { N = 100000 };
        char **keys = xcalloc(N, sizeof(char *));
        for (size_t i = 0; i < N; i++) {
                keys[i] = xasprintf("k%zu", i);
                str_index_add(&x, keys[i], i);
        }
        assert_int_equal(x.n, N);
        for (size_t i = 0; i < N; i++) {
                char probe[32];
                snprintf(probe, sizeof(probe), "k%zu", i);   /* another pointer, the same text */
                assert_true(str_index_get(&x, probe, &v));
                assert_int_equal(v, i);
        }
        assert_false(str_index_get(&x, "k", &v));
        assert_false(str_index_get(&x, "", &v));
        assert_false(str_index_get(&x, "k100000", &v));
        str_index_clear(&x);
        assert_false(str_index_get(&x, "k1", &v));
        for (size_t i = 0; i < N; i++)
                free(keys[i]);
        free(keys);
}

/* A key added several times: its values in the order they were added,
 * through every growth of the table. */
static void test_repeated_keys_keep_their_order(void **state) {
        struct str_index x = { 0 };
        char *other[5000];
        for (size_t i = 0; i < 5000; i++) {
                other[i] = xasprintf("o%zu", i);
                str_index_add(&x, "dup", 10 * i);
                str_index_add(&x, other[i], i);
        }
        size_t cursor = 0, v, k = 0;
        while (str_index_next(&x, "dup", &cursor, &v)) {
                assert_int_equal(v, 10 * k);
                k++;
        }
        assert_int_equal(k, 5000);
        assert_true(str_index_get(&x, "dup", &v));
        assert_int_equal(v, 0);
        str_index_clear(&x);
        for (size_t i = 0; i < 5000; i++)
                free(other[i]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_get),
                cmocka_unit_test(test_repeated_keys_keep_their_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
