/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the profile loader.  The bytes are a profile YAML
 * file; after the first NUL byte, if there is one, come `--set KEY=VALUE`
 * overrides, one a line (a profile file may not hold a NUL, so the split
 * takes nothing away from the YAML).  They go through what
 * `slipway validate PROFILE --set ...` runs (assembler/cmd_validate.c:
 * profile_load, i.e. the include chain, merging, remove:, reason:, --set,
 * the schema and the semantic checks; then the errors printed as
 * file:line:col: message), and a profile that validates is printed the way
 * `slipway summary` prints it, text and JSON.  Output goes to /dev/null.
 *
 * The file is written as profile.yaml in a private directory made once per
 * process, beside a few fixed files it may include (base.yaml,
 * overlay.yaml, sub/child.yaml) or name as a file source (motd.txt), so
 * relative includes resolve there.  An absolute include still reaches the
 * host, but the loader only opens regular .yaml/.yml files, read-only.
 * Any result is fine; a crash, a sanitizer report, a leak or a hang is
 * not. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "profile.h"
#include "util.h"
#include "fuzz-files.h"

static const struct {
        const char *name, *text;
} fixed_files[] = {
        { "base.yaml",
          "image: {name: base, version: \"1.0\"}\n"
          "distribution: {backend: apt, release: trixie, components: [main]}\n"
          "hostname: base\n"
          "packages:\n"
          "  install: [systemd, openssh-server, curl]\n"
          "  exclude-paths: [/usr/share/doc/*]\n"
          "systemd: {enable: [ssh.service], default-target: multi-user.target}\n"
          "kernel: {cmdline: [console=ttyS0], reason: serial console}\n"
          "files:\n"
          "  - {path: /etc/motd, source: motd.txt}\n"
          "  - {path: /etc/issue, content: \"hi\\n\", mode: \"0600\"}\n"
          "users:\n"
          "  - {name: admin, uid: 1000, groups: [sudo], shell: /bin/bash}\n"
          "groups: [{name: sudo}]\n"
          "disk:\n"
          "  size: 2GiB\n"
          "  partitions:\n"
          "    - {type: bios-boot, size: 1MiB}\n"
          "    - {type: esp, size: 64MiB}\n"
          "    - {type: root, size: auto}\n"
          "outputs: [raw, vhd]\n" },
        { "overlay.yaml",
          "include: [base.yaml]\n"
          "packages: {install: [vim], remove: [curl]}\n"
          "systemd: {remove: {enable: [ssh.service]}}\n"
          "hostname: {value: overlay, reason: overlay says so}\n" },
        { "sub/child.yaml",
          "include: [../base.yaml]\n"
          "prune: {docs: true, kernel-modules: {value: [\"hv_*\"], reason: vm}}\n" },
        { "motd.txt", "welcome\n" },
};

static char *profile_path;
static int profile_fd = -1;
static FILE *devnull;

static int setup(void) {
        int r = fuzz_dir_make("profile");
        if (r < 0)
                return r;
        _cleanup_free_ char *sub = path_join(fuzz_dir, "sub");
        if (mkdir(sub, 0755) < 0)
                return -errno;
        for (size_t i = 0; i < ELEMENTSOF(fixed_files); i++) {
                _cleanup_free_ char *p = path_join(fuzz_dir, fixed_files[i].name);
                int r = write_file(p, fixed_files[i].text, strlen(fixed_files[i].text), 0644);
                if (r < 0)
                        return r;
        }
        profile_path = path_join(fuzz_dir, "profile.yaml");
        profile_fd = open(profile_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (profile_fd < 0)
                return -errno;
        devnull = fopen("/dev/null", "we");
        return devnull ? 0 : -errno;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        log_set_level(LOG_QUIET);
        if (!fuzz_dir && setup() < 0)
                abort();   /* the harness itself is broken: say so loudly */

        const uint8_t *nul = memchr(data, 0, size);
        size_t yaml_len = nul ? (size_t)(nul - data) : size;
        if (fuzz_rewrite(profile_fd, data, yaml_len) < 0)
                abort();

        /* --set lines: what follows the NUL, split at newlines */
        _cleanup_strv_free_ char **sets = NULL;
        if (nul) {
                _cleanup_free_ char *rest = xstrndup((const char *)nul + 1, size - yaml_len - 1);
                for (char *line = rest, *next; line; line = next) {
                        next = strchr(line, '\n');
                        if (next)
                                *next++ = 0;
                        if (*line)
                                strv_push(&sets, line);
                }
        }

        struct profile_errors errs = { 0 };
        struct slw_profile *p = NULL;
        int r = profile_load(profile_path, sets, &p, &errs);
        if (r < 0)
                profile_errors_print(&errs, devnull);
        profile_errors_free(&errs);
        if (r >= 0) {
                (void)profile_print_summary(p, devnull);
                (void)profile_print_summary_json(p, devnull);
        }
        profile_free(p);
        return 0;
}
