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

# ensure_build ROOT: configures ROOT/build once and compiles it: ninja's
# one-line progress on a terminal, otherwise one line before and one after
# (its output goes to build/compile.log, shown if the build fails).
ensure_build() {
	local root=$1 log=$1/build/compile.log start=$SECONDS
	# meson compiles through ccache when it is installed: a file compiled
	# before, in this clone or in another one (CI's clean clones), is taken
	# from ~/.cache/ccache. Paths under the clone are made relative, and the
	# build directory is left out of the key, so that another clone's
	# objects count (their debug information names that clone's directory).
	export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
	if [ ! -f "$root/build/build.ninja" ]; then
		echo "vduse-tools: configuring $root/build" >&2
		meson setup "$root/build" "$root" >/dev/null
	fi
	echo "vduse-tools: compiling in $root/build (the first time takes a few minutes)" >&2
	if [ -t 1 ]; then
		meson compile -C "$root/build" >&2
	elif ! meson compile -C "$root/build" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "vduse-tools: the build failed; its output is in $log" >&2
		return 1
	fi
	echo "vduse-tools: compiled in $((SECONDS - start)) s" >&2
}

# ensure_kernel ROOT: exports VDUSE_TEST_KERNEL, the guest's kernel: as set,
# or the one tests/vm/build-kernel.sh builds from Debian's current
# linux-source-6.12 (once; cached in ~/.cache/vduse-tools), and says which
# Linux it is, so that every run's log names the kernel it tested.
ensure_kernel() {
	local root=$1
	if [ -z "${VDUSE_TEST_KERNEL:-}" ]; then
		VDUSE_TEST_KERNEL=$("$root/tests/vm/build-kernel.sh") || return 1
	fi
	export VDUSE_TEST_KERNEL
	echo "vduse-tools: the guests boot Linux $("$root/tests/vm/kernel-version.sh" "$VDUSE_TEST_KERNEL" || echo '(unknown version)') from $VDUSE_TEST_KERNEL" >&2
}
