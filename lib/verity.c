/* SPDX-License-Identifier: MIT */
/* The immutable root image and its dm-verity hash tree: see verity.h. */
#include "verity.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const erofs_comp[] = { [ROC_NONE] = NULL, [ROC_LZ4] = "lz4", [ROC_LZ4HC] = "lz4hc" };
static const char *const squashfs_comp[] = { [ROC_NONE] = NULL, [ROC_LZ4] = "lz4", [ROC_GZIP] = "gzip", [ROC_XZ] = "xz",
                                             [ROC_ZSTD] = "zstd" };

static int pad_to_block(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "cannot stat %s", path);
        uint64_t want = ALIGN_UP((uint64_t)st.st_size, VERITY_BLOCK);
        if (want != (uint64_t)st.st_size && truncate(path, (off_t)want) < 0)
                return log_error_errno(-errno, "cannot pad %s to %" PRIu64 " bytes", path, want);
        return 0;
}

int roimage_make(const struct roimage_params *p) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *epoch = xasprintf("%" PRIu64, p->epoch);
        int r;
        (void)unlink(p->out);
        if (p->fs == FS_EROFS) {
                if (p->compression >= ELEMENTSOF(erofs_comp) || (p->compression != ROC_NONE && !erofs_comp[p->compression]))
                        return log_error_errno(-EINVAL, "erofs cannot use that compression");
                _cleanup_free_ char *t = xasprintf("-T%s", epoch), *u = xasprintf("-U%s", p->uuid);
                /* -T: every inode's time is the epoch (compact inodes, no
                 * per-file mtime); -U: the derived UUID.  mkfs.erofs sorts
                 * directory entries itself, so the result does not depend
                 * on readdir order. */
                strv_push(&argv, "mkfs.erofs");
                strv_push(&argv, "--quiet");
                strv_push(&argv, t);
                strv_push(&argv, u);
                strv_push(&argv, "--ignore-mtime");
                if (p->compression != ROC_NONE) {
                        _cleanup_free_ char *z = xasprintf("-z%s", erofs_comp[p->compression]);
                        strv_push(&argv, z);
                }
                strv_push(&argv, p->out);
                strv_push(&argv, p->tree);
        } else if (p->fs == FS_SQUASHFS) {
                if (p->compression >= ELEMENTSOF(squashfs_comp) || (p->compression != ROC_NONE && !squashfs_comp[p->compression]))
                        return log_error_errno(-EINVAL, "squashfs cannot use that compression");
                /* Times: mksquashfs refuses -mkfs-time/-all-time when
                 * SOURCE_DATE_EPOCH is in its environment (as it is in a
                 * reproducible build), so it always gets the epoch that way
                 * (run_command's env below): creation time = epoch, file
                 * times clamped to it. */
                const char *args[] = { "mksquashfs", p->tree, p->out, "-noappend", "-quiet", "-no-progress" };
                for (size_t i = 0; i < ELEMENTSOF(args); i++)
                        strv_push(&argv, args[i]);
                if (p->compression == ROC_NONE) {
                        const char *none[] = { "-noI", "-noD", "-noF", "-noX" };
                        for (size_t i = 0; i < ELEMENTSOF(none); i++)
                                strv_push(&argv, none[i]);
                } else {
                        strv_push(&argv, "-comp");
                        strv_push(&argv, squashfs_comp[p->compression]);
                }
        } else
                return log_error_errno(-EINVAL, "the immutable root must be erofs or squashfs");
        /* mksquashfs reports some errors on stdout: keep it for the log */
        _cleanup_free_ char *out = NULL, *sde = xasprintf("SOURCE_DATE_EPOCH=%s", epoch);
        size_t out_len = 0;
        char *env[] = { sde, NULL };
        if ((r = run_command(argv, &(struct run_opts){ .capture_stdout = true, .out = &out, .out_len = &out_len, .env = env })) < 0) {
                const char *tail = out ? out + out_len : NULL;
                for (int lines = 0; tail && tail > out && lines < 6; lines += *--tail == '\n')
                        ;
                return log_error_errno(r, "cannot make the read-only root image %s%s%s", p->out, out && *out ? ":\n" : "",
                                       tail ? tail : "");
        }
        return pad_to_block(p->out);
}

static bool is_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return s[n] == '\0' || s[n] == '\n';
}

int verity_format(const char *data, const char *hash, const char *salt_hex, const char *uuid, char roothash[65]) {
        _cleanup_free_ char *salt = xasprintf("--salt=%s", salt_hex), *u = xasprintf("--uuid=%s", uuid);
        _cleanup_free_ char *hashfile = xasprintf("%s.roothash", hash);
        _cleanup_free_ char *rh = xasprintf("--root-hash-file=%s", hashfile);
        (void)unlink(hashfile);
        /* veritysetup writes into an existing hash "device" */
        _cleanup_close_ int fd = open(hash, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s", hash);
        char *argv[] = { (char *)"veritysetup", (char *)"format", (char *)"--hash=sha256", (char *)"--data-block-size=4096",
                         (char *)"--hash-block-size=4096", salt, u, rh, (char *)data, (char *)hash, NULL };
        int r = run_command(argv, &(struct run_opts){ .quiet = true });
        if (r < 0)
                return log_error_errno(r, "veritysetup format of %s failed", data);
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        r = read_file(hashfile, &text, &n);
        (void)unlink(hashfile);
        if (r < 0)
                return log_error_errno(r, "veritysetup wrote no root hash (%s)", hashfile);
        if (n < 64 || !is_hex(text, 64))
                return log_error_errno(-EIO, "veritysetup wrote an unexpected root hash '%.70s'", text);
        memcpy(roothash, text, 64);
        roothash[64] = '\0';
        return 0;
}

uint64_t verity_hash_bytes(uint64_t data_bytes) {
        /* 32-byte digests, 128 per 4 KiB hash block; each level hashes the
         * one below until a single block remains; plus the superblock. */
        uint64_t blocks = (data_bytes + VERITY_BLOCK - 1) / VERITY_BLOCK, total = 1;
        do {
                blocks = (blocks + 127) / 128;
                total += blocks;
        } while (blocks > 1);
        return total * VERITY_BLOCK;
}

int verity_partition_uuids(const char *roothash, char data_uuid[37], char hash_uuid[37]) {
        if (!roothash || strlen(roothash) != 64 || !is_hex(roothash, 64))
                return -EINVAL;
        const char *halves[2] = { roothash, roothash + 32 };
        char *outs[2] = { data_uuid, hash_uuid };
        for (int h = 0; h < 2; h++) {
                const char *s = halves[h];
                snprintf(outs[h], 37, "%.8s-%.4s-%.4s-%.4s-%.12s", s, s + 8, s + 12, s + 16, s + 20);
        }
        return 0;
}
