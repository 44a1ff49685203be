# Sourced by tests/integration/test-rootfs-*: builds the stage driver.
# Not executable on purpose (run-all.sh runs only test-*).
# SLIPWAY_TEST_SANITIZE=1 links it with the ASan/UBSan objects instead.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_rootfs_driver() {
	local out=$1 dir=obj flags=(-O1 -g) objs=() f
	[ -n "${SLIPWAY_TEST_SANITIZE:-}" ] && { dir=san; flags=(-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer); }
	for f in assembler/stage_rootfs assembler/rootfs_apt assembler/rootfs_dnf assembler/rootfs_import \
		lib/cache lib/manifest lib/util lib/log lib/spawn lib/derive lib/userns; do
		objs+=("build/$dir/$f.o")
	done
	make -C "$ROOT" -s build/slipway "${objs[@]}" >&2 || return 1
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter "${flags[@]}" \
		-I"$ROOT/lib" -I"$ROOT/assembler" $(pkg-config --cflags json-c libarchive) \
		-o "$out" "$ROOT/tests/integration/rootfs-driver.c" "${objs[@]/#/$ROOT/}" \
		$(pkg-config --libs libfyaml fdisk blkid ext2fs libzstd libarchive libcrypto json-c zlib com_err) >&2
}
