# Sourced by tests that run `slipway build` on profiles/test-boot.yaml with the
# cached rootfs (the boot tests fill the cache; a miss costs one mmdebstrap
# run).  Sets SLIPWAY, SRC, WORK (removed on exit), CACHE, and exports
# SOURCE_DATE_EPOCH.
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SLIPWAY=${SLIPWAY:-$SRC/build/slipway}
[ -x "$SLIPWAY" ] || { echo "SKIP: $SLIPWAY not built"; exit 77; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
CACHE=${SLIPWAY_CACHE:-/var/cache/slipway}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The rootfs cache key of the last build whose build.json is $1.
rootfs_key() { jq -r '.rootfs.key' "$1"; }

# A second cache directory holding only the rootfs entry KEY of $CACHE
# (hard links: the rootfs stage copies the tree out, never writes into it),
# so the build regenerates the initramfs instead of reusing a cached one.
private_cache() { # DIR KEY
	mkdir -p "$1/rootfs"
	cp -al "$CACHE/rootfs/$2" "$1/rootfs/" || fail "copying cache entry $2"
}
