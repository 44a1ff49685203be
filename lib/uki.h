/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Unified kernel images (UAPI.5): systemd's EFI stub (linuxx64.efi.stub)
 * with the kernel, initrd, command line, os-release and kernel release as
 * extra PE sections.  Built here on buffers, the way ukify does it with
 * pefile (new section headers in the stub's spare header space, data
 * after the last section), so no tool from the host or the image is
 * needed and the result depends only on its inputs. */

struct uki_section {
        const char *name;       /* ".linux", ".initrd", ... (at most 8 bytes) */
        const void *data;
        size_t size;
};

/* Appends the sections (in order) to the unsigned PE32+ x86-64 `stub`;
 * *ret is a new buffer.  -EINVAL: not a PE32+ x86-64 image, or already
 * signed (a certificate table: sign after building); -E2BIG: no room for
 * the section headers. */
int uki_build(const uint8_t *stub, size_t stub_size, const struct uki_section *sections, size_t n, uint8_t **ret,
              size_t *ret_size);

/* The PE checksum (what pefile's generate_checksum() and the Windows
 * loader compute): 16-bit one's complement-style sum over the file with
 * the CheckSum field taken as zero, plus the file length.  -EINVAL when
 * the buffer is not a PE image. */
int pe_checksum(const uint8_t *image, size_t size, uint32_t *ret);
