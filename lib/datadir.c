/* SPDX-License-Identifier: MIT */
#include "datadir.h"
#include "util.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#ifndef SLIPWAY_DATADIR
#define SLIPWAY_DATADIR "/usr/local/share/slipway"
#endif

static bool is_dir(const char *p) {
        struct stat st;
        return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *slipway_datadir(void) {
        /* Thread-local scratch for the answer: computed afresh on every call. */
        static _Thread_local char buf[PATH_MAX];
        const char *env = getenv("SLIPWAY_DATADIR");
        if (env && *env)
                return env;
        ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = '\0';
                char *slash = strrchr(buf, '/');        /* <src>/build/slipway -> <src>/build */
                if (slash) {
                        *slash = '\0';
                        slash = strrchr(buf, '/');      /* -> <src> */
                        if (slash && (size_t)(slash - buf) + sizeof("/grub") < sizeof(buf)) {
                                strcpy(slash, "/grub");
                                if (is_dir(buf)) {
                                        *slash = '\0';
                                        return buf;
                                }
                        }
                }
        }
        return SLIPWAY_DATADIR;
}
