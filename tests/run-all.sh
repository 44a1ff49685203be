#!/bin/bash
# Runs the test suites and ends with "N passed, N failed".
#   tests/run-all.sh [unit|integration|boot]...   (default: all)
# Each unit test is a cmocka program (built with ASan/UBSan); each
# integration or boot test is an executable script that exits 0 on
# success, 77 when skipped.
set -u
cd "$(dirname "$0")/.."
suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit integration boot)
passed=0 failed=0 skipped=0 failures=()
export SLIPWAY="$PWD/build/slipway"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
	local name=$1; shift
	local log="build/test-logs/${name//\//_}.log"
	mkdir -p build/test-logs
	local t0=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	local dt=$((SECONDS - t0))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS $name (${dt}s)"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); echo "SKIP $name: $(tail -n1 "$log")"
	else
		failed=$((failed + 1)); failures+=("$name"); echo "FAIL $name (exit $rc, ${dt}s)"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
}

for suite in "${suites[@]}"; do
	case $suite in
	unit)
		for t in build/unit/test_*; do [ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"; done ;;
	integration|boot)
		for t in tests/$suite/test-*; do [ -x "$t" ] && run_one "$suite/$(basename "$t")" "$t"; done ;;
	*) echo "unknown suite $suite" >&2; exit 2 ;;
	esac
done

[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
