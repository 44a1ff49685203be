# Sourced by tests/integration/test-rootfs-*: the stage driver, which the
# Makefile builds (make test-drivers).  Not executable on purpose (run-all.sh
# runs only test-*).  SLIPWAY_TEST_SANITIZE=1 picks the one linked with the
# ASan/UBSan objects.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# build_rootfs_driver OUT: a copy of the driver at OUT (the tests run it
# from their work directory, as other users too)
build_rootfs_driver() {
	local drv=$ROOT/build/tests/rootfs-driver
	[ -n "${SLIPWAY_TEST_SANITIZE:-}" ] && drv=$ROOT/build/tests/rootfs-driver-san
	[ -x "$drv" ] || { echo "FAIL: no $drv: make test-drivers (make check builds it)" >&2; return 1; }
	cp "$drv" "$1"
}
