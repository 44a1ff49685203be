/* SPDX-License-Identifier: MIT */
/* slipway qemu IMAGE [--uefi [--secure-boot [--setup-mode]]] [--iso] [--disk virtio|nvme] [--accel auto|kvm|tcg] [--timeout SECONDS] [--marker TEXT] [--ssh-port N] [--write] [--reboot]
 *
 * Boots an image with qemu-system-x86_64: 1 GiB, serial console on stdio
 * (-nographic), no outside network (-nic user,restrict=on).  --accel (or
 * $SLIPWAY_QEMU_ACCEL): auto (the default) is KVM when /dev/kvm works, TCG
 * otherwise; tcg forces TCG, for hosts whose KVM creates VMs but hangs
 * their kernels (nested KVM on some clouds: SeaBIOS runs, Linux never
 * prints a line), which no quick probe tells apart; kvm insists.  UEFI uses OVMF with a throwaway copy of
 * its variable store.  The image is opened with snapshot=on (guest writes
 * are discarded: an artifact stays as built) unless --write.  A guest
 * reboot ends qemu (-no-reboot) unless --reboot; with --reboot the guest
 * restarts in the same qemu, keeping its disk writes (also in the snapshot)
 * and UEFI variables until qemu ends: what A/B update and boot-counting
 * tests need.
 *
 * --setup-mode (implies --secure-boot): the same SMM OVMF with its empty
 * variable store instead: no PK, so Secure Boot is in setup mode and the
 * image may enroll its own keys (systemd-boot's secure-boot-enroll);
 * with --reboot, the reset after enrollment comes back with Secure Boot
 * enforced by those keys.
 *
 * Before qemu starts, the file is read as `inspect` reads it: one that is
 * not an image this firmware boots (not a disk image at all, truncated, no
 * partition table, no boot code for BIOS, no \EFI\BOOT\BOOTX64.EFI for
 * UEFI, an ISO without the El Torito image) is refused with exit 1.  The
 * drive's format is the container found (raw, vpc, qcow2), not the suffix.
 *
 * --marker TEXT: the console output is watched (and still shown); exit 0
 * as soon as TEXT appears, 1 when --timeout (default 600 s) passes or qemu
 * ends first.  The boot tests use this.
 *
 * --ssh-port N: the guest's port 22 is forwarded from 127.0.0.1:N on the
 * host (qemu's user network, hostfwd; restrict=on still lets forwarded
 * connections in, and the guest still reaches nothing outside), so
 * `ssh -p N root@127.0.0.1` works.  Never on other addresses: the guest
 * of a development image may let anyone in. */
#include "commands.h"
#include "image_inspect.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
/* --secure-boot: the SMM build of OVMF (its variable store can only be
 * written from SMM, so the guest cannot switch Secure Boot off) and a
 * variable store with Microsoft's keys enrolled and Secure Boot enabled:
 * what Azure Gen2 "Trusted launch" and most PCs have. */
#define OVMF_CODE_SECBOOT "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define OVMF_VARS_MS "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

/* KVM is usable when /dev/kvm opens, speaks API 12 and lets us create a
 * VM: nested setups where the device exists but VM creation fails exist. */
static bool kvm_works(void) {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return false;
        bool ok = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
        if (ok) {
                int vm = ioctl(fd, KVM_CREATE_VM, 0);
                ok = vm >= 0;
                if (vm >= 0)
                        close(vm);
        }
        close(fd);
        return ok;
}

/* qemu's name for the container the reader found (not the file's suffix). */
static const char *qemu_format(enum image_format f) {
        switch (f) {
        case IMAGE_FORMAT_VHD_FIXED:
        case IMAGE_FORMAT_VHD_DYNAMIC:
                return "vpc";
        case IMAGE_FORMAT_QCOW2:
                return "qcow2";
        case IMAGE_FORMAT_RAW:
        case IMAGE_FORMAT_ISO:
                break;
        }
        return "raw";
}

/* Before qemu starts: the file must be something the chosen firmware can
 * boot, read the way `inspect` reads it (lib/image_inspect.c: the
 * container, the partition table, the MBR's boot code, the ESP's
 * \EFI\BOOT\BOOTX64.EFI, an ISO's El Torito catalog).  A text file, a
 * file of zeros, a truncated qcow2 or an image without boot code for this
 * firmware would otherwise give a firmware screen saying "No bootable
 * device" until --timeout.  Whether a loader's signature is trusted is left
 * to the firmware (--secure-boot tests boot unsigned loaders on purpose).
 * 0, or -EBADMSG after saying why. */
static int probe_bootable(const char *image, bool cdrom, bool uefi, enum image_format *ret_format) {
        _cleanup_image_reader_ struct image_reader *r = NULL;
        int k = image_reader_open(image, &r);
        if (k < 0) {
                log_error("%s is not a bootable image (the error above says why); qemu not started", image);
                return -EBADMSG;
        }
        if (r->size < 64 * KiB) {
                log_error("%s is not a bootable image: its disk is %" PRIu64 " bytes, too small to hold a partition table and a "
                          "boot loader; qemu not started", image, r->size);
                return -EBADMSG;
        }
        struct image_info info;
        k = image_inspect(r, &info);
        if (k < 0) {
                image_info_done(&info);
                log_error("%s is not a bootable image (the error above says why); qemu not started", image);
                return -EBADMSG;
        }
        const char *why = NULL;
        if (cdrom && info.format != IMAGE_FORMAT_ISO)
                why = "attached as a CD-ROM (--iso or the .iso suffix), but it is not an ISO 9660 image";
        else if (cdrom && uefi && !info.eltorito_uefi)
                why = "its El Torito catalog has no UEFI (EFI) boot image: boot it without --uefi";
        else if (cdrom && !uefi && !info.eltorito_bios)
                why = "its El Torito catalog has no BIOS boot image: boot it with --uefi";
        else if (!cdrom && info.n_partitions == 0)
                why = "no partition table (a bare filesystem is not a disk a firmware boots)";
        else if (!cdrom && uefi && !info.efi_loader)
                why = "no EFI System Partition holding \\EFI\\BOOT\\BOOTX64.EFI, which UEFI firmware boots";
        else if (!cdrom && !uefi && !info.mbr_boot_code)
                why = "no boot code in the MBR, which a BIOS runs (a UEFI-only image? add --uefi)";
        enum image_format f = r->format;
        image_info_done(&info);
        if (why) {
                log_error("%s is not a bootable image: %s; qemu not started", image, why);
                return -EBADMSG;
        }
        *ret_format = f;
        return 0;
}

static int copy_file(const char *from, const char *to) {
        _cleanup_free_ char *data = NULL;
        size_t n = 0;
        int r = read_file(from, &data, &n);
        if (r < 0)
                return log_error_errno(r, "cannot read %s", from);
        r = write_file(to, data, n, 0600);
        if (r < 0)
                return log_error_errno(r, "cannot write %s", to);
        return 0;
}

/* Shows qemu's output and looks for the marker (which may straddle reads). */
struct marker_watch {
        const char *marker;
        char *window;           /* the last strlen(marker) - 1 bytes + the new chunk */
        size_t window_len;
};

static bool marker_feed(struct marker_watch *w, const char *buf, size_t n) {
        size_t ml = strlen(w->marker);
        w->window = xrealloc(w->window, w->window_len + n + 1);
        memcpy(w->window + w->window_len, buf, n);
        w->window_len += n;
        w->window[w->window_len] = '\0';
        bool found = memmem(w->window, w->window_len, w->marker, ml) != NULL;
        if (w->window_len >= ml) {
                size_t keep = ml - 1;
                memmove(w->window, w->window + w->window_len - keep, keep);
                w->window_len = keep;
        }
        return found;
}

static void stop_child(pid_t pid) {
        kill(pid, SIGTERM);
        for (int i = 0; i < 50; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return;
                usleep(100 * 1000);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* Runs qemu, copying its stdout to ours; with a marker, returns EXIT_OK
 * once seen.  Without one, returns qemu's exit status mapped to 0/1. */
static int run_qemu(char **argv, const char *marker, unsigned timeout_s) {
        int pipefd[2] = { -1, -1 };
        if (marker && pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(-errno, "pipe"), EXIT_FAILURE_BUILD;
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(-errno, "fork"), EXIT_FAILURE_BUILD;
        if (pid == 0) {
                if (marker) {
                        int devnull = open("/dev/null", O_RDONLY);
                        if (devnull >= 0)
                                dup2(devnull, STDIN_FILENO);
                        dup2(pipefd[1], STDOUT_FILENO);
                }
                execvp(argv[0], argv);
                fprintf(stderr, "slipway: cannot run %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        uint64_t start = now_usec(), deadline = timeout_s ? start + (uint64_t)timeout_s * 1000000u : 0;
        if (!marker) {
                int status = 0;
                for (;;) {
                        pid_t w = waitpid(pid, &status, timeout_s ? WNOHANG : 0);
                        if (w == pid)
                                break;
                        if (w < 0 && errno != EINTR)
                                return log_error_errno(-errno, "waitpid"), EXIT_FAILURE_BUILD;
                        if (spawn_interrupted()) {
                                stop_child(pid);
                                return EXIT_INTERRUPTED;
                        }
                        if (deadline && now_usec() > deadline) {
                                log_error("qemu: timeout after %u s, stopping it", timeout_s);
                                stop_child(pid);
                                return EXIT_FAILURE_BUILD;
                        }
                        if (timeout_s)
                                usleep(200 * 1000);
                }
                return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? EXIT_OK : EXIT_FAILURE_BUILD;
        }

        close(pipefd[1]);
        struct marker_watch watch = { .marker = marker };
        int ret = EXIT_FAILURE_BUILD;
        char buf[4096];
        for (;;) {
                if (spawn_interrupted()) {
                        ret = EXIT_INTERRUPTED;
                        break;
                }
                uint64_t now = now_usec();
                if (deadline && now > deadline) {
                        fflush(stdout);
                        log_error("qemu: \"%s\" did not appear within %u s", marker, timeout_s);
                        break;
                }
                struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
                int r = poll(&pfd, 1, 500);
                if (r < 0 && errno != EINTR) {
                        log_error_errno(-errno, "poll");
                        break;
                }
                if (r <= 0)
                        continue;
                ssize_t n = read(pipefd[0], buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        fflush(stdout);
                        log_error("qemu ended before \"%s\" appeared", marker);
                        break;
                }
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
                if (marker_feed(&watch, buf, (size_t)n)) {
                        printf("\n");
                        fflush(stdout);
                        log_info("qemu: \"%s\" seen after %.1f s", marker, (double)(now_usec() - start) / 1e6);
                        ret = EXIT_OK;
                        break;
                }
        }
        free(watch.window);
        close(pipefd[0]);
        stop_child(pid);
        return ret;
}

int cmd_qemu(int argc, char **argv) {
        static const struct option options[] = {
                { "uefi", no_argument, NULL, 'u' },
                { "secure-boot", no_argument, NULL, 's' },
                { "setup-mode", no_argument, NULL, 'S' },
                { "iso", no_argument, NULL, 'i' },
                { "timeout", required_argument, NULL, 't' },
                { "marker", required_argument, NULL, 'm' },
                { "write", no_argument, NULL, 'w' },
                { "reboot", no_argument, NULL, 'r' },
                { "accel", required_argument, NULL, 'a' },
                { "disk", required_argument, NULL, 'd' },
                { "ssh-port", required_argument, NULL, 'p' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        bool uefi = false, secure_boot = false, setup_mode = false, iso = false, writable = false, reboot = false;
        const char *marker = NULL, *accel = getenv("SLIPWAY_QEMU_ACCEL"), *disk = "virtio";
        unsigned timeout_s = 0, ssh_port = 0;
        bool timeout_set = false;
        int c;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                switch (c) {
                case 'u': uefi = true; break;
                case 's': secure_boot = uefi = true; break;
                case 'S': setup_mode = secure_boot = uefi = true; break;
                case 'i': iso = true; break;
                case 'w': writable = true; break;
                case 'r': reboot = true; break;
                case 'm': marker = optarg; break;
                case 'a': accel = optarg; break;
                case 'd': disk = optarg; break;
                case 'p': {
                        char *end = NULL;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (!end || *end || optarg[0] == '-' || v == 0 || v > 65535) {
                                log_error("--ssh-port: expected a TCP port (1..65535), got '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        ssh_port = (unsigned)v;
                        break;
                }
                case 't': {
                        char *end = NULL;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (!end || *end || v == 0 || v > 86400) {
                                log_error("--timeout: expected seconds (1..86400), got '%s'", optarg);
                                return EXIT_USAGE;
                        }
                        timeout_s = (unsigned)v;
                        timeout_set = true;
                        break;
                }
                case 'h':
                        printf("slipway qemu IMAGE [--uefi [--secure-boot [--setup-mode]]] [--iso] [--disk virtio|nvme] [--accel auto|kvm|tcg] [--timeout SECONDS] [--marker TEXT] [--ssh-port N] [--write] [--reboot]\n");
                        return EXIT_OK;
                default:
                        return EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                log_error("usage: slipway qemu IMAGE [--uefi [--secure-boot [--setup-mode]]] [--iso] [--disk virtio|nvme] [--accel auto|kvm|tcg] [--timeout SECONDS] [--marker TEXT] [--ssh-port N] [--write] [--reboot]");
                return EXIT_USAGE;
        }
        const char *image = argv[optind];
        if (!iso && endswith(image, ".iso"))
                iso = true;
        if (!accel || !*accel)
                accel = "auto";
        if (strcmp(accel, "auto") != 0 && strcmp(accel, "kvm") != 0 && strcmp(accel, "tcg") != 0) {
                log_error("--accel: expected auto, kvm or tcg, got '%s'", accel);
                return EXIT_USAGE;
        }
        /* nvme: the disk as Azure's v6 and newer sizes present it (NVMe only). */
        if (strcmp(disk, "virtio") != 0 && strcmp(disk, "nvme") != 0) {
                log_error("--disk: expected virtio or nvme, got '%s'", disk);
                return EXIT_USAGE;
        }
        if (marker && !*marker) {
                log_error("--marker: empty text");
                return EXIT_USAGE;
        }
        if (marker && !timeout_set)
                timeout_s = 600;
        if (access(image, R_OK) < 0) {
                log_error_errno(-errno, "cannot read %s", image);
                return EXIT_USAGE;
        }
        enum image_format format = IMAGE_FORMAT_RAW;
        if (probe_bootable(image, iso, uefi, &format) < 0)
                return EXIT_FAILURE_BUILD;
        _cleanup_free_ char *qemu = find_program("qemu-system-x86_64");
        if (!qemu) {
                log_error("qemu-system-x86_64 not found (Debian package qemu-system-x86)");
                return EXIT_USAGE;
        }

        _cleanup_strv_free_ char **args = NULL;
        strv_push(&args, qemu);
        const char *ovmf_code = secure_boot ? OVMF_CODE_SECBOOT : OVMF_CODE;
        const char *ovmf_vars = secure_boot && !setup_mode ? OVMF_VARS_MS : OVMF_VARS;
        /* The SMM OVMF needs SMM in the machine and a flash only SMM may write. */
        _cleanup_free_ char *nic = ssh_port ? xasprintf("user,restrict=on,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%u-:22", ssh_port)
                                            : xstrdup("user,restrict=on,model=virtio-net-pci");
        const char *base[] = { "-machine", secure_boot ? "q35,smm=on" : "q35", "-m", "1024", "-nographic", "-nic", nic };
        for (size_t i = 0; i < ELEMENTSOF(base); i++)
                strv_push(&args, base[i]);
        if (ssh_port)
                log_info("qemu: the guest's SSH on 127.0.0.1:%u (ssh -p %u root@127.0.0.1)", ssh_port, ssh_port);
        if (!reboot)
                strv_push(&args, "-no-reboot");
        if (secure_boot) {
                strv_push(&args, "-global");
                strv_push(&args, "driver=cfi.pflash01,property=secure,value=on");
        }
        strv_push(&args, "-accel");
        if (strcmp(accel, "tcg") == 0) {
                log_info("qemu: TCG (--accel tcg)");
                strv_push(&args, "tcg");
        } else if (kvm_works()) {
                log_info("qemu: KVM");
                strv_push(&args, "kvm");
        } else if (strcmp(accel, "kvm") == 0) {
                log_error("qemu: --accel kvm, but KVM is not usable here (/dev/kvm cannot create a VM)");
                return EXIT_USAGE;
        } else {
                log_info("qemu: KVM is not usable here, using TCG (slower)");
                strv_push(&args, "tcg");
        }

        char vars_tmpl[] = "/tmp/slipway-ovmf-vars.XXXXXX";
        bool vars_made = false;
        int ret;
        _cleanup_free_ char *escaped = NULL, *drive = NULL, *line = NULL;
        if (uefi) {
                if (access(ovmf_code, R_OK) < 0 || access(ovmf_vars, R_OK) < 0) {
                        log_error("UEFI needs %s and %s (Debian package ovmf)", ovmf_code, ovmf_vars);
                        return EXIT_USAGE;
                }
                int fd = mkstemp(vars_tmpl);
                if (fd < 0) {
                        log_error_errno(-errno, "cannot create a temporary OVMF variable store");
                        return EXIT_FAILURE_BUILD;
                }
                close(fd);
                vars_made = true;
                if (copy_file(ovmf_vars, vars_tmpl) < 0) {
                        ret = EXIT_FAILURE_BUILD;
                        goto out;
                }
                _cleanup_free_ char *code = xasprintf("if=pflash,format=raw,unit=0,readonly=on,file=%s", ovmf_code);
                _cleanup_free_ char *vars = xasprintf("if=pflash,format=raw,unit=1,file=%s", vars_tmpl);
                strv_push(&args, "-drive");
                strv_push(&args, code);
                strv_push(&args, "-drive");
                strv_push(&args, vars);
        }
        /* qemu's -drive syntax: a comma in the file name is written ",,". */
        escaped = xmalloc(2 * strlen(image) + 1);
        {
                char *o = escaped;
                for (const char *s = image; *s; s++) {
                        *o++ = *s;
                        if (*s == ',')
                                *o++ = ',';
                }
                *o = '\0';
        }
        bool nvme = !iso && strcmp(disk, "nvme") == 0;
        drive = iso ? xasprintf("file=%s,format=raw,media=cdrom,readonly=on", escaped)
                    : xasprintf("file=%s,format=%s,if=%s%s", escaped, qemu_format(format), nvme ? "none,id=disk0" : "virtio",
                                writable ? "" : ",snapshot=on");
        strv_push(&args, "-drive");
        strv_push(&args, drive);
        if (nvme) {
                strv_push(&args, "-device");
                strv_push(&args, "nvme,drive=disk0,serial=slipway-os-disk");
        }
        if (iso) {
                strv_push(&args, "-boot");
                strv_push(&args, "d");
        }
        line = argv_to_string(args);
        log_debug("running %s", line);
        ret = run_qemu(args, marker, timeout_s);
out:
        if (vars_made)
                unlink(vars_tmpl);
        return ret;
}
