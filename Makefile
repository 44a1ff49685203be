# slipway — build, install, check.  See README.md.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/slipway
VERSION := 0.1.0

CC      ?= cc
PKGS    := libfyaml fdisk blkid ext2fs libzstd liblzma libarchive libcrypto json-c zlib com_err libcurl
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CPPFLAGS_ALL = -Ilib -Iassembler -DSLIPWAY_VERSION='"$(VERSION)"' -DSLIPWAY_DATADIR='"$(DATADIR)"'

LIB_SRC := $(sort $(wildcard lib/*.c))
ASM_SRC := $(sort $(wildcard assembler/*.c))
HDRS    := $(wildcard lib/*.h assembler/*.h)
LIB_OBJ := $(LIB_SRC:%.c=build/obj/%.o)
ASM_OBJ := $(ASM_SRC:%.c=build/obj/%.o)

# Unit tests: every tests/unit/test_*.c is one cmocka program, linked
# against libslipway and the stages (not main.c or the cmd_*.c commands), built with
# AddressSanitizer and UndefinedBehaviorSanitizer.
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/unit/%)
SAN_OBJ  := $(LIB_SRC:%.c=build/san/%.o) $(patsubst %.c,build/san/%.o,$(filter-out assembler/main.c assembler/cmd_%.c,$(ASM_SRC)))

# Debian packages the build and the tests need.  `make deps` installs the
# missing ones (apt-get update first, once, only when something is missing),
# then the SPDX validator, which Debian 12 lacks: python3-spdx-tools from a
# newer Debian release, see tests/lib/spdx-tools.sh; then npm (unless a
# nodejs package already brings it, as some do) and, with it, Azurite, the
# Azure Storage emulator test-upload-azure uploads to (tests/lib/azurite.sh:
# into the slipway cache, once).
DEPS_BUILD := build-essential pkg-config libfyaml-dev libfdisk-dev libblkid-dev \
	libext2fs-dev libzstd-dev liblzma-dev libarchive-dev libssl-dev libjson-c-dev libcmocka-dev zlib1g-dev libcurl4-openssl-dev \
	clang libclang-rt-14-dev
DEPS_RUN   := e2fsprogs dosfstools mtools fdisk grub-common mmdebstrap uidmap debian-archive-keyring \
	qemu-system-x86 qemu-utils ovmf seabios squashfs-tools xorriso zstd \
	dpkg-dev apt-utils dnf rpm createrepo-c jq chromium python3-jsonschema \
	libguestfs-tools linux-image-cloud-amd64 erofs-utils cryptsetup-bin gpg gpg-agent sbsigntool faketime nodejs
DEPS := $(DEPS_BUILD) $(DEPS_RUN)

.SECONDARY:
.PHONY: all deps install check unit integration boot image bench bench-profile clean test-drivers
all: build/slipway

deps:
	@missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install:" $$missing >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@tests/lib/spdx-tools.sh install || \
		echo "make deps: the SPDX validator (python3-spdx-tools) is not installed; tests/integration/test-sbom-spdx will fail or skip" >&2
	@command -v npm >/dev/null || { \
		echo "installing: npm"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install npm" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm; }
	@tests/lib/azurite.sh install || \
		echo "make deps: Azurite is not installed; tests/integration/test-upload-azure will try again, or skip" >&2

build/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

build/san/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/SAN  $<"
	@$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

build/libslipway.a: $(LIB_OBJ)
	@mkdir -p build
	@rm -f $@  # a fresh archive: one left from a removed source would still define its symbols
	ar rcs $@ $^

build/slipway: $(ASM_OBJ) build/libslipway.a
	$(CC) $(CFLAGS) -o $@ $(ASM_OBJ) build/libslipway.a $(PKG_LIBS)

build/unit/%: tests/unit/%.c $(SAN_OBJ) $(HDRS)
	@mkdir -p build/unit
	@echo "  LD/SAN  $@"
	@$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(SAN_OBJ) $(PKG_LIBS) -lcmocka

# The C drivers of the integration tests: stages run on a hand-made context,
# built here (never by the test scripts, which run in parallel).
#   disk-driver           stage_disk + stage_bootloader   (test-disk-assemble)
#   rootfs-driver[-san]   stage_rootfs and its backends   (test-rootfs-*;
#                         SLIPWAY_TEST_SANITIZE=1 picks the ASan/UBSan one)
#   configure-driver      every stage                     (test-configure-fixtures)
#   configure-ref-driver  cmocka, ASan/UBSan: configure   (test-configure-ref)
DRV_DISK    := assembler/stage_disk assembler/stage_bootloader assembler/bootloader_sdboot assembler/build
DRV_ROOTFS  := assembler/stage_rootfs assembler/rootfs_apt assembler/rootfs_dnf assembler/rootfs_import \
	lib/cache lib/manifest lib/tree lib/util lib/log lib/spawn lib/derive lib/userns
DRV_STAGES  := $(filter-out build/obj/assembler/main.o build/obj/assembler/cmd_%.o,$(ASM_OBJ))
TEST_DRIVERS := build/tests/disk-driver build/tests/rootfs-driver build/tests/rootfs-driver-san \
	build/tests/configure-driver build/tests/configure-ref-driver \
	build/fuzz/fuzz_inspect build/fuzz/fuzz_profile build/fuzz/fuzz_size_diff

build/tests/disk-driver: tests/integration/disk-driver.c $(DRV_DISK:%=build/obj/%.o) build/libslipway.a $(HDRS)
	@mkdir -p build/tests
	@echo "  LD      $@"
	@$(CC) $(WARN) -O2 -g $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(DRV_DISK:%=build/obj/%.o) build/libslipway.a $(PKG_LIBS)

build/tests/rootfs-driver: tests/integration/rootfs-driver.c $(DRV_ROOTFS:%=build/obj/%.o) $(HDRS)
	@mkdir -p build/tests
	@echo "  LD      $@"
	@$(CC) $(WARN) -O1 -g $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(DRV_ROOTFS:%=build/obj/%.o) $(PKG_LIBS)

build/tests/rootfs-driver-san: tests/integration/rootfs-driver.c $(DRV_ROOTFS:%=build/san/%.o) $(HDRS)
	@mkdir -p build/tests
	@echo "  LD/SAN  $@"
	@$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(DRV_ROOTFS:%=build/san/%.o) $(PKG_LIBS)

build/tests/configure-driver: tests/integration/configure-driver.c $(DRV_STAGES) build/libslipway.a $(HDRS)
	@mkdir -p build/tests
	@echo "  LD      $@"
	@$(CC) $(WARN) -O1 -g $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(DRV_STAGES) build/libslipway.a $(PKG_LIBS)

build/tests/configure-ref-driver: tests/integration/configure-ref-driver.c $(SAN_OBJ) $(HDRS)
	@mkdir -p build/tests
	@echo "  LD/SAN  $@"
	@$(CC) $(WARN) -O1 -g $(SAN) $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(SAN_OBJ) $(PKG_LIBS) -lcmocka

test-drivers: $(TEST_DRIVERS)

# libFuzzer targets (clang), each run by tests/integration/test-fuzz-TARGET:
#   fuzz_inspect    the image readers of inspect and verify --azure
#   fuzz_profile    the profile loader, as validate runs it
#   fuzz_size_diff  size diff's reports
# libslipway is built once for them, with coverage instrumentation and
# ASan/UBSan, in build/fuzzobj.
FUZZ_SAN := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzzobj/%.o)

build/fuzzobj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/FUZZ $<"
	@clang $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(CPPFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(HDRS)
	@mkdir -p build/fuzz
	@echo "  FUZZ    $@"
	@clang $(WARN) $(FUZZ_SAN) -fsanitize=fuzzer $(CPPFLAGS_ALL) $(PKG_CFLAGS) -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

install: build/slipway
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 build/slipway $(DESTDIR)$(BINDIR)/slipway
	cp -r profiles grub $(DESTDIR)$(DATADIR)/

# The README's test command.  Everything: unit (ASan/UBSan), integration,
# boot.  Ends with "N passed, N failed".
check: deps build/slipway $(UNIT_BIN) $(TEST_DRIVERS)
	@tests/run-all.sh

unit: build/slipway $(UNIT_BIN)
	@tests/run-all.sh unit

integration: build/slipway $(TEST_DRIVERS)
	@tests/run-all.sh integration

boot: build/slipway
	@tests/run-all.sh boot

# The README's build command: the default profile into out/.
image: deps build/slipway
	build/slipway build profiles/azure-base.yaml -o out

bench: deps build/slipway
	tests/bench/run.sh

# validate's cost against the profile's size: 13.5k vs 135k keys (linear ~10)
bench-profile: build/slipway
	tests/bench/profile-scale.sh

clean:
	rm -rf build
