/* SPDX-License-Identifier: MIT */
/* squashfs 4.0, read-only and bounded (see squashfs_reader.h).  The format
 * (the kernel's Documentation/filesystems/squashfs.rst): a superblock, then
 * tables of 8 KiB "metadata blocks" (a 16-bit header: size, bit 15 set when
 * stored uncompressed): inodes, directories, fragment entries; file data
 * in blocks of block_size, each compressed on its own, the tail of a file
 * possibly in a shared fragment block.  An inode reference is (metadata
 * block offset from the inode table << 16 | offset in the block). */
#include "squashfs_reader.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdarg.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define SQUASHFS_MAGIC 0x73717368u
#define META_SIZE 8192
#define NO_FRAGMENT 0xFFFFFFFFu
#define MAX_SYMLINKS 40
#define MAX_DEPTH 256
#define NO_TABLE UINT64_MAX

enum { COMP_GZIP = 1, COMP_LZMA = 2, COMP_LZO = 3, COMP_XZ = 4, COMP_LZ4 = 5, COMP_ZSTD = 6 };
enum { T_DIR = 1, T_FILE = 2, T_SYMLINK = 3, T_LDIR = 8, T_LFILE = 9, T_LSYMLINK = 10 };

struct squashfs_reader {
        struct image_reader *r;    /* borrowed */
        uint64_t base, size;       /* the region of the image */
        char *what;

        uint32_t inode_count, block_size, frag_count;
        uint16_t compression;
        uint64_t root_ref, bytes_used;
        uint64_t inode_table, dir_table, frag_table;

        ZSTD_DCtx *zstd;
        /* the last metadata block read */
        bool cached;
        uint64_t cache_at, cache_next;
        size_t cache_len;
        uint8_t cache[META_SIZE];
};

struct mcur {
        uint64_t block;     /* a metadata block's header, from the filesystem's start */
        uint32_t off;       /* in its uncompressed data */
};

struct sq_inode {
        unsigned kind;      /* T_DIR, T_FILE, T_SYMLINK, or 0 for anything else */
        uint64_t size;      /* file size; directory listing size (+3); symlink target size */
        uint32_t dir_block;
        uint16_t dir_off;
        uint64_t blocks_start;
        uint32_t frag_idx, frag_off;
        struct mcur extra;  /* the block sizes of a file, the target of a symlink */
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

__attribute__((format(printf, 2, 3)))
static int corrupt(struct squashfs_reader *s, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        log_error("%s: squashfs %s: %s: corrupt or truncated filesystem", s->r->path, s->what, msg ? msg : "?");
        return -EBADMSG;
}

/* Bytes [pos, pos + n) of the filesystem; never beyond bytes_used. */
static int sq_pread(struct squashfs_reader *s, void *buf, size_t n, uint64_t pos, const char *what) {
        if (pos > s->bytes_used || n > s->bytes_used - pos)
                return corrupt(s, "%s (%zu bytes at byte %" PRIu64 ") lies beyond its end (%" PRIu64 " bytes)", what, n, pos,
                               s->bytes_used);
        return image_pread(s->r, buf, n, s->base + pos);
}

/* Decompresses exactly into [out, out + cap); returns the length. */
static int decompress(struct squashfs_reader *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *ret_len,
                      const char *what, uint64_t at) {
        switch (s->compression) {
        case COMP_GZIP: {
                uLongf len = cap;
                if (uncompress(out, &len, in, n) != Z_OK)
                        return corrupt(s, "%s at byte %" PRIu64 " does not inflate", what, at);
                *ret_len = len;
                return 0;
        }
        case COMP_XZ: {
                uint64_t memlimit = 64 * MiB;
                size_t in_pos = 0, out_pos = 0;
                if (lzma_stream_buffer_decode(&memlimit, 0, NULL, in, &in_pos, n, out, &out_pos, cap) != LZMA_OK)
                        return corrupt(s, "%s at byte %" PRIu64 " does not decompress (xz)", what, at);
                *ret_len = out_pos;
                return 0;
        }
        case COMP_ZSTD: {
                size_t len = ZSTD_decompressDCtx(s->zstd, out, cap, in, n);
                if (ZSTD_isError(len))
                        return corrupt(s, "%s at byte %" PRIu64 " does not decompress (zstd: %s)", what, at, ZSTD_getErrorName(len));
                *ret_len = len;
                return 0;
        }
        }
        return -EOPNOTSUPP;   /* refused at open */
}

static int load_meta(struct squashfs_reader *s, uint64_t at) {
        if (s->cached && s->cache_at == at)
                return 0;
        s->cached = false;
        uint8_t hdr[2];
        int k = sq_pread(s, hdr, 2, at, "a metadata block");
        if (k < 0)
                return k;
        uint16_t h = get16(hdr);
        size_t n = h & 0x7fff;
        if (n == 0 || n > META_SIZE)
                return corrupt(s, "metadata block at byte %" PRIu64 " claims %zu bytes", at, n);
        uint8_t raw[META_SIZE];
        if ((k = sq_pread(s, raw, n, at + 2, "a metadata block")) < 0)
                return k;
        size_t len = n;
        if (h & 0x8000)
                memcpy(s->cache, raw, n);
        else if ((k = decompress(s, raw, n, s->cache, META_SIZE, &len, "metadata block", at)) < 0)
                return k;
        if (len == 0)
                return corrupt(s, "metadata block at byte %" PRIu64 " is empty", at);
        s->cache_at = at;
        s->cache_len = len;
        s->cache_next = at + 2 + n;
        s->cached = true;
        return 0;
}

/* n bytes of a metadata table from the cursor on (across blocks). */
static int meta_read(struct squashfs_reader *s, struct mcur *c, void *buf, size_t n) {
        uint8_t *out = buf;
        while (n > 0) {
                int k = load_meta(s, c->block);
                if (k < 0)
                        return k;
                if (c->off > s->cache_len)
                        return corrupt(s, "offset %" PRIu32 " beyond the metadata block at byte %" PRIu64 " (%zu bytes)", c->off,
                                       c->block, s->cache_len);
                if (c->off == s->cache_len) {
                        /* Only a table's last block holds less than 8 KiB:
                         * this also bounds the blocks a read goes through. */
                        if (s->cache_len != META_SIZE)
                                return corrupt(s, "a metadata block of %zu bytes (at byte %" PRIu64 ") in the middle of a table",
                                               s->cache_len, c->block);
                        c->block = s->cache_next;
                        c->off = 0;
                        continue;
                }
                size_t chunk = MIN(n, s->cache_len - c->off);
                memcpy(out, s->cache + c->off, chunk);
                out += chunk;
                n -= chunk;
                c->off += (uint32_t)chunk;
        }
        return 0;
}

static int read_inode(struct squashfs_reader *s, uint64_t ref, struct sq_inode *ino) {
        uint64_t block = ref >> 16;
        struct mcur c = { .block = s->inode_table + block, .off = (uint32_t)(ref & 0xffff) };
        if (block >= s->dir_table - s->inode_table || c.off >= META_SIZE)
                return corrupt(s, "inode reference %" PRIx64 " outside the inode table", ref);
        uint8_t b[64];
        int k = meta_read(s, &c, b, 16);
        if (k < 0)
                return k;
        memset(ino, 0, sizeof *ino);
        uint16_t type = get16(b);
        switch (type) {
        case T_DIR:
                if ((k = meta_read(s, &c, b, 16)) < 0)
                        return k;
                ino->kind = T_DIR;
                ino->dir_block = get32(b);
                ino->size = get16(b + 8);
                ino->dir_off = get16(b + 10);
                break;
        case T_LDIR:
                if ((k = meta_read(s, &c, b, 24)) < 0)
                        return k;
                ino->kind = T_DIR;
                ino->size = get32(b + 4);
                ino->dir_block = get32(b + 8);
                ino->dir_off = get16(b + 18);
                break;
        case T_FILE:
                if ((k = meta_read(s, &c, b, 16)) < 0)
                        return k;
                ino->kind = T_FILE;
                ino->blocks_start = get32(b);
                ino->frag_idx = get32(b + 4);
                ino->frag_off = get32(b + 8);
                ino->size = get32(b + 12);
                break;
        case T_LFILE:
                if ((k = meta_read(s, &c, b, 40)) < 0)
                        return k;
                ino->kind = T_FILE;
                ino->blocks_start = get64(b);
                ino->size = get64(b + 8);
                ino->frag_idx = get32(b + 28);
                ino->frag_off = get32(b + 32);
                break;
        case T_SYMLINK:
        case T_LSYMLINK:
                if ((k = meta_read(s, &c, b, 8)) < 0)
                        return k;
                ino->kind = T_SYMLINK;
                ino->size = get32(b + 4);
                break;
        default:
                if (type == 0 || type > 14)
                        return corrupt(s, "inode %" PRIx64 " has type %u", ref, type);
                break;   /* a device, fifo or socket */
        }
        if (ino->kind == T_DIR && ino->dir_off >= META_SIZE)
                return corrupt(s, "directory inode %" PRIx64 " points at offset %u of a metadata block", ref, ino->dir_off);
        ino->extra = c;
        return 0;
}

/* A directory's listing, whole (bounded by SQUASHFS_DIR_MAX). */
static int read_listing(struct squashfs_reader *s, const struct sq_inode *dir, uint8_t **ret, size_t *ret_len) {
        if (dir->size > SQUASHFS_DIR_MAX)
                return corrupt(s, "a directory of %" PRIu64 " bytes (more than %u)", dir->size, (unsigned)SQUASHFS_DIR_MAX);
        size_t n = dir->size >= 3 ? (size_t)dir->size - 3 : 0;
        if ((uint64_t)dir->dir_block >= s->bytes_used - s->dir_table)
                return corrupt(s, "a directory at block %" PRIu32 " beyond the directory table", dir->dir_block);
        struct mcur c = { .block = s->dir_table + dir->dir_block, .off = dir->dir_off };
        _cleanup_free_ uint8_t *buf = xmalloc(n + 1);
        int k = meta_read(s, &c, buf, n);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(buf);
        *ret_len = n;
        return 0;
}

/* Calls fn for each entry of the directory; fn returns > 0 to stop. */
typedef int (*entry_fn)(void *ud, const char *name, size_t len, uint64_t ref);
static int for_each_entry(struct squashfs_reader *s, const struct sq_inode *dir, entry_fn fn, void *ud) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t n = 0;
        int k = read_listing(s, dir, &buf, &n);
        if (k < 0)
                return k;
        for (size_t pos = 0; pos < n;) {
                if (n - pos < 12)
                        return corrupt(s, "a directory header cut short");
                uint32_t count = get32(buf + pos) + 1, start = get32(buf + pos + 4);
                pos += 12;
                if (count > 256)
                        return corrupt(s, "a directory header of %" PRIu32 " entries (at most 256)", count);
                for (uint32_t i = 0; i < count; i++) {
                        if (n - pos < 8)
                                return corrupt(s, "a directory entry cut short");
                        uint16_t off = get16(buf + pos);
                        size_t len = (size_t)get16(buf + pos + 6) + 1;
                        pos += 8;
                        if (n - pos < len)
                                return corrupt(s, "a directory entry's name cut short");
                        const char *name = (const char *)buf + pos;
                        pos += len;
                        if (memchr(name, '/', len) || memchr(name, 0, len) || (len == 1 && name[0] == '.') ||
                            (len == 2 && name[0] == '.' && name[1] == '.'))
                                return corrupt(s, "a directory entry named \"%.*s\"", (int)MIN(len, 64u), name);
                        k = fn(ud, name, len, (uint64_t)start << 16 | off);
                        if (k != 0)
                                return k;
                }
        }
        return 0;
}

struct find_ud {
        const char *name;
        size_t len;
        uint64_t ref;
};
static int find_fn(void *ud, const char *name, size_t len, uint64_t ref) {
        struct find_ud *f = ud;
        if (len != f->len || memcmp(name, f->name, len) != 0)
                return 0;
        f->ref = ref;
        return 1;
}

static int read_symlink(struct squashfs_reader *s, const struct sq_inode *ino, char **ret) {
        if (ino->size == 0 || ino->size > 4096)
                return corrupt(s, "a symlink target of %" PRIu64 " bytes", ino->size);
        struct mcur c = ino->extra;
        _cleanup_free_ char *t = xmalloc(ino->size + 1);
        int k = meta_read(s, &c, t, ino->size);
        if (k < 0)
                return k;
        t[ino->size] = 0;
        if (strlen(t) != ino->size)
                return corrupt(s, "a symlink target with a NUL byte");
        *ret = TAKE_PTR(t);
        return 0;
}

/* Resolves path from the root; symlinks are followed (the last component's
 * too), inside the filesystem: ".." of the root is the root. */
static int resolve(struct squashfs_reader *s, const char *path, struct sq_inode *ret) {
        _cleanup_free_ struct sq_inode *stack = xmalloc(MAX_DEPTH * sizeof *stack);
        size_t depth = 1;
        int k = read_inode(s, s->root_ref, &stack[0]);
        if (k < 0)
                return k;
        if (stack[0].kind != T_DIR)
                return corrupt(s, "the root inode is not a directory");
        _cleanup_free_ char *todo = xstrdup(path);
        unsigned links = 0;
        const char *p = todo;
        for (;;) {
                p += strspn(p, "/");
                if (!*p)
                        break;
                size_t n = strcspn(p, "/");
                if (n == 1 && p[0] == '.') {
                        p += n;
                        continue;
                }
                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (depth > 1)
                                depth--;
                        p += n;
                        continue;
                }
                struct sq_inode *dir = &stack[depth - 1];
                if (dir->kind != T_DIR)
                        return -ENOTDIR;
                struct find_ud f = { .name = p, .len = n };
                k = for_each_entry(s, dir, find_fn, &f);
                if (k < 0)
                        return k;
                if (k == 0)
                        return -ENOENT;
                struct sq_inode ino;
                if ((k = read_inode(s, f.ref, &ino)) < 0)
                        return k;
                p += n;
                if (ino.kind == T_SYMLINK) {
                        if (++links > MAX_SYMLINKS)
                                return -ELOOP;
                        _cleanup_free_ char *target = NULL;
                        if ((k = read_symlink(s, &ino, &target)) < 0)
                                return k;
                        if (target[0] == '/')
                                depth = 1;
                        char *next = xasprintf("%s/%s", target, p);
                        free(todo);
                        todo = next;
                        p = todo;
                        continue;
                }
                if (depth == MAX_DEPTH)
                        return corrupt(s, "a path deeper than %u directories", MAX_DEPTH);
                stack[depth++] = ino;
        }
        *ret = stack[depth - 1];
        return 0;
}

int squashfs_exists(struct squashfs_reader *s, const char *path) {
        struct sq_inode ino;
        int k = resolve(s, path, &ino);
        if (k == -ENOENT || k == -ENOTDIR || k == -ELOOP)
                return 0;
        return k < 0 ? k : 1;
}

static int read_fragment(struct squashfs_reader *s, uint32_t idx, uint8_t *out, size_t *ret_len) {
        if (idx >= s->frag_count || s->frag_table == NO_TABLE)
                return corrupt(s, "fragment %" PRIu32 " of %" PRIu32, idx, s->frag_count);
        uint8_t p[16];
        int k = sq_pread(s, p, 8, s->frag_table + (uint64_t)(idx / 512) * 8, "the fragment table");
        if (k < 0)
                return k;
        struct mcur c = { .block = get64(p), .off = (idx % 512) * 16 };
        if ((k = meta_read(s, &c, p, 16)) < 0)
                return k;
        uint64_t start = get64(p);
        uint32_t w = get32(p + 8), n = w & 0xffffff;
        if (n == 0 || n > s->block_size)
                return corrupt(s, "fragment %" PRIu32 " of %" PRIu32 " bytes", idx, n);
        _cleanup_free_ uint8_t *raw = xmalloc(n);
        if ((k = sq_pread(s, raw, n, start, "a fragment block")) < 0)
                return k;
        if (w & 0x1000000) {
                memcpy(out, raw, n);
                *ret_len = n;
                return 0;
        }
        return decompress(s, raw, n, out, s->block_size, ret_len, "fragment block", start);
}

int squashfs_read_file(struct squashfs_reader *s, const char *path, size_t max, char **ret, size_t *ret_len) {
        struct sq_inode ino;
        int k = resolve(s, path, &ino);
        if (k < 0)
                return k;
        if (ino.kind == T_DIR)
                return -EISDIR;
        if (ino.kind != T_FILE)
                return -EINVAL;
        if (ino.size > max)
                return -EFBIG;
        size_t size = (size_t)ino.size, bs = s->block_size;
        bool frag = ino.frag_idx != NO_FRAGMENT;
        size_t nblocks = frag ? size / bs : (size + bs - 1) / bs;
        _cleanup_free_ uint8_t *out = xcalloc(1, size + 1);
        _cleanup_free_ uint8_t *raw = xmalloc(bs), *tmp = xmalloc(bs);
        uint64_t pos = ino.blocks_start;
        struct mcur c = ino.extra;
        for (size_t i = 0; i < nblocks; i++) {
                uint8_t w4[4];
                if ((k = meta_read(s, &c, w4, 4)) < 0)
                        return k;
                uint32_t w = get32(w4), n = w & 0xffffff;
                size_t want = MIN(bs, size - i * bs), got = 0;
                if (n == 0)
                        continue;   /* a hole */
                if (n > bs)
                        return corrupt(s, "%s: a data block of %" PRIu32 " bytes (block size %zu)", path, n, bs);
                if ((k = sq_pread(s, raw, n, pos, "a data block")) < 0)
                        return k;
                if (w & 0x1000000) {
                        memcpy(tmp, raw, n);
                        got = n;
                } else if ((k = decompress(s, raw, n, tmp, bs, &got, "data block", pos)) < 0)
                        return k;
                if (got != want)
                        return corrupt(s, "%s: block %zu holds %zu bytes, not %zu", path, i, got, want);
                memcpy(out + i * bs, tmp, want);
                pos += n;
        }
        size_t tail = size - nblocks * bs;
        if (frag && tail > 0) {
                size_t got = 0;
                if ((k = read_fragment(s, ino.frag_idx, tmp, &got)) < 0)
                        return k;
                if (ino.frag_off > got || tail > got - ino.frag_off)
                        return corrupt(s, "%s: its tail (%zu bytes at %" PRIu32 ") lies beyond its fragment (%zu bytes)", path, tail,
                                       ino.frag_off, got);
                memcpy(out + nblocks * bs, tmp + ino.frag_off, tail);
        }
        *ret = (char *)TAKE_PTR(out);
        if (ret_len)
                *ret_len = size;
        return 0;
}

struct names {
        char **v;
        size_t n, cap;
};
static int list_fn(void *ud, const char *name, size_t len, uint64_t ref) {
        struct names *l = ud;
        if (l->n + 2 > l->cap) {
                l->cap = MAX(16u, l->cap * 2);
                l->v = xrealloc(l->v, l->cap * sizeof *l->v);
        }
        l->v[l->n++] = xstrndup(name, len);
        l->v[l->n] = NULL;
        return 0;
}

int squashfs_list_dir(struct squashfs_reader *s, const char *path, char ***ret) {
        struct sq_inode ino;
        int k = resolve(s, path, &ino);
        if (k < 0)
                return k;
        if (ino.kind != T_DIR)
                return -ENOTDIR;
        struct names l = { .v = xcalloc(1, sizeof(char *)), .cap = 1 };
        k = for_each_entry(s, &ino, list_fn, &l);
        if (k < 0) {
                strv_free(l.v);
                return k;
        }
        strv_sort(l.v);
        *ret = l.v;
        return 0;
}

int squashfs_reader_open(struct image_reader *r, uint64_t offset, uint64_t size, const char *what,
                         struct squashfs_reader **ret) {
        struct squashfs_reader *s = xcalloc(1, sizeof *s);
        s->r = r;
        s->base = offset;
        s->size = size;
        s->what = xstrdup(what);
        s->bytes_used = size;
        uint8_t sb[96];
        int k;
        if (size < sizeof sb) {
                k = corrupt(s, "%" PRIu64 " bytes, smaller than a superblock", size);
                goto fail;
        }
        if ((k = image_pread(r, sb, sizeof sb, offset)) < 0)
                goto fail;
        if (get32(sb) != SQUASHFS_MAGIC) {
                k = corrupt(s, "no squashfs superblock (magic hsqs)");
                goto fail;
        }
        if (get16(sb + 28) != 4 || get16(sb + 30) != 0) {
                log_warning("%s: squashfs %s: version %u.%u; only 4.0 is read", r->path, what, get16(sb + 28), get16(sb + 30));
                k = -EOPNOTSUPP;
                goto fail;
        }
        s->inode_count = get32(sb + 4);
        s->block_size = get32(sb + 12);
        s->frag_count = get32(sb + 16);
        s->compression = get16(sb + 20);
        uint16_t block_log = get16(sb + 22);
        s->root_ref = get64(sb + 32);
        uint64_t used = get64(sb + 40);
        s->inode_table = get64(sb + 64);
        s->dir_table = get64(sb + 72);
        s->frag_table = get64(sb + 80);
        if (s->block_size < 4096 || s->block_size > 1024 * 1024 || (s->block_size & (s->block_size - 1)) ||
            block_log > 20 || (1u << block_log) != s->block_size) {
                k = corrupt(s, "block size %" PRIu32 " (log %u)", s->block_size, block_log);
                goto fail;
        }
        if (used > size) {
                k = corrupt(s, "the superblock says %" PRIu64 " bytes, the file has %" PRIu64, used, size);
                goto fail;
        }
        s->bytes_used = used;
        if (s->inode_table < sizeof sb || s->inode_table >= s->dir_table || s->dir_table >= used ||
            (s->frag_table != NO_TABLE && s->frag_table >= used)) {
                k = corrupt(s, "table offsets out of order (inodes %" PRIu64 ", directories %" PRIu64 ", %" PRIu64 " bytes)",
                            s->inode_table, s->dir_table, used);
                goto fail;
        }
        switch (s->compression) {
        case COMP_GZIP:
        case COMP_XZ:
                break;
        case COMP_ZSTD:
                if (!(s->zstd = ZSTD_createDCtx()))
                        abort();
                break;
        default:
                log_warning("%s: squashfs %s: compression %s is not supported (gzip, xz and zstd are)", r->path, what,
                          s->compression == COMP_LZO ? "lzo" : s->compression == COMP_LZ4 ? "lz4" :
                          s->compression == COMP_LZMA ? "lzma" : "unknown");
                k = -EOPNOTSUPP;
                goto fail;
        }
        *ret = s;
        return 0;
fail:
        squashfs_reader_free(s);
        return k;
}

void squashfs_reader_free(struct squashfs_reader *s) {
        if (!s)
                return;
        ZSTD_freeDCtx(s->zstd);
        free(s->what);
        free(s);
}

const char *squashfs_compression(const struct squashfs_reader *s) {
        return s->compression == COMP_GZIP ? "gzip" : s->compression == COMP_XZ ? "xz" : "zstd";
}
uint64_t squashfs_bytes_used(const struct squashfs_reader *s) { return s->bytes_used; }
uint32_t squashfs_block_size(const struct squashfs_reader *s) { return s->block_size; }
uint32_t squashfs_inode_count(const struct squashfs_reader *s) { return s->inode_count; }
