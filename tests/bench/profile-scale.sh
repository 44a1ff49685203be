#!/bin/bash
# make bench-profile: what `slipway validate` costs against the size of the
# profile (issue 16 item 14).  For each shape of tests/lib/big-profile.py,
# the best of BENCH_ROUNDS (default 3) runs at 13.5k and at 135k keys, and
# their ratio: linear is ~10, quadratic ~100.  Not part of make check (the
# test, tests/integration/test-profile-scale, asserts results, not times).
#   SLIPWAY=path/to/slipway tests/bench/profile-scale.sh   (another build)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SLIPWAY=${SLIPWAY:-$SRC/build/slipway}
ROUNDS=${BENCH_ROUNDS:-3}
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-bench-profile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

best() { # PROFILE: the fastest of ROUNDS runs of validate, in seconds
	local b="" t0 t1 t
	for _ in $(seq "$ROUNDS"); do
		t0=$(date +%s.%N)
		"$SLIPWAY" validate "$1" >/dev/null 2>&1 || true
		t1=$(date +%s.%N)
		t=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
		if [ -z "$b" ] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
	done
	echo "$b"
}

printf '%-14s %10s %10s %8s\n' shape "13.5k s" "135k s" ratio
for shape in unknown-keys dup-keys merge-map install merge-list remove; do
	python3 "$SRC/tests/lib/big-profile.py" "$shape" 13500 "$WORK/$shape-small.yaml"
	python3 "$SRC/tests/lib/big-profile.py" "$shape" 135000 "$WORK/$shape-large.yaml"
	small=$(best "$WORK/$shape-small.yaml")
	large=$(best "$WORK/$shape-large.yaml")
	awk -v s="$shape" -v a="$small" -v b="$large" 'BEGIN { printf "%-14s %10.3f %10.3f %8.1f\n", s, a, b, (a > 0 ? b / a : 0) }'
done
echo "(linear: ratio ~10; quadratic: ~100)"
