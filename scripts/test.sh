#!/usr/bin/env bash
# The whole test suite (what CI runs): setup, then lint and type checks, a DTLS smoke test of
# the mediasoup worker, unit, integration and end-to-end tests (real Chromium, real coturn).
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo_dir"
log() { printf '[test] %s\n' "$*" >&2; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

scripts/setup.sh --no-start

# System tools the tests drive: Chromium, coturn, docker-compose, iproute2/iptables (network
# namespaces for bad-network tests); for the deploy tests podman/runc (containers), debootstrap
# (local base images), Caddy and Pebble (automatic HTTPS), promtool, certutil (browser trust);
# redis-server for the shared-store suites, nginx for the load-balancer example.
missing=()
for pair in openssl:openssl curl:curl chromium:chromium turnserver:coturn turnutils_uclient:coturn \
	docker-compose:docker-compose ip:iproute2 iptables:iptables tc:iproute2 podman:podman runc:runc \
	debootstrap:debootstrap caddy:caddy pebble:pebble promtool:prometheus certutil:libnss3-tools \
	redis-server:redis-server nginx:nginx; do
	command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
	log "installing test tools: ${missing[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "lint and type checks"
npm run lint --silent

log "mediasoup worker DTLS smoke test"
node scripts/mediasoup-worker/check-dtls.mjs

log "unit, integration, end-to-end and deploy tests"
npx vitest run --project unit --project integration --project e2e --project deploy "$@"
