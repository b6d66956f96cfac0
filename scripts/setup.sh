#!/usr/bin/env bash
# Sets Meetopia up on a fresh Debian 12 machine (Node 20.19+, npm, apt) and starts it.
#   scripts/setup.sh             install, build, then run the server (npm start) on $PORT (3003)
#   scripts/setup.sh --no-start  install and build only (the test script uses this)
# Idempotent: the mediasoup worker is cached per version, so later runs take seconds.
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo_dir"
log() { printf '[setup] %s\n' "$*" >&2; }

start=1
for arg in "$@"; do
	case "$arg" in
	--no-start) start=0 ;;
	*)
		echo "usage: scripts/setup.sh [--no-start]" >&2
		exit 2
		;;
	esac
done

command -v node >/dev/null || {
	echo "Node.js 20.19 or newer is required" >&2
	exit 1
}
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' || {
	echo "Node.js 20.19 or newer is required (found $(node -v))" >&2
	exit 1
}

# Dependencies exactly as locked. Install scripts are skipped on purpose: the only one that
# matters (mediasoup's worker download) is handled explicitly below, with an offline fallback.
log "installing npm dependencies (npm ci)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

log "building native addons (better-sqlite3; cached)"
scripts/native-deps.sh

log "getting the mediasoup worker (official prebuilt, else built offline; cached per version)"
scripts/mediasoup-worker/ensure.sh >/dev/null

log "building protocol, server and client"
npm run build --silent

if [[ $start -eq 1 ]]; then
	log "starting Meetopia on port ${PORT:-3003} (Ctrl-C to stop)"
	exec npm start --silent
fi
log "done; start the server with: npm start"
