/* SPDX-License-Identifier: MIT */
/* verify: when the profile asks for it (verify.azure), the build checks its
 * own image against Azure's requirements as its last step, exactly as
 * `slipway verify --azure` would, and fails when a rule fails.  It runs on
 * the artifact under its temporary name, so a failing image never appears
 * under its final name. */
#include "azure_rules.h"
#include "build.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const char *pick_image(const struct build_ctx *ctx) {
        const char *raw = NULL;
        for (size_t i = 0; ctx->artifacts && ctx->artifacts[i]; i++) {
                const char *final = ctx->artifact_finals[i];
                if (endswith(final, ".vhd") && !endswith(final, ".dynamic.vhd"))
                        return ctx->artifacts[i];
                if (endswith(final, ".raw"))
                        raw = ctx->artifacts[i];
        }
        return raw;
}

int stage_verify(struct build_ctx *ctx) {
        if (!ctx->profile->verify_azure)
                return 0;
        const char *image = pick_image(ctx);
        if (!image) {
                log_warning("verify.azure: the build wrote no vhd or raw image; nothing to verify");
                return 0;
        }
        log_info("verify: checking %s against Azure's requirements", image);
        int r = azure_verify_image(image, false, stderr);
        if (r < 0)
                return r;
        if (r > 0) {
                log_error("verify --azure: a rule failed (set verify.azure: false to build anyway)");
                return -EPROTO;
        }
        return 0;
}
