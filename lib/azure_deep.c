/* SPDX-License-Identifier: MIT */
/* --deep: a second, independent reading of the image through libguestfs
 * (guestfish in a small appliance VM, which mounts the guest's filesystems
 * with the real kernel drivers), compared with what slipway's own readers
 * found.  Run with the guestfish tool, not the C API: one process, a
 * script on stdin, and no new build dependency.  Under TCG one launch
 * takes 20 s or more. */
#include "azure_deep.h"
#include "azure_rules.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SECTION "----slipway-section----"

static const char *guestfish_format(enum image_format f) {
        switch (f) {
        case IMAGE_FORMAT_VHD_FIXED:
        case IMAGE_FORMAT_VHD_DYNAMIC: return "vpc";
        case IMAGE_FORMAT_QCOW2: return "qcow2";
        default: return "raw";
        }
}

/* Commands prefixed with '-' may fail (a missing file) without ending the script. */
static const char guestfish_script[] =
        "-cat /etc/machine-id\n"
        "echo " SECTION "\n"
        "-glob-expand /etc/ssh/ssh_host_*\n"
        "echo " SECTION "\n"
        "-cat /etc/fstab\n"
        "echo " SECTION "\n"
        "-is-file /swapfile\n"
        "echo " SECTION "\n"
        "-ls /boot\n"
        "echo " SECTION "\n";

static int run_guestfish(const char *path, enum image_format format, char **ret_out) {
        _cleanup_free_ char *gf = find_program("guestfish");
        if (!gf) {
                log_error("--deep needs guestfish (apt-get install libguestfs-tools)");
                return -ENOENT;
        }
        int fd = memfd_create("guestfish-script", MFD_CLOEXEC);
        if (fd < 0)
                return log_error_errno(-errno, "memfd_create");
        if (write(fd, guestfish_script, sizeof guestfish_script - 1) != (ssize_t)(sizeof guestfish_script - 1) || lseek(fd, 0, SEEK_SET) < 0) {
                close(fd);
                return log_error_errno(-EIO, "guestfish script");
        }
        _cleanup_free_ char *fmt = xasprintf("--format=%s", guestfish_format(format));
        char *argv[] = { "guestfish", "--ro", fmt, "-a", (char *)path, "-i", NULL };
        /* The appliance needs KVM or TCG; force TCG where KVM is unusable,
         * or where SLIPWAY_QEMU_ACCEL=tcg says KVM hangs guests (as for
         * `slipway qemu`).  The direct backend: no libvirt daemon on build
         * machines. */
        char *env[3] = { NULL };
        size_t n = 0;
        if (!getenv("LIBGUESTFS_BACKEND"))
                env[n++] = "LIBGUESTFS_BACKEND=direct";
        const char *accel = getenv("SLIPWAY_QEMU_ACCEL");
        if (!getenv("LIBGUESTFS_BACKEND_SETTINGS") &&
            ((accel && strcmp(accel, "tcg") == 0) || access("/dev/kvm", R_OK | W_OK) < 0))
                env[n++] = "LIBGUESTFS_BACKEND_SETTINGS=force_tcg";
        size_t len = 0;
        int r = run_command(argv, &(struct run_opts){ .capture_stdout = true, .out = ret_out, .out_len = &len, .stdin_fd = fd, .env = env });
        close(fd);
        return r;
}

static char *next_section(char **cursor) {
        if (!*cursor)
                return NULL;
        char *s = *cursor;
        char *end = strstr(s, SECTION "\n");
        if (!end) {
                *cursor = NULL;
                return s;
        }
        *end = 0;
        *cursor = end + strlen(SECTION "\n");
        return s;
}

static bool strv_equal(char **a, char **b) {
        if (strv_length(a) != strv_length(b))
                return false;
        for (size_t i = 0; a && a[i]; i++)
                if (strcmp(a[i], b[i]) != 0)
                        return false;
        return true;
}

static void cross_check(struct azure_report *rep, char *out) {
        char *cursor = out;
        char *mid = next_section(&cursor), *keys = next_section(&cursor), *fstab = next_section(&cursor),
             *swapfile = next_section(&cursor), *boot = next_section(&cursor);
        if (!mid || !keys || !fstab || !swapfile || !boot) {
                azure_report_add(rep, "deep.cross-check", RULE_FAIL, "libguestfs", "unexpected guestfish output");
                return;
        }
        char buf[512];
        size_t used = 0;
        buf[0] = 0;

        /* guestfish ends every string result with a newline of its own. */
        size_t ml = strlen(mid);
        while (ml > 0 && (mid[ml - 1] == '\n' || mid[ml - 1] == ' '))
                mid[--ml] = 0;
        bool deep_empty = ml == 0 || strcmp(mid, "uninitialized") == 0;
        if (deep_empty != rep->machine_id_empty)
                used += (size_t)snprintf(buf + used, sizeof buf - MIN(used, sizeof buf), "machine-id %s vs %s; ",
                                         deep_empty ? "empty" : "set", rep->machine_id_empty ? "empty" : "set");

        _cleanup_strv_free_ char **deep_keys = NULL;
        for (char *l = strtok(keys, "\n"); l; l = strtok(NULL, "\n")) {
                const char *b = strrchr(l, '/');
                strv_push(&deep_keys, b ? b + 1 : l);
        }
        strv_sort(deep_keys);
        _cleanup_strv_free_ char **fast_keys = strv_copy(rep->ssh_host_keys);
        strv_sort(fast_keys);
        if (!strv_equal(deep_keys, fast_keys) && used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "SSH host keys %zu vs %zu; ", strv_length(deep_keys), strv_length(fast_keys));

        size_t deep_swap = 0;
        for (char *l = strtok(fstab, "\n"); l; l = strtok(NULL, "\n")) {
                char spec[256], file[256], type[64];
                while (*l == ' ' || *l == '\t')
                        l++;
                if (*l != '#' && sscanf(l, "%255s %255s %63s", spec, file, type) == 3 && strcmp(type, "swap") == 0)
                        deep_swap++;
        }
        if (deep_swap != strv_length(rep->fstab_swap) && used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "fstab swap entries %zu vs %zu; ", deep_swap, strv_length(rep->fstab_swap));

        bool deep_swapfile = startswith(swapfile, "true");
        if (deep_swapfile != rep->swapfile && used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "/swapfile %s vs %s; ", deep_swapfile ? "present" : "absent",
                                         rep->swapfile ? "present" : "absent");

        _cleanup_strv_free_ char **kernels = NULL;
        for (char *l = strtok(boot, "\n"); l; l = strtok(NULL, "\n"))
                if (startswith(l, "vmlinuz-"))
                        strv_push(&kernels, l + strlen("vmlinuz-"));
        strv_sort(kernels);
        const char *deep_kernel = strv_length(kernels) ? kernels[strv_length(kernels) - 1] : "";
        if (strcmp(deep_kernel, rep->kernel ? rep->kernel : "") != 0 && used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, "kernel %s vs %s; ", deep_kernel, rep->kernel ? rep->kernel : "-");

        if (used == 0)
                azure_report_add(rep, "deep.cross-check", RULE_PASS, "libguestfs",
                                 "libguestfs agrees: machine-id, %zu host keys, %zu swap entries, /swapfile, kernel %s",
                                 strv_length(deep_keys), deep_swap, deep_kernel);
        else {
                buf[MIN(used, sizeof buf) - 2] = 0;
                azure_report_add(rep, "deep.cross-check", RULE_FAIL, "libguestfs", "libguestfs vs fast path: %s", buf);
        }
}

int azure_verify_image_deep(const char *path, bool json, FILE *out) {
        _cleanup_image_reader_ struct image_reader *r = NULL;
        struct image_info info;
        struct azure_report rep;
        int k = azure_verify_path(path, &r, &info, &rep);
        if (k < 0)
                return k;
        _cleanup_free_ char *gf_out = NULL;
        uint64_t t0 = now_usec();
        k = run_guestfish(path, r->format, &gf_out);
        if (k < 0)
                azure_report_add(&rep, "deep.cross-check", RULE_FAIL, "libguestfs", "guestfish could not inspect the image (see the error above)");
        else {
                log_info("libguestfs inspection took %.1f s", (double)(now_usec() - t0) / 1e6);
                cross_check(&rep, gf_out);
        }
        azure_report_print(&rep, path, json, out);
        int ret = rep.failed > 0 ? 1 : 0;
        azure_report_done(&rep);
        image_info_done(&info);
        return ret;
}
