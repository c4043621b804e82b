#!/usr/bin/env bash
# Installs every build and test dependency of vduse-tools from Debian packages.
# Safe to run again; needs root (or sudo).
set -euo pipefail

packages=(
	# build
	meson ninja-build pkg-config g++ clang-format clang-tidy
	libnl-3-dev libnl-genl-3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
	libsystemd-dev liburing-dev libcli11-dev libkmod-dev libgtest-dev libsmartcols-dev scdoc
	# guest tests and benchmark
	qemu-system-x86 qemu-system-common fio iproute2 util-linux e2fsprogs
	systemd kmod jq coreutils procps zsh fish bash-completion
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${packages[@]}"
