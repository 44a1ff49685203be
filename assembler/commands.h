/* SPDX-License-Identifier: MIT */
#pragma once

/* Exit codes, documented in the README. */
enum {
        EXIT_OK = 0,
        EXIT_FAILURE_BUILD = 1,   /* build, check or upload failed */
        EXIT_USAGE = 2,           /* usage or profile error, or not implemented */
        EXIT_INTERRUPTED = 130,
};

/* One file per command: assembler/cmd_<name>.c.  Each returns an exit code. */
int cmd_build(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_size(int argc, char **argv);
int cmd_qemu(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_upload(int argc, char **argv);

struct command {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *synopsis;
        const char *help;
};

extern const struct command commands[];

struct slw_profile;
#include <stdbool.h>
/* For commands that read one profile ("PROFILE [--set K=V]... [--json]
 * [--strict]"; --json only when json is non-NULL, --strict only when strict
 * is non-NULL): parses the arguments and loads the
 * profile.  EXIT_OK with *ret set, or an exit code after printing the errors
 * (profile errors as file:line:col: message).  In cmd_validate.c. */
int command_load_profile(const char *cmd, int argc, char **argv, bool *json, bool *strict, struct slw_profile **ret);
const struct command *command_find(const char *name);
