#!/usr/bin/env bash
# Builds the native Node addons that `npm ci --ignore-scripts` leaves unbuilt (better-sqlite3,
# the safety store's SQLite binding), once per addon version, Node ABI and CPU, cached in
# ~/.cache/meetopia. Its prebuilt download needs GitHub; without it the addon is compiled from
# the package's sources with node-gyp (python3, make, g++; about a minute on 2 cores).
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo_dir"
log() { printf '[native-deps] %s\n' "$*" >&2; }

pkg_dir=node_modules/better-sqlite3
[[ -f $pkg_dir/package.json ]] || {
	log "better-sqlite3 is not installed (run npm ci first)"
	exit 1
}
version=$(node -p "require('./$pkg_dir/package.json').version")
key="$version-node$(node -p process.versions.modules)-$(node -p process.arch)"
cache_dir="${MEETOPIA_CACHE_DIR:-$HOME/.cache/meetopia}/better-sqlite3/$key"
target=$pkg_dir/build/Release/better_sqlite3.node

loads() { node -e "new (require('./$pkg_dir'))(':memory:').prepare('select 1').get()" 2>/dev/null; }

save() {
	mkdir -p "$cache_dir"
	cp "$target" "$cache_dir/better_sqlite3.node.tmp"
	mv "$cache_dir/better_sqlite3.node.tmp" "$cache_dir/better_sqlite3.node"
}

if [[ -f $target ]] && loads; then
	[[ -f $cache_dir/better_sqlite3.node ]] || save
	exit 0
fi
if [[ -f $cache_dir/better_sqlite3.node ]]; then
	mkdir -p "$(dirname "$target")"
	cp "$cache_dir/better_sqlite3.node" "$target"
	if loads; then
		log "better-sqlite3 $version from the cache"
		exit 0
	fi
	log "cached better-sqlite3 does not load here; rebuilding"
fi
log "building better-sqlite3 $version (prebuilt download, else from source: about a minute)"
npm rebuild better-sqlite3 --no-audit --no-fund --loglevel=error >&2
loads || {
	log "better-sqlite3 was built but does not load"
	exit 1
}
save
log "better-sqlite3 $version cached in $cache_dir"
