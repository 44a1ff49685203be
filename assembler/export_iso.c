/* SPDX-License-Identifier: MIT */
#include "export.h"
#include "log.h"
#include <errno.h>
int export_iso(struct build_ctx *ctx) {
        return log_error_errno(-EOPNOTSUPP, "iso: not yet");
}
