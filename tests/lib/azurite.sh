#!/bin/bash
# Azurite, the Azure Storage emulator (npm package `azurite`, by Microsoft),
# which tests/integration/test-upload-azure uploads to.  Installed with the
# machine's npm, once, into the slipway cache, so a second run (and a fresh
# clone on the same machine) does not install it again.
#
#   tests/lib/azurite.sh install   install it unless it is there (`make deps`, the test)
#   tests/lib/azurite.sh path      print the azurite-blob program's path (exit 1: not installed)
#
# Where: $AZURITE_DIR, default <slipway cache>/azurite/VERSION (the cache:
# $SLIPWAY_CACHE, else /var/cache/slipway as root, else ~/.cache/slipway).
# The version is pinned: 3.35.0 is the last one that runs on Node.js 20
# (Debian 12 has 18, this machine image 20; 3.36 wants 21, 3.37 wants 22).
#
# Exit status: 0 done, 2 the npm registry could not be reached (or there is
# no npm), 1 any other failure.
set -euo pipefail

VERSION=3.35.0
if [ -n "${SLIPWAY_CACHE:-}" ]; then cache=$SLIPWAY_CACHE
elif [ "$(id -u)" = 0 ]; then cache=/var/cache/slipway
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/slipway
fi
DIR=${AZURITE_DIR:-$cache/azurite/$VERSION}
BIN=$DIR/node_modules/.bin/azurite-blob

die() { echo "azurite: $*" >&2; exit 1; }
installed() { [ -x "$BIN" ] && [ -f "$DIR/.complete" ]; }

case ${1:-} in
path)
	installed || exit 1
	echo "$BIN" ;;
install)
	installed && exit 0
	command -v npm >/dev/null && command -v node >/dev/null || { echo "azurite: no node/npm (make deps installs them)" >&2; exit 2; }
	mkdir -p "$(dirname "$DIR")"
	# one installer at a time; the others wait and find it done
	exec 9>"$(dirname "$DIR")/.install.lock"
	flock 9
	installed && exit 0
	tmp=$(mktemp -d "$(dirname "$DIR")/.install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	echo "installing azurite $VERSION with npm into $DIR"
	# --ignore-scripts: Azurite needs no install scripts; no lock file, no audit, no telemetry of npm's own
	if ! npm install --prefix "$tmp" --no-audit --no-fund --no-package-lock --ignore-scripts --no-update-notifier \
		--loglevel=error "azurite@$VERSION" >"$tmp/npm.log" 2>&1; then
		cat "$tmp/npm.log" >&2
		grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network' "$tmp/npm.log" \
			&& { echo "azurite: the npm registry could not be reached" >&2; exit 2; }
		die "npm install azurite@$VERSION failed"
	fi
	[ -x "$tmp/node_modules/.bin/azurite-blob" ] || die "npm installed no azurite-blob"
	"$tmp/node_modules/.bin/azurite-blob" --version >/dev/null || die "azurite-blob does not run"
	touch "$tmp/.complete"
	rm -f "$tmp/npm.log"
	rm -rf "$DIR"
	mv "$tmp" "$DIR"
	trap - EXIT ;;
*)
	die "usage: $0 install | path" ;;
esac
