# Sourced by tests that need a real Debian trixie tree to work on (disk,
# bootloader and configure stages driven by hand).  The tree lives outside
# the clone, in ${SLIPWAY_REF_TREE:-/var/cache/slipway/test-ref/tree}, and is
# made once per machine with mmdebstrap from the host's own apt sources (the
# azure-base package set), so a fresh CI machine builds it on first use.
# Sets REF_TREE.  Never modify it: tests copy it.
ensure_ref_tree() {
	REF_TREE=${SLIPWAY_REF_TREE:-/var/cache/slipway/test-ref/tree}
	[ -d "$REF_TREE/usr/lib/grub" ] && return 0
	[ "$(id -u)" = 0 ] || { echo "SKIP: no reference tree at $REF_TREE and not root to make one"; exit 77; }
	local base
	base=$(dirname "$REF_TREE")
	mkdir -p "$base"
	(
		flock 9
		[ -d "$REF_TREE/usr/lib/grub" ] && exit 0
		local mirror
		mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1)
		[ -n "$mirror" ] || mirror=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' /etc/apt/sources.list 2>/dev/null | grep -v security | head -n1)
		rm -rf "$REF_TREE.tmp"
		echo "making the reference tree in $REF_TREE (once per machine)" >&2
		SOURCE_DATE_EPOCH=1767225600 mmdebstrap --variant=minbase --mode=root \
			--aptopt='APT::Install-Recommends "false"' \
			--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
			--include=systemd-sysv,linux-image-cloud-amd64,udev,dbus,openssh-server,iproute2,netbase,systemd-resolved,grub-pc-bin,grub-efi-amd64-bin,initramfs-tools,zstd,cloud-init \
			trixie "$REF_TREE.tmp" "$mirror" >"$base/mmdebstrap.log" 2>&1 \
			|| { tail -n 20 "$base/mmdebstrap.log" >&2; exit 1; }
		mv "$REF_TREE.tmp" "$REF_TREE"
	) 9>"$base/.lock" || { echo "FAIL: could not make the reference tree" >&2; exit 1; }
}
