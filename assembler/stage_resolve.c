/* SPDX-License-Identifier: MIT */
/* resolve: the profile is already loaded, merged and validated by
 * profile_load(); this stage fixes every derived value (epoch, UUIDs,
 * partition numbering) and prints the plan. */
#include "build.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void plan_identities(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        struct disk_plan *plan = &ctx->plan;

        memset(plan, 0, sizeof(*plan));
        plan->root_index = plan->esp_index = plan->bios_index = -1;
        derive_uuid(&ctx->derive, "disk-guid", plan->disk_uuid);
        for (size_t i = 0; i < p->disk.n_partitions && i < ELEMENTSOF(plan->parts); i++) {
                struct planned_partition *pp = &plan->parts[i];
                const struct slw_partition *spec = &p->disk.partitions[i];
                char purpose[64];

                pp->spec = spec;
                pp->number = (unsigned)i + 1;
                snprintf(purpose, sizeof(purpose), "partition-guid-%zu", i);
                derive_uuid(&ctx->derive, purpose, pp->part_uuid);
                snprintf(purpose, sizeof(purpose), "fs-uuid-%zu", i);
                if (spec->fs == FS_VFAT) {
                        snprintf(purpose, sizeof(purpose), "vfat-serial-%zu", i);
                        pp->vfat_serial = derive_u32(&ctx->derive, purpose);
                        snprintf(pp->fs_uuid, sizeof(pp->fs_uuid), "%04X-%04X",
                                 pp->vfat_serial >> 16, pp->vfat_serial & 0xffff);
                } else if (spec->fs != FS_NONE)   /* ext4, and erofs' UUID (squashfs has none) */
                        derive_uuid(&ctx->derive, purpose, pp->fs_uuid);

                switch (spec->type) {
                case PART_ROOT: if (plan->root_index < 0) plan->root_index = (int)i; break;
                case PART_ESP: if (plan->esp_index < 0) plan->esp_index = (int)i; break;
                case PART_BIOS_BOOT: if (plan->bios_index < 0) plan->bios_index = (int)i; break;
                default: break;
                }
        }
        plan->n_parts = MIN(p->disk.n_partitions, ELEMENTSOF(plan->parts));
}

int stage_resolve(struct build_ctx *ctx) {
        const struct slw_profile *p = ctx->profile;
        bool wants_disk = ctx->enabled_outputs[OUT_RAW] || ctx->enabled_outputs[OUT_VHD] ||
                          ctx->enabled_outputs[OUT_VHD_DYNAMIC] || ctx->enabled_outputs[OUT_QCOW2];

        if (p->disk.n_partitions > ELEMENTSOF(ctx->plan.parts)) {
                char buf[256];
                log_error("%s: at most %zu partitions are supported, the profile has %zu",
                          origin_format(profile_origin(p, "disk.partitions"), buf, sizeof(buf)),
                          ELEMENTSOF(ctx->plan.parts), p->disk.n_partitions);
                return -EINVAL;
        }
        derive_init(&ctx->derive, p->name, p->version, ctx->epoch);
        plan_identities(ctx);

        /* what the outputs need of the profile: the same check profile_load()
         * made for the profile's outputs and cmd_build for --output's */
        struct profile_errors errs = { 0 };
        if (profile_check_outputs(p, ctx->enabled_outputs, &errs) < 0) {
                for (size_t i = 0; i < errs.n; i++) {
                        char buf[256];
                        log_error("%s: %s", origin_format(errs.items[i].origin, buf, sizeof(buf)), errs.items[i].message);
                }
                profile_errors_free(&errs);
                return -EINVAL;
        }

        /* The disk is assembled under a temporary name in the work directory;
         * export turns it into the artifacts. */
        if (wants_disk)
                ctx->raw_tmp = xasprintf("%s/%s.raw.tmp", ctx->workdir, p->name);

        log_info("plan: %s %s, epoch %" PRIu64 ", backend %s %s", p->name, p->version ? p->version : "",
                 ctx->epoch,
                 p->distribution.backend == BACKEND_APT ? "apt" : p->distribution.backend == BACKEND_DNF ? "dnf" : "import",
                 p->distribution.release ? p->distribution.release : "");
        for (size_t i = 0; wants_disk && i < ctx->plan.n_parts; i++) {
                const struct planned_partition *pp = &ctx->plan.parts[i];
                log_info("plan: partition %u %-9s uuid %s%s%s", pp->number, part_type_name(pp->spec->type),
                         pp->part_uuid, pp->fs_uuid[0] ? " fs " : "", pp->fs_uuid);
        }
        for (int o = 0; o < _OUT_MAX; o++)
                if (ctx->enabled_outputs[o])
                        log_info("plan: output %s", output_name(o));
        return 0;
}
