#!/bin/sh
# Entry point of the prometheus service. Prometheus reads no environment variables in its
# configuration, so the app's port and the metrics token go into a private copy of
# prometheus.yml (mode 0600, inside the container only).
set -eu
fail() {
	echo "prometheus: $*" >&2
	exit 1
}
case "${APP_PORT:-}" in '' | *[!0-9]*) fail "APP_PORT must be a port number" ;; esac
token=${METRICS_TOKEN:-}
[ "${#token}" -ge 16 ] || fail "METRICS_TOKEN must be set (16+ characters)"
case "$token" in *[!A-Za-z0-9._~+/=-]*) fail "METRICS_TOKEN may only contain letters, digits and ._~+/=-" ;; esac
umask 077
sed -e "s|127\.0\.0\.1:3003|127.0.0.1:$APP_PORT|" -e "s|credentials: METRICS_TOKEN\$|credentials: \"$token\"|" \
	/etc/meetopia/prometheus.yml >/tmp/prometheus.yml
exec /bin/prometheus \
	--config.file=/tmp/prometheus.yml \
	--storage.tsdb.path=/prometheus \
	--storage.tsdb.retention.time="${PROMETHEUS_RETENTION:-30d}" \
	--web.listen-address="127.0.0.1:${PROMETHEUS_PORT:-9090}"
