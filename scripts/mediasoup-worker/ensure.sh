#!/usr/bin/env bash
# Makes sure a mediasoup-worker binary for the installed mediasoup version exists, and makes it
# the mediasoup package's default (node_modules/mediasoup/worker/out/Release/mediasoup-worker).
#
# Why: mediasoup's postinstall downloads a prebuilt worker from GitHub or builds one with tools
# from PyPI and sources from GitHub. Where none of that is reachable (only the npm registry and
# Debian's archive), this builds the worker from the C++ sources shipped in the npm package
# against Debian's libraries, using the meson subproject shims in ./subprojects. The result is
# cached per mediasoup version, so the build (about 3 minutes on 2 cores) happens once.
#
# Order: $MEDIASOUP_WORKER_BIN if executable > cached binary > official prebuilt download
# (skipped with MEETOPIA_WORKER_OFFLINE=1) > offline build.
#
# Environment:
#   MEDIASOUP_WORKER_BIN          use this binary (mediasoup itself also honours it at run time)
#   MEETOPIA_CACHE_DIR            cache root (default: $HOME/.cache/meetopia)
#   MEETOPIA_WORKER_OFFLINE=1     do not try the prebuilt download
#   MEETOPIA_WORKER_BUILD_JOBS    parallel compile jobs (default: 2)
#   MEETOPIA_WORKER_KEEP_BUILD=1  keep the temporary build tree (for debugging)
#
# Prints progress on stderr and the path of the binary in use on stdout.
set -euo pipefail

log() { printf '[mediasoup-worker] %s\n' "$*" >&2; }
die() {
	printf '[mediasoup-worker] ERROR: %s\n' "$*" >&2
	exit 1
}

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
repo_dir=$(dirname -- "$(dirname -- "$script_dir")")
pkg_dir="$repo_dir/node_modules/mediasoup"
default_bin="$pkg_dir/worker/out/Release/mediasoup-worker"

[[ -f "$pkg_dir/package.json" ]] || die "mediasoup is not installed at $pkg_dir (run npm install first)"
command -v node >/dev/null || die "node is required"

version=$(node -p 'require(process.argv[1]).version' "$pkg_dir/package.json")
[[ "$version" =~ ^[0-9A-Za-z.+-]+$ ]] || die "unexpected mediasoup version '$version'"

cache_dir="${MEETOPIA_CACHE_DIR:-${HOME:?HOME is not set; set MEETOPIA_CACHE_DIR}/.cache/meetopia}/mediasoup-worker/$version"
cached_bin="$cache_dir/mediasoup-worker"

# Temporary paths removed on exit.
cleanup_paths=()
cleanup() {
	if ((${#cleanup_paths[@]})); then
		rm -rf -- "${cleanup_paths[@]}"
	fi
}
trap cleanup EXIT

# The same host check as mediasoup's postinstall: started without MEDIASOUP_VERSION, a working
# worker exits with code 41. Anything else (missing shared library, wrong libc, ...) fails.
runs_here() {
	local rc=0
	env -i "$1" </dev/null >/dev/null 2>&1 || rc=$?
	[[ $rc -eq 41 ]]
}

# Fingerprint of the offline-build inputs kept in this repository, to notice a stale cache.
shims_fingerprint() {
	(cd "$script_dir" && find subprojects -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
		sha256sum | cut -d' ' -f1
}

# Copies $1 into the cache under a temporary name, then renames it: readers never see a
# partial file. $2 says where the binary came from.
install_into_cache() {
	local src="$1" origin="$2"
	local tmp="$cache_dir/.mediasoup-worker.$$.tmp"

	# Explicit checks: this also runs inside `if`, where set -e does not apply.
	if ! { cp -- "$src" "$tmp" && chmod 0755 "$tmp" && mv -f -- "$tmp" "$cached_bin"; }; then
		die "cannot write $cached_bin"
	fi
	printf 'mediasoup-worker %s\norigin: %s\ninstalled: %s\n' \
		"$version" "$origin" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$cache_dir/ORIGIN"
	log "cached $cached_bin ($(du -h "$cached_bin" | cut -f1), from $origin)"
}

try_prebuilt() {
	local tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-prebuilt.XXXXXX") || die "mktemp failed"
	cleanup_paths+=("$tmp")

	log "trying the official prebuilt worker"
	if ! node "$script_dir/download-prebuilt.mjs" "$pkg_dir/package.json" "$tmp/worker.tgz"; then
		log "no prebuilt worker; falling back to the offline build"
		return 1
	fi

	mkdir "$tmp/x" || die "cannot create $tmp/x"
	if ! tar -xzf "$tmp/worker.tgz" -C "$tmp/x" --no-same-owner; then
		log "could not extract the prebuilt archive; falling back to the offline build"
		return 1
	fi
	if [[ ! -f "$tmp/x/mediasoup-worker" || -L "$tmp/x/mediasoup-worker" ]]; then
		log "the prebuilt archive has no mediasoup-worker file; falling back to the offline build"
		return 1
	fi
	chmod 0755 "$tmp/x/mediasoup-worker"
	if ! runs_here "$tmp/x/mediasoup-worker"; then
		log "the prebuilt worker does not run on this host; falling back to the offline build"
		return 1
	fi

	install_into_cache "$tmp/x/mediasoup-worker" "official prebuilt (GitHub release)"
}

meson_is_recent() {
	local v
	command -v meson >/dev/null || return 1
	v=$(meson --version 2>/dev/null) || return 1
	# True when 1.1.0 sorts before (or equal to) the installed version.
	printf '%s\n%s\n' 1.1.0 "$v" | sort -V -C
}

install_build_deps() {
	local sudo=() missing=() pkg need_meson=0 codename="" wanted

	for pkg in ninja-build pkg-config g++ python3 libuv1-dev libssl-dev libflatbuffers-dev \
		flatbuffers-compiler libabsl-dev libsrtp2-dev; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	wanted="${missing[*]}"
	if ! meson_is_recent; then
		need_meson=1
		wanted="${wanted:+$wanted }meson>=1.1"
	fi

	if [[ -z "$wanted" ]]; then
		log "build dependencies present (meson $(meson --version))"
		return 0
	fi

	command -v apt-get >/dev/null ||
		die "missing build dependencies ($wanted) and no apt-get to install them"
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || die "installing $wanted needs root, and sudo is not available"
		sudo=(sudo)
	fi
	if [[ -r /etc/os-release ]]; then
		# shellcheck source=/dev/null
		codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
	fi

	# bookworm's own meson (1.0) is too old for mediasoup (>= 1.1); bookworm-backports has one.
	if ((need_meson)) && [[ "$codename" == bookworm ]] &&
		! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		log "adding the bookworm-backports apt source (for meson >= 1.1)"
		printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm-backports' \
			'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
			"${sudo[@]}" tee /etc/apt/sources.list.d/backports.sources >/dev/null
	fi

	log "installing build dependencies: $wanted"
	"${sudo[@]}" apt-get update
	if ((${#missing[@]})); then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	if ((need_meson)); then
		if [[ "$codename" == bookworm ]]; then
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends -t bookworm-backports meson
		else
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends meson
		fi
		meson_is_recent || die "meson >= 1.1 is required, found: $(meson --version 2>/dev/null || echo none)"
	fi
}

# Puts each shim of ./subprojects where meson looks for the matching wrap's sources: the
# folder named by `directory =` in worker/subprojects/<shim>.wrap. Meson then uses the folder
# as it is and downloads nothing.
install_shims() {
	local worker="$1" shim name wrap dir

	for shim in "$script_dir"/subprojects/*/; do
		name=$(basename -- "$shim")
		wrap="$worker/subprojects/$name.wrap"
		[[ -f "$wrap" ]] || die "mediasoup $version has no subprojects/$name.wrap: the shims in $script_dir/subprojects need updating"
		dir=$(sed -n 's/^[[:space:]]*directory[[:space:]]*=[[:space:]]*//p' "$wrap" | tr -d '[:space:]')
		[[ -n "$dir" && "$dir" != */* && "$dir" != .* ]] || die "cannot read 'directory' from $wrap"
		rm -rf -- "$worker/subprojects/$dir"
		cp -R -- "${shim%/}" "$worker/subprojects/$dir"
		log "subproject $name -> subprojects/$dir (shim on Debian's library)"
	done
}

# mediasoup's BIO callback returns 1 instead of the real result after every BIO operation,
# because it compares the operation with BIO_CB_RETURN while OpenSSL passes
# `operation | BIO_CB_RETURN`. Debian's OpenSSL supports kernel TLS and asks the BIO whether
# kTLS is on; told "yes" it never allocates its write buffer and the worker crashes (SIGSEGV)
# on the first DTLS handshake. Testing the bit fixes it.
patch_dtls_bio_callback() {
	local file="$1/src/RTC/DtlsTransport.cpp"
	local old='const long resultOfcallback = (operationType == BIO_CB_RETURN) ? static_cast<long>(ret) : 1;'
	local new='const long resultOfcallback = ((operationType & BIO_CB_RETURN) != 0) ? static_cast<long>(ret) : 1;'
	local count

	count=$(grep -cF -- "$old" "$file" || true)
	if [[ "$count" != 1 ]]; then
		die "$(printf '%s\n' \
			"worker/src/RTC/DtlsTransport.cpp of mediasoup $version does not contain (exactly once) the line" \
			"    $old" \
			"that the offline build must patch: without the fix, a worker linked with Debian's OpenSSL" \
			"crashes on the first DTLS handshake. Check whether this mediasoup version fixed the BIO" \
			"callback (BIO_CB_RETURN must be tested as a bit) and update patch_dtls_bio_callback in $0.")"
	fi

	sed -i 's/(operationType == BIO_CB_RETURN) ?/((operationType \& BIO_CB_RETURN) != 0) ?/' "$file"
	grep -qF -- "$new" "$file" || die "patching $file failed"
	log "patched src/RTC/DtlsTransport.cpp (BIO callback tests BIO_CB_RETURN as a bit)"
}

build_offline() {
	local build_root worker build build_log started jobs="${MEETOPIA_WORKER_BUILD_JOBS:-2}"

	log "building mediasoup-worker $version offline from node_modules/mediasoup/worker"
	install_build_deps

	build_root=$(mktemp -d "${TMPDIR:-/tmp}/mediasoup-worker-build.XXXXXX")
	if [[ "${MEETOPIA_WORKER_KEEP_BUILD:-0}" == 1 ]]; then
		log "keeping the build tree: $build_root"
	else
		cleanup_paths+=("$build_root")
	fi
	worker="$build_root/worker"
	build="$build_root/build"
	build_log="$cache_dir/build.log"

	# Work on a copy: node_modules stays as npm installed it.
	cp -R -- "$pkg_dir/worker" "$worker"
	rm -rf -- "$worker/out" "$worker/prebuild" "$worker/pip_invoke"

	install_shims "$worker"
	patch_dtls_bio_callback "$worker"

	: >"$build_log"
	log "meson setup (log: $build_log)"
	if ! meson setup --buildtype release -Db_ndebug=true --wrap-mode=nodownload \
		"$build" "$worker" >>"$build_log" 2>&1; then
		tail -n 40 "$build_log" >&2
		die "meson setup failed; full log: $build_log"
	fi

	log "compiling with $jobs jobs (about 3 minutes with 2)"
	started=$SECONDS
	# Show every 50th ninja step as progress; the full output goes to the log.
	if ! ninja -C "$build" -j "$jobs" mediasoup-worker 2>&1 | tee -a "$build_log" |
		awk '/^\[[0-9]+\/[0-9]+\]/ {
			split(substr($1, 2, length($1) - 2), step, "/")
			if (step[1] % 50 == 0 || step[1] == step[2]) {
				printf "[mediasoup-worker] compiled %s/%s\n", step[1], step[2] > "/dev/stderr"
				fflush("/dev/stderr")
			}
		}'; then
		tail -n 40 "$build_log" >&2
		die "build failed; full log: $build_log"
	fi
	log "compiled in $((SECONDS - started)) s"

	runs_here "$build/mediasoup-worker" || die "the built worker does not run on this host"
	install_into_cache "$build/mediasoup-worker" "offline build against Debian libraries (shims $(shims_fingerprint))"
}

# Points mediasoup's default worker path at $1, so the Node library finds it with no env var.
link_default() {
	local target="$1" dir tmp
	dir=$(dirname -- "$default_bin")

	if [[ -e "$default_bin" && "$(readlink -f -- "$default_bin")" == "$(readlink -f -- "$target")" ]]; then
		return 0
	fi
	mkdir -p -- "$dir" || die "cannot create $dir"
	tmp="$dir/.mediasoup-worker.$$.tmp"
	if ! { ln -sfn -- "$target" "$tmp" && mv -Tf -- "$tmp" "$default_bin"; }; then
		die "cannot link $default_bin -> $target (set MEDIASOUP_WORKER_BIN=$target instead)"
	fi
	log "linked node_modules/mediasoup/worker/out/Release/mediasoup-worker -> $target"
}

main() {
	local bin=""

	if [[ -n "${MEDIASOUP_WORKER_BIN:-}" ]]; then
		if [[ -f "$MEDIASOUP_WORKER_BIN" && -x "$MEDIASOUP_WORKER_BIN" ]]; then
			bin=$(readlink -f -- "$MEDIASOUP_WORKER_BIN")
			log "using MEDIASOUP_WORKER_BIN ($bin)"
		else
			log "MEDIASOUP_WORKER_BIN=$MEDIASOUP_WORKER_BIN is not an executable file; ignoring it here" \
				"(mediasoup will still use that path at run time while it is set)"
		fi
	fi

	if [[ -z "$bin" ]]; then
		mkdir -p -- "$cache_dir"
		# One build at a time per version: a second caller waits, then finds the cache filled.
		if command -v flock >/dev/null; then
			exec 9>"$cache_dir/.lock"
			if ! flock -n 9; then
				log "another ensure.sh is preparing mediasoup-worker $version; waiting"
				flock 9
			fi
		fi

		if [[ -f "$cached_bin" && -x "$cached_bin" ]]; then
			if runs_here "$cached_bin"; then
				bin="$cached_bin"
				log "using cached $cached_bin"
				if grep -q '^origin: offline build' "$cache_dir/ORIGIN" 2>/dev/null &&
					! grep -qF "shims $(shims_fingerprint)" "$cache_dir/ORIGIN"; then
					log "note: scripts/mediasoup-worker/subprojects changed since this binary was built;" \
						"delete $cache_dir to rebuild"
				fi
			else
				log "cached $cached_bin does not run on this host; replacing it"
				rm -f -- "$cached_bin"
			fi
		fi
	fi

	# A real file at the default path was put there by mediasoup's own postinstall (this
	# script only ever puts a symlink there): keep it rather than download it again.
	if [[ -z "$bin" && -f "$default_bin" && ! -L "$default_bin" ]] && runs_here "$default_bin"; then
		install_into_cache "$default_bin" "mediasoup postinstall (found in node_modules)"
		bin="$cached_bin"
	fi

	if [[ -z "$bin" ]]; then
		if [[ "${MEETOPIA_WORKER_OFFLINE:-0}" == 1 ]]; then
			log "MEETOPIA_WORKER_OFFLINE=1: not trying the prebuilt download"
		elif try_prebuilt; then
			bin="$cached_bin"
		fi
	fi

	if [[ -z "$bin" ]]; then
		build_offline
		bin="$cached_bin"
	fi

	link_default "$bin"
	log "worker binary: $bin"
	printf '%s\n' "$bin"
}

main "$@"
