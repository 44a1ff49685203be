/* SPDX-License-Identifier: MIT */
/* timeout: 120 (tests/run-all.sh) */
/* uki_build() on a synthetic PE32+ stub: the new sections follow the last
 * one (aligned in memory and in the file), the headers count them, the
 * data is where the headers say; a signed stub, a full header or not-PE
 * input are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "uki.h"
#include "util.h"

#define PE_OFF 0x80
#define OPT_OFF (PE_OFF + 24)
#define OPT_SIZE 240                    /* PE32+ with 16 data directories */
#define SECT_OFF (OPT_OFF + OPT_SIZE)
#define HEADERS 0x400

static uint32_t rd32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

/* A stub with one section, .text: 0x300 bytes at RVA 0x1000, file 0x400. */
static uint8_t *make_stub(size_t *ret_size) {
        size_t size = HEADERS + 0x400;
        uint8_t *d = xcalloc(1, size);
        d[0] = 'M', d[1] = 'Z';
        wr32(d + 0x3c, PE_OFF);
        memcpy(d + PE_OFF, "PE\0\0", 4);
        d[PE_OFF + 4] = 0x64, d[PE_OFF + 5] = 0x86;     /* AMD64 */
        d[PE_OFF + 6] = 1;                               /* one section */
        d[PE_OFF + 20] = OPT_SIZE;
        d[OPT_OFF] = 0x0b, d[OPT_OFF + 1] = 0x02;       /* PE32+ */
        wr32(d + OPT_OFF + 32, 0x1000);                  /* SectionAlignment */
        wr32(d + OPT_OFF + 36, 0x200);                   /* FileAlignment */
        wr32(d + OPT_OFF + 56, 0x2000);                  /* SizeOfImage */
        wr32(d + OPT_OFF + 60, HEADERS);
        wr32(d + OPT_OFF + 108, 16);
        memcpy(d + SECT_OFF, ".text", 5);
        wr32(d + SECT_OFF + 8, 0x300);
        wr32(d + SECT_OFF + 12, 0x1000);
        wr32(d + SECT_OFF + 16, 0x400);
        wr32(d + SECT_OFF + 20, HEADERS);
        memset(d + HEADERS, 0xcc, 0x300);
        *ret_size = size;
        return d;
}

static void test_append(void **state) {
        size_t n = 0, out_n = 0;
        _cleanup_free_ uint8_t *stub = make_stub(&n), *out = NULL;
        const char linux_data[] = "KERNEL", cmdline[] = "roothash=ab ro";
        const struct uki_section s[] = { { ".cmdline", cmdline, strlen(cmdline) }, { ".linux", linux_data, 6 } };
        assert_int_equal(uki_build(stub, n, s, 2, &out, &out_n), 0);
        assert_int_equal(out[PE_OFF + 6], 3);
        const uint8_t *h1 = out + SECT_OFF + 40, *h2 = out + SECT_OFF + 80;
        assert_memory_equal(h1, ".cmdline", 8);
        assert_int_equal(rd32(h1 + 8), strlen(cmdline));
        assert_int_equal(rd32(h1 + 12), 0x2000);          /* after .text, section-aligned */
        assert_int_equal(rd32(h1 + 16), 0x200);           /* file-aligned raw size */
        assert_int_equal(rd32(h1 + 20), HEADERS + 0x400); /* after .text's raw data */
        assert_int_equal(rd32(h1 + 36), 0x40000040u);
        assert_memory_equal(out + rd32(h1 + 20), cmdline, strlen(cmdline));
        assert_string_equal((const char *)h2, ".linux");
        assert_int_equal(rd32(h2 + 12), 0x3000);
        assert_int_equal(rd32(h2 + 20), HEADERS + 0x600);
        assert_memory_equal(out + rd32(h2 + 20), linux_data, 6);
        assert_int_equal(rd32(out + OPT_OFF + 56), 0x4000); /* SizeOfImage */
        assert_int_equal(out_n, HEADERS + 0x800);
        assert_memory_equal(out + HEADERS, stub + HEADERS, 0x400);
        uint32_t sum = 0;
        assert_int_equal(pe_checksum(out, out_n, &sum), 0);
        assert_int_equal(rd32(out + OPT_OFF + 64), sum);
        assert_true(sum != 0);
}

static void test_refused(void **state) {
        size_t n = 0, out_n = 0;
        _cleanup_free_ uint8_t *stub = make_stub(&n);
        uint8_t *out = NULL;
        const struct uki_section s[] = { { ".linux", "K", 1 } };
        /* signed: a certificate table */
        wr32(stub + OPT_OFF + 112 + 8 * 4, HEADERS + 0x400);
        wr32(stub + OPT_OFF + 112 + 8 * 4 + 4, 0x10);
        assert_int_equal(uki_build(stub, n, s, 1, &out, &out_n), -EINVAL);
        wr32(stub + OPT_OFF + 112 + 8 * 4 + 4, 0);
        /* no room: the headers end right after the section table */
        wr32(stub + OPT_OFF + 60, SECT_OFF + 40);
        assert_int_equal(uki_build(stub, n, s, 1, &out, &out_n), -E2BIG);
        wr32(stub + OPT_OFF + 60, HEADERS);
        /* not PE32+ */
        stub[OPT_OFF] = 0x0b, stub[OPT_OFF + 1] = 0x01;
        assert_int_equal(uki_build(stub, n, s, 1, &out, &out_n), -EINVAL);
        stub[0] = 'X';
        assert_int_equal(uki_build(stub, n, s, 1, &out, &out_n), -EINVAL);
        assert_null(out);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_append),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
