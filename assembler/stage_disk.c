/* SPDX-License-Identifier: MIT */
/* The disk stage: plans the GPT (lib/gpt_layout), creates the sparse raw
 * disk at ctx->raw_tmp, writes the GPT with libfdisk and makes each
 * partition's filesystem straight into the image file at its offset
 * (lib/fsimage: mke2fs -d for ext4, mkfs.fat --offset for vfat).  No loop
 * devices, no mounts, no root.  The ESP stays empty here; the bootloader
 * stage fills it.  Because the root filesystem is final once made,
 * bootloader_prepare_tree() (grub.cfg into the tree) runs after the layout
 * is known to fit and before mke2fs. */
#include "bootloader.h"
#include "build.h"
#include "fileio.h"
#include "fsimage.h"
#include "gpt_layout.h"
#include "log.h"
#include "spawn.h"
#include "tree.h"
#include "util.h"
#include "verity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

static const char *default_label(enum slw_part_type t) {
        switch (t) {
        case PART_ESP: return "ESP";
        case PART_ROOT: return "root";
        case PART_SWAP: return "swap";
        default: return NULL;
        }
}

static const char *type_name(enum slw_part_type t) {
        switch (t) {
        case PART_BIOS_BOOT: return "bios-boot";
        case PART_ESP: return "esp";
        case PART_ROOT: return "root";
        case PART_LINUX: return "linux";
        case PART_SWAP: return "swap";
        case PART_ROOT_VERITY: return "verity";
        case PART_VAR: return "var";
        }
        return "?";
}

/* The sparse raw disk of the plan's size, with its GPT written: every
 * byte not written later reads as zero. */
static int create_sparse_disk(struct build_ctx *ctx, const struct disk_plan *plan, int *ret_fd) {
        _cleanup_close_ int fd = open(ctx->raw_tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s", ctx->raw_tmp);
        if (ftruncate(fd, (off_t)plan->disk_size) < 0)
                return log_error_errno(-errno, "cannot size %s to %" PRIu64 " bytes", ctx->raw_tmp, plan->disk_size);
        int r = gpt_write(ctx->raw_tmp, plan);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int make_filesystem(struct build_ctx *ctx, struct planned_partition *pp, const struct tree_usage *usage) {
        const struct slw_partition *spec = pp->spec;
        const char *label = spec->label ? spec->label : default_label(spec->type);
        int r;
        if (spec->type == PART_SWAP)
                return swap_make(ctx->raw_tmp, pp->offset, pp->size, pp->fs_uuid, label);
        switch (spec->fs) {
        case FS_NONE:
                return 0;
        case FS_EXT4: {
                bool is_root = spec->type == PART_ROOT;
                struct ext4_params e = {
                        .image = ctx->raw_tmp,
                        .offset = pp->offset,
                        .size = pp->size,
                        .tree = is_root ? ctx->tree : NULL,
                        .uuid = pp->fs_uuid,
                        .label = label,
                        .epoch = ctx->epoch,
                        .n_inodes = is_root ? ext4_inode_count(usage, pp->size) : 0,
                };
                if ((r = ext4_make(&e)) < 0)
                        return log_error_errno(r, "cannot make the ext4 of partition %u", pp->number);
                return ext4_used_bytes(ctx->raw_tmp, pp->offset, &pp->fs_used);
        }
        case FS_VFAT:
                return vfat_make(ctx->raw_tmp, pp->offset, pp->size, pp->vfat_serial, label);
        case FS_EROFS:
        case FS_SQUASHFS:
                /* the immutable root: copied in by disk_immutable() */
                return 0;
        }
        return -EINVAL;
}

static int check_identities(const struct build_ctx *ctx) {
        const struct disk_plan *plan = &ctx->plan;
        if (!plan->disk_uuid[0])
                return log_error_errno(-EINVAL, "disk: the plan has no disk GUID (stage_resolve did not run?)");
        for (size_t i = 0; i < ctx->profile->disk.n_partitions; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                bool needs_fs_uuid = pp->spec && (pp->spec->fs != FS_NONE || pp->spec->type == PART_SWAP);
                if (!pp->part_uuid[0] || (needs_fs_uuid && !pp->fs_uuid[0]))
                        return log_error_errno(-EINVAL, "disk: partition %zu has no UUIDs in the plan", i + 1);
        }
        return 0;
}

/* Copies the file `path` into the image at `offset`, leaving runs of zero
 * blocks as holes (the image is sparse and zero there already). */
static int copy_into_image(int img_fd, const char *path, uint64_t offset, uint64_t max) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "cannot open %s", path);
        _cleanup_free_ char *buf = xmalloc(MiB);
        static const char zero[VERITY_BLOCK];
        uint64_t done = 0;
        for (;;) {
                ssize_t n = read(fd, buf, MiB);
                if (n < 0)
                        return log_error_errno(-errno, "cannot read %s", path);
                if (n == 0)
                        return 0;
                if (done + (uint64_t)n > max)
                        return log_error_errno(-ENOSPC, "%s does not fit in its partition (%" PRIu64 " bytes)", path, max);
                for (size_t o = 0; o < (size_t)n; o += VERITY_BLOCK) {
                        size_t l = MIN((size_t)VERITY_BLOCK, (size_t)n - o);
                        if (memcmp(buf + o, zero, l) == 0)
                                continue;
                        int r = pwrite_all(img_fd, buf + o, l, offset + done + o);
                        if (r < 0)
                                return log_error_errno(r, "cannot write %s into the image", path);
                }
                done += (uint64_t)n;
        }
}

/* The immutable layout (immutable.enabled): ESP, root-A, verity-A, root-B,
 * verity-B, /var.  The root is a read-only erofs (or squashfs) image of
 * the tree with a dm-verity hash tree (lib/verity.c), built as files first
 * because their sizes decide the slots:
 *  - a root slot is immutable.slot-size, or the image + max(25 %, 64 MiB);
 *    both slots have that size, so an update of that size fits slot B;
 *  - a verity slot holds the hash tree of a whole root slot;
 *  - root-A's and verity-A's partition UUIDs are the first and last 128
 *    bits of the root hash (Discoverable Partitions Specification), so
 *    `roothash=` alone finds them (systemd-veritysetup-generator);
 *  - root-A and verity-A are named NAME_VERSION and NAME_VERSION_verity,
 *    slot B "_empty": what systemd-sysupdate's partition transfers match;
 *  - /var is ext4 made from the tree's /var (state that must be writable);
 *    the tree's /var also stays in the read-only image, under the mount.
 * The root hash goes to plan->roothash for the boot entry; the image and
 * the hash tree are also artifacts (NAME_VERSION_UUID.root.erofs and
 * NAME_VERSION_UUID.verity), the files an update to this version is
 * made of. */
static int disk_immutable(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        struct disk_plan *plan = &ctx->plan;
        char a[32], b[32], o[256];
        int r;
        if (plan->root_index < 0)
                return log_error_errno(-EINVAL, "disk: the immutable layout has no root slot");
        struct planned_partition *root = &plan->parts[plan->root_index];
        const char *fsname = p->immutable.filesystem == FS_SQUASHFS ? "squashfs" : "erofs";
        _cleanup_free_ char *img = xasprintf("%s/root.%s", ctx->workdir, fsname);
        _cleanup_free_ char *hash = xasprintf("%s/root.verity", ctx->workdir);

        uint64_t t0 = now_usec();
        struct roimage_params rp = { .tree = ctx->tree, .out = img, .fs = p->immutable.filesystem,
                                     .compression = p->immutable.compression, .uuid = root->fs_uuid, .epoch = ctx->epoch };
        if ((r = roimage_make(&rp)) < 0)
                return r;
        struct stat st;
        if (stat(img, &st) < 0)
                return log_error_errno(-errno, "cannot stat %s", img);
        uint64_t img_size = (uint64_t)st.st_size;
        unsigned char salt[32];
        char salt_hex[65], verity_uuid[37];
        derive_bytes(&ctx->derive, "verity-salt-root", salt);
        for (size_t i = 0; i < sizeof(salt); i++)
                snprintf(salt_hex + 2 * i, 3, "%02x", salt[i]);
        derive_uuid(&ctx->derive, "verity-uuid-root", verity_uuid);
        if ((r = verity_format(img, hash, salt_hex, verity_uuid, plan->roothash)) < 0)
                return r;
        if (stat(hash, &st) < 0)
                return log_error_errno(-errno, "cannot stat %s", hash);
        uint64_t hash_size = (uint64_t)st.st_size;
        log_info("disk: %s root image %s, verity hash tree %s, root hash %s (%.1f s)", fsname, format_bytes(img_size, a),
                 format_bytes(hash_size, b), plan->roothash, (double)(now_usec() - t0) / 1e6);

        uint64_t slot = p->immutable.slot_size ? ALIGN_UP(p->immutable.slot_size, GPT_ALIGN)
                                               : ALIGN_UP(img_size + MAX(img_size / 4, GPT_ROOT_HEADROOM_MIN), GPT_ALIGN);
        if (img_size > slot)
                return log_error_errno(-ENOSPC, "%s: immutable.slot-size %s is smaller than the root image (%s, %" PRIu64 " bytes)",
                                       origin_format(profile_origin(p, "immutable.slot-size"), o, sizeof(o)),
                                       format_bytes(slot, a), format_bytes(img_size, b), img_size);
        uint64_t vslot = ALIGN_UP(verity_hash_bytes(slot), GPT_ALIGN);
        if (hash_size > vslot)
                return log_error_errno(-EFBIG, "disk: the verity hash tree (%" PRIu64 " bytes) exceeds its slot (%" PRIu64 ")",
                                       hash_size, vslot);

        struct slw_partition sized[ELEMENTSOF(plan->parts)];
        size_t n = MIN(p->disk.n_partitions, ELEMENTSOF(sized));
        for (size_t i = 0; i < n; i++) {
                sized[i] = p->disk.partitions[i];
                if (sized[i].type == PART_ROOT || sized[i].type == PART_ROOT_VERITY) {
                        sized[i].size = sized[i].type == PART_ROOT ? slot : vslot;
                        sized[i].size_auto = false;
                }
        }
        struct gpt_layout_input in = { .disk_size = p->disk.size, .parts = sized, .n_parts = n };
        struct gpt_layout_error err;
        if ((r = gpt_layout_plan(&in, plan, &err)) < 0)
                return log_error_errno(r, "%s: %s", origin_format(gpt_layout_error_origin(p, &err), o, sizeof(o)), err.message);
        /* the sizes are in the plan; the specs are the profile's again */
        for (size_t i = 0; i < n; i++)
                plan->parts[i].spec = &p->disk.partitions[i];
        int verity_index = -1;
        for (size_t i = 0; i < n; i++)
                if (p->disk.partitions[i].type == PART_ROOT_VERITY && p->disk.partitions[i].slot == 0)
                        verity_index = (int)i;
        if (verity_index < 0)
                return log_error_errno(-EINVAL, "disk: the immutable layout has no verity slot A");
        struct planned_partition *verity = &plan->parts[verity_index];
        if ((r = verity_partition_uuids(plan->roothash, root->part_uuid, verity->part_uuid)) < 0)
                return log_error_errno(r, "disk: bad root hash %s", plan->roothash);
        root->fs_used = img_size;
        verity->fs_used = hash_size;

        log_info("disk: %s, immutable: root slots %s, verity slots %s", format_bytes(plan->disk_size, a), format_bytes(slot, b),
                 format_bytes(vslot, o));
        for (size_t i = 0; i < plan->n_parts; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                log_info("  %u: %-9s at %8" PRIu64 " MiB, %s, %s", pp->number, type_name(pp->spec->type), pp->offset / MiB,
                         format_bytes(pp->size, a), pp->spec->label ? pp->spec->label : "");
        }

        _cleanup_close_ int fd = -1;
        if ((r = create_sparse_disk(ctx, plan, &fd)) < 0)
                return r;
        if ((r = copy_into_image(fd, img, root->offset, root->size)) < 0 ||
            (r = copy_into_image(fd, hash, verity->offset, verity->size)) < 0)
                return r;
        for (size_t i = 0; i < plan->n_parts; i++) {
                struct planned_partition *pp = &plan->parts[i];
                if (spawn_interrupted())
                        return -EINTR;
                if (pp->spec->type == PART_VAR) {
                        /* mke2fs -d opens the directory by its host path:
                         * the canonical one inside the tree, so a /var ->
                         * /somewhere symlink of the image cannot have it copy
                         * a host directory into the partition. */
                        _cleanup_free_ char *var = NULL;
                        struct stat vst;
                        if ((r = tree_host_path(ctx->tree, "/var", 0, &var)) < 0)
                                return log_error_errno(r, "disk: the image's /var");
                        if (lstat(var, &vst) < 0 || !S_ISDIR(vst.st_mode))
                                return log_error_errno(-ENOTDIR, "disk: the image's /var (%s) is not a directory", var);
                        struct ext4_params e = { .image = ctx->raw_tmp, .offset = pp->offset, .size = pp->size, .tree = var,
                                                 .uuid = pp->fs_uuid, .label = "var", .epoch = ctx->epoch };
                        if ((r = ext4_make(&e)) < 0)
                                return log_error_errno(r, "cannot make the /var ext4 (partition %u)", pp->number);
                        if ((r = ext4_used_bytes(ctx->raw_tmp, pp->offset, &pp->fs_used)) < 0)
                                return r;
                } else if (pp->spec->type == PART_ESP && (r = make_filesystem(ctx, pp, NULL)) < 0)
                        return r;
        }
        /* The update artifacts of this version (systemd-sysupdate's source
         * files, see configure_immutable.c): the partition UUIDs are in the
         * names, sysupdate gives them to the slots it writes. */
        _cleanup_free_ char *img_final = xasprintf("%s/%s_%s_%s.root.%s", ctx->outdir, p->name, p->version, root->part_uuid, fsname);
        _cleanup_free_ char *hash_final = xasprintf("%s/%s_%s_%s.verity", ctx->outdir, p->name, p->version, verity->part_uuid);
        build_add_artifact(ctx, img, img_final);
        build_add_artifact(ctx, hash, hash_final);
        return 0;
}

int stage_disk(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        struct disk_plan *plan = &ctx->plan;
        char a[32], b[32], o[256];
        int r;

        /* Only tar and iso requested: no disk to assemble (stage_resolve
         * leaves raw_tmp NULL). */
        if (!ctx->raw_tmp) {
                log_info("disk: none (no disk output enabled)");
                return 0;
        }
        /* stage_resolve filled the identities; the layout fills the geometry.
         * The specs are needed before the layout for the UUID check. */
        for (size_t i = 0; i < p->disk.n_partitions && i < ELEMENTSOF(plan->parts); i++)
                plan->parts[i].spec = &p->disk.partitions[i];
        if (p->disk.n_partitions <= ELEMENTSOF(plan->parts) && (r = check_identities(ctx)) < 0)
                return r;
        if (p->immutable.enabled)
                return disk_immutable(ctx);

        struct tree_usage usage;
        if ((r = tree_usage(ctx->tree, &usage)) < 0)
                return r;
        /* grub.cfg and /boot/grub, written below, are not measured yet */
        usage.n_inodes += 2;
        usage.data_bytes += 2 * 4096;
        uint64_t required = ext4_required_bytes(&usage);
        struct gpt_layout_input in = {
                .disk_size = p->disk.size,
                .root_headroom = p->disk.root_headroom,
                .root_required = required,
                .parts = p->disk.partitions,
                .n_parts = p->disk.n_partitions,
        };
        struct gpt_layout_error err;
        if ((r = gpt_layout_plan(&in, plan, &err)) < 0)
                return log_error_errno(r, "%s: %s", origin_format(gpt_layout_error_origin(p, &err), o, sizeof(o)), err.message);
        plan->root_required = required;
        log_info("disk: %s, tree %s in %" PRIu64 " inodes (ext4 needs ~%s)", format_bytes(plan->disk_size, a),
                 format_bytes(usage.data_bytes, b), usage.n_inodes, format_bytes(required, o));
        for (size_t i = 0; i < plan->n_parts; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                log_info("  %u: %-9s at %8" PRIu64 " MiB, %s", pp->number, type_name(pp->spec->type),
                         pp->offset / MiB, format_bytes(pp->size, a));
        }

        /* grub.cfg goes into the tree before the tree is frozen into ext4;
         * this also checks the GRUB modules, before the image exists. */
        if ((r = bootloader_prepare_tree(ctx)) < 0)
                return r;

        /* The sparse disk: every byte not written below reads as zero. */
        _cleanup_close_ int fd = -1;
        if ((r = create_sparse_disk(ctx, plan, &fd)) < 0)
                return r;
        for (size_t i = 0; i < plan->n_parts; i++) {
                if (spawn_interrupted())
                        return -EINTR;
                if ((r = make_filesystem(ctx, &plan->parts[i], &usage)) < 0)
                        return r;
        }
        if (plan->root_index >= 0) {
                const struct planned_partition *root = &plan->parts[plan->root_index];
                log_info("disk: root ext4 uses %s of %s", format_bytes(root->fs_used, a), format_bytes(root->size, b));
        }
        return 0;
}
