/* SPDX-License-Identifier: MIT */
#include "gpt_layout.h"
#include "build.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <libfdisk.h>
#include <stdarg.h>
#include <string.h>

__attribute__((format(printf, 5, 6)))
static int layout_error(struct gpt_layout_error *err, int index, const char *key, int r, const char *fmt, ...) {
        va_list ap;
        err->part_index = index;
        err->key = key;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return r;
}

uint64_t gpt_root_headroom(uint64_t required, uint64_t profile_headroom) {
        if (profile_headroom > 0)
                return profile_headroom;
        return MAX(required / 5, GPT_ROOT_HEADROOM_MIN);
}

static const char *type_word(enum slw_part_type t) {
        switch (t) {
        case PART_BIOS_BOOT: return "bios-boot";
        case PART_ESP: return "esp";
        case PART_ROOT: return "root";
        case PART_LINUX: return "linux";
        case PART_SWAP: return "swap";
        case PART_ROOT_VERITY: return "root-verity";
        case PART_VAR: return "var";
        }
        return "?";
}

int gpt_layout_plan(const struct gpt_layout_input *in, struct disk_plan *plan, struct gpt_layout_error *err) {
        char a[32], b[32], c[32];
        /* Overflow guard: no sum below exceeds 2^62 when each term is below it. */
        const uint64_t limit = UINT64_C(1) << 56;

        err->part_index = -1;
        err->message[0] = '\0';
        if (in->n_parts == 0)
                return layout_error(err, -1, "disk.partitions", -EINVAL, "the disk has no partitions");
        if (in->n_parts > ELEMENTSOF(plan->parts))
                return layout_error(err, -1, "disk.partitions", -E2BIG, "%zu partitions, at most %zu are supported",
                                    in->n_parts, ELEMENTSOF(plan->parts));
        if (in->disk_size % GPT_ALIGN != 0)
                return layout_error(err, -1, "disk.size", -EINVAL,
                                    "disk size %" PRIu64 " bytes is not a multiple of 1 MiB (Azure and the "
                                    "1 MiB partition alignment need that)", in->disk_size);
        if (in->disk_size > limit || in->root_required > limit)
                return layout_error(err, -1, "disk.size", -ERANGE, "sizes beyond 64 PiB are not supported");
        if (in->root_headroom > limit)
                return layout_error(err, -1, "disk.root-headroom", -ERANGE, "sizes beyond 64 PiB are not supported");

        plan->root_index = plan->esp_index = plan->bios_index = -1;
        int auto_index = -1;
        uint64_t fixed_sum = 0;
        for (size_t i = 0; i < in->n_parts; i++) {
                const struct slw_partition *p = &in->parts[i];
                /* the immutable layout's slot B is a second root partition */
                int *slot = p->type == PART_ROOT && p->slot != 1 ? &plan->root_index :
                            p->type == PART_ESP ? &plan->esp_index :
                            p->type == PART_BIOS_BOOT ? &plan->bios_index : NULL;
                if (slot) {
                        if (*slot >= 0)
                                return layout_error(err, (int)i, "type", -EINVAL, "a second %s partition (the first is partition %d)",
                                                    type_word(p->type), *slot + 1);
                        *slot = (int)i;
                }
                if (p->size_auto) {
                        if (p->type != PART_ROOT)
                                return layout_error(err, (int)i, "size", -EINVAL, "only the root partition can have size: auto");
                        auto_index = (int)i;
                        continue;
                }
                if (p->size == 0)
                        return layout_error(err, (int)i, "size", -EINVAL, "%s partition has size 0", type_word(p->type));
                if (p->size > limit)
                        return layout_error(err, (int)i, "size", -ERANGE, "%s partition size %" PRIu64 " is too large",
                                            type_word(p->type), p->size);
                uint64_t sz = ALIGN_UP(p->size, GPT_ALIGN);
                if (p->type == PART_ESP && sz < GPT_ESP_MIN)
                        return layout_error(err, (int)i, "size", -EINVAL, "ESP of %s is too small: at least %s is needed for FAT",
                                            format_bytes(p->size, a), format_bytes(GPT_ESP_MIN, b));
                if (p->type == PART_ROOT && sz < in->root_required)
                        return layout_error(err, (int)i, "size", -EINVAL,
                                            "root partition of %s (%" PRIu64 " bytes) is smaller than %s: "
                                            "%s (%" PRIu64 " bytes)%s",
                                            format_bytes(p->size, a), p->size,
                                            in->root_minimum ? "an empty root filesystem needs" : "the tree needs",
                                            format_bytes(in->root_required, b), in->root_required,
                                            in->root_minimum ? "" : " without headroom");
                fixed_sum += sz;
        }
        if (plan->root_index < 0)
                return layout_error(err, -1, "disk.partitions", -EINVAL, "the disk has no root partition");

        uint64_t overhead = GPT_HEAD_RESERVE + GPT_TAIL_RESERVE;
        uint64_t auto_size = 0;
        if (auto_index >= 0) {
                if (in->disk_size == 0)
                        auto_size = ALIGN_UP(in->root_required + gpt_root_headroom(in->root_required, in->root_headroom),
                                             GPT_ALIGN);
                else {
                        uint64_t used = overhead + fixed_sum;
                        if (used >= in->disk_size || in->disk_size - used < ALIGN_UP(in->root_required, GPT_ALIGN))
                                return layout_error(err, -1, "disk.size", -ENOSPC,
                                                    "disk size %s (%" PRIu64 " bytes) leaves %s for the root partition, "
                                                    "but %s %s (%" PRIu64 " bytes)",
                                                    format_bytes(in->disk_size, a), in->disk_size,
                                                    format_bytes(used >= in->disk_size ? 0 : in->disk_size - used, b),
                                                    in->root_minimum ? "an empty root filesystem needs" : "its tree needs",
                                                    format_bytes(in->root_required, c), in->root_required);
                        auto_size = in->disk_size - used;
                }
        }

        uint64_t total = overhead + fixed_sum + auto_size;
        if (in->disk_size != 0 && total > in->disk_size)
                return layout_error(err, -1, "disk.size", -ENOSPC,
                                    "the partitions need %s (%" PRIu64 " bytes with the 2 MiB of GPT areas) "
                                    "but the disk size is %s (%" PRIu64 " bytes)",
                                    format_bytes(total, a), total, format_bytes(in->disk_size, b), in->disk_size);

        plan->n_parts = in->n_parts;
        plan->disk_size = in->disk_size != 0 ? in->disk_size : total;
        uint64_t offset = GPT_HEAD_RESERVE;
        for (size_t i = 0; i < in->n_parts; i++) {
                const struct slw_partition *p = &in->parts[i];
                struct planned_partition *pp = &plan->parts[i];
                pp->spec = p;
                pp->number = (unsigned)i + 1;
                pp->offset = offset;
                pp->size = p->size_auto ? auto_size : ALIGN_UP(p->size, GPT_ALIGN);
                offset += pp->size;
        }
        return 0;
}

struct slw_origin gpt_layout_error_origin(const struct slw_profile *p, const struct gpt_layout_error *err) {
        if (err->part_index < 0 || (size_t)err->part_index >= p->disk.n_partitions)
                return profile_origin(p, err->key ? err->key : "disk.size");
        const char *part = p->disk.partitions[err->part_index].origin_path;
        if (err->key) {
                _cleanup_free_ char *k = xasprintf("%s.%s", part, err->key);
                if (pnode_lookup(p->root, k))
                        return profile_origin(p, k);
        }
        return profile_origin(p, part);
}

const char *gpt_type_guid(enum slw_part_type t) {
        switch (t) {
        case PART_BIOS_BOOT: return "21686148-6449-6E6F-744E-656564454649";
        case PART_ESP: return "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
        case PART_ROOT: return "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";   /* x86-64 root */
        case PART_LINUX: return "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
        case PART_SWAP: return "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F";
        /* Discoverable Partitions Specification: root verity (x86-64), /var */
        case PART_ROOT_VERITY: return "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5";
        case PART_VAR: return "4D21B016-B534-45C2-A9FB-5C16E091FD2D";
        }
        return NULL;
}

static const char *gpt_name(const struct slw_partition *p) {
        if (p->label)
                return p->label;
        switch (p->type) {
        case PART_BIOS_BOOT: return "BIOS boot";
        case PART_ESP: return "EFI System";
        case PART_ROOT: return "root";
        case PART_LINUX: return "linux";
        case PART_SWAP: return "swap";
        case PART_ROOT_VERITY: return "root-verity";
        case PART_VAR: return "var";
        }
        return "";
}

static void fdisk_unref_contextp(struct fdisk_context **c) {
        if (*c)
                fdisk_unref_context(*c);
}
static void fdisk_unref_partitionp(struct fdisk_partition **p) {
        if (*p)
                fdisk_unref_partition(*p);
}
static void fdisk_unref_parttypep(struct fdisk_parttype **t) {
        if (*t)
                fdisk_unref_parttype(*t);
}

int gpt_write(const char *path, const struct disk_plan *plan) {
        _cleanup_(fdisk_unref_contextp) struct fdisk_context *cxt = fdisk_new_context();
        int r;
        if (!cxt)
                return log_error_errno(-ENOMEM, "libfdisk");
        r = fdisk_assign_device(cxt, path, 0);
        if (r < 0)
                return log_error_errno(r, "libfdisk: cannot open %s", path);
        if (fdisk_get_sector_size(cxt) != GPT_SECTOR)
                return log_error_errno(-EINVAL, "%s: sector size %lu, expected %u", path,
                                       fdisk_get_sector_size(cxt), GPT_SECTOR);
        r = fdisk_create_disklabel(cxt, "gpt");
        if (r < 0)
                return log_error_errno(r, "libfdisk: cannot create a GPT on %s", path);
        r = fdisk_set_disklabel_id_from_string(cxt, plan->disk_uuid);
        if (r < 0)
                return log_error_errno(r, "libfdisk: cannot set disk GUID %s", plan->disk_uuid);
        struct fdisk_label *lb = fdisk_get_label(cxt, "gpt");
        for (size_t i = 0; i < plan->n_parts; i++) {
                const struct planned_partition *pp = &plan->parts[i];
                _cleanup_(fdisk_unref_partitionp) struct fdisk_partition *pa = fdisk_new_partition();
                _cleanup_(fdisk_unref_parttypep) struct fdisk_parttype *t =
                        fdisk_label_parse_parttype(lb, gpt_type_guid(pp->spec->type));
                if (!pa || !t)
                        return log_error_errno(-ENOMEM, "libfdisk");
                if ((r = fdisk_partition_set_partno(pa, pp->number - 1)) < 0 ||
                    (r = fdisk_partition_set_start(pa, pp->offset / GPT_SECTOR)) < 0 ||
                    (r = fdisk_partition_set_size(pa, pp->size / GPT_SECTOR)) < 0 ||
                    (r = fdisk_partition_set_type(pa, t)) < 0 ||
                    (r = fdisk_partition_set_uuid(pa, pp->part_uuid)) < 0 ||
                    (r = fdisk_partition_set_name(pa, gpt_name(pp->spec))) < 0)
                        return log_error_errno(r, "libfdisk: partition %u", pp->number);
                r = fdisk_add_partition(cxt, pa, NULL);
                if (r < 0)
                        return log_error_errno(r, "libfdisk: cannot add partition %u (start %" PRIu64 ", %" PRIu64 " bytes)",
                                               pp->number, pp->offset, pp->size);
        }
        r = fdisk_write_disklabel(cxt);
        if (r < 0)
                return log_error_errno(r, "libfdisk: cannot write the GPT to %s", path);
        r = fdisk_deassign_device(cxt, 0);
        if (r < 0)
                return log_error_errno(r, "libfdisk: closing %s", path);
        return 0;
}
