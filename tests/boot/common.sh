# Shared by the boot tests: builds profiles/test-boot.yaml once per test
# run (the rootfs comes from slipway's cache after the first time) and
# boots it with `slipway qemu`, watching the serial console.
set -euo pipefail
cd "$(dirname "$0")/../.."
SLIPWAY=${SLIPWAY:-$PWD/build/slipway}
BOOT_OUT=$PWD/build/boot-out
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
. tests/lib/qemu-slot.sh

# build_once PROFILE OUTDIR: builds profiles/PROFILE.yaml into OUTDIR once
# per test run (SLIPWAY_TEST_RUN, set by tests/run-all.sh; a test run by hand
# builds every time).  Tests that run at once share the build: the first
# builds under OUTDIR.lock, the others wait for it and use its image.
# Tests only read the shared image (they boot copies, or snapshot=on).
build_once() {
	local profile=$1 out=$2 run=${SLIPWAY_TEST_RUN:-} fd t0=$SECONDS rc=0
	mkdir -p "$(dirname "$out")"
	exec {fd}>"$out.lock"
	flock "$fd"
	if [ -n "$run" ] && [ "$(cat "$out/.built-by" 2>/dev/null)" = "$run" ] && [ -f "$out/$profile.raw" ]; then
		echo "$profile: built in this run already$([ $((SECONDS - t0)) -gt 0 ] && echo ", after waiting $((SECONDS - t0)) s for it")"
		exec {fd}>&-
		return 0
	fi
	rm -rf "$out"
	mkdir -p "$out"
	"$SLIPWAY" build "profiles/$profile.yaml" -o "$out" || rc=$?
	echo "build of $profile took $((SECONDS - t0)) s (exit $rc)"
	[ $rc -eq 0 ] && echo "$run" >"$out/.built-by"
	exec {fd}>&-
	return $rc
}

build_test_image() { build_once test-boot "$BOOT_OUT"; }

# boot_and_wait FIRMWARE-ARGS...: boots, prints the time to the marker and
# checks that the guest reported state=running with no failed units.
boot_and_wait() {
	local log=$BOOT_OUT/console-$1.log
	local t0=$SECONDS
	local rc=0
	shift
	qemu_slot "$SLIPWAY" qemu "$BOOT_OUT/test-boot.raw" "$@" --timeout 480 \
		--marker "SLIPWAY-BOOT-DONE" </dev/null >"$log" 2>&1 || rc=$?
	echo "qemu exit $rc after $((SECONDS - t0)) s"
	tail -n 30 "$log"
	[ $rc -eq 0 ] || { echo "FAIL: no boot marker on the serial console"; return 1; }
	grep -aq "SLIPWAY-BOOT-MARKER state=running" "$log" || {
		echo "FAIL: the guest did not reach state=running:"; grep -a "SLIPWAY-BOOT-MARKER" "$log"; return 1; }
	echo "boot marker reached in $((SECONDS - t0)) s"
}
