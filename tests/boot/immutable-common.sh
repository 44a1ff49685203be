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
	for tool in sfdisk jq mtype veritysetup fsck.erofs flock dd debugfs; do
		command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
	done
	[ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] || { echo "SKIP: no OVMF (package ovmf)"; exit 77; }
}

build_immutable_image() { build_once test-immutable "$IMM_OUT"; }

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

# imm_boot IMAGE LOG MARKER [QEMU-ARGS...]: boots on OVMF (TCG), waits for MARKER
imm_boot() {
	local image=$1 log=$2 marker=$3 t0=$SECONDS rc=0
	shift 3
	qemu_slot "$SLIPWAY" qemu "$image" --uefi --timeout 900 --marker "$marker" "$@" </dev/null >"$log" 2>&1 || rc=$?
	echo "qemu exit $rc after $((SECONDS - t0)) s (including any wait for a qemu slot)"
	return $rc
}

# build_version OUTDIR VERSION [--set K=V...]: the same profile as another
# version (an update), from the same caches.
build_version() {
	local out=$1 version=$2 t0=$SECONDS
	shift 2
	rm -rf "$out"
	mkdir -p "$out"
	"$SLIPWAY" build profiles/test-immutable.yaml -o "$out" --set "image.version=$version" "$@"
	echo "build of $version took $((SECONDS - t0)) s"
}

# stage_update IMAGE OUTDIR VERSION [FILE...]: copies the update artifacts of
# VERSION (what a build writes for systemd-sysupdate), and the other FILEs of
# OUTDIR named (SHA256SUMS, SHA256SUMS.gpg), into /var/lib/slipway/updates
# on IMAGE's /var partition (6) with debugfs: the default update source of
# the image's transfer definitions.
stage_update() {
	local image=$1 out=$2 version=$3 cmds
	shift 3
	local off=$(($(sfdisk --json "$image" | jq -r '.partitiontable.partitions[5].start') * 512))
	cmds=$(mktemp)
	{
		echo "mkdir /lib/slipway"
		echo "mkdir /lib/slipway/updates"
		for f in "$out"/test-immutable_"$version"* "${@/#/$out/}"; do
			echo "write $f /lib/slipway/updates/$(basename "$f")"
		done
	} >"$cmds"
	cat "$cmds"
	debugfs -w -f "$cmds" "$image?offset=$off" >/dev/null
	rm -f "$cmds"
	debugfs -R "ls -l /lib/slipway/updates" "$image?offset=$off" 2>/dev/null
}

# entry_roothash OUTDIR VERSION: the root hash on that build's boot entry artifact
entry_roothash() {
	grep -o 'roothash=[0-9a-f]*' "$1/test-immutable_$2.conf" | cut -d= -f2
}

# make_signing_key DIR: a throw-away OpenPGP signing key (ed25519, no
# passphrase) made in DIR, never kept: sets SIGN_KEY (the secret key file
# for immutable.signing-key), SIGN_PUB (its public keyring) and SIGN_FPR.
make_signing_key() {
	local dir=$1
	mkdir -p -m 700 "$dir/home"
	gpg --homedir "$dir/home" --batch --quiet --passphrase '' --quick-gen-key "slipway test <test@slipway.invalid>" ed25519 sign never 2>/dev/null
	gpg --homedir "$dir/home" --batch --quiet --pinentry-mode loopback --passphrase '' --export-secret-keys >"$dir/secret.gpg"
	gpg --homedir "$dir/home" --batch --export >"$dir/public.gpg"
	SIGN_FPR=$(gpg --homedir "$dir/home" --batch --with-colons --list-keys | awk -F: '/^fpr/ { print $10; exit }')
	gpgconf --homedir "$dir/home" --kill all
	SIGN_KEY=$dir/secret.gpg SIGN_PUB=$dir/public.gpg
	[ -s "$SIGN_KEY" ] && [ -n "$SIGN_FPR" ]
}
