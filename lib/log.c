/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdio.h>
#include <string.h>

static enum log_level current_level = LOG_INFO;

void log_set_level(enum log_level level) { current_level = level; }
enum log_level log_get_level(void) { return current_level; }

static const char *level_prefix(enum log_level level) {
        switch (level) {
        case LOG_ERR: return "error: ";
        case LOG_WARN: return "warning: ";
        default: return "";
        }
}

static void log_vmsg(enum log_level level, int err, const char *fmt, va_list ap) {
        if (level > current_level)
                return;
        fprintf(stderr, "slipway: %s", level_prefix(level));
        vfprintf(stderr, fmt, ap);
        if (err != 0)
                fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
        fputc('\n', stderr);
}

void log_msg(enum log_level level, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, 0, fmt, ap);
        va_end(ap);
}

int log_msg_errno(enum log_level level, int err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, err, fmt, ap);
        va_end(ap);
        return err < 0 ? err : -err;
}
