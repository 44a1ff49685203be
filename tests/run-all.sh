#!/bin/bash
# Runs the test suites and ends with "N passed, N failed, N skipped".
#
#   tests/run-all.sh [-j N] [unit|integration|boot|PATH]...   (default: all suites)
#
# A unit test is a cmocka program built from tests/unit/test_*.c (ASan and
# UBSan); an integration or boot test is an executable script
# tests/{integration,boot}/test-* that exits 0 when it passed and 77 when it
# could not run (it prints why on its last line).  A test whose output has a
# cmocka summary listing skipped cases counts as skipped, not passed.
#
# Every test declares, in its first 40 lines, its time limit:
#     # timeout: SECONDS            (a script)
#      * timeout: SECONDS           (a unit test's C file)
# A test boots its guests through `qemu_slot` (tests/lib/qemu-slot.sh),
# which holds one of SLIPWAY_TEST_QEMU_SLOTS (default: cores) slots for as
# long as qemu runs, so two TCG guests share the two cores while a third
# test builds.
# A test without a limit is not run and counts as failed.
#
# Tests run concurrently, -j N at once (default: SLIPWAY_TEST_JOBS, else
# cores + 1: a test waiting on a shared image or a qemu slot uses no CPU),
# the longest limits first.  Each runs in a session and, where cgroup v2 is
# writable, a cgroup of its own; when it overruns its limit the whole group
# is killed (SIGTERM, SIGKILL 10 s later) and it fails with the limit it hit.
# Whatever it left running is killed when it ends, and reported.  Each gets
# a private TMPDIR, /var/tmp/st-PID/N (removed afterwards, anything mounted
# in it unmounted), and
# SLIPWAY_TEST_RUN, which names this run (tests/boot/common.sh builds a
# shared image once per run).  Logs: build/test-logs/SUITE_NAME.log;
# durations: build/test-logs/durations.tsv.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

jobs=${SLIPWAY_TEST_JOBS:-$(($(nproc) + 1))}
args=()
while [ $# -gt 0 ]; do
	case $1 in
	-j) jobs=$2; shift 2 ;;
	-j*) jobs=${1#-j}; shift ;;
	-h | --help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) args+=("$1"); shift ;;
	esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run-all.sh: -j wants a positive number, not '$jobs'" >&2; exit 2; }
[ ${#args[@]} -eq 0 ] && args=(unit integration boot)

export SLIPWAY="$ROOT/build/slipway"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export SLIPWAY_TEST_QEMU_SLOTS=${SLIPWAY_TEST_QEMU_SLOTS:-$(nproc)}
export SLIPWAY_TEST_RUN="run-$$-$(date +%s)"
LOGDIR=${SLIPWAY_TEST_LOGDIR:-$ROOT/build/test-logs}
STATE=$LOGDIR/.state-$$
# short: gpg's agent socket under a test's TMPDIR must fit in 108 bytes
TMPBASE=/var/tmp/st-$$
mkdir -p "$LOGDIR" "$TMPBASE"
rm -rf "$STATE" && mkdir -p "$STATE"

CGROOT=""
if [ -w /sys/fs/cgroup/unified ] && [ -e /sys/fs/cgroup/unified/cgroup.procs ]; then
	CGROOT=/sys/fs/cgroup/unified/slipway-tests-$$
elif [ -w /sys/fs/cgroup ] && [ -e /sys/fs/cgroup/cgroup.kill ]; then
	CGROOT=/sys/fs/cgroup/slipway-tests-$$
fi
if [ -n "$CGROOT" ] && ! mkdir -p "$CGROOT" 2>/dev/null; then CGROOT=""; fi

# --- the tests and what they declare --------------------------------------------
names=() cmds=() limits=() srcs=()
declare_field() { # FILE FIELD: the value of "FIELD: value" in the file's header (a C comment's "*/" dropped)
	sed -n "1,40{s/^[#/* ]*$2:[[:space:]]*\\([^[:space:]].*\\)\$/\\1/p}" "$1" | head -n 1 |
		sed 's/[[:space:]]*([^)]*)//; s/[[:space:]]*\*\/$//'
}
add_test() { # NAME CMD SOURCE
	names+=("$1") cmds+=("$2") srcs+=("$3")
	limits+=("$(declare_field "$3" timeout)")
}
for a in "${args[@]}"; do
	case $a in
	unit)
		for t in build/unit/test_*; do
			[ -x "$t" ] && add_test "unit/${t##*/}" "$ROOT/$t" "tests/unit/${t##*/}.c"
		done ;;
	integration | boot)
		for t in tests/$a/test-*; do
			[ -x "$t" ] && add_test "$a/${t##*/}" "$ROOT/$t" "$t"
		done ;;
	tests/unit/test_*.c | build/unit/test_*)
		b=${a##*/}; b=${b%.c}
		add_test "unit/$b" "$ROOT/build/unit/$b" "tests/unit/$b.c" ;;
	tests/integration/test-* | tests/boot/test-*)
		s=${a#tests/}; add_test "${s%%/*}/${a##*/}" "$ROOT/$a" "$a" ;;
	*)
		# any other executable: a test outside the suites (the runner's own test)
		[ -f "$a" ] && [ -x "$a" ] || { echo "run-all.sh: unknown suite or test '$a'" >&2; exit 2; }
		p=$(cd "$(dirname "$a")" && pwd)/${a##*/}
		add_test "other/${a##*/}" "$p" "$p" ;;
	esac
done
n=${#names[@]}

# Start order: the longest limits first (a limit is about twice what the
# test takes cold, so long tests do not start last and stretch the run).
order=()
while read -r _ i; do order+=("$i"); done < <(
	for i in "${!names[@]}"; do echo "${limits[$i]:-0} $i"; done | sort -k1,1nr -k2,2n)

passed=0 failed=0 skipped=0 failures=() skips=()
declare -A pid_of start_of killed_at timed_out
running=()

log_of() { echo "$LOGDIR/${names[$1]//\//_}.log"; }

start_test() { # INDEX
	local i=$1 log tmp cg=""
	log=$(log_of "$i")
	tmp=$TMPBASE/$i
	# sticky and world-writable like /tmp: parts of a test run as nobody
	mkdir -p "$tmp" && chmod 1777 "$tmp"
	[ -n "$CGROOT" ] && { cg=$CGROOT/t$i; mkdir -p "$cg" 2>/dev/null || cg=""; }
	(
		# the job itself: into its cgroup, its own session (process group =
		# its pid, which the runner kills on a timeout), then the test
		[ -n "$cg" ] && echo $BASHPID >"$cg/cgroup.procs" 2>/dev/null
		export TMPDIR=$tmp SLIPWAY_TEST_NAME=${names[$i]} SLIPWAY_TEST_ID="$SLIPWAY_TEST_RUN/$i"
		cd "$ROOT" && exec setsid "${cmds[$i]}"
	) </dev/null >"$log" 2>&1 &
	pid_of[$i]=$! start_of[$i]=$SECONDS
	running+=("$i")
	echo "START ${names[$i]} (limit ${limits[$i]} s)"
}

# Kills what test INDEX left running (its cgroup, its process group, any
# process carrying its SLIPWAY_TEST_ID) and unmounts what is mounted under
# its TMPDIR; prints what it found.
sweep_test() {
	local i=$1 tmp=$TMPBASE/$i cg=$CGROOT/t$i left="" p m
	if [ -n "$CGROOT" ] && [ -e "$cg/cgroup.procs" ]; then
		for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do left+=" $(cat /proc/$p/comm 2>/dev/null)[$p]"; done
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill" 2>/dev/null
	fi
	kill -KILL -- "-${pid_of[$i]}" 2>/dev/null
	for p in $(grep -lzx "SLIPWAY_TEST_ID=$SLIPWAY_TEST_RUN/$i" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
		[[ $left == *"[$p]"* ]] || left+=" $(cat /proc/$p/comm 2>/dev/null)[$p]"
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$left" ] && echo "    left running, killed:$left"
	if [ -n "$CGROOT" ] && [ -d "$cg" ]; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$cg" 2>/dev/null && break; sleep 0.2; done
	fi
	while read -r m; do
		echo "    left mounted, unmounted: $m"
		umount -l "$m" 2>/dev/null
	done < <(awk -v t="$tmp" '$5 == t || index($5, t "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf "$tmp" 2>/dev/null
}

# cmocka closes with "[  SKIPPED ] N test(s), listed below:" and the names
# when a case called skip(): such a program (or a script that ran one)
# counts as skipped, not passed.
unit_skips() { grep -a "^\[  SKIPPED \] [a-z_]" "$1" | sed "s/^\[  SKIPPED \] //" | sort -u | tr "\n" " "; }

finish_test() { # INDEX RC
	local i=$1 rc=$2 log dt why
	log=$(log_of "$i")
	dt=$((SECONDS - start_of[$i]))
	local swept
	swept=$(sweep_test "$i")
	[ -n "$swept" ] && echo "$swept" >>"$log"
	printf '%s\t%s\t%s\n' "${names[$i]}" "$dt" "$rc" >>"$STATE/durations"
	if [ -n "${timed_out[$i]:-}" ]; then
		failed=$((failed + 1)); failures+=("${names[$i]} (timed out after its ${limits[$i]} s limit)")
		echo "FAIL ${names[$i]} (timed out: killed at its ${limits[$i]} s limit)"
		tail -n 40 "$log" | sed 's/^/    /'
	elif [ "$rc" -eq 0 ] && grep -aq '^\[  SKIPPED \] [0-9]* test(s), listed below:' "$log"; then
		skipped=$((skipped + 1)); why="cmocka skipped: $(unit_skips "$log")"
		skips+=("${names[$i]}: $why"); echo "SKIP ${names[$i]} (${dt}s): $why"
	elif [ "$rc" -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS ${names[$i]} (${dt}s)"
	elif [ "$rc" -eq 77 ]; then
		why=$(grep -av '^    left ' "$log" | tail -n 1)
		skipped=$((skipped + 1)); skips+=("${names[$i]}: $why"); echo "SKIP ${names[$i]} (${dt}s): $why"
	else
		failed=$((failed + 1)); failures+=("${names[$i]}")
		echo "FAIL ${names[$i]} (exit $rc, ${dt}s)"
		tail -n 40 "$log" | sed 's/^/    /'
	fi
	[ -n "$swept" ] && echo "$swept"
}

remove_running() { # INDEX
	local keep=() j
	for j in "${running[@]}"; do [ "$j" != "$1" ] && keep+=("$j"); done
	running=("${keep[@]+"${keep[@]}"}")
}

interrupted=0
on_interrupt() {
	interrupted=1
	echo "run-all.sh: interrupted; stopping ${#running[@]} running test(s)" >&2
	local i
	for i in "${running[@]+"${running[@]}"}"; do kill -TERM -- "-${pid_of[$i]}" 2>/dev/null; done
}
trap on_interrupt INT TERM

can_start() { # INDEX
	local i=$1
	[ ${#running[@]} -lt "$jobs" ]
}

t_run=$SECONDS
echo "running $n tests, $jobs at once ($SLIPWAY_TEST_QEMU_SLOTS qemu slots)$([ -n "$CGROOT" ] && echo ", a cgroup each")"
pending=("${order[@]}")
for i in "${pending[@]}"; do
	if ! [[ ${limits[$i]} =~ ^[1-9][0-9]*$ ]]; then
		echo "FAIL ${names[$i]}: no time limit declared (a line '# timeout: SECONDS' in ${srcs[$i]})"
		failed=$((failed + 1)); failures+=("${names[$i]} (no timeout declared)")
	fi
done
while :; do
	# start what fits, in order
	if [ "$interrupted" = 0 ]; then
		rest=()
		for i in "${pending[@]+"${pending[@]}"}"; do
			[[ ${limits[$i]} =~ ^[1-9][0-9]*$ ]] || continue
			if can_start "$i"; then
				start_test "$i"
			else
				rest+=("$i")
			fi
		done
		pending=("${rest[@]+"${rest[@]}"}")
	else
		pending=()
	fi
	[ ${#running[@]} -eq 0 ] && break
	sleep 0.5
	for i in "${running[@]}"; do
		p=${pid_of[$i]}
		if ! kill -0 "$p" 2>/dev/null || [ "$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f1)" = Z ]; then
			wait "$p"; rc=$?
			remove_running "$i"
			finish_test "$i" "$rc"
			continue
		fi
		el=$((SECONDS - start_of[$i]))
		if [ -z "${timed_out[$i]:-}" ] && [ "$el" -ge "${limits[$i]}" ]; then
			timed_out[$i]=1 killed_at[$i]=$SECONDS
			echo "TIMEOUT ${names[$i]}: ${limits[$i]} s reached; stopping its process group" | tee -a "$(log_of "$i")"
			kill -TERM -- "-$p" 2>/dev/null
			[ -n "$CGROOT" ] && [ -e "$CGROOT/t$i/cgroup.procs" ] &&
				for q in $(cat "$CGROOT/t$i/cgroup.procs"); do kill -TERM "$q" 2>/dev/null; done
		elif [ -n "${timed_out[$i]:-}" ] && [ $((SECONDS - killed_at[$i])) -ge 10 ]; then
			kill -KILL -- "-$p" 2>/dev/null
			[ -n "$CGROOT" ] && [ -e "$CGROOT/t$i/cgroup.kill" ] && echo 1 >"$CGROOT/t$i/cgroup.kill" 2>/dev/null
		fi
	done
done
[ -n "$CGROOT" ] && rmdir "$CGROOT" 2>/dev/null
rmdir "$TMPBASE" 2>/dev/null

sum=0
if [ -s "$STATE/durations" ]; then
	sum=$(awk -F'\t' '{ s += $2 } END { print s + 0 }' "$STATE/durations")
	sort -t$'\t' -k2,2nr "$STATE/durations" >"$LOGDIR/durations.tsv"
	echo "slowest: $(head -n 8 "$LOGDIR/durations.tsv" | awk -F'\t' '{ printf "%s%s %ss", sep, $1, $2; sep = ", " }')"
fi
rm -rf "$STATE"
echo "wall time: $((SECONDS - t_run)) s; the tests' durations add up to $sum s"
[ ${#skips[@]} -gt 0 ] && printf 'skipped: %s\n' "${skips[@]}"
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
[ "$interrupted" = 1 ] && { echo "interrupted"; failed=$((failed + ${#pending[@]})); }
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ "$interrupted" = 0 ]
