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
#include "fsimage.h"
#include "gpt_layout.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

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
                /* the immutable root: not built yet */
                return -EOPNOTSUPP;
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
        if ((r = gpt_layout_plan(&in, plan, &err)) < 0) {
                const char *path = err.part_index >= 0 ? p->disk.partitions[err.part_index].origin_path : "disk.size";
                return log_error_errno(r, "%s: %s", origin_format(profile_origin(p, path), o, sizeof(o)), err.message);
        }
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
        _cleanup_close_ int fd = open(ctx->raw_tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(-errno, "cannot create %s", ctx->raw_tmp);
        if (ftruncate(fd, (off_t)plan->disk_size) < 0)
                return log_error_errno(-errno, "cannot size %s to %" PRIu64 " bytes", ctx->raw_tmp, plan->disk_size);
        if ((r = gpt_write(ctx->raw_tmp, plan)) < 0)
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
