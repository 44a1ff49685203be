# Shared by tests/integration/test-inspect-* and test-verify-*: builds the
# test-boot image once per test (rootfs cache hit: ~20 s) into $WORK/out.
# Source it; it sets SRC, SLIPWAY, WORK and provides fail/skip/build_test_boot.
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SLIPWAY=${SLIPWAY:-$SRC/build/slipway}
export SLIPWAY_DATADIR=$SRC
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$SRC/tests/lib/qemu-slot.sh"

[ -x "$SLIPWAY" ] || skip "no $SLIPWAY (run make)"
for tool in jq qemu-img debugfs blkid xorriso mkfs.vfat; do
	command -v "$tool" >/dev/null || skip "$tool not installed"
done

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-test-inspect.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# build_test_boot FORMATS
build_test_boot() {
	local t0=$SECONDS
	"$SLIPWAY" build "$SRC/profiles/test-boot.yaml" --output "$1" -o "$WORK/out" >"$WORK/build.log" 2>&1 \
		|| { tail -n 30 "$WORK/build.log"; fail "slipway build test-boot"; }
	echo "built test-boot ($1) in $((SECONDS - t0)) s"
}

# root_offset IMAGE: byte offset of the ext4 root partition, from inspect.
root_offset() {
	"$SLIPWAY" inspect --json "$1" | jq -r '.partitions[] | select(.fs_type == "ext4") | .start'
}

# sparse_copy SRC DST
sparse_copy() { cp --sparse=always --reflink=auto "$1" "$2"; }
