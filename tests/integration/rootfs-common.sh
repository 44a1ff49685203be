# Sourced by tests/integration/test-rootfs-*: builds the stage driver.
# Not executable on purpose (run-all.sh runs only test-*).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_rootfs_driver() {
	local out=$1
	make -C "$ROOT" -s build/libslipway.a build/slipway >&2 || return 1
	local objs=()
	for f in stage_rootfs rootfs_apt rootfs_dnf rootfs_import; do objs+=("$ROOT/build/obj/assembler/$f.o"); done
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -O1 -g \
		-I"$ROOT/lib" -I"$ROOT/assembler" $(pkg-config --cflags json-c libarchive) \
		-o "$out" "$ROOT/tests/integration/rootfs-driver.c" "${objs[@]}" "$ROOT/build/libslipway.a" \
		$(pkg-config --libs json-c libarchive libcrypto) >&2
}
