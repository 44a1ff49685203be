/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* The VHD footer (Microsoft "Virtual Hard Disk Image Format Specification",
 * version 1.0): 512 bytes, big-endian, at the end of a fixed VHD and at
 * the start and end of a dynamic one. */
#define VHD_FOOTER_SIZE 512
#define VHD_TYPE_FIXED 2
#define VHD_TYPE_DYNAMIC 3
/* Seconds between the Unix epoch and the VHD epoch (2000-01-01 00:00 UTC). */
#define VHD_EPOCH_OFFSET UINT64_C(946684800)

struct vhd_geometry {
        uint16_t cylinders;
        uint8_t heads, sectors_per_track;
};

/* CHS per the specification's appendix ("CHS calculation"). */
struct vhd_geometry vhd_chs_geometry(uint64_t size_bytes);

/* Fills a footer.  timestamp is Unix time (converted to the VHD epoch);
 * unique_id is 16 bytes (derived from the build).  data_offset is
 * UINT64_MAX for fixed disks, 512 for dynamic ones. */
void vhd_footer_build(uint8_t out[VHD_FOOTER_SIZE], uint64_t size_bytes, int disk_type,
                      uint64_t data_offset, uint64_t unix_timestamp, const uint8_t unique_id[16]);

/* One's complement of the byte sum with the checksum field as zero. */
uint32_t vhd_footer_checksum(const uint8_t footer[VHD_FOOTER_SIZE]);

/* Parses and checks a footer: 0, or -EBADMSG (bad cookie), -EPROTO (bad
 * checksum), -EINVAL (a checksummed footer whose fields the specification
 * does not allow: version, features, disk type, data offset, size; `problem`
 * says which).  Fills what it can read. */
struct vhd_footer_info {
        int disk_type;
        uint64_t current_size, original_size, data_offset;
        struct vhd_geometry geometry;
        uint32_t checksum_stored, checksum_computed;
        char creator_app[5];
        const char *problem;   /* with -EINVAL */
};
int vhd_footer_parse(const uint8_t footer[VHD_FOOTER_SIZE], struct vhd_footer_info *ret);

/* Writes a fixed VHD at dst_path: the raw image at src_path (copied
 * sparsely; holes stay holes) followed by the footer.  When dst_path
 * equals src_path, the footer is appended in place.  The raw size must be
 * a multiple of 1 MiB (Azure's requirement). */
int vhd_write_fixed(const char *src_path, const char *dst_path, uint64_t unix_timestamp,
                    const uint8_t unique_id[16]);

/* The dynamic VHD header ("cxsparse", 1024 bytes, after the footer copy). */
#define VHD_DYN_HEADER_SIZE 1024
#define VHD_DYN_BLOCK_SIZE (UINT32_C(2) * 1024 * 1024)
#define VHD_BAT_UNUSED UINT32_C(0xffffffff)
void vhd_dynamic_header_build(uint8_t out[VHD_DYN_HEADER_SIZE], uint64_t table_offset, uint32_t max_table_entries,
                              uint32_t block_size);
/* One's complement of the byte sum with the checksum field (36..39) as zero. */
uint32_t vhd_dynamic_header_checksum(const uint8_t h[VHD_DYN_HEADER_SIZE]);

/* Writes a dynamic VHD at dst_path (created or truncated) from the raw
 * image at src_path: footer copy, dynamic header, BAT, then one 2 MiB block
 * (with its sector bitmap, all sectors present) for each block of the raw
 * image that is not all zeros, then the footer.  Holes of the raw image
 * are skipped without reading them.  Size rules as vhd_write_fixed. */
int vhd_write_dynamic(const char *src_path, const char *dst_path, uint64_t unix_timestamp,
                      const uint8_t unique_id[16]);
