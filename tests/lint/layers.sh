#!/usr/bin/env bash
# Checks the layering of lib/ (lib/meson.build): a file in lib/LAYER/ may
# include only headers of its own layer and of the layers below it, always
# as "LAYER/file.h". Prints every violation; exits 1 if there is any.
set -euo pipefail
root=${1:-$(dirname "$0")/../..}
cd "$root/lib"
layers=(base virtio vduse vdpa state remote systemd)
rank() {
	local i
	for i in "${!layers[@]}"; do
		[ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo -1
}
bad=0
checked=0
for dir in */; do
	layer=${dir%/}
	own=$(rank "$layer")
	if [ "$own" -lt 0 ]; then
		echo "lib/$layer: not a known layer (add it to lib/meson.build and ${0##*/})"
		bad=1
		continue
	fi
	for file in "$layer"/*.h "$layer"/*.cpp; do
		[ -e "$file" ] || continue
		while IFS= read -r line; do
			inc=${line#*\"}
			inc=${inc%%\"*}
			checked=$((checked + 1))
			[ "$inc" = config.h ] && continue
			if [[ $inc != */* ]]; then
				echo "lib/$file: #include \"$inc\" does not name its layer"
				bad=1
				continue
			fi
			target=$(rank "${inc%%/*}")
			if [ "$target" -lt 0 ]; then
				echo "lib/$file: #include \"$inc\" is not in a layer"
				bad=1
			elif [ "$target" -gt "$own" ]; then
				echo "lib/$file: layer $layer includes \"$inc\" from the higher layer ${inc%%/*}"
				bad=1
			fi
		done < <(grep -E '^#include "' "$file" || true)
	done
done
[ "$checked" -gt 0 ] || { echo "no includes found under lib/: wrong directory?"; exit 1; }
[ "$bad" -eq 0 ] && echo "lib/ layering: $checked includes checked, none upward"
exit "$bad"
