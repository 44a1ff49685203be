/* SPDX-License-Identifier: MIT */
#include "commands.h"
#include "log.h"
#include "spawn.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

const struct command commands[] = {
        { "build", cmd_build,
          "build PROFILE [-o DIR] [--output FMT,..] [--set KEY=VALUE] [--ssh-key FILE.pub] [--cache DIR] [--mirror URL]",
          "Runs the stages (resolve, rootfs, configure, disk, bootloader, export, report,\n"
          "verify) and writes the artifacts to DIR (default: out/). Not as root, it runs\n"
          "in a user namespace with your subordinate ids (/etc/subuid). On a terminal one\n"
          "line shows the stage and its progress. A rebuild reuses the cached package\n"
          "tree (under an overlay, not copied); SHA256SUMS of a large disk is the slow\n"
          "part then (~20 s for 30 GiB): --set report.checksums=false leaves it out.\n"
          "  -o, --outdir DIR     where artifacts go (created if missing)\n"
          "  --output FMT,..      override the profile's outputs (raw,vhd,vhd-dynamic,qcow2,iso,tar)\n"
          "  --set KEY=VALUE      override a profile value by dotted path (origin: command line)\n"
          "  --ssh-key FILE.pub   add this public key to root's ~/.ssh/authorized_keys (a\n"
          "                       private key is refused)\n"
          "  --cache DIR          package and rootfs cache (default: $SLIPWAY_CACHE or\n"
          "                       /var/cache/slipway as root, ~/.cache/slipway otherwise)\n"
          "  --mirror URL         package mirror to build from (default: the build host's own apt sources;\n"
          "                       never written into the image: distribution.image-mirror is)\n"
          "  -v, --verbose        show the tools' output\n" },
        { "summary", cmd_summary, "summary PROFILE [--json] [--set KEY=VALUE]",
          "Prints the merged profile with the origin (file:line) and reason of each value,\n"
          "and the file each include resolved to.\n" },
        { "validate", cmd_validate, "validate PROFILE [--strict] [--set KEY=VALUE]",
          "Checks a profile. Exit 0, or prints each error as file:line:col: message and exits 2.\n"
          "  --strict   as if the profile said strict: true: every deviation from upstream\n"
          "             (packages, files, users, systemd, kernel, ...) without a reason:\n"
          "             is an error (see profiles/README.md, strict)\n"
          "A relative include is looked for next to the including file, then in each\n"
          "directory of $SLIPWAY_PROFILE_PATH (colon-separated), then in slipway's own\n"
          "profiles ($SLIPWAY_DATADIR/profiles, the checkout's or the installed ones).\n" },
        { "inspect", cmd_inspect, "inspect IMAGE [--json]",
          "Partitions, filesystems, UUIDs, boot code, os-release, kernel, package count\n"
          "of a raw, vhd, qcow2 or iso image, without root and without mounting. For a\n"
          "live ISO: El Torito, and the OS facts from its squashfs (/live/filesystem.squashfs).\n" },
        { "verify", cmd_verify, "verify --azure IMAGE [--deep] [--json]",
          "Checks an image against Azure's requirements.\n" },
        { "size", cmd_size, "size diff OLD NEW [--json] [--fail-over BYTES] [--top N]",
          "Explains what grew and shrank between two builds (size.json files or output\n"
          "directories), by package and directory. Exit 1 when the growth is over --fail-over.\n" },
        { "qemu", cmd_qemu, "qemu IMAGE [--uefi [--secure-boot [--setup-mode]]] [--iso] [--disk virtio|nvme] [--accel auto|kvm|tcg] [--timeout SECONDS] [--marker TEXT] [--ssh-port N] [--write] [--reboot]",
          "Boots an image with qemu, serial console on stdio. --accel auto (the default, or\n"
          "$SLIPWAY_QEMU_ACCEL) uses KVM when it works and falls back to TCG (with a notice)\n"
          "when it does not; --accel tcg where KVM creates VMs but hangs guests (some nested\n"
          "setups). --disk nvme attaches the image as an NVMe disk, as Azure's NVMe-only VM\n"
          "sizes do (default virtio). The guest gets no outside network; --ssh-port N\n"
          "forwards 127.0.0.1:N (only) to the guest's port 22: ssh -p N root@127.0.0.1.\n"
          "A file that is not an image this firmware boots (not a disk image, truncated,\n"
          "no boot code for BIOS, no \\EFI\\BOOT\\BOOTX64.EFI for --uefi, an ISO without that\n"
          "El Torito image) is refused with exit 1 before qemu starts.\n" },
        { "upload", cmd_upload,
          "upload azure IMAGE.vhd (--sas-url URL | [--connection-string S] --container NAME [--name BLOB]) [--overwrite | --resume] [--jobs N] [--retries N] [--limit-rate BYTES] [--merge-gap BYTES] [--zero-budget PERCENT] [--profile PROFILE] [--json]",
          "Uploads a fixed VHD to an Azure page blob, sending only the 512-byte pages that\n"
          "hold data (holes and zero sectors are skipped), at most 4 MiB per request, N at\n"
          "once (--jobs, default 8). Refuses a file that is not a fixed VHD with a whole\n"
          "number of MiB before any network traffic. Each request carries its Content-MD5;\n"
          "at the end the blob's MD5 property is set to the whole VHD's. Network errors\n"
          "and 5xx answers are retried with backoff (--retries, default 5). Then prints\n"
          "the `az sig image-definition create` and `image-version create` commands for\n"
          "it, with the generation and features the image (or --profile) supports.\n"
          "  --sas-url URL          the blob's URL with a SAS token (with --name: the container's)\n"
          "  --connection-string S  Shared Key (default: $AZURE_STORAGE_CONNECTION_STRING)\n"
          "  --container NAME       with a connection string; --name BLOB (default: the file name)\n"
          "  --overwrite            replace an existing blob (else it is refused)\n"
          "  --resume               continue an interrupted upload of this file: asks the\n"
          "                         service which pages it has and sends the rest\n"
          "  --limit-rate BYTES     at most BYTES per second in all (like 50MiB)\n"
          "  --merge-gap BYTES      a zero run of up to BYTES between two runs of data may go\n"
          "                         along in their request, saving one (default 64KiB)\n"
          "  --zero-budget PERCENT  the zeros sent that way, at most PERCENT of the data\n"
          "                         bytes, the shortest runs first (default 5; 0: no zero\n"
          "                         sector is sent)\n"
          "  --profile PROFILE      take the gallery features from the profile, not the image\n"
          "  --json                 the upload's result and the gallery commands as JSON\n"
          "Progress on a terminal; otherwise only the summary. Secrets (keys, SAS\n"
          "signatures) are never printed. Exit 1 when the upload failed, 130 when\n"
          "interrupted (--resume continues).\n" },
        { "cache", cmd_cache, "cache list|clean [--cache DIR]",
          "Lists or removes cached rootfs trees and packages.\n" },
        { NULL, NULL, NULL, NULL },
};

const struct command *command_find(const char *name) {
        for (const struct command *c = commands; c->name; c++)
                if (strcmp(c->name, name) == 0)
                        return c;
        return NULL;
}

static void print_usage(FILE *f) {
        fprintf(f, "slipway %s — assembles small bootable OS images from declarative profiles\n\n"
                   "Usage:\n", SLIPWAY_VERSION);
        for (const struct command *c = commands; c->name; c++)
                fprintf(f, "  slipway %s\n", c->synopsis);
        fprintf(f, "  slipway help COMMAND\n"
                   "  slipway --version\n\n"
                   "Global options: -q/--quiet, -v/--verbose (before the command).\n"
                   "Exit codes: 0 success, 1 build, check or upload failure, 2 usage or profile\n"
                   "error, 130 interrupted.\n");
}

int main(int argc, char **argv) {
        spawn_install_signal_handlers();
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
                        print_usage(stdout);
                        return EXIT_OK;
                } else if (strcmp(argv[i], "--version") == 0) {
                        printf("slipway %s\n", SLIPWAY_VERSION);
                        return EXIT_OK;
                } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
                        log_set_level(LOG_DEBUG);
                else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
                        log_set_level(LOG_ERR);
                else {
                        fprintf(stderr, "slipway: unknown option %s\n", argv[i]);
                        print_usage(stderr);
                        return EXIT_USAGE;
                }
        }
        if (i >= argc) {
                print_usage(stderr);
                return EXIT_USAGE;
        }
        if (strcmp(argv[i], "help") == 0) {
                if (i + 1 >= argc) {
                        print_usage(stdout);
                        return EXIT_OK;
                }
                const struct command *c = command_find(argv[i + 1]);
                if (!c) {
                        fprintf(stderr, "slipway: no such command: %s\n", argv[i + 1]);
                        return EXIT_USAGE;
                }
                printf("Usage: slipway %s\n\n%s", c->synopsis, c->help);
                return EXIT_OK;
        }
        const struct command *c = command_find(argv[i]);
        if (!c) {
                fprintf(stderr, "slipway: unknown command '%s' (see slipway --help)\n", argv[i]);
                return EXIT_USAGE;
        }
        return c->run(argc - i, argv + i);
}
