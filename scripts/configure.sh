#!/usr/bin/env bash
# Writes .env for docker-compose.yml: the domain, the ACME e-mail, the public address, the TURN
# URLs derived from them, and strong random secrets. Then prints the DNS records and the
# firewall ports this host needs.
#
#   scripts/configure.sh --domain chat.example.com --email you@example.com [--public-ip 203.0.113.10]
#   scripts/configure.sh --domain localhost --email you@example.com     # try it on this machine
#   scripts/configure.sh --cluster ...     # three instances sharing a Redis (docs/scaling.md)
#
# Re-running keeps every secret already in .env (and any other setting added by hand); --force
# makes new secrets. Values not given are taken from the existing .env, asked for when standard
# input is a terminal, or (the public address only) detected from the default route.
# Bad input stops the script with a message naming the value, before anything is written.
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
out="$repo_dir/.env"

usage() {
	cat >&2 <<'EOF'
usage: scripts/configure.sh --domain DOMAIN --email EMAIL [--public-ip IP] [--cluster] [--force] [--output FILE]
  --domain     the name browsers use, e.g. chat.example.com (localhost: try it on this machine only)
  --email      address the certificate authority (Let's Encrypt) may write to about the certificate
  --public-ip  this server's public IP address (default: the address of the default route)
  --cluster    the cluster profile: three instances sharing a Redis on this host, behind Caddy
  --force      replace the secrets already in the file with new ones
  --output     where to write (default: .env next to docker-compose.yml)
EOF
}

fail() {
	printf 'configure: %s\nNothing was written.\n' "$*" >&2
	exit 1
}

domain="" email="" public_ip="" force=0 cluster=0
while (($#)); do
	case "$1" in
	--domain | --email | --public-ip | --output)
		(($# >= 2)) || fail "$1 needs a value"
		case "$1" in
		--domain) domain=$2 ;;
		--email) email=$2 ;;
		--public-ip) public_ip=$2 ;;
		--output) out=$2 ;;
		esac
		shift 2
		;;
	--domain=* | --email=* | --public-ip=* | --output=*)
		value=${1#*=}
		case "$1" in
		--domain=*) domain=$value ;;
		--email=*) email=$value ;;
		--public-ip=*) public_ip=$value ;;
		--output=*) out=$value ;;
		esac
		shift
		;;
	--force)
		force=1
		shift
		;;
	--cluster)
		cluster=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage
		fail "unknown argument '$1'"
		;;
	esac
done

# --- validation -------------------------------------------------------------------------------

valid_domain() {
	local name=$1 label
	[[ ${#name} -ge 1 && ${#name} -le 253 ]] || return 1
	[[ $name =~ ^[A-Za-z0-9.-]+$ ]] || return 1
	[[ $name != .* && $name != *. && $name != *..* ]] || return 1
	IFS=. read -r -a labels <<<"$name"
	for label in "${labels[@]}"; do
		[[ ${#label} -le 63 && $label != -* && $label != *- ]] || return 1
	done
	# A bare address is not a domain: certificate authorities issue for names.
	[[ ! $name =~ ^[0-9.]+$ ]]
}

valid_email() {
	[[ $1 =~ ^[^@[:space:]\"\'\\]+@[^@[:space:]\"\'\\]+$ ]] && valid_domain "${1#*@}"
}

valid_ipv4() {
	local part
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
	IFS=. read -r -a parts <<<"$1"
	for part in "${parts[@]}"; do
		((10#$part <= 255)) || return 1
	done
}

valid_ipv6() {
	local address=$1 head tail count=0 side
	[[ $address =~ ^[0-9A-Fa-f:.]+$ && $address == *:* ]] || return 1
	# An IPv4 address at the end (::ffff:192.0.2.1) counts as two groups.
	if [[ $address == *.* ]]; then
		valid_ipv4 "${address##*:}" || return 1
		address="${address%:*}:0:0"
		address=${address/#:0:0/::0:0}
	fi
	if [[ $address == *::* ]]; then
		head=${address%%::*} tail=${address#*::}
		[[ $tail != *::* ]] || return 1
	else
		head=$address tail=""
	fi
	for side in "$head" "$tail"; do
		[[ -z $side ]] && continue
		[[ $side =~ ^[0-9A-Fa-f]{1,4}(:[0-9A-Fa-f]{1,4})*$ ]] || return 1
		count=$((count + $(tr -cd : <<<"$side" | wc -c) + 1))
	done
	if [[ $address == *::* ]]; then ((count <= 7)); else ((count == 8)); fi
}

valid_ip() { valid_ipv4 "$1" || valid_ipv6 "$1"; }

# --- the existing file ------------------------------------------------------------------------

# KEY=VALUE lines of the existing file, read as data (never sourced).
declare -A existing=()
existing_order=()
if [[ -f $out ]]; then
	while IFS= read -r line || [[ -n $line ]]; do
		[[ $line =~ ^([A-Z][A-Z0-9_]*)=(.*)$ ]] || continue
		key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
		[[ -v "existing[$key]" ]] || existing_order+=("$key")
		existing[$key]=$value
	done <"$out"
fi

ask() {
	local prompt=$1 default=${2:-} answer
	[[ -t 0 ]] || return 1
	if [[ -n $default ]]; then
		read -r -p "$prompt [$default]: " answer || return 1
		printf '%s' "${answer:-$default}"
	else
		read -r -p "$prompt: " answer || return 1
		printf '%s' "$answer"
	fi
}

if [[ -z $domain ]]; then
	domain=${existing[DOMAIN]:-}
	[[ -n $domain ]] || domain=$(ask "Domain name browsers will use (e.g. chat.example.com, or localhost)") ||
		fail "--domain is required (e.g. --domain chat.example.com)"
fi
domain=${domain,,}
valid_domain "$domain" || fail "'$domain' is not a domain name: give a bare name such as chat.example.com (no https://, no path, no port)"

if [[ -z $email ]]; then
	email=${existing[EMAIL]:-}
	[[ -n $email ]] || email=$(ask "E-mail for the certificate authority") ||
		fail "--email is required (the certificate authority writes to it about expiring certificates)"
fi
valid_email "$email" || fail "'$email' is not an e-mail address (expected name@example.com)"

# The address of the default route's interface: the public address on most servers, a private
# one behind 1:1 NAT (most clouds), where --public-ip must be given. Looks up the route only.
route_ip() {
	command -v ip >/dev/null || return 0
	ip -4 route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n 1
}

local_ip=$(route_ip)
detected=0
if [[ -z $public_ip ]]; then
	public_ip=${existing[PUBLIC_IP]:-}
	if [[ -z $public_ip ]]; then
		if [[ $domain == localhost ]]; then
			default_ip=127.0.0.1
		else
			default_ip=$local_ip
		fi
		public_ip=$(ask "This server's public IP address" "$default_ip") || public_ip=$default_ip
		detected=1
	fi
fi
[[ -n $public_ip ]] || fail "could not find this server's address: give --public-ip"
valid_ip "$public_ip" || fail "'$public_ip' is not an IP address (expected e.g. 203.0.113.10 or 2001:db8::10)"

# Behind 1:1 NAT the host only has the private address: coturn must announce the public one.
turn_external_ip=${existing[TURN_EXTERNAL_IP]:-}
if [[ -z $turn_external_ip && -n $local_ip && $public_ip != "$local_ip" && $public_ip != 127.* ]] &&
	valid_ipv4 "$public_ip" && command -v ip >/dev/null && ! ip -o addr show 2>/dev/null | grep -qF " $public_ip/"; then
	turn_external_ip="$public_ip/$local_ip"
fi

# --- secrets ----------------------------------------------------------------------------------

secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

declare -A values=()
secret_keys=(TURN_SECRET ADMIN_TOKEN METRICS_TOKEN IDENTITY_SECRET GRAFANA_ADMIN_PASSWORD)
kept=0 made=0
for key in "${secret_keys[@]}"; do
	current=${existing[$key]:-}
	# Placeholders from deploy/env.example are not secrets.
	if ((force == 0)) && [[ ${#current} -ge 16 && $current != change-me* ]]; then
		values[$key]=$current
		kept=$((kept + 1))
	else
		values[$key]=$(secret)
		made=$((made + 1))
	fi
done

setting() { printf '%s' "${existing[$1]:-$2}"; }
turn_port=$(setting TURN_PORT 3478)
turn_tls_port=$(setting TURN_TLS_PORT 5349)
media_port=$(setting MEDIA_PORT 40000)
workers=$(setting WORKERS "$(nproc 2>/dev/null || echo 1)")
turn_min=$(setting TURN_MIN_PORT 49160)
turn_max=$(setting TURN_MAX_PORT 49999)
app_ports=("$(setting PORT 3003)" "$(setting PORT_2 3004)" "$(setting PORT_3 3005)")
media_ports=("$media_port" "$(setting MEDIA_PORT_2 40100)" "$(setting MEDIA_PORT_3 40200)")
for pair in "TURN_PORT:$turn_port" "TURN_TLS_PORT:$turn_tls_port" "MEDIA_PORT:$media_port" "WORKERS:$workers" \
	"TURN_MIN_PORT:$turn_min" "TURN_MAX_PORT:$turn_max" "PORT:${app_ports[0]}" "PORT_2:${app_ports[1]}" \
	"PORT_3:${app_ports[2]}" "MEDIA_PORT_2:${media_ports[1]}" "MEDIA_PORT_3:${media_ports[2]}"; do
	[[ ${pair#*:} =~ ^[0-9]{1,5}$ ]] || fail "${pair%%:*}='${pair#*:}' in $out is not a number"
done

values[DOMAIN]=$domain
values[EMAIL]=$email
values[PUBLIC_IP]=$public_ip
values[TURN_EXTERNAL_IP]=$turn_external_ip
values[TURN_URLS]="turn:$domain:$turn_port?transport=udp,turn:$domain:$turn_port?transport=tcp,turns:$domain:$turn_tls_port?transport=tcp"

# The cluster profile: turned on by --cluster, or kept from an earlier run that turned it on.
cluster_keys=()
[[ ,${existing[COMPOSE_PROFILES]:-}, == *,cluster,* ]] && cluster=1
if ((cluster)); then
	profiles=${existing[COMPOSE_PROFILES]:-}
	[[ ,$profiles, == *,cluster,* ]] || profiles=${profiles:+$profiles,}cluster
	values[COMPOSE_PROFILES]=$profiles
	values[REDIS_URL]=$(setting REDIS_URL "redis://127.0.0.1:$(setting REDIS_PORT 6379)/0")
	values[CLUSTER_UPSTREAMS]="127.0.0.1:${app_ports[1]} 127.0.0.1:${app_ports[2]}"
	cluster_keys=(COMPOSE_PROFILES REDIS_URL CLUSTER_UPSTREAMS)
	# Each instance's media ports (one per worker) must not run into another instance's.
	for i in 0 1 2; do
		for j in 0 1 2; do
			((i < j)) || continue
			((media_ports[i] + workers <= media_ports[j] || media_ports[j] + workers <= media_ports[i])) ||
				fail "media ports overlap: instances $((i + 1)) and $((j + 1)) receive media on ${media_ports[i]} and ${media_ports[j]}, each with WORKERS=$workers ports"
		done
	done
fi

# --- write ------------------------------------------------------------------------------------

out_dir=$(dirname -- "$out")
[[ -d $out_dir && -w $out_dir ]] || fail "cannot write to $out_dir"
managed=(DOMAIN EMAIL PUBLIC_IP TURN_EXTERNAL_IP TURN_URLS "${secret_keys[@]}" "${cluster_keys[@]}")
tmp=$(umask 077 && mktemp "$out_dir/.env.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
{
	printf '# Written by scripts/configure.sh; read by docker-compose.yml. Keep it private: it holds\n'
	printf '# the secrets. Re-run the script to change the domain, e-mail or address (secrets are kept;\n'
	printf '# --force makes new ones). Other settings (see deploy/env.example) may be added below.\n'
	printf 'DOMAIN=%s\n' "${values[DOMAIN]}"
	printf 'EMAIL=%s\n' "${values[EMAIL]}"
	printf 'PUBLIC_IP=%s\n' "${values[PUBLIC_IP]}"
	[[ -z ${values[TURN_EXTERNAL_IP]} ]] || printf 'TURN_EXTERNAL_IP=%s\n' "${values[TURN_EXTERNAL_IP]}"
	printf 'TURN_URLS=%s\n' "${values[TURN_URLS]}"
	printf '\n# Secrets.\n'
	for key in "${secret_keys[@]}"; do printf '%s=%s\n' "$key" "${values[$key]}"; done
	if ((cluster)); then
		printf '\n# The cluster profile: three instances sharing a Redis on this host (docs/scaling.md).\n'
		for key in "${cluster_keys[@]}"; do printf '%s=%s\n' "$key" "${values[$key]}"; done
	fi
	extra=0
	for key in "${existing_order[@]}"; do
		[[ " ${managed[*]} " == *" $key "* ]] && continue
		((extra++)) || printf '\n# Other settings, kept from the previous file.\n'
		printf '%s=%s\n' "$key" "${existing[$key]}"
	done
} >"$tmp"
mv -f -- "$tmp" "$out"
trap - EXIT

# --- what to do next --------------------------------------------------------------------------

printf 'Wrote %s (%d secret(s) kept, %d new).\n' "$out" "$kept" "$made"
((detected == 0)) || printf 'Public address: %s (detected; give --public-ip if browsers reach this server at another address).\n' "$public_ip"
[[ -z $turn_external_ip ]] || printf 'Behind 1:1 NAT: coturn will announce %s.\n' "$turn_external_ip"
echo
if [[ $domain == localhost ]]; then
	cat <<EOF
DOMAIN=localhost: https://localhost works on this machine only, with a certificate from the TLS
front's own authority (Caddy's "local" CA). Strangers need a real domain: re-run with --domain.
EOF
else
	record=A
	[[ $public_ip == *:* ]] && record=AAAA
	cat <<EOF
DNS: before starting, point the domain at this server (the certificate is only issued once it does):
  $domain.  $record  $public_ip
EOF
fi
last_media=$((media_port + workers - 1))
echo
echo 'Firewall: open these ports to the internet.'
port_line() { printf '  %-28s %s\n' "$1" "$2"; }
port_line "80/tcp" "HTTP: certificate challenges, redirect to HTTPS"
port_line "443/tcp" "HTTPS: the page and its WebSocket"
port_line "$turn_port/udp, $turn_port/tcp" "TURN"
port_line "$turn_tls_port/tcp" "TURN over TLS"
port_line "$media_port-$last_media/udp and /tcp" "media: MEDIA_PORT, one port per worker (WORKERS=$workers)"
if ((cluster)); then
	for i in 1 2; do
		port_line "${media_ports[i]}-$((media_ports[i] + workers - 1))/udp and /tcp" "media of instance $((i + 1)) (MEDIA_PORT_$((i + 1)))"
	done
fi
port_line "$turn_min-$turn_max/udp" "TURN relay ports"
cat <<EOF

Then start it:  docker compose up -d     (with monitoring: docker compose --profile monitoring up -d)
EOF
((cluster == 0)) || echo 'The cluster profile is on (COMPOSE_PROFILES in .env): Redis and three instances start with it.'
