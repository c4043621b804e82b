#!/usr/bin/env bash
# Prints the version string a bzImage carries (the boot protocol's
# kernel_version field: a pointer at 0x20e to the string, less 0x200;
# Documentation/arch/x86/boot.rst), e.g.
# "6.12.118 (root@host) (gcc ...) #1 SMP PREEMPT_DYNAMIC ...".
# Usage: kernel-version.sh BZIMAGE
set -euo pipefail
image=${1:?usage: kernel-version.sh BZIMAGE}
[ "$(dd if="$image" bs=1 skip=514 count=4 status=none)" = HdrS ] ||
	{ echo "kernel-version.sh: $image is not a bzImage" >&2; exit 1; }
pointer=$(od -An -tu2 -j526 -N2 "$image" | tr -d ' ')
dd if="$image" bs=1 skip=$((pointer + 512)) count=256 status=none | tr '\0' '\n' | head -n1
