/* SPDX-License-Identifier: MIT */
/* Helpers on the build context shared by the stages. */
#include "build.h"
#include "log.h"
#include "util.h"

#include <string.h>

#include <json-c/json.h>

void build_record_change(struct build_ctx *ctx, const char *what, const char *where, const char *origin_path) {
        if (!ctx->changes)
                return;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "what", json_object_new_string(what));
        if (where)
                json_object_object_add(o, "where", json_object_new_string(where));
        if (origin_path) {
                char buf[512];
                json_object_object_add(o, "profile", json_object_new_string(origin_path));
                json_object_object_add(o, "origin", json_object_new_string(
                        origin_format(profile_origin(ctx->profile, origin_path), buf, sizeof(buf))));
        }
        json_object_array_add(ctx->changes, o);
}

void build_add_artifact(struct build_ctx *ctx, const char *tmp_path, const char *final_path) {
        strv_push(&ctx->artifacts, tmp_path);
        strv_push(&ctx->artifact_finals, final_path);
}


int build_add_report(struct build_ctx *ctx, const char *name, const char *content) {
        _cleanup_free_ char *tmp = xasprintf("%s/%s.tmp", ctx->workdir, name);
        _cleanup_free_ char *final = xasprintf("%s/%s", ctx->outdir, name);
        int r = write_file(tmp, content, strlen(content), 0644);
        if (r < 0)
                return log_error_errno(r, "write %s", tmp);
        build_add_artifact(ctx, tmp, final);
        return 0;
}
