/* SPDX-License-Identifier: MIT */
#include "fileio.h"
#include "tree.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int copy_range(int src_fd, int dst_fd, off_t start, off_t end) {
        off_t in = start, out = start;
        while (in < end) {
                ssize_t n = copy_file_range(src_fd, &in, dst_fd, &out, (size_t)MIN(end - in, (off_t)1 << 30), 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
                                return -errno;
                        /* Fallback: plain read/write. */
                        static __thread char buf[1 << 20];
                        ssize_t k = pread(src_fd, buf, (size_t)MIN(end - in, (off_t)sizeof(buf)), in);
                        if (k < 0)
                                return -errno;
                        if (k == 0)
                                return -EIO;
                        if (pwrite(dst_fd, buf, (size_t)k, out) != k)
                                return errno ? -errno : -EIO;
                        in += k;
                        out += k;
                        continue;
                }
                if (n == 0)
                        return -EIO;
        }
        return 0;
}

int copy_sparse(int src_fd, int dst_fd) {
        struct stat st;
        if (fstat(src_fd, &st) < 0)
                return -errno;
        if (ioctl(dst_fd, FICLONE, src_fd) == 0)
                return 0;
        if (ftruncate(dst_fd, 0) < 0 || ftruncate(dst_fd, st.st_size) < 0)
                return -errno;
        off_t pos = 0;
        while (pos < st.st_size) {
                off_t data = lseek(src_fd, pos, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* only a hole remains */
                        return -errno;
                }
                off_t hole = lseek(src_fd, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                int r = copy_range(src_fd, dst_fd, data, hole);
                if (r < 0)
                        return r;
                pos = hole;
        }
        return 0;
}

int copy_from_tree(int root_fd, const char *path, const char *dst, mode_t mode) {
        /* O_NONBLOCK: a FIFO in the tree must not block the open. */
        _cleanup_close_ int in = tree_open(root_fd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
        if (in < 0)
                return in;
        struct stat st;
        if (fstat(in, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        _cleanup_close_ int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
        if (out < 0)
                return -errno;
        int r = copy_sparse(in, out);
        if (r < 0)
                return r;
        return fchmod(out, mode) < 0 ? -errno : 0;
}

int pwrite_all(int fd, const void *buf, size_t n, uint64_t off) {
        const uint8_t *p = buf;
        while (n > 0) {
                ssize_t w = pwrite(fd, p, n, (off_t)off);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += w;
                n -= (size_t)w;
                off += (uint64_t)w;
        }
        return 0;
}

int file_allocated_bytes(const char *path, uint64_t *ret_allocated, uint64_t *ret_apparent) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (ret_allocated)
                *ret_allocated = (uint64_t)st.st_blocks * 512;
        if (ret_apparent)
                *ret_apparent = (uint64_t)st.st_size;
        return 0;
}
