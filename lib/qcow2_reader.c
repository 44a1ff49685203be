/* SPDX-License-Identifier: MIT */
/* A read-only qcow2 reader (QEMU's docs/interop/qcow2.txt, versions 2 and 3).
 *
 * Guest offset -> L1 entry -> L2 table -> cluster.  Supported: standard and
 * compressed clusters (zlib raw deflate, or zstd when the v3 header says
 * so), the v3 "reads as zero" flag.  Refused with a clear message: backing
 * files, encryption, external data files, extended L2 entries.  The L1 table
 * is read once; one L2 table and one decompressed cluster are cached, which
 * is enough for the mostly sequential reads of the inspectors. */
#include "image_reader.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

#define QCOW2_OFFSET_MASK UINT64_C(0x00fffffffffffe00)
#define QCOW2_COMPRESSED (UINT64_C(1) << 62)
#define QCOW2_ZERO_FLAG UINT64_C(1)

struct qcow2 {
        unsigned cluster_bits;
        uint64_t cluster_size;
        unsigned l2_bits;
        uint64_t *l1;             /* host byte order */
        uint64_t l1_size;
        bool zstd;

        uint64_t l2_cached_offset;  /* 0: none */
        uint64_t *l2;
        uint64_t cluster_cached_host; /* the compressed descriptor cached, 0: none */
        uint8_t *cluster;
        uint8_t *cbuf;              /* compressed input */
};

static void qcow2_free(void *p) {
        struct qcow2 *q = p;
        if (!q)
                return;
        free(q->l1);
        free(q->l2);
        free(q->cluster);
        free(q->cbuf);
        free(q);
}

static int decompress_cluster(struct image_reader *r, struct qcow2 *q, uint64_t entry) {
        unsigned x = 62 - (q->cluster_bits - 8);
        uint64_t host = entry & ((UINT64_C(1) << x) - 1);
        uint64_t sectors = ((entry & ~QCOW2_COMPRESSED) >> x) + 1;
        uint64_t len = sectors * 512 - (host & 511);
        if (len > 2 * q->cluster_size + 512) {
                log_error("%s: qcow2: compressed cluster descriptor claims %" PRIu64 " bytes", r->path, len);
                return -EBADMSG;
        }
        if (host >= r->file_size) {
                log_error("%s: truncated or corrupt qcow2: compressed cluster at %" PRIu64 " beyond the end of the file", r->path, host);
                return -EBADMSG;
        }
        /* The descriptor may overstate the size at the end of the file. */
        len = MIN(len, r->file_size - host);
        int k = image_file_pread(r, q->cbuf, (size_t)len, host, "a compressed qcow2 cluster");
        if (k < 0)
                return k;
        if (q->zstd) {
                ZSTD_DCtx *dctx = ZSTD_createDCtx();
                ZSTD_inBuffer in = { q->cbuf, (size_t)len, 0 };
                ZSTD_outBuffer out = { q->cluster, (size_t)q->cluster_size, 0 };
                size_t z = 1;
                while (out.pos < out.size && z != 0) {
                        z = ZSTD_decompressStream(dctx, &out, &in);
                        if (ZSTD_isError(z) || (in.pos == in.size && out.pos < out.size && z != 0))
                                break;
                }
                ZSTD_freeDCtx(dctx);
                if (ZSTD_isError(z) || out.pos != out.size) {
                        log_error("%s: qcow2: corrupt zstd-compressed cluster at %" PRIu64, r->path, host);
                        return -EBADMSG;
                }
        } else {
                z_stream zs = { 0 };
                if (inflateInit2(&zs, -12) != Z_OK)
                        return log_error_errno(-ENOMEM, "zlib");
                zs.next_in = q->cbuf;
                zs.avail_in = (uInt)len;
                zs.next_out = q->cluster;
                zs.avail_out = (uInt)q->cluster_size;
                int zr = inflate(&zs, Z_FINISH);
                bool ok = (zr == Z_STREAM_END || zr == Z_OK || zr == Z_BUF_ERROR) && zs.avail_out == 0;
                inflateEnd(&zs);
                if (!ok) {
                        log_error("%s: qcow2: corrupt deflate-compressed cluster at %" PRIu64, r->path, host);
                        return -EBADMSG;
                }
        }
        q->cluster_cached_host = entry;
        return 0;
}

static int qcow2_read_at(struct image_reader *r, void *buf, size_t n, uint64_t offset) {
        struct qcow2 *q = r->priv;
        uint8_t *out = buf;
        while (n > 0) {
                uint64_t vcluster = offset >> q->cluster_bits;
                uint64_t in_cluster = offset & (q->cluster_size - 1);
                size_t chunk = (size_t)MIN((uint64_t)n, q->cluster_size - in_cluster);
                uint64_t l1_index = vcluster >> q->l2_bits;
                uint64_t l2_index = vcluster & ((UINT64_C(1) << q->l2_bits) - 1);
                if (l1_index >= q->l1_size) {
                        log_error("%s: qcow2: L1 index %" PRIu64 " beyond the L1 table (%" PRIu64 " entries)", r->path, l1_index, q->l1_size);
                        return -EBADMSG;
                }
                uint64_t l2_offset = q->l1[l1_index] & QCOW2_OFFSET_MASK;
                uint64_t entry = 0;
                if (l2_offset != 0) {
                        if (l2_offset & (q->cluster_size - 1)) {
                                log_error("%s: corrupt qcow2: L2 table offset %" PRIu64 " not cluster-aligned", r->path, l2_offset);
                                return -EBADMSG;
                        }
                        if (q->l2_cached_offset != l2_offset) {
                                q->l2_cached_offset = 0;
                                int k = image_file_pread(r, q->l2, (size_t)q->cluster_size, l2_offset, "a qcow2 L2 table");
                                if (k < 0)
                                        return k;
                                for (uint64_t i = 0; i < q->cluster_size / 8; i++)
                                        q->l2[i] = get_be64((const uint8_t *)&q->l2[i]);
                                q->l2_cached_offset = l2_offset;
                        }
                        entry = q->l2[l2_index];
                }
                if (entry & QCOW2_COMPRESSED) {
                        if (q->cluster_cached_host != entry) {
                                q->cluster_cached_host = 0;
                                int k = decompress_cluster(r, q, entry);
                                if (k < 0)
                                        return k;
                        }
                        memcpy(out, q->cluster + in_cluster, chunk);
                } else {
                        uint64_t host = entry & QCOW2_OFFSET_MASK;
                        if (host == 0 || (entry & QCOW2_ZERO_FLAG))
                                memset(out, 0, chunk);
                        else {
                                if (host & (q->cluster_size - 1)) {
                                        log_error("%s: corrupt qcow2: data cluster offset %" PRIu64 " not cluster-aligned", r->path, host);
                                        return -EBADMSG;
                                }
                                int k = image_file_pread(r, out, chunk, host + in_cluster, "a qcow2 data cluster");
                                if (k < 0)
                                        return k;
                        }
                }
                out += chunk;
                offset += chunk;
                n -= chunk;
        }
        return 0;
}

int qcow2_reader_init(struct image_reader *r, const uint8_t *h, size_t len) {
        if (len < 72) {
                log_error("%s: truncated qcow2 header (%zu bytes)", r->path, len);
                return -EBADMSG;
        }
        uint32_t version = get_be32(h + 4);
        if (version != 2 && version != 3) {
                log_error("%s: qcow2 version %" PRIu32 " is not supported (2 or 3)", r->path, version);
                return -EOPNOTSUPP;
        }
        if (get_be64(h + 8) != 0) {
                log_error("%s: qcow2 image has a backing file: not supported (flatten it with qemu-img convert)", r->path);
                return -EOPNOTSUPP;
        }
        uint32_t cluster_bits = get_be32(h + 20);
        if (cluster_bits < 9 || cluster_bits > 21) {
                log_error("%s: corrupt qcow2 header: cluster_bits %" PRIu32 " (valid: 9 to 21)", r->path, cluster_bits);
                return -EBADMSG;
        }
        uint64_t size = get_be64(h + 24);
        if (get_be32(h + 32) != 0) {
                log_error("%s: encrypted qcow2 image: not supported", r->path);
                return -EOPNOTSUPP;
        }
        uint64_t l1_size = get_be32(h + 36);
        uint64_t l1_offset = get_be64(h + 40);
        bool zstd = false;
        if (version == 3) {
                if (len < 104) {
                        log_error("%s: truncated qcow2 v3 header", r->path);
                        return -EBADMSG;
                }
                uint64_t incompat = get_be64(h + 72);
                uint32_t header_length = get_be32(h + 100);
                if (incompat & 2) {
                        log_error("%s: qcow2 image is marked corrupt by QEMU (run qemu-img check -r)", r->path);
                        return -EBADMSG;
                }
                if (incompat & 4) {
                        log_error("%s: qcow2 image uses an external data file: not supported", r->path);
                        return -EOPNOTSUPP;
                }
                if (incompat & 16) {
                        log_error("%s: qcow2 image uses extended L2 entries (subclusters): not supported", r->path);
                        return -EOPNOTSUPP;
                }
                if (incompat & ~UINT64_C(0x1f)) {
                        log_error("%s: qcow2 image has unknown incompatible features 0x%" PRIx64, r->path, incompat);
                        return -EOPNOTSUPP;
                }
                if ((incompat & 8) && header_length > 104 && len > 104)
                        zstd = h[104] == 1;
        }
        uint64_t cluster_size = UINT64_C(1) << cluster_bits;
        unsigned l2_bits = cluster_bits - 3;
        /* Enough L1 entries to map the whole disk, and a table that fits in the file. */
        uint64_t bytes_per_l1 = cluster_size << l2_bits;
        uint64_t needed = size / bytes_per_l1 + (size % bytes_per_l1 != 0);
        if (size == 0 || size > (UINT64_C(1) << 55)) {
                log_error("%s: corrupt qcow2 header: virtual size %" PRIu64, r->path, size);
                return -EBADMSG;
        }
        if (l1_size < needed || l1_size > 32 * MiB / 8) {
                log_error("%s: corrupt qcow2 header: L1 table of %" PRIu64 " entries for %" PRIu64 " bytes (needs %" PRIu64 ")",
                          r->path, l1_size, size, needed);
                return -EBADMSG;
        }
        if ((l1_offset & (cluster_size - 1)) || l1_offset == 0 || l1_offset > r->file_size || (r->file_size - l1_offset) / 8 < l1_size) {
                log_error("%s: truncated or corrupt qcow2: L1 table at %" PRIu64 " (%" PRIu64 " entries) outside the file (%" PRIu64 " bytes)",
                          r->path, l1_offset, l1_size, r->file_size);
                return -EBADMSG;
        }
        struct qcow2 *q = xcalloc(1, sizeof *q);
        q->cluster_bits = cluster_bits;
        q->cluster_size = cluster_size;
        q->l2_bits = l2_bits;
        q->l1_size = l1_size;
        q->zstd = zstd;
        q->l1 = xmalloc((size_t)l1_size * 8 + 1);
        q->l2 = xmalloc((size_t)cluster_size);
        q->cluster = xmalloc((size_t)cluster_size);
        q->cbuf = xmalloc((size_t)(2 * cluster_size + 512));
        r->priv = q;
        r->free_priv = qcow2_free;
        int k = image_file_pread(r, q->l1, (size_t)l1_size * 8, l1_offset, "the qcow2 L1 table");
        if (k < 0)
                return k;
        for (uint64_t i = 0; i < l1_size; i++)
                q->l1[i] = get_be64((const uint8_t *)&q->l1[i]);
        r->size = size;
        r->qcow2_version = version;
        r->qcow2_compression = zstd ? "zstd" : "zlib";
        r->read_at = qcow2_read_at;
        return 0;
}
