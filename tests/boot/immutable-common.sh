# Shared by the immutable boot tests: builds profiles/test-immutable.yaml
# once per test run (the rootfs and initramfs come from slipway's cache after
# the first time) into build/boot-out-immutable.
. "$(dirname "$0")/common.sh"
IMM_OUT=$PWD/build/boot-out-immutable
IMM_IMG=$IMM_OUT/test-immutable.raw
# Discoverable Partitions Specification types (x86-64), as sfdisk prints them
TYPE_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
TYPE_ROOT=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
TYPE_VERITY=2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5
TYPE_VAR=4D21B016-B534-45C2-A9FB-5C16E091FD2D

imm_require() {
	for tool in sfdisk jq mtype veritysetup fsck.erofs flock dd; do
		command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
	done
	[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "SKIP: no OVMF (package ovmf)"; exit 77; }
}

build_immutable_image() {
	local stamp=$IMM_OUT/.built-by-$PPID
	if [ -f "$stamp" ] && [ -f "$IMM_IMG" ]; then
		return 0
	fi
	rm -rf "$IMM_OUT"
	mkdir -p "$IMM_OUT"
	local t0=$SECONDS
	"$SLIPWAY" build profiles/test-immutable.yaml -o "$IMM_OUT"
	echo "build took $((SECONDS - t0)) s"
	touch "$stamp"
}

# part_field N FIELD: a field of partition N (1-based) from sfdisk --json
part_field() {
	sfdisk --json "$IMM_IMG" | jq -r ".partitiontable.partitions[$(($1 - 1))].$2"
}

# The root hash on the ESP's boot entry.
imm_roothash() {
	local esp_start
	esp_start=$(part_field 1 start)
	MTOOLS_SKIP_CHECK=1 mtype -i "$IMM_IMG@@$((esp_start * 512))" "::/loader/entries/test-immutable_1.0.conf" |
		grep -o 'roothash=[0-9a-f]*' | cut -d= -f2
}

# imm_boot IMAGE LOG MARKER [TIMEOUT]: boots on OVMF (TCG), waits for MARKER
imm_boot() {
	local t0=$SECONDS rc=0
	flock /var/tmp/slipway-qemu.lock "$SLIPWAY" qemu "$1" --uefi --timeout "${4:-600}" --marker "$3" </dev/null >"$2" 2>&1 || rc=$?
	echo "qemu exit $rc after $((SECONDS - t0)) s (including any wait for the qemu lock)"
	return $rc
}
