#!/usr/bin/env bash
# Builds the test kernel (Linux 6.12 from Debian's linux-source-6.12, with
# kernel.config on top of allnoconfig, everything built in) into a cache
# outside the source tree, and prints the bzImage's path.
# Usage: build-kernel.sh [CACHEDIR]   (about 6 minutes on 2 cores)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/kernel.config
key=$(sha256sum "$fragment" | cut -c1-16)
cache=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/vduse-tools}/kernel-6.12-$key
if [ -s "$cache/bzImage" ]; then
	echo "$cache/bzImage"
	exit 0
fi
if [ ! -f /usr/src/linux-source-6.12.tar.xz ]; then
	echo "build-kernel: installing linux-source-6.12 and the kernel build tools" >&2
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends \
		linux-source-6.12 flex bison bc libelf-dev libssl-dev xz-utils make gcc >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-kernel: building into $cache (takes a few minutes)" >&2
tar -C "$work" -xf /usr/src/linux-source-6.12.tar.xz
cd "$work"/linux-source-6.12
make allnoconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
make olddefconfig >/dev/null
make -j"$(nproc)" bzImage >/dev/null
mkdir -p "$cache"
cp .config "$cache/config"
cp arch/x86/boot/bzImage "$cache/bzImage.tmp"
mv "$cache/bzImage.tmp" "$cache/bzImage"
echo "$cache/bzImage"
