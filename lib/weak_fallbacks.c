/* SPDX-License-Identifier: MIT */
/* Weak stand-ins for functions that live on other branches
 * (profile_origin/origin_format: lib/profile.c on the profile branch;
 * build_record_change: the lead's build code): they let the disk and
 * bootloader stages link and be tested before the merge.  The real, strong
 * definitions replace these at link time; delete this file once those are in. */
#include "build.h"
#include "profile.h"

#include <stdio.h>

__attribute__((weak)) struct slw_origin profile_origin(const struct slw_profile *p, const char *dotted_path) {
        (void)p;
        (void)dotted_path;
        return (struct slw_origin){ .file = "default" };
}

__attribute__((weak)) const char *origin_format(struct slw_origin o, char *buf, size_t n) {
        if (o.line)
                snprintf(buf, n, "%s:%u:%u", o.file, o.line, o.col);
        else
                snprintf(buf, n, "%s", o.file ? o.file : "default");
        return buf;
}

__attribute__((weak)) void build_record_change(struct build_ctx *ctx, const char *what, const char *where,
                                               const char *origin_path) {
        (void)ctx;
        (void)what;
        (void)where;
        (void)origin_path;
}
