/* SPDX-License-Identifier: MIT */
#include "fsimage.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#define EXT4_BLOCK UINT64_C(4096)
#define EXT4_INODE_SIZE 256u
#define EXT4_INODE_RATIO UINT64_C(16384)

/* A depth-first walk that does not follow symlinks nor cross devices and,
 * unlike nftw(), passes a user pointer.  It goes by file descriptors: each
 * entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW) in its directory's
 * fd and a directory is opened there with O_NOFOLLOW, so nothing on the
 * way is a path the kernel could resolve through a symlink.  visit() is
 * called for every entry (directories after their contents) with its
 * directory's fd and its name there (AT_FDCWD and the root's path for the
 * root). */
typedef int (*walk_fn)(int dir_fd, const char *name, const struct stat *st, void *userdata);

#define WALK_MAX_DEPTH 512       /* one fd a level: fail cleanly, not with EMFILE */

static int walk_at(int dir_fd, const char *name, dev_t dev, unsigned depth, walk_fn visit, void *userdata) {
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
                if (depth > WALK_MAX_DEPTH)
                        return -ELOOP;
                DIR *d = tree_fdopendir(dir_fd, name);
                if (!d)
                        return -errno;
                struct dirent *de;
                int r = 0;
                errno = 0;
                while (r == 0 && (de = readdir(d))) {
                        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                continue;
                        r = walk_at(dirfd(d), de->d_name, dev, depth + 1, visit, userdata);
                        errno = 0;
                }
                if (r == 0 && errno != 0)
                        r = -errno;
                closedir(d);
                if (r < 0)
                        return r;
        }
        return visit(dir_fd, name, &st, userdata);
}

static int walk_tree(const char *root, walk_fn visit, void *userdata) {
        struct stat st;
        if (lstat(root, &st) < 0)
                return -errno;
        return walk_at(AT_FDCWD, root, st.st_dev, 0, visit, userdata);
}

static int usage_one(int dir_fd, const char *name, const struct stat *st, void *userdata) {
        (void)dir_fd;
        (void)name;
        struct tree_usage *u = userdata;
        u->n_inodes++;
        if (S_ISREG(st->st_mode)) {
                u->n_files++;
                /* A hard link's data is counted once per name: an overestimate, on the safe side. */
                u->data_bytes += ALIGN_UP((uint64_t)st->st_size, EXT4_BLOCK);
        } else if (S_ISDIR(st->st_mode))
                u->data_bytes += MAX(ALIGN_UP((uint64_t)st->st_size, EXT4_BLOCK), EXT4_BLOCK);
        else if (S_ISLNK(st->st_mode) && st->st_size >= 60)
                u->data_bytes += EXT4_BLOCK;   /* longer targets do not fit in the inode */
        return 0;
}

int tree_usage(const char *tree, struct tree_usage *ret) {
        struct tree_usage u = { 0 };
        int r = walk_tree(tree, usage_one, &u);
        if (r < 0)
                return log_error_errno(r, "cannot measure %s", tree);
        *ret = u;
        return 0;
}

static uint64_t ext4_journal_bytes(uint64_t fs_bytes) {
        /* ext2fs_default_journal_size() of e2fsprogs 1.47, in 4 KiB blocks. */
        uint64_t blocks = fs_bytes / EXT4_BLOCK;
        uint64_t j = blocks < 32768 ? 1024 : blocks < 256 * 1024 ? 4096 : blocks < 512 * 1024 ? 8192 :
                     blocks < 4096 * 1024 ? 16384 : blocks < 8192 * 1024 ? 32768 :
                     blocks < 16384 * 1024 ? 65536 : blocks < 32768 * 1024 ? 131072 : 262144;
        return j * EXT4_BLOCK;
}

uint64_t ext4_required_bytes(const struct tree_usage *u) {
        /* data + 2 % for extent and directory index blocks + 4 MiB for
         * group descriptors, bitmaps and the resize reserve */
        uint64_t base = u->data_bytes + u->data_bytes / 50 + 4 * MiB;
        uint64_t with_journal = base + ext4_journal_bytes(base);
        /* inode tables: one 256-byte inode per 16 KiB (1/64), or as many as
         * ext4_inode_count() asks for when the tree has more files */
        uint64_t tables = MAX(with_journal / 63, (u->n_inodes + u->n_inodes / 4 + 1024) * EXT4_INODE_SIZE);
        /* 5 % reserved blocks (-m 5) */
        uint64_t total = with_journal + tables;
        total += total / 19;
        return ALIGN_UP(total, MiB);
}

uint64_t ext4_inode_count(const struct tree_usage *u, uint64_t size) {
        uint64_t deflt = size / EXT4_INODE_RATIO;
        uint64_t need = u->n_inodes + u->n_inodes / 4 + 1024;
        return MAX(deflt, need);
}

int ext4_make(const struct ext4_params *p) {
        /* Every feature named, none from the host's /etc/mke2fs.conf, so the
         * filesystem does not change with the build host.  These are
         * e2fsprogs 1.47's ext4 defaults without orphan_file (bookworm's
         * mke2fs does not know it); GRUB 2.06+ reads all of them. */
        static const char features[] = "none,has_journal,ext_attr,resize_inode,dir_index,filetype,extent,flex_bg,"
                                       "sparse_super,large_file,huge_file,dir_nlink,extra_isize,metadata_csum,64bit";
        if (p->offset % EXT4_BLOCK || p->size % EXT4_BLOCK)
                return log_error_errno(-EINVAL, "ext4 at %" PRIu64 "+%" PRIu64 ": not 4 KiB aligned", p->offset, p->size);
        _cleanup_free_ char *ext = xasprintf("offset=%" PRIu64 ",hash_seed=%s,lazy_itable_init=1,lazy_journal_init=1,"
                                             "nodiscard", p->offset, p->uuid);
        _cleanup_free_ char *size = xasprintf("%" PRIu64 "k", p->size / KiB);
        _cleanup_free_ char *inodes = p->n_inodes ? xasprintf("%" PRIu64, p->n_inodes) : NULL;
        _cleanup_free_ char *fake = xasprintf("E2FSPROGS_FAKE_TIME=%" PRIu64, p->epoch);
        _cleanup_free_ char *sde = xasprintf("SOURCE_DATE_EPOCH=%" PRIu64, p->epoch);
        /* E2FSPROGS_FAKE_TIME is what 1.47.0 honours for the superblock and
         * the inodes it creates; SOURCE_DATE_EPOCH is what 1.47.1+ reads.
         * MKE2FS_CONFIG=/dev/null keeps the host's mke2fs.conf out. */
        char *env[] = { fake, sde, (char *)"MKE2FS_CONFIG=/dev/null", (char *)"E2FSPROGS_LIBMAGIC_SUPPRESS=1", NULL };
        const char *argv[32];
        size_t n = 0;
        argv[n++] = "mke2fs";
        argv[n++] = "-q";
        argv[n++] = "-F";
        argv[n++] = "-t";
        argv[n++] = "ext4";
        argv[n++] = "-b";
        argv[n++] = "4096";
        argv[n++] = "-I";
        argv[n++] = "256";
        argv[n++] = "-m";
        argv[n++] = "5";
        argv[n++] = "-O";
        argv[n++] = features;
        argv[n++] = "-U";
        argv[n++] = p->uuid;
        argv[n++] = "-L";
        argv[n++] = p->label ? p->label : "";
        argv[n++] = "-E";
        argv[n++] = ext;
        if (inodes) {
                argv[n++] = "-N";
                argv[n++] = inodes;
        }
        if (p->tree) {
                argv[n++] = "-d";
                argv[n++] = p->tree;
        }
        argv[n++] = p->image;
        argv[n++] = size;
        argv[n] = NULL;
        struct run_opts o = { .env = env, .quiet = true };
        int r = run_command((char *const *)argv, &o);
        if (r < 0)
                return r;
        return ext4_clamp_times(p->image, p->offset, p->epoch);
}

static int ext2fs_open_at(const char *image, uint64_t offset, int flags, ext2_filsys *ret) {
        char opts[64];
        snprintf(opts, sizeof(opts), "offset=%" PRIu64, offset);
        errcode_t e = ext2fs_open2(image, opts, flags | EXT2_FLAG_64BITS, 0, 0, unix_io_manager, ret);
        if (e)
                return log_error_errno(-EIO, "%s: cannot open the ext4 at offset %" PRIu64 " (libext2fs error %ld)",
                                       image, offset, (long)e);
        return 0;
}

int ext4_used_bytes(const char *image, uint64_t offset, uint64_t *ret) {
        ext2_filsys fs = NULL;
        int r = ext2fs_open_at(image, offset, 0, &fs);
        if (r < 0)
                return r;
        uint64_t blocks = ext2fs_blocks_count(fs->super), free_blocks = ext2fs_free_blocks_count(fs->super);
        *ret = (blocks - free_blocks) * (uint64_t)fs->blocksize;
        ext2fs_close_free(&fs);
        return 0;
}

int ext4_clamp_times(const char *image, uint64_t offset, uint64_t epoch) {
        ext2_filsys fs = NULL;
        ext2_inode_scan scan = NULL;
        int r = ext2fs_open_at(image, offset, EXT2_FLAG_RW, &fs);
        if (r < 0)
                return r;
        if (epoch > INT32_MAX) {
                ext2fs_close_free(&fs);
                return log_error_errno(-ERANGE, "SOURCE_DATE_EPOCH %" PRIu64 " is beyond 2038", epoch);
        }
        /* Closing a read-write filesystem stamps the superblock's write time:
         * with fs->now it is the epoch, not the clock. */
        fs->now = (time_t)epoch;
        unsigned isize = EXT2_INODE_SIZE(fs->super);
        _cleanup_free_ struct ext2_inode_large *inode = xcalloc(1, MAX(isize, sizeof(struct ext2_inode_large)));
        errcode_t e = ext2fs_open_inode_scan(fs, 0, &scan);
        for (;;) {
                ext2_ino_t ino = 0;
                if (e)
                        break;
                e = ext2fs_get_next_inode_full(scan, &ino, (struct ext2_inode *)inode, isize);
                if (e || ino == 0)
                        break;
                if (inode->i_links_count == 0 && ino >= EXT2_FIRST_INODE(fs->super))
                        continue;
                uint32_t mtime = inode->i_mtime;
                bool mtime_late = mtime > epoch;
                if (isize > EXT2_GOOD_OLD_INODE_SIZE &&
                    inode->i_extra_isize >= offsetof(struct ext2_inode_large, i_mtime_extra) + 4 - EXT2_GOOD_OLD_INODE_SIZE &&
                    (inode->i_mtime_extra & 3) != 0)
                        mtime_late = true;   /* epoch bits: after 2038 */
                uint32_t t = mtime_late ? (uint32_t)epoch : mtime;
                inode->i_mtime = inode->i_atime = inode->i_ctime = t;
                if (isize > EXT2_GOOD_OLD_INODE_SIZE) {
                        unsigned extra_end = EXT2_GOOD_OLD_INODE_SIZE + inode->i_extra_isize;
                        if (extra_end >= offsetof(struct ext2_inode_large, i_ctime_extra) + 4)
                                inode->i_ctime_extra = 0;
                        if (extra_end >= offsetof(struct ext2_inode_large, i_mtime_extra) + 4)
                                inode->i_mtime_extra = 0;
                        if (extra_end >= offsetof(struct ext2_inode_large, i_atime_extra) + 4)
                                inode->i_atime_extra = 0;
                        if (extra_end >= offsetof(struct ext2_inode_large, i_crtime_extra) + 4) {
                                inode->i_crtime = t;
                                inode->i_crtime_extra = 0;
                        }
                }
                e = ext2fs_write_inode_full(fs, ino, (struct ext2_inode *)inode, isize);
        }
        if (scan)
                ext2fs_close_inode_scan(scan);
        errcode_t ce = ext2fs_close_free(&fs);
        if (e || ce)
                return log_error_errno(-EIO, "%s: clamping ext4 timestamps: libext2fs error %ld", image, (long)(e ? e : ce));
        return 0;
}

int vfat_make(const char *image, uint64_t offset, uint64_t size, uint32_t serial, const char *label) {
        if (offset % 512 || size % KiB)
                return log_error_errno(-EINVAL, "vfat at %" PRIu64 "+%" PRIu64 ": not aligned", offset, size);
        bool fat32 = size >= (UINT64_C(64) << 20);
        /* The cluster size is always given: mkfs.fat 4.2 otherwise derives it
         * from the size of the whole image file, not of the filesystem, and
         * a 64 MiB FAT32 inside a 30 GiB disk got 4 KiB clusters — too few
         * for FAT32 (65525), so mtools then took it for FAT16.
         * FAT32: the largest of 1..8 sectors that keeps >= 65525 clusters;
         * FAT16 (8 MiB .. 64 MiB): 2 sectors, 8192..65535 clusters. */
        unsigned spc = 2;
        if (fat32) {
                uint64_t sectors = size / 512;
                spc = sectors / 8 >= 70000 ? 8 : sectors / 4 >= 70000 ? 4 : sectors / 2 >= 70000 ? 2 : 1;
        }
        char serial_s[16], offset_s[32], blocks_s[32], spc_s[8];
        snprintf(serial_s, sizeof(serial_s), "%08" PRIX32, serial);
        snprintf(offset_s, sizeof(offset_s), "%" PRIu64, offset / 512);
        snprintf(blocks_s, sizeof(blocks_s), "%" PRIu64, size / KiB);
        snprintf(spc_s, sizeof(spc_s), "%u", spc);
        /* -h: hidden sectors = the partition's first LBA, as mkfs.fat writes
         * on a partition device.  -g 255/63: a fixed geometry instead of
         * one derived from the image file. */
        const char *argv[] = { "mkfs.fat", "--invariant", "-i", serial_s, "-n", label ? label : "ESP",
                               "-F", fat32 ? "32" : "16", "-S", "512", "-s", spc_s, "-h", offset_s, "-g", "255/63",
                               "--offset", offset_s, image, blocks_s, NULL };
        struct run_opts o = { .quiet = true };
        return run_command((char *const *)argv, &o);
}

static int touch_one(int dir_fd, const char *name, const struct stat *st, void *userdata) {
        (void)st;
        const uint64_t *epoch = userdata;
        struct timespec ts[2] = { { .tv_sec = (time_t)*epoch }, { .tv_sec = (time_t)*epoch } };
        return utimensat(dir_fd, name, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int vfat_copy_tree(const char *image, uint64_t offset, const char *src, uint64_t epoch) {
        /* walk_tree() visits a directory after its entries, so creating
         * nothing afterwards, its time stays. */
        int r = walk_tree(src, touch_one, &epoch);
        if (r < 0)
                return log_error_errno(r, "cannot set the times under %s", src);

        _cleanup_strv_free_ char **entries = NULL;
        DIR *d = opendir(src);
        if (!d)
                return log_error_errno(-errno, "cannot read %s", src);
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        _cleanup_free_ char *p = path_join(src, de->d_name);
                        strv_push(&entries, p);
                }
        closedir(d);
        size_t n = strv_length(entries);
        if (n == 0)
                return 0;
        qsort(entries, n, sizeof(char *), cmp_strp);

        _cleanup_free_ char *target = xasprintf("%s@@%" PRIu64, image, offset);
        char **argv = xcalloc(n + 8, sizeof(char *));
        size_t k = 0;
        argv[k++] = (char *)"mcopy";
        argv[k++] = (char *)"-s";         /* recursive */
        argv[k++] = (char *)"-m";         /* keep the (epoch) modification times */
        argv[k++] = (char *)"-Q";         /* stop at the first error */
        argv[k++] = (char *)"-i";
        argv[k++] = target;
        for (size_t i = 0; i < n; i++)
                argv[k++] = entries[i];
        argv[k++] = (char *)"::/";
        argv[k] = NULL;
        /* TZ=UTC: FAT stores local time.  MTOOLS_SKIP_CHECK: the image file
         * is larger than the filesystem (it is a whole disk). */
        char *env[] = { (char *)"TZ=UTC", (char *)"MTOOLS_SKIP_CHECK=1", (char *)"MTOOLS_NO_VFAT=0", NULL };
        struct run_opts o = { .env = env, .quiet = true };
        r = run_command(argv, &o);
        free(argv);
        return r;
}

static int uuid_parse_hex(const char *s, unsigned char out[16]) {
        size_t n = 0;
        for (const char *p = s; *p && n < 32; p++) {
                if (*p == '-')
                        continue;
                int v;
                if (*p >= '0' && *p <= '9') v = *p - '0';
                else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
                else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
                else return -EINVAL;
                if (n % 2 == 0)
                        out[n / 2] = (unsigned char)(v << 4);
                else
                        out[n / 2] |= (unsigned char)v;
                n++;
        }
        return n == 32 ? 0 : -EINVAL;
}

int swap_make(const char *image, uint64_t offset, uint64_t size, const char *uuid, const char *label) {
        /* struct swap_header_v1_2 of linux/swap.h in the first 4 KiB page. */
        unsigned char page[4096] = { 0 };
        uint32_t version = 1, last_page = (uint32_t)(size / 4096 - 1), nr_bad = 0;
        if (size < 40 * 4096 || size / 4096 - 1 > UINT32_MAX)
                return log_error_errno(-EINVAL, "swap of %" PRIu64 " bytes: unsupported size", size);
        memcpy(page + 1024, &version, 4);
        memcpy(page + 1028, &last_page, 4);
        memcpy(page + 1032, &nr_bad, 4);
        if (uuid_parse_hex(uuid, page + 1036) < 0)
                return log_error_errno(-EINVAL, "bad swap UUID %s", uuid);
        if (label)
                strncpy((char *)page + 1052, label, 16);
        memcpy(page + 4096 - 10, "SWAPSPACE2", 10);
        _cleanup_close_ int fd = open(image, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || pwrite(fd, page, sizeof(page), (off_t)offset) != (ssize_t)sizeof(page))
                return log_error_errno(-errno, "%s: cannot write the swap signature", image);
        return 0;
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int vfat_used_bytes(const char *image, uint64_t offset, uint64_t *ret) {
        uint8_t bs[512], fsinfo[512];
        _cleanup_close_ int fd = open(image, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || pread(fd, bs, sizeof(bs), (off_t)offset) != (ssize_t)sizeof(bs))
                return log_error_errno(-EIO, "%s: cannot read the FAT boot sector", image);
        unsigned bytes_per_sector = bs[11] | bs[12] << 8, spc = bs[13], reserved = bs[14] | bs[15] << 8, fats = bs[16];
        uint32_t fat16_size = bs[22] | bs[23] << 8, total = bs[19] | bs[20] << 8;
        if (total == 0)
                total = le32(bs + 32);
        /* FAT32 only: FAT16 has no free-cluster count to read cheaply */
        if (fat16_size != 0 || bytes_per_sector != 512 || spc == 0)
                return -EOPNOTSUPP;
        uint32_t fat_size = le32(bs + 36), fsinfo_sector = bs[48] | bs[49] << 8;
        if (pread(fd, fsinfo, sizeof(fsinfo), (off_t)(offset + (uint64_t)fsinfo_sector * 512)) != (ssize_t)sizeof(fsinfo) ||
            le32(fsinfo) != 0x41615252 || le32(fsinfo + 484) != 0x61417272)
                return -EOPNOTSUPP;
        uint32_t free_clusters = le32(fsinfo + 488);
        uint64_t clusters = (total - reserved - (uint64_t)fats * fat_size) / spc;
        if (free_clusters == UINT32_MAX || free_clusters > clusters)
                return -EOPNOTSUPP;
        *ret = (clusters - free_clusters) * spc * 512;
        return 0;
}
