/* SPDX-License-Identifier: MIT */
/* report: size.json and size.html, the budget check, sbom.spdx.json, the
 * package manifest, SHA256SUMS and build.json next to the artifacts.
 * Reports are artifacts too: written in the work directory and renamed with
 * the rest.
 *
 * Over budget: the reports are still written, the images are dropped from
 * the artifacts (they stay in the work directory, which is removed), and
 * the stage returns -EDQUOT; cmd_build then renames the reports only and
 * exits 1.  A CI job finds size.json, size.html and build.json explaining
 * the failure, and never an over-budget image under its final name. */
#include "build.h"
#include "derive.h"
#include "fileio.h"
#include "log.h"
#include "manifest.h"
#include "openpgp.h"
#include "sbom.h"
#include "size_report.h"
#include "util.h"

#include <errno.h>
#include <json-c/json.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>

static const char *base_name(const char *path) {
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static const char *fs_name(enum slw_fs fs) {
        return fs == FS_EXT4 ? "ext4" : fs == FS_VFAT ? "vfat" : fs == FS_EROFS ? "erofs" : fs == FS_SQUASHFS ? "squashfs" : "none";
}

static struct json_object *filesystems_json(struct build_ctx *ctx) {
        struct json_object *arr = json_object_new_array();
        for (size_t i = 0; i < ctx->plan.n_parts; i++) {
                struct planned_partition *pp = &ctx->plan.parts[i];
                if (!pp->spec || pp->spec->fs == FS_NONE)
                        continue;
                struct json_object *f = json_object_new_object();
                json_object_object_add(f, "number", json_object_new_int((int)pp->number));
                json_object_object_add(f, "type", json_object_new_string(part_type_name(pp->spec->type)));
                json_object_object_add(f, "fs", json_object_new_string(fs_name(pp->spec->fs)));
                json_object_object_add(f, "size", json_object_new_int64((int64_t)pp->size));
                json_object_object_add(f, "used_bytes", pp->fs_used ? json_object_new_int64((int64_t)pp->fs_used) : NULL);
                uint64_t df = 0;
                if (pp->spec->fs == FS_EXT4 && ctx->raw_tmp && access(ctx->raw_tmp, F_OK) == 0 &&
                    ext4_df_used_bytes(ctx->raw_tmp, pp->offset, &df) == 0)
                        json_object_object_add(f, "df_used_bytes", json_object_new_int64((int64_t)df));
                else
                        json_object_object_add(f, "df_used_bytes", pp->spec->fs == FS_VFAT && pp->fs_used ?
                                               json_object_new_int64((int64_t)pp->fs_used) : NULL);
                json_object_array_add(arr, f);
        }
        return arr;
}

/* The profile's budget as limits; strings point into the profile or into
 * *names (freed by the caller). */
static size_t budget_limits(struct build_ctx *ctx, struct size_limit **ret, char ***names) {
        const struct slw_profile *p = ctx->profile;
        struct size_limit *l = NULL;
        size_t n = 0;
        char buf[512];
        bool disk = ctx->enabled_outputs[OUT_RAW] || ctx->enabled_outputs[OUT_VHD] || ctx->enabled_outputs[OUT_VHD_DYNAMIC] ||
                    ctx->enabled_outputs[OUT_QCOW2];
        if (p->budget.root_used && !disk)
                log_info("budget: no disk output in this build, budget.root-used is not checked");
        else if (p->budget.root_used) {
                origin_format(profile_origin(p, "budget.root-used"), buf, sizeof(buf));
                strv_push(names, buf);
                l = xrealloc(l, (n + 1) * sizeof(*l));
                l[n++] = (struct size_limit) { .kind = LIMIT_ROOT_USED, .max = p->budget.root_used, .origin = (*names)[strv_length(*names) - 1] };
        }
        for (int o = 0; o < _OUT_MAX; o++) {
                if (!p->budget.artifact[o])
                        continue;
                if (!ctx->enabled_outputs[o]) {
                        log_info("budget: no %s output in this build, its budget is not checked", output_name(o));
                        continue;
                }
                _cleanup_free_ char *key = xasprintf("budget.artifacts.%s", output_name(o));
                _cleanup_free_ char *file = xasprintf("%s.%s", p->name, output_extension(o));
                origin_format(profile_origin(p, key), buf, sizeof(buf));
                strv_push(names, file);
                strv_push(names, buf);
                size_t k = strv_length(*names);
                l = xrealloc(l, (n + 1) * sizeof(*l));
                l[n++] = (struct size_limit) { .kind = LIMIT_ARTIFACT, .name = (*names)[k - 2], .max = p->budget.artifact[o], .origin = (*names)[k - 1] };
        }
        const struct pnode *caps = pnode_lookup(p->root, "budget.packages");
        for (size_t i = 0; caps && caps->kind == PNODE_MAP && i < caps->n_items; i++) {
                const struct pnode *c = caps->items[i];
                uint64_t max;
                if (c->kind != PNODE_SCALAR || parse_size(c->value, &max) < 0)
                        continue;   /* the schema already refused it */
                origin_format(c->origin, buf, sizeof(buf));
                strv_push(names, buf);
                l = xrealloc(l, (n + 1) * sizeof(*l));
                l[n++] = (struct size_limit) { .kind = LIMIT_PACKAGE, .name = c->key, .max = max, .origin = (*names)[strv_length(*names) - 1] };
        }
        *ret = l;
        return n;
}

static void drop_images(struct build_ctx *ctx, size_t n_images) {
        size_t n = strv_length(ctx->artifacts);
        for (size_t i = 0; i < n_images; i++) {
                log_info("budget: not keeping %s", ctx->artifact_finals[i]);
                free(ctx->artifacts[i]);
                free(ctx->artifact_finals[i]);
        }
        memmove(ctx->artifacts, ctx->artifacts + n_images, (n - n_images + 1) * sizeof(char *));
        memmove(ctx->artifact_finals, ctx->artifact_finals + n_images, (n - n_images + 1) * sizeof(char *));
}

/* For sha256_files_hex: the fixed VHD written as a copy of the raw disk
 * is the raw disk plus its footer (stage_export.c), so its checksum
 * continues from the raw disk's. */
static ssize_t *checksum_prefixes(const struct build_ctx *ctx, size_t n_images) {
        ssize_t *prefix_of = xcalloc(n_images ? n_images : 1, sizeof(*prefix_of));
        ssize_t raw = -1, vhd = -1;
        for (size_t i = 0; i < n_images; i++) {
                prefix_of[i] = -1;
                if (ctx->raw_tmp && strcmp(ctx->artifacts[i], ctx->raw_tmp) == 0)
                        raw = (ssize_t)i;
                if (ctx->fixed_vhd_tmp && strcmp(ctx->artifacts[i], ctx->fixed_vhd_tmp) == 0)
                        vhd = (ssize_t)i;
        }
        if (raw >= 0 && vhd >= 0)
                prefix_of[vhd] = raw;
        return prefix_of;
}

/* immutable.signing-key: SHA256SUMS.gpg next to SHA256SUMS, which is what
 * systemd-sysupdate checks before it trusts a URL source's SHA256SUMS. */
static int sign_checksums(struct build_ctx *ctx) {
        const char *key = ctx->profile->immutable.enabled ? ctx->profile->immutable.signing_key : NULL;
        if (!key)
                return 0;
        _cleanup_free_ char *sums = path_join(ctx->workdir, "SHA256SUMS.tmp"), *sig = path_join(ctx->workdir, "SHA256SUMS.gpg.tmp"),
                            *final = path_join(ctx->outdir, "SHA256SUMS.gpg");
        int r = openpgp_detach_sign(key, sums, sig, ctx->epoch);
        if (r < 0)
                return r;
        build_add_artifact(ctx, sig, final);
        log_info("report: SHA256SUMS signed (SHA256SUMS.gpg)");
        return 0;
}

int stage_report(struct build_ctx *ctx) {
        int r;
        size_t n_images = strv_length(ctx->artifacts);
        /* Artifact sizes, then the checksums (over the images only). */
        struct json_object *arts = json_object_new_array(), *size_arts = json_object_new_array();
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *sums = xmalloc(cap);
        sums[0] = '\0';
        _cleanup_free_ char (*hexes)[65] = xcalloc(n_images ? n_images : 1, sizeof(*hexes));
        bool checksums = ctx->profile->report.checksums;
        if (checksums) {
                _cleanup_free_ ssize_t *prefix_of = checksum_prefixes(ctx, n_images);
                size_t failed = 0;
                r = sha256_files_hex(ctx->artifacts, n_images, prefix_of, hexes, &failed);
                if (r < 0) {
                        json_object_put(arts);
                        json_object_put(size_arts);
                        return log_error_errno(r, "checksum %s", ctx->artifacts[failed]);
                }
        } else
                log_info("report: no SHA256SUMS (report.checksums: false)");
        for (size_t i = 0; i < n_images; i++) {
                const char *hex = checksums ? hexes[i] : NULL;
                uint64_t alloc = 0, apparent = 0;
                (void)file_allocated_bytes(ctx->artifacts[i], &alloc, &apparent);
                const char *name = base_name(ctx->artifact_finals[i]);
                struct json_object *a = json_object_new_object();
                json_object_object_add(a, "name", json_object_new_string(name));
                if (hex)
                        json_object_object_add(a, "sha256", json_object_new_string(hex));
                json_object_object_add(a, "apparent_bytes", json_object_new_int64((int64_t)apparent));
                json_object_object_add(a, "allocated_bytes", json_object_new_int64((int64_t)alloc));
                json_object_array_add(arts, a);
                struct json_object *sa = json_object_new_object();
                json_object_object_add(sa, "name", json_object_new_string(name));
                json_object_object_add(sa, "apparent_bytes", json_object_new_int64((int64_t)apparent));
                json_object_object_add(sa, "allocated_bytes", json_object_new_int64((int64_t)alloc));
                json_object_array_add(size_arts, sa);
                if (!hex)
                        continue;
                _cleanup_free_ char *line = xasprintf("%s  %s\n", hex, name);
                while (len + strlen(line) + 1 > cap)
                        sums = xrealloc(sums, cap *= 2);
                memcpy(sums + len, line, strlen(line) + 1);
                len += strlen(line);
        }
        json_object_object_add(ctx->build_json, "artifacts", arts);

        /* The package manifest written by the rootfs stage. */
        _cleanup_free_ char *manifest = path_join(ctx->workdir, "packages.json");
        _cleanup_free_ char *backend = NULL;
        struct pkg_list pkgs = { 0 };
        bool have_pkgs = false;
        if (access(manifest, F_OK) == 0) {
                r = manifest_read_json(manifest, &pkgs, &backend);
                if (r < 0) {
                        json_object_put(size_arts);
                        return r;
                }
                have_pkgs = true;
        }

        /* size.json and the budget. */
        uint64_t t0 = now_usec();
        struct json_object *fss = filesystems_json(ctx), *size = NULL;
        struct size_report_input in = {
                .image_name = ctx->profile->name, .image_version = ctx->profile->version,
                .tree = ctx->tree, .packages = have_pkgs ? &pkgs : NULL,
                .filesystems = fss, .artifacts = size_arts,
        };
        r = size_report_build(&in, &size);
        json_object_put(fss);
        json_object_put(size_arts);
        if (r < 0) {
                pkg_list_free(&pkgs);
                return r;
        }
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ struct size_limit *limits = NULL;
        size_t n_limits = budget_limits(ctx, &limits, &names);
        int over = size_budget_check(size, limits, n_limits, stderr);
        if (over < 0) {
                json_object_put(size);
                pkg_list_free(&pkgs);
                return over;
        }
        log_debug("report: size.json in %.2f s", (double)(now_usec() - t0) / 1e6);
        struct json_object *root = NULL;
        json_object_object_get_ex(size, "filesystems", &root);
        for (size_t i = 0; root && i < json_object_array_length(root); i++) {
                struct json_object *f = json_object_array_get_idx(root, i), *v;
                if (json_object_object_get_ex(f, "df_used_bytes", &v) && v) {
                        char b[32];
                        uint64_t used = (uint64_t)json_object_get_int64(v);
                        log_info("report: partition %d (%s) uses %s (%.1f MB) as df counts it",
                                 json_object_get_int(json_object_object_get(f, "number")),
                                 json_object_get_string(json_object_object_get(f, "type")), format_bytes(used, b), (double)used / 1e6);
                }
        }
        json_object_object_add(ctx->build_json, "budget", json_object_get(json_object_object_get(size, "budget")));
        _cleanup_free_ char *size_text = size_report_to_string(size), *html = size_report_html(size);
        json_object_put(size);
        if ((r = build_add_report(ctx, "size.json", size_text)) < 0 || (r = build_add_report(ctx, "size.html", html)) < 0) {
                pkg_list_free(&pkgs);
                return r;
        }

        /* The SBOM. */
        if (have_pkgs) {
                char ns[37];
                derive_uuid(&ctx->derive, "spdx-document-namespace", ns);
                struct sbom_input si = {
                        .image_name = ctx->profile->name, .image_version = ctx->profile->version,
                        .backend = backend, .tool_version = SLIPWAY_VERSION, .namespace_uuid = ns,
                        .epoch = ctx->epoch, .packages = &pkgs,
                };
                struct json_object *sbom = NULL;
                r = sbom_build(&si, &sbom);
                pkg_list_free(&pkgs);
                if (r < 0)
                        return log_error_errno(r, "building the SBOM");
                _cleanup_free_ char *text = xasprintf("%s\n", json_object_to_json_string_ext(sbom, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(sbom);
                if ((r = build_add_report(ctx, "sbom.spdx.json", text)) < 0)
                        return r;
                _cleanup_free_ char *final = path_join(ctx->outdir, "packages.json");
                build_add_artifact(ctx, manifest, final);
        }

        if (over > 0) {
                drop_images(ctx, n_images);
                log_error("build is over budget (%d limit%s exceeded); reports written, images not kept", over, over == 1 ? "" : "s");
                return -EDQUOT;
        }
        /* build.json is written by cmd_build.c after the last stage, so
         * that it has every stage's time. */
        if (!checksums)
                return 0;
        if ((r = build_add_report(ctx, "SHA256SUMS", sums)) < 0)
                return r;
        return sign_checksums(ctx);
}
