# Shared by tests/integration/test-disk-*: the disk-driver (stage_disk +
# stage_bootloader on a hand-made context; the Makefile builds it) and a
# private copy of the reference tree.
# Source it; it sets SRC, DRIVER, WORK and provides make_tree.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SLIPWAY_DATADIR=$SRC

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

. "$SRC/tests/lib/ref-tree.sh"
ensure_ref_tree
for tool in mke2fs mkfs.fat mcopy sfdisk e2fsck fsck.vfat blkid; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

DRIVER=$SRC/build/tests/disk-driver
[ -x "$DRIVER" ] || fail "no $DRIVER: make test-drivers (make check builds it)"

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-test-disk.XXXXXX")
chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

# make_tree DIR: a private, writable copy of the reference tree.
make_tree() {
	cp -a "$REF_TREE" "$1" || fail "cannot copy $REF_TREE"
}
