/* SPDX-License-Identifier: MIT */
/* report: SHA256SUMS, build.json and the package manifest next to the
 * artifacts.  Reports are artifacts too: written in the work directory and
 * renamed with the rest. */
#include "build.h"
#include "derive.h"
#include "fileio.h"
#include "log.h"
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

static int add_report(struct build_ctx *ctx, const char *name, const char *content) {
        _cleanup_free_ char *tmp = xasprintf("%s/%s.tmp", ctx->workdir, name);
        _cleanup_free_ char *final = xasprintf("%s/%s", ctx->outdir, name);
        int r = write_file(tmp, content, strlen(content), 0644);
        if (r < 0)
                return log_error_errno(r, "write %s", tmp);
        build_add_artifact(ctx, tmp, final);
        return 0;
}

int stage_report(struct build_ctx *ctx) {
        int r;
        /* Artifact sizes, then the checksums (over the images only). */
        struct json_object *arts = json_object_new_array();
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *sums = xmalloc(cap);
        sums[0] = '\0';
        for (size_t i = 0; ctx->artifacts && ctx->artifacts[i]; i++) {
                char hex[65];
                uint64_t alloc = 0, apparent = 0;
                r = sha256_file_hex(ctx->artifacts[i], hex);
                if (r < 0) {
                        json_object_put(arts);
                        return log_error_errno(r, "checksum %s", ctx->artifacts[i]);
                }
                (void)file_allocated_bytes(ctx->artifacts[i], &alloc, &apparent);
                const char *name = base_name(ctx->artifact_finals[i]);
                struct json_object *a = json_object_new_object();
                json_object_object_add(a, "name", json_object_new_string(name));
                json_object_object_add(a, "sha256", json_object_new_string(hex));
                json_object_object_add(a, "apparent_bytes", json_object_new_int64((int64_t)apparent));
                json_object_object_add(a, "allocated_bytes", json_object_new_int64((int64_t)alloc));
                json_object_array_add(arts, a);
                _cleanup_free_ char *line = xasprintf("%s  %s\n", hex, name);
                while (len + strlen(line) + 1 > cap)
                        sums = xrealloc(sums, cap *= 2);
                memcpy(sums + len, line, strlen(line) + 1);
                len += strlen(line);
        }
        json_object_object_add(ctx->build_json, "artifacts", arts);

        /* The package manifest written by the rootfs stage. */
        _cleanup_free_ char *manifest = path_join(ctx->workdir, "packages.json");
        if (access(manifest, F_OK) == 0) {
                _cleanup_free_ char *final = path_join(ctx->outdir, "packages.json");
                build_add_artifact(ctx, manifest, final);
        }

        r = add_report(ctx, "SHA256SUMS", sums);
        if (r < 0)
                return r;
        const char *json = json_object_to_json_string_ext(ctx->build_json, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
        _cleanup_free_ char *withnl = xasprintf("%s\n", json);
        return add_report(ctx, "build.json", withnl);
}
