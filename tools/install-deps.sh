#!/usr/bin/env bash
# Installs every build and test dependency of vduse-tools from Debian
# packages (apt-get, with sudo when not root). Safe to run again.
#   tools/install-deps.sh            install what is missing
#   tools/install-deps.sh --missing  print the packages not installed, one a line
set -euo pipefail

packages=(
	# build (meson compiles through ccache when it is installed)
	meson ninja-build pkg-config g++ clang-format clang-tidy ccache
	# the sanitizer and fuzzing build (tests/fuzz/run.sh)
	clang libclang-rt-14-dev
	libnl-3-dev libnl-genl-3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
	libsystemd-dev liburing-dev libcli11-dev libkmod-dev libgtest-dev libsmartcols-dev scdoc
	# the network backends (libnbd, librbd)
	libnbd-dev librbd-dev librados-dev
	# guest tests and benchmark
	qemu-system-x86 qemu-system-common fio iproute2 util-linux e2fsprogs
	systemd udev kmod jq coreutils procps zsh fish bash-completion
	# the FUSE file system of the short-transfer scenario (tests/helpers)
	libfuse3-dev fuse3
	# the Debian package (debian/) and its check
	debhelper fakeroot dpkg-dev lintian
	# the servers the network backends are tested against, in the guest
	nbdkit libnbd-bin ceph-mon ceph-osd ceph-common python3-rados python3-rbd qemu-block-extra
	# qcow2 and LUKS images for the vhost-user bridge's scenario (qemu-img)
	qemu-utils
	# DPDK's vhost library, which SPDK's vhost target is built on
	# (tests/lib/dpdk-vhost-blk serves through it)
	librte-vhost23
	# the operator contract's peers: JSON Schema validation, Prometheus'
	# promtool and node exporter (its textfile collector)
	python3-jsonschema prometheus prometheus-node-exporter
)

missing() {
	local p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

case ${1:-} in
--missing)
	missing
	exit 0
	;;
-h | --help)
	sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
'') ;;
*)
	echo "install-deps.sh: unknown option '$1' (see --help)" >&2
	exit 2
	;;
esac

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
