#!/bin/bash
# make bench: cold build, warm rebuild and the mmdebstrap floor of azure-base,
# side by side, BENCH_ROUNDS rounds (default 2).  Not part of make check.
#   cold:  an empty rootfs/initramfs cache, the package-download cache
#          pre-seeded from ${SLIPWAY_CACHE:-/var/cache/slipway}/apt (so no
#          round measures the network), raw + vhd + qcow2;
#   warm:  then `--set hostname=bench-warm-N` on the same cache (rootfs and
#          initramfs cache hits), raw + vhd + qcow2;
#   warm+sums: the same with SHA256SUMS.  cold and warm run with
#          report.checksums=false: SHA-256 of the 30 GiB raw disk alone is
#          ~20 s here whatever the build did (it reads every zero), so it is
#          measured on its own row, not hidden in the others;
#   floor: the very mmdebstrap command the cold build ran (taken from its
#          -v log: same mirror, package list, dpkg filters and download
#          cache hooks), into a scratch directory.
# Prints per-stage times (build.json "stages") and the ratios, and writes
# ${BENCH_OUT:-build/bench}/bench.json.  "wall" is the whole process,
# including removing the work directory; "stages" is their sum.
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SLIPWAY=${SLIPWAY:-$SRC/build/slipway}
PROFILE=${BENCH_PROFILE:-$SRC/profiles/azure-base.yaml}
ROUNDS=${BENCH_ROUNDS:-2}
OUT=${BENCH_OUT:-$SRC/build/bench}
SEED=${SLIPWAY_CACHE:-/var/cache/slipway}/apt
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
[ "$(id -u)" = 0 ] || { echo "bench: run as root (mmdebstrap root mode, as the builds)" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d /var/tmp/slipway-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# build.json with .stages.report filled in from the log when missing.
with_report_time() { # BUILD.JSON LOG
	local t
	t=$(sed -n 's/^slipway: stage report *\([0-9.]*\) s$/\1/p' "$2" | tail -n1)
	jq --argjson t "${t:-0}" '.stages.report //= $t' "$1"
}

rounds_json='[]'
for round in $(seq "$ROUNDS"); do
	echo "== round $round/$ROUNDS" >&2
	cache=$WORK/cache-$round
	mkdir -p "$cache"
	if [ -d "$SEED" ]; then cp -a "$SEED" "$cache/apt"; fi

	t0=$(now)
	"$SLIPWAY" build "$PROFILE" -v -o "$WORK/cold-$round" --cache "$cache" --output raw,vhd,qcow2 \
		--set report.checksums=false >"$WORK/cold-$round.log" 2>&1 \
		|| { tail -n 30 "$WORK/cold-$round.log" >&2; exit 1; }
	cold_wall=$(secs "$t0" "$(now)")
	with_report_time "$WORK/cold-$round/build.json" "$WORK/cold-$round.log" >"$OUT/cold-$round.build.json"

	t0=$(now)
	"$SLIPWAY" build "$PROFILE" -o "$WORK/warm-$round" --cache "$cache" --output raw,vhd,qcow2 \
		--set hostname="bench-warm-$round" --set report.checksums=false >"$WORK/warm-$round.log" 2>&1 \
		|| { tail -n 30 "$WORK/warm-$round.log" >&2; exit 1; }
	warm_wall=$(secs "$t0" "$(now)")
	with_report_time "$WORK/warm-$round/build.json" "$WORK/warm-$round.log" >"$OUT/warm-$round.build.json"

	t0=$(now)
	"$SLIPWAY" build "$PROFILE" -o "$WORK/sums-$round" --cache "$cache" --output raw,vhd,qcow2 \
		--set hostname="bench-sums-$round" >"$WORK/sums-$round.log" 2>&1 \
		|| { tail -n 30 "$WORK/sums-$round.log" >&2; exit 1; }
	sums_wall=$(secs "$t0" "$(now)")
	with_report_time "$WORK/sums-$round/build.json" "$WORK/sums-$round.log" >"$OUT/sums-$round.build.json"
	[ -s "$WORK/sums-$round/SHA256SUMS" ] || { echo "bench: the warm+sums build wrote no SHA256SUMS" >&2; exit 1; }
	rm -rf "$WORK/cold-$round" "$WORK/warm-$round" "$WORK/sums-$round"

	# The floor: the cold build's own mmdebstrap argv (logged quoted, one
	# line), without --verbose, into a scratch target.
	line=$(sed -n 's/^slipway: running: \(mmdebstrap .*\)$/\1/p' "$WORK/cold-$round.log" | head -n1)
	[ -n "$line" ] || { echo "bench: no mmdebstrap command in the cold log" >&2; exit 1; }
	eval "argv=($line)"
	floor_argv=()
	n=${#argv[@]}
	for ((i = 0; i < n; i++)); do
		a=${argv[i]}
		[ "$a" = --verbose ] && continue
		# target = second to last argument
		[ $i -eq $((n - 2)) ] && a=$WORK/floor-$round
		floor_argv+=("$a")
	done
	t0=$(now)
	"${floor_argv[@]}" >"$WORK/floor-$round.log" 2>&1 || { tail -n 30 "$WORK/floor-$round.log" >&2; exit 1; }
	floor_wall=$(secs "$t0" "$(now)")
	rm -rf "$WORK/floor-$round" "$cache"

	rounds_json=$(jq -c --argjson r "$rounds_json" --argjson cold "$cold_wall" --argjson warm "$warm_wall" \
		--argjson sums "$sums_wall" --argjson floor "$floor_wall" \
		--slurpfile cb "$OUT/cold-$round.build.json" --slurpfile wb "$OUT/warm-$round.build.json" \
		--slurpfile sb "$OUT/sums-$round.build.json" -n '
		$r + [{ cold: { wall: $cold, stages: $cb[0].stages, rootfs: $cb[0].rootfs.cache },
		        warm: { wall: $warm, stages: $wb[0].stages, rootfs: $wb[0].rootfs.cache },
		        sums: { wall: $sums, stages: $sb[0].stages, rootfs: $sb[0].rootfs.cache },
		        floor: { wall: $floor } }]')
	echo "   cold ${cold_wall}s  warm ${warm_wall}s  warm+sums ${sums_wall}s  floor ${floor_wall}s" >&2
done

jq -n --argjson rounds "$rounds_json" --arg profile "$(basename "$PROFILE")" --arg nproc "$(nproc)" '
	def sum: add // 0;
	def mean(f): ([.[] | f] | add / length);
	{ profile: $profile, cpus: ($nproc | tonumber), rounds: $rounds,
	  mean: { cold_wall: ($rounds | mean(.cold.wall)), cold_stages: ($rounds | mean(.cold.stages | [.[]] | sum)),
	          warm_wall: ($rounds | mean(.warm.wall)), warm_stages: ($rounds | mean(.warm.stages | [.[]] | sum)),
	          sums_wall: ($rounds | mean(.sums.wall)), sums_stages: ($rounds | mean(.sums.stages | [.[]] | sum)),
	          floor: ($rounds | mean(.floor.wall)) } } |
	.ratio_cold_floor = (.mean.cold_wall / .mean.floor) |
	.targets = { warm_under_10s: (.mean.warm_wall < 10), cold_within_1_25_floor: (.ratio_cold_floor <= 1.25) }
	' >"$OUT/bench.json"

# The table: one row per stage, mean over rounds.
jq -r '
	.rounds as $r |
	(["stage", "cold s", "warm s", "warm+sums s"] | @tsv),
	(["resolve","rootfs","configure","disk","bootloader","export","report","verify"][] as $s |
	 [$s, ([$r[].cold.stages[$s] // 0] | add / length | . * 100 | round / 100),
	      ([$r[].warm.stages[$s] // 0] | add / length | . * 100 | round / 100),
	      ([$r[].sums.stages[$s] // 0] | add / length | . * 100 | round / 100)] | @tsv),
	(["sum of stages", (.mean.cold_stages * 100 | round / 100), (.mean.warm_stages * 100 | round / 100),
	  (.mean.sums_stages * 100 | round / 100)] | @tsv),
	(["wall (process)", (.mean.cold_wall * 100 | round / 100), (.mean.warm_wall * 100 | round / 100),
	  (.mean.sums_wall * 100 | round / 100)] | @tsv),
	(["mmdebstrap floor", (.mean.floor * 100 | round / 100), "", ""] | @tsv),
	"",
	"cold / floor = \(.ratio_cold_floor * 100 | round / 100)  (target <= 1.25: \(.targets.cold_within_1_25_floor))",
	"warm = \(.mean.warm_wall * 100 | round / 100) s  (target < 10 s: \(.targets.warm_under_10s))",
	"warm with SHA256SUMS = \(.mean.sums_wall * 100 | round / 100) s  (SHA-256 of the 30 GiB disk images)",
	"rounds: \($r | length), cpus: \(.cpus), written: bench.json"
	' "$OUT/bench.json" | column -t -s $'\t'
echo "bench.json: $OUT/bench.json"
