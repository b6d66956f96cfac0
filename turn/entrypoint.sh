#!/bin/sh
# Container entry point: render the configuration from the environment (render-config.sh),
# then run coturn. Arguments are passed on to turnserver.
#
# TURN over TLS with the TLS front's certificate (docker-compose.yml sets these):
#   TURN_TLS_DOMAIN        use Caddy's certificate for this name
#   TURN_TLS_STORE         Caddy's certificate folder (default /caddy-data/caddy/certificates),
#                          laid out as <issuer>/<name>/<name>.crt and .key, files mode 0600
#   TURN_TLS_DIR           private copies coturn reads (default /var/lib/meetopia-turn/tls)
#   TURN_TLS_POLL_SECONDS  how often to look for a renewed certificate (default 60)
#   TURN_TLS_WAIT_SECONDS  how long to wait for the first certificate before starting without
#                          TLS (default 300; TLS is switched on when the certificate arrives)
#   TURN_PROC_USER, TURN_PROC_GROUP   who coturn runs as once started as root (default nobody
#                          and that user's group)
#
# Started as root (the compose file does this), the script copies the certificate, which only
# root can read in Caddy's storage, to TURN_TLS_DIR owned by TURN_PROC_USER, and coturn drops
# to that user after opening its ports. A renewed certificate is copied again and coturn is
# sent SIGUSR2, which makes it load the new files: no restart, calls are not interrupted.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
config=${TURN_CONFIG_OUT:-/tmp/turnserver.conf}
umask 077

log() { echo "turn entrypoint: $*" >&2; }
fail() {
	log "$*"
	exit 1
}

proc_user=""
proc_group=""
if [ "$(id -u)" = 0 ]; then
	proc_user=${TURN_PROC_USER:-nobody}
	proc_group=${TURN_PROC_GROUP:-$(id -gn "$proc_user" 2>/dev/null || true)}
	id -u "$proc_user" >/dev/null 2>&1 || fail "TURN_PROC_USER: no user '$proc_user'"
	[ -n "$proc_group" ] || fail "TURN_PROC_GROUP: cannot find the group of '$proc_user'"
fi

# Writes the configuration; TURN_TLS_CERT/KEY in the environment decide about TLS.
render() {
	"$here/render-config.sh" >"$config.new"
	if [ -n "$proc_user" ]; then
		printf '%s\n' "# Started as root: run as an unprivileged user once the ports are open." \
			"proc-user=$proc_user" "proc-group=$proc_group" >>"$config.new"
	fi
	mv -f "$config.new" "$config"
}

domain=${TURN_TLS_DOMAIN:-}
if [ -z "$domain" ]; then
	render
	exec turnserver -c "$config" --log-file=stdout "$@"
fi

case "$domain" in
'' | .* | *[!A-Za-z0-9.-]*) fail "TURN_TLS_DOMAIN must be a domain name (got '$domain')" ;;
esac
[ -z "${TURN_TLS_CERT:-}${TURN_TLS_KEY:-}" ] || fail "set either TURN_TLS_DOMAIN or TURN_TLS_CERT/TURN_TLS_KEY, not both"
store=${TURN_TLS_STORE:-/caddy-data/caddy/certificates}
dir=${TURN_TLS_DIR:-/var/lib/meetopia-turn/tls}
poll=${TURN_TLS_POLL_SECONDS:-60}
wait_first=${TURN_TLS_WAIT_SECONDS:-300}
for number in "$poll" "$wait_first"; do
	case "$number" in '' | *[!0-9]*) fail "TURN_TLS_POLL_SECONDS and TURN_TLS_WAIT_SECONDS must be numbers of seconds" ;; esac
done
[ "$poll" -ge 1 ] || poll=1

# The newest certificate for the domain in the store (one folder per issuer; after a change
# of certificate authority the old one may still be there).
newest_cert() {
	newest=""
	for crt in "$store"/*/"$domain"/"$domain".crt; do
		if [ ! -f "$crt" ] || [ ! -f "${crt%.crt}.key" ]; then continue; fi
		# -nt is not POSIX, but dash, busybox and bash (every image coturn ships on) have it.
		# shellcheck disable=SC3013
		if [ -z "$newest" ] || [ "$crt" -nt "$newest" ]; then newest=$crt; fi
	done
	printf '%s' "$newest"
}

# A fingerprint of the current pair: its path and contents.
fingerprint() {
	crt=$(newest_cert)
	[ -n "$crt" ] || return 0
	printf '%s %s %s' "$crt" "$(cksum <"$crt")" "$(cksum <"${crt%.crt}.key")"
}

installed=""
# Copies the current pair into the private folder; returns 1 if there is none, or if it is
# being rewritten (it must read the same twice, two seconds apart).
install_pair() {
	first=$(fingerprint)
	[ -n "$first" ] || return 1
	sleep 2
	[ "$(fingerprint)" = "$first" ] || return 1
	crt=$(newest_cert)
	mkdir -p "$dir"
	cp "$crt" "$dir/.cert.pem.new"
	cp "${crt%.crt}.key" "$dir/.key.pem.new"
	chmod 0700 "$dir"
	chmod 0600 "$dir/.cert.pem.new" "$dir/.key.pem.new"
	if [ -n "$proc_user" ]; then chown -R "$proc_user:$proc_group" "$dir"; fi
	mv -f "$dir/.cert.pem.new" "$dir/cert.pem"
	mv -f "$dir/.key.pem.new" "$dir/key.pem"
	installed=$first
	log "installed the certificate $crt"
}

pid=""
start_turn() {
	if [ -n "$installed" ]; then
		TURN_TLS_CERT="$dir/cert.pem" TURN_TLS_KEY="$dir/key.pem" render
	else
		render
	fi
	turnserver -c "$config" --log-file=stdout "$@" &
	pid=$!
}

# shellcheck disable=SC2317 # called from the trap
stop_turn() {
	[ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
}
trap 'stop_turn; stopping=1' TERM INT
stopping=0

waited=0
until install_pair; do
	[ "$stopping" = 0 ] || exit 0
	if [ "$waited" -ge "$wait_first" ]; then
		log "no certificate for $domain in $store after $wait_first s: starting without TURN over TLS" \
			"(is the TLS front running, and does $domain point at this server?)"
		break
	fi
	[ "$waited" -gt 0 ] || log "waiting for the TLS front's certificate for $domain in $store"
	sleep 2
	waited=$((waited + 2))
done
start_turn "$@"

while [ "$stopping" = 0 ] && kill -0 "$pid" 2>/dev/null; do
	sleep "$poll" &
	wait $! || true
	[ "$stopping" = 0 ] || break
	current=$(fingerprint)
	if [ -n "$current" ] && [ "$current" != "$installed" ] && install_pair; then
		if grep -q '^cert=' "$config"; then
			kill -USR2 "$pid" 2>/dev/null || true
			log "sent SIGUSR2: coturn reloads the renewed certificate"
		else
			log "the certificate arrived: restarting coturn with TURN over TLS"
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" || true
			start_turn "$@"
		fi
	fi
done

status=0
wait "$pid" || status=$?
exit "$status"
