/* SPDX-License-Identifier: MIT */
#include "iso9660.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#define SECTOR 2048

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

struct dirent_iso {
        uint64_t extent;        /* byte offset of the data */
        uint64_t size;
        uint8_t flags;
        char name[256];         /* Rock Ridge name, or the ISO name without ";1" */
        bool rock_ridge;
};

/* Parses the directory record at rec (len bytes, already checked >= 34). */
static bool parse_record(const uint8_t *rec, size_t len, struct dirent_iso *d) {
        size_t nlen = rec[32];
        if (33 + nlen > len)
                return false;
        d->extent = ((uint64_t)le32(rec + 2) + rec[1]) * SECTOR;
        d->size = le32(rec + 10);
        d->flags = rec[25];
        d->rock_ridge = false;
        /* Rock Ridge NM entries in the System Use area (SUSP). */
        size_t su = 33 + nlen + (nlen % 2 == 0 ? 1 : 0), n = 0;
        bool more = false;
        while (su + 4 <= len) {
                const uint8_t *e = rec + su;
                size_t l = e[2];
                if (l < 4 || su + l > len)
                        break;
                if (memcmp(e, "ST", 2) == 0)
                        break;
                if (memcmp(e, "NM", 2) == 0 && l >= 5 && !(e[4] & 6)) {
                        size_t add = MIN(l - 5, sizeof d->name - 1 - n);
                        memcpy(d->name + n, e + 5, add);
                        n += add;
                        d->rock_ridge = true;
                        more = e[4] & 1;
                        if (!more)
                                break;
                }
                su += l;
        }
        if (d->rock_ridge) {
                d->name[n] = 0;
                return true;
        }
        n = MIN(nlen, sizeof d->name - 1);
        memcpy(d->name, rec + 33, n);
        d->name[n] = 0;
        char *semi = memchr(d->name, ';', n);
        if (semi)
                *semi = 0;
        n = strlen(d->name);
        if (n > 0 && d->name[n - 1] == '.')
                d->name[n - 1] = 0;
        return true;
}

static bool name_matches(const struct dirent_iso *d, const char *name, size_t len) {
        if (strlen(d->name) != len)
                return false;
        return d->rock_ridge ? memcmp(d->name, name, len) == 0 : strncasecmp(d->name, name, len) == 0;
}

static int corrupt(struct image_reader *r, const char *what, uint64_t at) {
        log_error("%s: corrupt ISO 9660 directory tree: %s (byte %" PRIu64 ")", r->path, what, at);
        return -EBADMSG;
}

/* Looks `name` up in the directory whose data is [at, at + size). */
static int find_in_dir(struct image_reader *r, uint64_t at, uint64_t size, const char *name, size_t nlen,
                       struct dirent_iso *ret) {
        if (size > ISO9660_DIR_MAX)
                return corrupt(r, "a directory larger than 16 MiB", at);
        if (at > r->size || size > r->size - at)
                return corrupt(r, "a directory beyond the end of the image", at);
        _cleanup_free_ uint8_t *buf = xmalloc(size ? size : 1);
        int k = image_pread(r, buf, size, at);
        if (k < 0)
                return k;
        for (size_t pos = 0; pos < size;) {
                size_t len = buf[pos];
                if (len == 0) {   /* records do not cross sectors: the rest is padding */
                        pos = (pos / SECTOR + 1) * SECTOR;
                        continue;
                }
                if (len < 34 || pos + len > size || pos % SECTOR + len > SECTOR)
                        return corrupt(r, "a directory record of a wrong length", at + pos);
                const uint8_t *rec = buf + pos;
                pos += len;
                if (rec[32] == 1 && (rec[33] == 0 || rec[33] == 1))
                        continue;   /* "." and ".." */
                struct dirent_iso d;
                if (!parse_record(rec, len, &d))
                        return corrupt(r, "a name beyond its directory record", at + pos - len);
                if (!name_matches(&d, name, nlen))
                        continue;
                /* A file in several extents: the records follow each other. */
                while (d.flags & 0x80) {
                        while (pos < size && buf[pos] == 0)
                                pos = (pos / SECTOR + 1) * SECTOR;
                        size_t l2 = pos < size ? buf[pos] : 0;
                        if (l2 < 34 || pos + l2 > size || pos % SECTOR + l2 > SECTOR)
                                return corrupt(r, "a multi-extent file without its next extent", at + pos);
                        struct dirent_iso next;
                        if (!parse_record(buf + pos, l2, &next) || !name_matches(&next, name, nlen))
                                return corrupt(r, "a multi-extent file without its next extent", at + pos);
                        if (next.extent != d.extent + d.size) {
                                log_error("%s: ISO 9660 file %.*s is in extents that are not back to back: not supported",
                                          r->path, (int)nlen, name);
                                return -EOPNOTSUPP;
                        }
                        d.size += next.size;
                        d.flags = next.flags;
                        pos += l2;
                }
                *ret = d;
                return 0;
        }
        return -ENOENT;
}

int iso9660_find_file(struct image_reader *r, const char *path, uint64_t *ret_offset, uint64_t *ret_size) {
        uint8_t vd[SECTOR];
        bool found = false;
        for (uint64_t sector = 16; sector < 16 + 64 && !found; sector++) {
                int k = image_pread(r, vd, sizeof vd, sector * SECTOR);
                if (k < 0)
                        return k;
                if (memcmp(vd + 1, "CD001", 5) != 0 || vd[0] == 255)
                        break;
                found = vd[0] == 1;
        }
        if (!found) {
                log_error("%s: corrupt ISO 9660 image: no primary volume descriptor", r->path);
                return -EBADMSG;
        }
        if ((vd[128] | vd[129] << 8) != SECTOR) {
                log_error("%s: ISO 9660 logical block size %u: only 2048 is supported", r->path, vd[128] | vd[129] << 8);
                return -EOPNOTSUPP;
        }
        if (vd[156] < 34)
                return corrupt(r, "the root directory record", 16 * SECTOR + 156);
        struct dirent_iso cur;
        if (!parse_record(vd + 156, 34, &cur))
                return corrupt(r, "the root directory record", 16 * SECTOR + 156);
        cur.flags |= 2;
        for (const char *p = path; *p;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 0)
                        break;
                if (!(cur.flags & 2))
                        return -ENOTDIR;
                struct dirent_iso next;
                int k = find_in_dir(r, cur.extent, cur.size, p, n, &next);
                if (k < 0)
                        return k;
                cur = next;
                p += n;
        }
        if (cur.flags & 2)
                return -EISDIR;
        if (cur.extent > r->size || cur.size > r->size - cur.extent) {
                log_error("%s: ISO 9660 file %s (%" PRIu64 " bytes at byte %" PRIu64 ") lies beyond the end of the image: truncated image",
                          r->path, path, cur.size, cur.extent);
                return -EBADMSG;
        }
        *ret_offset = cur.extent;
        *ret_size = cur.size;
        return 0;
}
