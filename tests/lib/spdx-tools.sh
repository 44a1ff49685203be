#!/bin/bash
# The SPDX validator the SBOM test uses: pyspdxtools from Debian's
# python3-spdx-tools (the SPDX project's own Python tools; they parse an SPDX
# 2.2/2.3 document and validate it against the specification's rules).
# Debian 12 has no such package and no package in Debian ships the SPDX 2.3
# JSON schema; unstable has python3-spdx-tools (Architecture: all, any python3
# >= 3.10) and trixie its one dependency Debian 12 lacks, python3-beartype
# (Architecture: all).  Both install on Debian 12 with its own python3 3.11,
# the rest of their dependencies coming from Debian 12.
#
#   tests/lib/spdx-tools.sh install    (root; `make deps`) install both unless
#                                      python3-spdx-tools is installed, keeping
#                                      the downloaded files in $SPDX_TOOLS_CACHE
#                                      (default /var/cache/slipway/spdx-tools)
#   tests/lib/spdx-tools.sh fetch DIR  only download them into DIR
#
# Exit status: 0 done, 2 the Debian archive could not be reached, 1 any other
# failure.
#
# The files come from the Debian archive this machine's apt already uses (its
# entry for this release, found with `apt-get indextargets`), through a private
# apt configuration in a temporary directory: the machine's own apt sources and
# lists are not changed, apt checks the files against the archive's signed
# indices, and installing them resolves their dependencies from the machine's
# own sources only.  An install that would replace python3 is refused.
set -euo pipefail

PKGS=(python3-spdx-tools python3-beartype)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

die() { echo "spdx-tools: $*" >&2; exit 1; }
unreachable() { echo "spdx-tools: the Debian archive could not be reached: $*" >&2; exit 2; }
# An apt command failed (its output in $2): exit 2 when it could not reach the
# archive, 1 otherwise.
apt_failed() { # WHAT LOG
	cat "$2" >&2
	grep -qE 'Could not (connect|resolve)|Unable to connect|Temporary failure resolving|Connection (timed out|refused|failed)|Network is unreachable|No route to host' "$2" \
		&& unreachable "$1"
	die "$1 failed"
}

# The private apt configuration; sets APT_CONFIG and TMPD.
setup_apt() {
	. /etc/os-release
	local codename=${VERSION_CODENAME:-}
	[ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
	[ -f "$KEYRING" ] || die "$KEYRING missing (debian-archive-keyring)"
	local mirror
	mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 'Origin: Debian' 'Label: Debian' \
		"Codename: $codename" | head -n1)
	[ -n "$mirror" ] || die "apt has no Debian archive entry for $codename (apt-get indextargets)"
	TMPD=$(mktemp -d "${TMPDIR:-/var/tmp}/slipway-spdx-tools.XXXXXX")
	trap 'rm -rf "$TMPD"' EXIT
	chmod 755 "$TMPD"
	mkdir -p "$TMPD/lists/partial" "$TMPD/cache/archives/partial" "$TMPD/sources.list.d" "$TMPD/preferences.d"
	# Preferred in this order: backports (built for this release), the stable
	# release after it, unstable.
	local s
	for s in "$codename-backports" trixie sid; do
		echo "deb [signed-by=$KEYRING] $mirror $s main"
	done > "$TMPD/sources.list"
	cat > "$TMPD/preferences" <<-EOF
	Package: *
	Pin: release n=$codename-backports
	Pin-Priority: 600

	Package: *
	Pin: release n=trixie
	Pin-Priority: 500

	Package: *
	Pin: release n=sid
	Pin-Priority: 100
	EOF
	cat > "$TMPD/apt.conf" <<-EOF
	Dir::Etc::SourceList "$TMPD/sources.list";
	Dir::Etc::SourceParts "$TMPD/sources.list.d";
	Dir::Etc::Preferences "$TMPD/preferences";
	Dir::Etc::PreferencesParts "$TMPD/preferences.d";
	Dir::State::Lists "$TMPD/lists";
	Dir::Cache "$TMPD/cache";
	Acquire::Languages "none";
	EOF
	# apt's download sandbox user must be able to write there.
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown -R _apt "$TMPD/lists" "$TMPD/cache"; fi
	export APT_CONFIG=$TMPD/apt.conf
}

# Downloads PKGS into $1; prints the files' paths.
fetch() {
	local dir=$1
	mkdir -p "$dir"
	setup_apt
	apt-get update -qq --error-on=any >"$TMPD/update.log" 2>&1 || apt_failed "apt-get update" "$TMPD/update.log"
	local p f names=() files=()
	for p in "${PKGS[@]}"; do
		apt-cache show --no-all-versions "$p" >/dev/null 2>&1 || die "no package $p in $(tr '\n' ' ' < "$TMPD/sources.list")"
	done
	# "'URI' FILE SIZE HASH" per package: the file names apt-get download writes.
	local uris
	uris=$(apt-get download --print-uris "${PKGS[@]}") || die "apt-get download --print-uris failed"
	while read -r _ f _; do names+=("$f"); done <<< "$uris"
	[ ${#names[@]} -eq ${#PKGS[@]} ] || die "unexpected download list: $uris"
	mkdir "$TMPD/dl"
	if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$TMPD/dl"; fi
	(cd "$TMPD/dl" && apt-get download -q "${PKGS[@]}" >"$TMPD/download.log" 2>&1) \
		|| apt_failed "apt-get download ${PKGS[*]}" "$TMPD/download.log"
	for f in "${names[@]}"; do
		[ -f "$TMPD/dl/$f" ] || die "$f was not downloaded"
		[ "$(dpkg-deb -f "$TMPD/dl/$f" Architecture)" = all ] || die "$f is not Architecture: all"
	done
	# Replaces older downloads of the same packages.
	for p in "${PKGS[@]}"; do rm -f "$dir/${p}_"*.deb; done
	for f in "${names[@]}"; do
		mv "$TMPD/dl/$f" "$dir/$f"
		files+=("$dir/$f")
	done
	printf '%s\n' "${files[@]}"
}

installed() { dpkg-query -W -f='${Status}\n' python3-spdx-tools 2>/dev/null | grep -q '^install ok installed'; }

case ${1:-} in
fetch)
	[ $# -eq 2 ] || die "usage: $0 fetch DIR"
	fetch "$2" >/dev/null ;;
install)
	installed && exit 0
	[ "$(id -u)" = 0 ] || die "need root to install ${PKGS[*]}"
	cache=${SPDX_TOOLS_CACHE:-/var/cache/slipway/spdx-tools}
	list=$(fetch "$cache") || exit $?
	mapfile -t debs <<< "$list"
	# The machine's own sources resolve the dependencies; their lists may be old.
	apt-get update -qq || unreachable "apt-get update failed"
	sim=$(apt-get install -s --no-install-recommends "${debs[@]}") || { echo "$sim" >&2; die "${debs[*]} cannot be installed here"; }
	if grep -E '^(Inst|Remv) (lib)?python3(\.[0-9]+)?(-minimal|-stdlib)?[ :]' <<< "$sim" >&2; then
		die "installing ${PKGS[*]} would replace python3: refused"
	fi
	echo "installing from the Debian archive: $(for d in "${debs[@]}"; do basename "$d"; done | tr '\n' ' ')"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}"
	/usr/bin/pyspdxtools --help >/dev/null || die "pyspdxtools does not run" ;;
*)
	die "usage: $0 install | fetch DIR" ;;
esac
