#!/usr/bin/env bash
# Checks a running Meetopia TURN server. Run it from a machine outside the server's network (it
# needs coturn's test client, turnutils_uclient: `apt install coturn`, and openssl). Three checks:
#   1. credentials minted from TURN_SECRET allocate a relay (TURN REST API, as Meetopia mints them);
#   2. the relay may talk to the SFU (permission granted for PUBLIC_IP);
#   3. the relay refuses loopback and the cloud metadata address (403 Forbidden IP).
#
# Usage: TURN_SECRET=... PUBLIC_IP=... scripts/check-turn.sh [turn-host] [turn-port]
#   turn-host defaults to PUBLIC_IP, turn-port to 3478. Reads .env next to docker-compose.yml
#   when TURN_SECRET or PUBLIC_IP are not set. Exit code 0 when all checks pass.
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
if [[ -z "${TURN_SECRET:-}" || -z "${PUBLIC_IP:-}" ]] && [[ -f "$repo_dir/.env" ]]; then
	set -a
	# shellcheck disable=SC1091
	. "$repo_dir/.env"
	set +a
fi
: "${TURN_SECRET:?set TURN_SECRET (or put it in .env)}"
: "${PUBLIC_IP:?set PUBLIC_IP, the SFU address coturn relays to (or put it in .env)}"
host=${1:-$PUBLIC_IP}
port=${2:-3478}
command -v turnutils_uclient >/dev/null || {
	echo "turnutils_uclient not found: apt install coturn (or run this inside the coturn container)" >&2
	exit 2
}

# Short-lived credentials exactly as the Meetopia server mints them: "<expiry>:<name>" and the
# base64 HMAC-SHA1 of it keyed with the shared secret.
mint() {
	local username password
	username="$(($(date +%s) + 300)):check-turn-$1-$$"
	password=$(printf '%s' "$username" | openssl dgst -sha1 -hmac "$TURN_SECRET" -binary | base64)
	printf '%s %s' "$username" "$password"
}

# Allocates a relay and asks for a permission to <peer>; prints the client's output.
try_peer() {
	local peer=$1 name=$2 username password
	read -r username password < <(mint "$name")
	timeout 15 turnutils_uclient -u "$username" -w "$password" -e "$peer" -r 9 -n 1 -c -p "$port" "$host" 2>&1 || true
}

failures=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
	printf 'FAIL  %s\n' "$*"
	failures=$((failures + 1))
}

out=$(try_peer "$PUBLIC_IP" sfu)
if grep -q 'Cannot complete Allocation' <<<"$out"; then
	fail "allocation with minted credentials was refused (is TURN_SECRET the one coturn has? is ${host}:${port} reachable?)"
else
	pass "minted credentials allocate a relay on ${host}:${port}"
	if grep -q 'error 403' <<<"$out"; then
		fail "relaying to the SFU ($PUBLIC_IP) is refused: TURN_SFU_IP must be the SFU's address"
	else
		pass "the relay may reach the SFU at $PUBLIC_IP"
	fi
fi

for peer in 127.0.0.1 169.254.169.254; do
	out=$(try_peer "$peer" "deny-$peer")
	if grep -q 'error 403' <<<"$out"; then
		pass "relaying to $peer is refused"
	else
		fail "relaying to $peer was NOT refused: check the denied-peer-ip lines and the coturn version"
	fi
done

exit $((failures > 0))
