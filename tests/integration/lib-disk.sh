# Shared by tests/integration/test-disk-*: builds
# the disk-driver (stage_disk + stage_bootloader on a hand-made context, until
# `slipway build` runs them) and makes a private copy of the reference tree.
# Source it; it sets SRC, DRIVER, WORK and provides make_tree.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SLIPWAY_DATADIR=$SRC

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

. "$SRC/tests/lib/ref-tree.sh"
ensure_ref_tree
for tool in mke2fs mkfs.fat mcopy sfdisk e2fsck fsck.vfat blkid cc pkg-config; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

make -C "$SRC" -s build/slipway >/dev/null || fail "make"
DRIVER=$SRC/build/disk-driver
cc -std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -O2 -g \
	-I"$SRC/lib" -I"$SRC/assembler" -o "$DRIVER" "$SRC/tests/integration/disk-driver.c" \
	"$SRC"/build/obj/assembler/stage_disk.o "$SRC"/build/obj/assembler/stage_bootloader.o "$SRC"/build/obj/assembler/bootloader_sdboot.o \
	"$SRC"/build/obj/assembler/build.o \
	"$SRC/build/libslipway.a" $(pkg-config --libs libfyaml fdisk blkid ext2fs libzstd libarchive libcrypto json-c zlib com_err) -lpthread \
	|| fail "cannot build the disk driver"

WORK=$(mktemp -d /var/tmp/slipway-test-disk.XXXXXX)
chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

# make_tree DIR: a private, writable copy of the reference tree.
make_tree() {
	cp -a "$REF_TREE" "$1" || fail "cannot copy $REF_TREE"
}
