/* SPDX-License-Identifier: MIT */
#include "ext4_reader.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* libext2fs opens a filesystem by name through an io_manager; the name is
 * the only thing it passes to open().  Ours carries the image_reader's
 * address and the partition's offset ("image-reader:<ptr>:<offset>:<size>"),
 * which keeps the manager free of global state. */
struct image_io {
        struct image_reader *image;
        uint64_t offset, size;
        /* Bytes read for the current lookup or read, and its budget: a
         * hostile extent tree (index entries that all point at one block)
         * makes libext2fs walk 340^depth paths, minutes to days of reads of
         * the same blocks.  An honest operation reads each block a few
         * times at most, so twice the filesystem plus 64 MiB is ample. */
        uint64_t read_bytes, budget;
        bool over_budget;
};

static void io_budget_start(struct ext4_reader *e) {
        struct image_io *io = e->fs->io->private_data;
        io->read_bytes = 0;
        io->budget = 2 * io->size + 64 * MiB;
        io->over_budget = false;
}

/* After a failed libext2fs call: what to return (an interrupt or the
 * budget are said as such, once). */
static int io_failure(struct ext4_reader *e) {
        struct image_io *io = e->fs->io->private_data;
        if (spawn_interrupted())
                return -EINTR;
        if (io->over_budget)
                log_error("%s: ext4: one lookup read more than %" PRIu64 " MiB of a %" PRIu64 " MiB filesystem: "
                          "its metadata loops (a corrupt extent tree)", e->image->path, io->budget / MiB, io->size / MiB);
        return -EBADMSG;
}

static errcode_t image_io_open(const char *name, int flags, io_channel *channel);

static errcode_t image_io_close(io_channel ch) {
        if (--ch->refcount > 0)
                return 0;
        free(ch->private_data);
        free(ch->name);
        free(ch);
        return 0;
}

static errcode_t image_io_set_blksize(io_channel ch, int blksize) {
        ch->block_size = blksize;
        return 0;
}

static errcode_t image_io_read_blk64(io_channel ch, unsigned long long block, int count, void *data) {
        struct image_io *io = ch->private_data;
        /* A negative count is a byte count (libext2fs's convention). */
        uint64_t bytes = count < 0 ? (uint64_t)-(int64_t)count : (uint64_t)count * (uint64_t)ch->block_size;
        uint64_t at = block * (uint64_t)ch->block_size;
        if (at > io->size || bytes > io->size - at)
                return EXT2_ET_LLSEEK_FAILED;
        /* Long walks stop on Ctrl-C; runaway ones at the budget. */
        if (spawn_interrupted())
                return EINTR;
        io->read_bytes += bytes;
        if (io->budget && io->read_bytes > io->budget) {
                io->over_budget = true;
                return EXT2_ET_EXTENT_HEADER_BAD;
        }
        if (image_pread(io->image, data, (size_t)bytes, io->offset + at) < 0)
                return EXT2_ET_SHORT_READ;
        return 0;
}

static errcode_t image_io_read_blk(io_channel ch, unsigned long block, int count, void *data) {
        return image_io_read_blk64(ch, block, count, data);
}

static errcode_t image_io_write_blk64(io_channel ch, unsigned long long block, int count, const void *data) {
        return EXT2_ET_RO_FILSYS;
}
static errcode_t image_io_write_blk(io_channel ch, unsigned long block, int count, const void *data) {
        return EXT2_ET_RO_FILSYS;
}
static errcode_t image_io_flush(io_channel ch) { return 0; }
static errcode_t image_io_set_option(io_channel ch, const char *option, const char *arg) { return EXT2_ET_INVALID_ARGUMENT; }

static struct struct_io_manager image_io_manager = {
        .magic = EXT2_ET_MAGIC_IO_MANAGER,
        .name = "slipway image_reader",
        .open = image_io_open,
        .close = image_io_close,
        .set_blksize = image_io_set_blksize,
        .read_blk = image_io_read_blk,
        .write_blk = image_io_write_blk,
        .flush = image_io_flush,
        .set_option = image_io_set_option,
        .read_blk64 = image_io_read_blk64,
        .write_blk64 = image_io_write_blk64,
};

static errcode_t image_io_open(const char *name, int flags, io_channel *channel) {
        void *ptr = NULL;
        uint64_t offset, size;
        if (flags & IO_FLAG_RW)
                return EXT2_ET_RO_FILSYS;
        if (sscanf(name, "image-reader:%p:%" SCNu64 ":%" SCNu64, &ptr, &offset, &size) != 3 || !ptr)
                return EXT2_ET_BAD_DEVICE_NAME;
        struct image_io *io = xcalloc(1, sizeof *io);
        io->image = ptr;
        io->offset = offset;
        io->size = size;
        io_channel ch = xcalloc(1, sizeof *ch);
        ch->magic = EXT2_ET_MAGIC_IO_CHANNEL;
        ch->manager = &image_io_manager;
        ch->name = xstrdup(name);
        ch->block_size = 1024;
        ch->refcount = 1;
        ch->private_data = io;
        *channel = ch;
        return 0;
}

int ext4_reader_open(struct image_reader *image, uint64_t offset, uint64_t size, struct ext4_reader **ret) {
        _cleanup_free_ char *name = xasprintf("image-reader:%p:%" PRIu64 ":%" PRIu64, (void *)image, offset, size);
        ext2_filsys fs = NULL;
        /* For error_message(); registering twice is a no-op. */
        initialize_ext2_error_table();
        errcode_t err = ext2fs_open2(name, NULL, EXT2_FLAG_64BITS | EXT2_FLAG_IGNORE_CSUM_ERRORS, 0, 0, &image_io_manager, &fs);
        if (err) {
                log_error("%s: cannot open the ext4 filesystem at byte %" PRIu64 ": %s", image->path, offset, error_message(err));
                return -EBADMSG;
        }
        struct ext4_reader *e = xcalloc(1, sizeof *e);
        e->fs = fs;
        e->image = image;
        e->offset = offset;
        *ret = e;
        return 0;
}

void ext4_reader_free(struct ext4_reader *e) {
        if (!e)
                return;
        if (e->fs)
                ext2fs_close_free(&e->fs);
        free(e);
}

int ext4_lookup(struct ext4_reader *e, const char *path, ext2_ino_t *ret_ino, struct ext2_inode_large *ret_inode) {
        ext2_ino_t ino;
        io_budget_start(e);
        while (*path == '/')
                path++;
        if (*path == 0)
                ino = EXT2_ROOT_INO;
        else {
                errcode_t err = ext2fs_namei_follow(e->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
                if (err == EXT2_ET_FILE_NOT_FOUND || err == EXT2_ET_NO_DIRECTORY)
                        return -ENOENT;
                if (err == EXT2_ET_SYMLINK_LOOP)
                        return -ELOOP;
                if (err) {
                        log_error("%s: ext4: cannot look up /%s: %s", e->image->path, path, error_message(err));
                        return io_failure(e);
                }
        }
        if (ret_inode) {
                memset(ret_inode, 0, sizeof *ret_inode);
                errcode_t err = ext2fs_read_inode_full(e->fs, ino, (struct ext2_inode *)ret_inode, sizeof *ret_inode);
                if (err) {
                        log_error("%s: ext4: cannot read inode %u (/%s): %s", e->image->path, ino, path, error_message(err));
                        return io_failure(e);
                }
        }
        if (ret_ino)
                *ret_ino = ino;
        return 0;
}

bool ext4_exists(struct ext4_reader *e, const char *path) {
        return ext4_lookup(e, path, NULL, NULL) == 0;
}

/* The bytes a file's blocks can hold: its size, or less when it is sparse
 * (i_blocks counts allocated 512-byte units, the extent tree's own blocks
 * included), plus one block for inline data and the tail. */
static uint64_t physical_bound(struct ext4_reader *e, struct ext2_inode_large *inode) {
        uint64_t size = EXT2_I_SIZE(inode);
        uint64_t blocks = ext2fs_get_stat_i_blocks(e->fs, (struct ext2_inode *)inode);
        uint64_t bs = (uint64_t)EXT2_BLOCK_SIZE(e->fs->super);
        if (blocks > (UINT64_MAX - bs) / 512)
                return size;
        return MIN(size, blocks * 512 + bs);
}

int ext4_read_file(struct ext4_reader *e, const char *path, size_t max, char **ret, size_t *ret_len) {
        ext2_ino_t ino;
        struct ext2_inode_large inode;
        int r = ext4_lookup(e, path, &ino, &inode);
        if (r < 0)
                return r;
        if (!LINUX_S_ISREG(inode.i_mode))
                return -EISDIR;
        if (EXT2_I_SIZE(&inode) > max)
                return -EFBIG;
        /* A sparse file is read as far as its blocks reach: a reader of
         * text stops at the first hole's NUL anyway, and a 1 GiB file
         * of holes in an 80 MB image must not cost 1 GiB of memory. */
        uint64_t size = physical_bound(e, &inode);
        ext2_file_t f;
        io_budget_start(e);
        errcode_t err = ext2fs_file_open2(e->fs, ino, (struct ext2_inode *)&inode, 0, &f);
        if (err) {
                log_error("%s: ext4: cannot open %s: %s", e->image->path, path, error_message(err));
                return io_failure(e);
        }
        _cleanup_free_ char *buf = xmalloc((size_t)size + 1);
        uint64_t done = 0;
        while (done < size) {
                unsigned got = 0;
                unsigned want = (unsigned)MIN(size - done, (uint64_t)(16 * MiB));
                err = ext2fs_file_read(f, buf + done, want, &got);
                if (err || got == 0)
                        break;
                done += got;
        }
        ext2fs_file_close(f);
        if (err || done != size) {
                log_error("%s: ext4: cannot read %s: %s", e->image->path, path, err ? error_message(err) : "short read");
                return io_failure(e);
        }
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = (size_t)size;
        return 0;
}

struct ext4_file {
        struct ext4_reader *e;
        ext2_file_t f;
        uint64_t size;
        char *path;
};

int ext4_file_open(struct ext4_reader *e, const char *path, uint64_t max, struct ext4_file **ret) {
        ext2_ino_t ino;
        struct ext2_inode_large inode;
        int r = ext4_lookup(e, path, &ino, &inode);
        if (r < 0)
                return r;
        if (!LINUX_S_ISREG(inode.i_mode))
                return -EISDIR;
        if (EXT2_I_SIZE(&inode) > max)
                return -EFBIG;
        /* one budget for the whole stream: an honest read of it reads each
         * of its blocks once */
        io_budget_start(e);
        ext2_file_t f;
        errcode_t err = ext2fs_file_open2(e->fs, ino, (struct ext2_inode *)&inode, 0, &f);
        if (err) {
                log_error("%s: ext4: cannot open %s: %s", e->image->path, path, error_message(err));
                return io_failure(e);
        }
        struct ext4_file *h = xcalloc(1, sizeof *h);
        h->e = e;
        h->f = f;
        h->size = EXT2_I_SIZE(&inode);
        h->path = xstrdup(path);
        *ret = h;
        return 0;
}

uint64_t ext4_file_size(const struct ext4_file *h) {
        return h->size;
}

int ext4_file_pread(struct ext4_file *h, void *buf, size_t n, uint64_t off, size_t *ret_got) {
        *ret_got = 0;
        if (off >= h->size)
                return 0;
        n = (size_t)MIN((uint64_t)n, h->size - off);
        errcode_t err = ext2fs_file_llseek(h->f, off, EXT2_SEEK_SET, NULL);
        size_t done = 0;
        while (!err && done < n) {
                unsigned got = 0;
                err = ext2fs_file_read(h->f, (char *)buf + done, (unsigned)MIN(n - done, (size_t)(16 * MiB)), &got);
                if (err || got == 0)
                        break;
                done += got;
        }
        if (err || done != n) {
                log_error("%s: ext4: cannot read %s: %s", h->e->image->path, h->path, err ? error_message(err) : "short read");
                return io_failure(h->e);
        }
        *ret_got = done;
        return 0;
}

void ext4_file_close(struct ext4_file *h) {
        if (!h)
                return;
        ext2fs_file_close(h->f);
        free(h->path);
        free(h);
}

struct name_list {
        char **names;
        size_t n;
};

static int collect_name(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset, int blocksize, char *buf, void *priv) {
        struct name_list *l = priv;
        int len = ext2fs_dirent_name_len(dirent);
        if ((len == 1 && dirent->name[0] == '.') || (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.'))
                return 0;
        /* doubling (a directory of a million names is a million copies, not
         * half a million million); room for the name and the NULL */
        if ((l->n & (l->n + 1)) == 0)
                l->names = xrealloc(l->names, (2 * l->n + 2) * sizeof(char *));
        l->names[l->n++] = xstrndup(dirent->name, (size_t)len);
        l->names[l->n] = NULL;
        return 0;
}

int ext4_list_dir(struct ext4_reader *e, const char *path, char ***ret) {
        ext2_ino_t ino;
        struct ext2_inode_large inode;
        int r = ext4_lookup(e, path, &ino, &inode);
        if (r < 0)
                return r;
        if (!LINUX_S_ISDIR(inode.i_mode))
                return -ENOTDIR;
        struct name_list l = { .names = xcalloc(2, sizeof(char *)) };
        io_budget_start(e);
        errcode_t err = ext2fs_dir_iterate2(e->fs, ino, 0, NULL, collect_name, &l);
        char **names = l.names;
        if (err) {
                strv_free(names);
                log_error("%s: ext4: cannot list %s: %s", e->image->path, path, error_message(err));
                return io_failure(e);
        }
        strv_sort(names);
        *ret = names;
        return 0;
}

int ext4_readlink(struct ext4_reader *e, const char *path, char **ret) {
        ext2_ino_t dir_ino, ino;
        _cleanup_free_ char *p = xstrdup(path), *parent = NULL;
        char *slash = strrchr(p, '/');
        const char *base = p;
        if (slash) {
                *slash = 0;
                parent = xstrdup(*p ? p : "/");
                base = slash + 1;
        } else
                parent = xstrdup("/");
        int r = ext4_lookup(e, parent, &dir_ino, NULL);
        if (r < 0)
                return r;
        io_budget_start(e);
        errcode_t err = ext2fs_namei(e->fs, EXT2_ROOT_INO, dir_ino, base, &ino);
        if (err == EXT2_ET_FILE_NOT_FOUND || err == EXT2_ET_NO_DIRECTORY)
                return -ENOENT;
        if (err)
                return io_failure(e);
        struct ext2_inode_large inode;
        memset(&inode, 0, sizeof inode);
        if (ext2fs_read_inode_full(e->fs, ino, (struct ext2_inode *)&inode, sizeof inode))
                return io_failure(e);
        if (!LINUX_S_ISLNK(inode.i_mode))
                return -EINVAL;
        uint64_t size = EXT2_I_SIZE(&inode);
        if (size == 0 || size > 4096)
                return io_failure(e);
        /* Fast symlinks keep the target in i_block; others (and inline data)
         * read like a file. */
        if (ext2fs_is_fast_symlink((struct ext2_inode *)&inode)) {
                *ret = xstrndup((const char *)inode.i_block, (size_t)size);
                return 0;
        }
        ext2_file_t f;
        if (ext2fs_file_open2(e->fs, ino, (struct ext2_inode *)&inode, 0, &f))
                return io_failure(e);
        char *buf = xcalloc(1, (size_t)size + 1);
        unsigned got = 0;
        err = ext2fs_file_read(f, buf, (unsigned)size, &got);
        ext2fs_file_close(f);
        if (err || got != size) {
                free(buf);
                return io_failure(e);
        }
        *ret = buf;
        return 0;
}

uint64_t ext4_df_used(ext2_filsys fs) {
        /* Recomputed like the kernel without bigalloc, rather than read from
         * s_overhead_clusters. */
        uint64_t overhead = fs->super->s_first_data_block;
        for (dgrp_t g = 0; g < fs->group_desc_count; g++) {
                if (ext2fs_bg_has_super(fs, g))
                        overhead += 1 + fs->desc_blocks + fs->super->s_reserved_gdt_blocks;
                overhead += 2 + fs->inode_blocks_per_group;
        }
        if (ext2fs_has_feature_journal(fs->super) && fs->super->s_journal_inum) {
                struct ext2_inode ji;
                if (ext2fs_read_inode(fs, fs->super->s_journal_inum, &ji) == 0)
                        overhead += EXT2_I_SIZE(&ji) / fs->blocksize;
        }
        uint64_t blocks = ext2fs_blocks_count(fs->super), free_blocks = ext2fs_free_blocks_count(fs->super);
        return blocks > overhead + free_blocks ? (blocks - overhead - free_blocks) * (uint64_t)fs->blocksize : 0;
}
