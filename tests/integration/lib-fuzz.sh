# Shared by tests/integration/test-fuzz-*: runs one libFuzzer target of
# build/fuzz/ (make test-drivers builds them) for a bounded time.
# Source it from the repository root; it sets FUZZ_WORK (a temporary
# directory, removed on exit) and provides fail and run_fuzzer.
#
#   run_fuzzer TARGET SECONDS [LIBFUZZER OPTION]... -- SEED_DIR...
#
# New corpus entries go to $FUZZ_WORK/corpus: libFuzzer writes only to the
# first corpus directory, so the seed directories (tests/fixtures/fuzz/...,
# committed) are only read; every file in them is replayed first, so a
# crash input kept there as a regression case is re-tested on each run.
# A crash, sanitizer report, leak, timeout or out-of-memory fails the test,
# whatever exit code libFuzzer picked for it (its default for a crash is
# 77, which tests/run-all.sh would count as a skip); the input is kept in
# build/fuzz/artifacts/TARGET/ to be fixed and added to the seeds.
fail() { echo "FAIL: $*" >&2; exit 1; }

FUZZ_WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-fuzz.XXXXXX")
trap 'rm -rf "$FUZZ_WORK"' EXIT

run_fuzzer() {
	local target=$1 secs=$2 bin=build/fuzz/$1 opts=() seeds=() rc=0 runs
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	seeds=("$@")
	[ -x "$bin" ] || fail "no $bin: make test-drivers (make check builds it with clang)"
	[[ $secs =~ ^[1-9][0-9]*$ ]] || fail "SLIPWAY_FUZZ_SECONDS wants a positive number of seconds, not '$secs'"
	local d n=0
	for d in "${seeds[@]}"; do
		[ -d "$d" ] || fail "no seed directory $d"
		n=$((n + $(find "$d" -type f | wc -l)))
	done
	local artifacts=$PWD/build/fuzz/artifacts/$target
	mkdir -p "$FUZZ_WORK/corpus" "$artifacts"
	# libfyaml < 0.9.5 leaks on some scalars (see the file)
	local lsan=${LSAN_OPTIONS:-}
	pkg-config --atleast-version=0.9.5 libfyaml 2>/dev/null ||
		lsan=${lsan:+$lsan:}suppressions=$PWD/tests/fuzz/lsan-libfyaml.supp:print_suppressions=0
	echo "fuzzing $target for $secs s with $n seeds"
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=$lsan \
		"$bin" -max_total_time="$secs" -error_exitcode=1 -timeout_exitcode=1 "${opts[@]}" \
		-artifact_prefix="$artifacts/" "$FUZZ_WORK/corpus" "${seeds[@]}" >"$FUZZ_WORK/log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 80 "$FUZZ_WORK/log"
		fail "$target: libFuzzer exited $rc (a crash, sanitizer report, leak, timeout or out-of-memory above);" \
			"the input is in $artifacts/ (fix it, then keep it in the seed directory as a regression case)"
	fi
	runs=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$FUZZ_WORK/log" | tail -n 1)
	[ -n "$runs" ] || { tail -n 30 "$FUZZ_WORK/log"; fail "$target: libFuzzer did not report its runs"; }
	tail -n 4 "$FUZZ_WORK/log"
	echo "$target: no crash in $secs s ($runs runs)"
}
