# Sourced by the tests that run qemu (boot tests, verify --deep's libguestfs
# appliance).  qemu_slot CMD...: runs CMD holding one of
# SLIPWAY_TEST_QEMU_SLOTS slots (default: the number of cores), so that at
# most that many TCG guests run at once, each on a core of its own, however
# many tests run in parallel; the rest of a test (its builds) is not held
# back.  A slot is an flock on /var/tmp/slipway-qemu-slots/N, released when
# CMD ends or the test is killed.
# TCG always: on these machines /dev/kvm creates VMs but nested KVM hangs a
# Linux guest before its first line (SeaBIOS still runs), so `slipway qemu`'s
# auto choice would pick it.  verify --deep's libguestfs follows the same
# variable.
export SLIPWAY_QEMU_ACCEL=${SLIPWAY_QEMU_ACCEL:-tcg}
qemu_slot() {
	local n=${SLIPWAY_TEST_QEMU_SLOTS:-$(nproc)} dir=/var/tmp/slipway-qemu-slots i fd rc=0 t0=$SECONDS
	mkdir -p "$dir"
	while :; do
		for ((i = 0; i < n; i++)); do
			exec {fd}>"$dir/$i"
			if flock -n "$fd"; then
				[ $((SECONDS - t0)) -gt 0 ] && echo "qemu slot $i after waiting $((SECONDS - t0)) s" >&2
				"$@" || rc=$?
				exec {fd}>&-
				return $rc
			fi
			exec {fd}>&-
		done
		sleep 2
	done
}
