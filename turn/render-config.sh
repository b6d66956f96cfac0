#!/bin/sh
# Prints a complete turnserver.conf: turnserver.base.conf plus the settings that differ per
# deployment, read from the environment and checked here so that a bad value stops start-up.
#
#   TURN_SECRET        shared secret with the Meetopia server (required, 16+ characters)
#   TURN_SFU_IP        the SFU's media address: the only peer coturn relays to (required)
#   TURN_REALM         realm (default: meetopia)
#   TURN_EXTERNAL_IP   public address, or "public/private" behind 1:1 NAT (optional)
#   TURN_LISTEN_IP     addresses to listen on, comma-separated (default: all)
#   TURN_RELAY_IP      addresses relay sockets bind to, comma-separated (default: coturn picks)
#   TURN_PORT          UDP and TCP port (default: 3478)
#   TURN_TLS_PORT      TLS port (default: 5349; 443 for networks that only allow HTTPS)
#   TURN_TLS_CERT, TURN_TLS_KEY   PEM files; without them TLS is off
#   TURN_MIN_PORT, TURN_MAX_PORT  relay port range (default: 49160-49999)
#   TURN_BPS_CAPACITY  total relay bandwidth, bytes per second (default: 12500000, 100 Mbit/s; 0: unlimited)
#   TURN_EXTRA_ALLOWED_PEER_IPS   further peers to allow, comma-separated (tests)
set -eu

fail() {
	echo "turn config: $*" >&2
	exit 1
}
is_port() { case "$1" in '' | *[!0-9]*) return 1 ;; *) [ "$1" -ge 1 ] && [ "$1" -le 65535 ] ;; esac }
is_ip() { printf '%s' "$1" | grep -Eq '^([0-9]{1,3}\.){3}[0-9]{1,3}$|^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$'; }

here=$(dirname "$0")
secret=${TURN_SECRET:-}
sfu_ip=${TURN_SFU_IP:-}
realm=${TURN_REALM:-meetopia}
port=${TURN_PORT:-3478}
tls_port=${TURN_TLS_PORT:-5349}
min_port=${TURN_MIN_PORT:-49160}
max_port=${TURN_MAX_PORT:-49999}
bps_capacity=${TURN_BPS_CAPACITY:-12500000}

[ ${#secret} -ge 16 ] || fail "TURN_SECRET must be set, at least 16 characters"
case "$secret" in *[!A-Za-z0-9_+/=.-]*) fail "TURN_SECRET may only contain letters, digits and _+/=.-" ;; esac
is_ip "$sfu_ip" || fail "TURN_SFU_IP must be the SFU's IP address (got '$sfu_ip')"
printf '%s' "$realm" | grep -Eq '^[A-Za-z0-9.-]+$' || fail "TURN_REALM must be a host-like name (got '$realm')"
is_port "$port" || fail "TURN_PORT must be a port number (got '$port')"
is_port "$tls_port" || fail "TURN_TLS_PORT must be a port number (got '$tls_port')"
case "$bps_capacity" in '' | *[!0-9]*) fail "TURN_BPS_CAPACITY must be a number of bytes per second (got '$bps_capacity')" ;; esac
if ! { is_port "$min_port" && is_port "$max_port" && [ "$min_port" -le "$max_port" ]; }; then
	fail "TURN_MIN_PORT..TURN_MAX_PORT must be a port range (got '$min_port'..'$max_port')"
fi

cat "$here/turnserver.base.conf"
echo
echo "# From the environment."
echo "static-auth-secret=$secret"
echo "realm=$realm"
echo "listening-port=$port"
echo "tls-listening-port=$tls_port"
echo "min-port=$min_port"
echo "max-port=$max_port"
echo "bps-capacity=$bps_capacity"
echo "allowed-peer-ip=$sfu_ip"
if [ -n "${TURN_EXTRA_ALLOWED_PEER_IPS:-}" ]; then
	for peer in $(printf '%s' "$TURN_EXTRA_ALLOWED_PEER_IPS" | tr ',' ' '); do
		is_ip "$peer" || fail "TURN_EXTRA_ALLOWED_PEER_IPS: '$peer' is not an IP address"
		echo "allowed-peer-ip=$peer"
	done
fi
if [ -n "${TURN_EXTERNAL_IP:-}" ]; then
	for part in $(printf '%s' "$TURN_EXTERNAL_IP" | tr '/' ' '); do
		is_ip "$part" || fail "TURN_EXTERNAL_IP must be an IP or public/private pair (got '$TURN_EXTERNAL_IP')"
	done
	echo "external-ip=$TURN_EXTERNAL_IP"
fi
for address in $(printf '%s' "${TURN_LISTEN_IP:-}" | tr ',' ' '); do
	is_ip "$address" || fail "TURN_LISTEN_IP: '$address' is not an IP address"
	echo "listening-ip=$address"
done
for address in $(printf '%s' "${TURN_RELAY_IP:-}" | tr ',' ' '); do
	is_ip "$address" || fail "TURN_RELAY_IP: '$address' is not an IP address"
	echo "relay-ip=$address"
done
if [ -n "${TURN_TLS_CERT:-}" ] || [ -n "${TURN_TLS_KEY:-}" ]; then
	[ -r "${TURN_TLS_CERT:-}" ] || fail "TURN_TLS_CERT must be a readable PEM file"
	[ -r "${TURN_TLS_KEY:-}" ] || fail "TURN_TLS_KEY must be a readable PEM file"
	echo "cert=$TURN_TLS_CERT"
	echo "pkey=$TURN_TLS_KEY"
	echo "cipher-list=ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
else
	echo "# No certificate: TURN over TLS is off."
	echo "no-tls"
	echo "no-dtls"
fi
