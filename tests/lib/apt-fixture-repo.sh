# Sourced by tests: make_apt_fixture_repo DIR [SRC] builds the offline apt
# repository of the package trees in SRC (default tests/fixtures/apt-repo-src:
# fixture-a -> fixture-b -> fixture-c, c shipping docs, a man page and a
# DEP-5 copyright; fixture-os, -kernel, -cruft for the configure tests) in
# DIR, suite and codename "fixture", component main, unsigned (use
# [trusted=yes]).
make_apt_fixture_repo() {
	local repo=$1 src=${2:-} p
	[ -n "$src" ] || src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/apt-repo-src" && pwd)
	mkdir -p "$repo/pool" "$repo/dists/fixture/main/binary-amd64" "$repo/dists/fixture/main/binary-all"
	for p in "$src"/fixture-*; do
		dpkg-deb --root-owner-group -Zgzip -b "$p" "$repo/pool/" >/dev/null || return 1
	done
	(cd "$repo" && apt-ftparchive packages pool > dists/fixture/main/binary-amd64/Packages) || return 1
	cp "$repo/dists/fixture/main/binary-amd64/Packages" "$repo/dists/fixture/main/binary-all/Packages"
	apt-ftparchive -o APT::FTPArchive::Release::Suite=fixture -o APT::FTPArchive::Release::Codename=fixture \
		-o APT::FTPArchive::Release::Architectures="amd64 all" -o APT::FTPArchive::Release::Components=main \
		release "$repo/dists/fixture" > "$repo/Release.tmp" || return 1
	mv "$repo/Release.tmp" "$repo/dists/fixture/Release"
}
