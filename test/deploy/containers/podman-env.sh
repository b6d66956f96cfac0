# Sourced by the deploy tests' scripts: podman as this machine kind needs it (runc, lower
# ulimits, no systemd), with its images kept under the cache so that a second run reuses them.
# Sets CONTAINERS_CONF and CONTAINERS_STORAGE_CONF for this process and its children only:
# nothing in /etc is changed.
# shellcheck shell=bash

meetopia_cache=${MEETOPIA_CACHE_DIR:-$HOME/.cache/meetopia}
podman_dir="$meetopia_cache/podman"
mkdir -p "$podman_dir"

cat >"$podman_dir/containers.conf.new" <<'EOF'
# Written by test/deploy/containers/podman-env.sh.
[containers]
# Podman raises these by default, which this machine kind refuses (setrlimit: not permitted).
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
# crun refuses cgroups in hybrid mode here; there is no systemd.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
cat >"$podman_dir/storage.conf.new" <<EOF
# Written by test/deploy/containers/podman-env.sh.
[storage]
driver = "overlay"
graphroot = "$podman_dir/storage"
runroot = "/run/meetopia-podman/storage"
EOF
mv -f "$podman_dir/containers.conf.new" "$podman_dir/containers.conf"
mv -f "$podman_dir/storage.conf.new" "$podman_dir/storage.conf"

export CONTAINERS_CONF="$podman_dir/containers.conf"
export CONTAINERS_STORAGE_CONF="$podman_dir/storage.conf"
