# Set-up shared by tools/demo and tools/test-all (sourced): installs the
# Debian packages the build and the tests need when some are missing, and
# configures ./build.

# ensure_dependencies: runs tools/install-deps.sh (with sudo when not root)
# if any package it names is missing, saying which and why.
ensure_dependencies() {
	local root=$1 missing
	command -v dpkg-query >/dev/null ||
		{ echo "vduse-tools: not a Debian system: install the packages of tools/install-deps.sh by hand" >&2; return 0; }
	missing=$("$root/tools/install-deps.sh" --missing)
	[ -n "$missing" ] || return 0
	echo "vduse-tools: installing $(wc -w <<<"$missing") Debian package(s) the build and the tests need:" >&2
	echo "  $(tr '\n' ' ' <<<"$missing")" >&2
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null ||
			{ echo "vduse-tools: not root and no sudo: run tools/install-deps.sh as root" >&2; return 1; }
		echo "vduse-tools: (through sudo; run tools/install-deps.sh yourself to do it by hand)" >&2
	fi
	"$root/tools/install-deps.sh" >&2
}

# ensure_build ROOT: configures ROOT/build once and compiles it.
ensure_build() {
	local root=$1
	[ -f "$root/build/build.ninja" ] || meson setup "$root/build" "$root" >/dev/null
	meson compile -C "$root/build" >/dev/null
}
