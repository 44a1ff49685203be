/* SPDX-License-Identifier: MIT */
/* export: turns the assembled raw disk (raw, vhd, vhd-dynamic, qcow2) and
 * the configured tree (tar: lib/tarball.c; iso: export_iso.c) into the
 * requested formats.
 * Every artifact is written inside the work directory under a temporary
 * name and registered with build_add_artifact(); cmd_build renames them
 * all once the build succeeded. */
#include "build.h"
#include "export.h"
#include "fileio.h"
#include "log.h"
#include "spawn.h"
#include "tarball.h"
#include "util.h"
#include "vhd.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

char *export_artifact_final(const struct build_ctx *ctx, enum slw_output o) {
        return xasprintf("%s/%s.%s", ctx->outdir, ctx->profile->name, output_extension(o));
}

char *export_artifact_tmp(const struct build_ctx *ctx, enum slw_output o) {
        return xasprintf("%s/%s.%s.tmp", ctx->workdir, ctx->profile->name, output_extension(o));
}
#define artifact_final export_artifact_final
#define artifact_tmp export_artifact_tmp

/* zstd level of the rootfs tarball.  Measured on the 317 MB reference
 * tree: level 9 gives 119.4 MB in 16 s, level 15 118.3 MB in 148 s. */
#define TAR_ZSTD_LEVEL 9

static int export_tar(struct build_ctx *ctx) {
        _cleanup_free_ char *tmp = artifact_tmp(ctx, OUT_TAR), *final = artifact_final(ctx, OUT_TAR);
        if (!ctx->tree)
                return log_error_errno(-EINVAL, "export tar: no root tree");
        uint64_t start = now_usec();
        int r = tarball_write_tree(ctx->tree, tmp, ctx->epoch, TAR_ZSTD_LEVEL);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        struct stat st;
        char a[32];
        log_info("export: tar.zst %s in %.1f s", stat(tmp, &st) == 0 ? format_bytes((uint64_t)st.st_size, a) : "?",
                 (double)(now_usec() - start) / 1e6);
        build_add_artifact(ctx, tmp, final);
        return 0;
}

static int export_qcow2(struct build_ctx *ctx) {
        _cleanup_free_ char *tmp = artifact_tmp(ctx, OUT_QCOW2), *final = artifact_final(ctx, OUT_QCOW2);
        const char *opts;
        switch (ctx->profile->qcow2_compression) {
        case COMP_ZSTD: opts = "compat=1.1,compression_type=zstd"; break;
        default: opts = "compat=1.1"; break;
        }
        char *argv[16];
        size_t n = 0;
        argv[n++] = "qemu-img";
        argv[n++] = "convert";
        argv[n++] = "-f";
        argv[n++] = "raw";
        argv[n++] = "-O";
        argv[n++] = "qcow2";
        argv[n++] = "-o";
        argv[n++] = (char *)opts;
        if (ctx->profile->qcow2_compression != COMP_NONE)
                argv[n++] = "-c";
        argv[n++] = ctx->raw_tmp;
        argv[n++] = tmp;
        argv[n] = NULL;
        int r = run_command(argv, &(struct run_opts){ .quiet = true });
        if (r < 0)
                return r;
        build_add_artifact(ctx, tmp, final);
        return 0;
}

static int export_vhd(struct build_ctx *ctx, bool in_place) {
        _cleanup_free_ char *tmp = artifact_tmp(ctx, OUT_VHD), *final = artifact_final(ctx, OUT_VHD);
        uint8_t id[32];
        derive_bytes(&ctx->derive, "vhd-unique-id", id);
        if (in_place) {
                /* Nobody needs the raw image any more: append the footer to
                 * it instead of copying gigabytes. */
                if (rename(ctx->raw_tmp, tmp) < 0)
                        return log_error_errno(-errno, "rename %s", ctx->raw_tmp);
                free(ctx->raw_tmp);
                ctx->raw_tmp = xstrdup(tmp);
        }
        int r = vhd_write_fixed(ctx->raw_tmp, tmp, ctx->epoch, id);
        if (r < 0)
                return r;
        build_add_artifact(ctx, tmp, final);
        if (!in_place) {
                /* It is the raw disk plus the footer: the report continues
                 * the raw disk's checksum instead of reading 30 GiB again. */
                free(ctx->fixed_vhd_tmp);
                ctx->fixed_vhd_tmp = xstrdup(tmp);
        }
        return 0;
}

static int export_vhd_dynamic(struct build_ctx *ctx) {
        /* Both VHD flavours end in .vhd: the dynamic one gets its own
         * name when the fixed one is built too. */
        bool both = ctx->enabled_outputs[OUT_VHD];
        _cleanup_free_ char *tmp = both ? xasprintf("%s/%s.dynamic.vhd.tmp", ctx->workdir, ctx->profile->name)
                                        : artifact_tmp(ctx, OUT_VHD_DYNAMIC);
        _cleanup_free_ char *final = both ? xasprintf("%s/%s.dynamic.vhd", ctx->outdir, ctx->profile->name)
                                          : artifact_final(ctx, OUT_VHD_DYNAMIC);
        uint8_t id[32];
        derive_bytes(&ctx->derive, "vhd-dynamic-unique-id", id);
        int r = vhd_write_dynamic(ctx->raw_tmp, tmp, ctx->epoch, id);
        if (r < 0) {
                (void)unlink(tmp);
                return r;
        }
        build_add_artifact(ctx, tmp, final);
        return 0;
}

/* One export that reads only the tree or the finished raw disk, so it can
 * run beside the others.  It works on its own copy of the context (shared
 * read-only inputs, its own artifact lists) and its artifacts are moved to
 * the build's list afterwards in a fixed order. */
struct export_job {
        const char *what;
        int (*run)(struct build_ctx *ctx);
        struct build_ctx ctx;
        int result;
        pthread_t thread;
        bool threaded;
};

static void *export_job_thread(void *arg) {
        struct export_job *j = arg;
        j->result = j->run(&j->ctx);
        return NULL;
}

static void export_jobs_run(struct export_job *jobs, size_t n) {
        /* The first job runs on this thread; a failed pthread_create
         * runs its job here too. */
        for (size_t i = 1; i < n; i++)
                jobs[i].threaded = pthread_create(&jobs[i].thread, NULL, export_job_thread, &jobs[i]) == 0;
        for (size_t i = 0; i < n; i++)
                if (!jobs[i].threaded)
                        export_job_thread(&jobs[i]);
        for (size_t i = 1; i < n; i++)
                if (jobs[i].threaded)
                        pthread_join(jobs[i].thread, NULL);
}

int stage_export(struct build_ctx *ctx) {
        const bool *out = ctx->enabled_outputs;
        int r = 0;

        /* Everything but the fixed VHD only reads the tree or the raw
         * disk: the tree formats (tar, iso) and the converted ones
         * (vhd-dynamic, qcow2) run in parallel.  The fixed VHD comes last,
         * alone, because without a raw output it takes over the raw file. */
        struct export_job jobs[4];
        size_t n = 0;
        if (out[OUT_TAR])
                jobs[n++] = (struct export_job){ .what = "tar", .run = export_tar };
        if (out[OUT_ISO])
                jobs[n++] = (struct export_job){ .what = "iso", .run = export_iso };
        if (ctx->raw_tmp && out[OUT_VHD_DYNAMIC])
                jobs[n++] = (struct export_job){ .what = "vhd-dynamic", .run = export_vhd_dynamic };
        if (ctx->raw_tmp && out[OUT_QCOW2])
                jobs[n++] = (struct export_job){ .what = "qcow2", .run = export_qcow2 };
        for (size_t i = 0; i < n; i++) {
                jobs[i].ctx = *ctx;
                jobs[i].ctx.artifacts = NULL;
                jobs[i].ctx.artifact_finals = NULL;
        }
        if (n > 1)
                log_debug("export: %zu formats in parallel", n);
        export_jobs_run(jobs, n);
        for (size_t i = 0; i < n; i++) {
                for (size_t k = 0; jobs[i].ctx.artifacts && jobs[i].ctx.artifacts[k]; k++)
                        build_add_artifact(ctx, jobs[i].ctx.artifacts[k], jobs[i].ctx.artifact_finals[k]);
                strv_free(jobs[i].ctx.artifacts);
                strv_free(jobs[i].ctx.artifact_finals);
                if (jobs[i].result < 0 && r == 0)
                        r = jobs[i].result;
        }
        if (r < 0)
                return r;
        if (!ctx->raw_tmp)
                return 0;

        if (out[OUT_VHD]) {
                r = export_vhd(ctx, !out[OUT_RAW]);
                if (r < 0)
                        return r;
        }
        if (out[OUT_RAW]) {
                _cleanup_free_ char *final = artifact_final(ctx, OUT_RAW);
                build_add_artifact(ctx, ctx->raw_tmp, final);
        }
        return 0;
}
