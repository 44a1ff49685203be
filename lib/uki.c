/* SPDX-License-Identifier: MIT */
/* PE32+ section appending for unified kernel images (see uki.h).  Layout
 * (Microsoft PE/COFF specification): the DOS header's e_lfanew (0x3c)
 * points at "PE\0\0", then the 20-byte COFF header, the optional header
 * (PE32+: magic 0x20b) with its data directories, then the section table
 * of 40-byte entries, up to SizeOfHeaders. */
#include "uki.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define COFF_MACHINE_AMD64 0x8664
#define OPT_MAGIC_PE32PLUS 0x20b
/* offsets in the optional header (PE32+) */
#define OPT_SIZE_OF_INIT_DATA 8
#define OPT_SECTION_ALIGN 32
#define OPT_FILE_ALIGN 36
#define OPT_SIZE_OF_IMAGE 56
#define OPT_SIZE_OF_HEADERS 60
#define OPT_CHECKSUM 64
#define OPT_NUM_RVA 108
#define OPT_DATA_DIRS 112
#define DIR_SECURITY 4
#define SECTION_HEADER 40
/* IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ: what ukify gives
 * the sections it adds */
#define SCN_DATA_READ 0x40000040u

static uint16_t get16(const uint8_t *p) {
        return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t)(v >> (8 * i));
}

struct pe {
        size_t coff;            /* offset of the COFF header (after "PE\0\0") */
        size_t opt;             /* offset of the optional header */
        size_t sections;        /* offset of the section table */
        uint16_t n_sections;
};

static int pe_parse(const uint8_t *d, size_t n, struct pe *ret) {
        if (n < 0x40 || d[0] != 'M' || d[1] != 'Z')
                return -EINVAL;
        size_t pe = get32(d + 0x3c);
        if (pe > n || n - pe < 24 || memcmp(d + pe, "PE\0\0", 4) != 0)
                return -EINVAL;
        size_t coff = pe + 4, opt = coff + 20;
        uint16_t opt_size = get16(d + coff + 16);
        if (opt_size < OPT_DATA_DIRS || n - opt < opt_size)
                return -EINVAL;
        *ret = (struct pe){ .coff = coff, .opt = opt, .sections = opt + opt_size, .n_sections = get16(d + coff + 2) };
        if ((n - ret->sections) / SECTION_HEADER < ret->n_sections)
                return -EINVAL;
        return 0;
}

int pe_checksum(const uint8_t *image, size_t size, uint32_t *ret) {
        struct pe pe;
        if (pe_parse(image, size, &pe) < 0)
                return -EINVAL;
        size_t skip = pe.opt + OPT_CHECKSUM;
        uint64_t sum = 0;
        for (size_t i = 0; i < size; i += 2) {
                if (i == skip || i == skip + 2)
                        continue;
                sum += i + 1 < size ? get16(image + i) : image[i];
                sum = (sum & 0xffff) + (sum >> 16);
        }
        sum = (sum & 0xffff) + (sum >> 16);
        *ret = (uint32_t)((sum & 0xffff) + size);
        return 0;
}

int uki_build(const uint8_t *stub, size_t stub_size, const struct uki_section *sections, size_t n, uint8_t **ret,
              size_t *ret_size) {
        struct pe pe;
        if (pe_parse(stub, stub_size, &pe) < 0 || get16(stub + pe.coff) != COFF_MACHINE_AMD64 ||
            get16(stub + pe.opt) != OPT_MAGIC_PE32PLUS)
                return -EINVAL;
        const uint8_t *opt = stub + pe.opt;
        uint32_t sect_align = get32(opt + OPT_SECTION_ALIGN), file_align = get32(opt + OPT_FILE_ALIGN);
        uint32_t headers = get32(opt + OPT_SIZE_OF_HEADERS);
        if (sect_align == 0 || file_align == 0 || (sect_align & (sect_align - 1)) || (file_align & (file_align - 1)))
                return -EINVAL;
        /* a signature covers the whole file: sections added after it would
         * void it, and the certificate table has to stay last */
        if (get32(opt + OPT_NUM_RVA) > DIR_SECURITY && get32(opt + OPT_DATA_DIRS + 8 * DIR_SECURITY + 4) != 0)
                return -EINVAL;
        if (headers > stub_size || pe.sections + (size_t)(pe.n_sections + n) * SECTION_HEADER > headers)
                return -E2BIG;

        /* new sections start after the last one, in memory and in the file */
        uint64_t vend = 0, fend = headers;
        for (size_t i = 0; i < pe.n_sections; i++) {
                const uint8_t *s = stub + pe.sections + i * SECTION_HEADER;
                uint64_t va = get32(s + 12), vsize = get32(s + 8), raw_size = get32(s + 16), raw_ptr = get32(s + 20);
                vend = MAX(vend, va + MAX(vsize, raw_size));
                if (raw_size > 0)
                        fend = MAX(fend, raw_ptr + raw_size);
        }
        if (fend > stub_size)
                return -EINVAL;
        uint64_t vaddr = ALIGN_UP(vend, sect_align), foff = ALIGN_UP(fend, file_align), total = foff;
        for (size_t i = 0; i < n; i++) {
                if (strlen(sections[i].name) > 8)
                        return -EINVAL;
                total += ALIGN_UP((uint64_t)sections[i].size, file_align);
        }
        if (total > UINT32_MAX)
                return -E2BIG;

        /* Only the stub's sections are kept: anything after them (debug
         * data, an overlay) is not part of the image. */
        uint8_t *out = xcalloc(1, total);
        memcpy(out, stub, fend);
        uint8_t *o = out + pe.opt;
        uint32_t init_data = get32(o + OPT_SIZE_OF_INIT_DATA);
        for (size_t i = 0; i < n; i++) {
                uint8_t *h = out + pe.sections + (pe.n_sections + i) * SECTION_HEADER;
                uint32_t raw = (uint32_t)ALIGN_UP((uint64_t)sections[i].size, file_align);
                memset(h, 0, SECTION_HEADER);
                memcpy(h, sections[i].name, strlen(sections[i].name));
                put32(h + 8, (uint32_t)sections[i].size);
                put32(h + 12, (uint32_t)vaddr);
                put32(h + 16, raw);
                put32(h + 20, (uint32_t)foff);
                put32(h + 36, SCN_DATA_READ);
                if (sections[i].size > 0)
                        memcpy(out + foff, sections[i].data, sections[i].size);
                init_data += raw;
                foff += raw;
                vaddr = ALIGN_UP(vaddr + sections[i].size, sect_align);
                if (vaddr > UINT32_MAX) {
                        free(out);
                        return -E2BIG;
                }
        }
        put16(out + pe.coff + 2, (uint16_t)(pe.n_sections + n));
        put32(o + OPT_SIZE_OF_INIT_DATA, init_data);
        put32(o + OPT_SIZE_OF_IMAGE, (uint32_t)vaddr);
        uint32_t sum = 0;
        put32(o + OPT_CHECKSUM, 0);
        if (pe_checksum(out, total, &sum) == 0)
                put32(o + OPT_CHECKSUM, sum);
        *ret = out;
        *ret_size = total;
        return 0;
}
