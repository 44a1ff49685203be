/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "profile.h"
#include "derive.h"
#include "userns.h"

struct json_object;

/* Where each partition landed; filled by the disk plan. */
struct planned_partition {
        const struct slw_partition *spec;
        uint64_t offset, size;          /* bytes; both multiples of 1 MiB */
        char part_uuid[37];             /* GPT partition GUID */
        char fs_uuid[37];               /* filesystem UUID ("XXXX-XXXX" for vfat) */
        uint32_t vfat_serial;
        unsigned number;                /* 1-based partition number */
        uint64_t fs_used;               /* bytes used in its filesystem after the disk stage
                                           (ext4: (blocks - free) * block size); 0 = unknown */
};

struct disk_plan {
        uint64_t disk_size;             /* bytes, multiple of 1 MiB */
        char disk_uuid[37];
        struct planned_partition parts[16];
        size_t n_parts;
        int root_index, esp_index, bios_index;   /* -1 when absent */
        uint64_t root_required;         /* estimated bytes the root tree needs in ext4 (disk stage) */
        char roothash[65];              /* immutable: dm-verity root hash of root-A (disk stage), else "" */
};

/* Everything a build's stages share.  Stages take it explicitly. */
struct build_ctx {
        const struct slw_profile *profile;
        const char *outdir;             /* final artifacts go here */
        char *workdir;                  /* <outdir>/.slipway-<name>.XXXXXX, removed at the end */
        char *cache_dir;                /* package and rootfs caches */
        char *tree;                     /* the image's root tree (in workdir or cache copy) */
        bool private_mounts;            /* the build has its own mount namespace */
        bool tree_is_overlay;           /* tree is an overlay on the cached tree: unmount it before removing */
        char *raw_tmp;                  /* the assembled raw disk (temp name in outdir) */
        char *fixed_vhd_tmp;            /* the fixed VHD, when written as raw_tmp + footer (a copy) */
        char *mirror_override;          /* --mirror */
        uint64_t epoch;                 /* SOURCE_DATE_EPOCH, or derived default */
        bool unprivileged;              /* started by a non-root user */
        enum userns_kind userns;        /* the ids the build runs with (lib/userns.h) */
        bool enabled_outputs[_OUT_MAX]; /* profile outputs, or --output */
        struct disk_plan plan;
        struct derive_ctx derive;       /* deterministic UUIDs etc. */
        struct json_object *build_json; /* stage timings, changes, cache hits, tools */
        struct json_object *changes;    /* array: what configure changed, and why */
        char **artifacts;               /* temp paths written so far (for rename / cleanup) */
        char **artifact_finals;         /* their final names */
};

/* Stage entry points: one each, taking the context.  0 or negative errno;
 * each logs its own failure. */
int stage_resolve(struct build_ctx *ctx);
int stage_rootfs(struct build_ctx *ctx);
int stage_configure(struct build_ctx *ctx);
int stage_disk(struct build_ctx *ctx);
int stage_bootloader(struct build_ctx *ctx);
int stage_export(struct build_ctx *ctx);
int stage_report(struct build_ctx *ctx);
int stage_verify(struct build_ctx *ctx);

/* Records a change made to the tree in build.json's "changes". */
void build_record_change(struct build_ctx *ctx, const char *what, const char *where, const char *origin_path);
/* Registers an artifact written under a temp name; renamed at the end. */
/* Writes CONTENT as report NAME in the work directory, renamed into the
 * output directory with the artifacts. */
int build_add_report(struct build_ctx *ctx, const char *name, const char *content);
void build_add_artifact(struct build_ctx *ctx, const char *tmp_path, const char *final_path);
