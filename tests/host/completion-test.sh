#!/usr/bin/env bash
# The shell completions: bash's function, run as bash would run it, offers the
# expected candidates (device names from `vdusectl list`); the zsh and fish
# files pass their shells' syntax checks.
# Usage: completion-test.sh SRCDIR VDUSECTL
set -uo pipefail
src=$1 vdusectl=$2
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A state directory with two device records, and vdusectl first in PATH.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/state"
ln -s "$(realpath "$vdusectl")" "$tmp/bin/vdusectl"
for dev in alpha beta; do
	cat >"$tmp/state/$dev.json" <<JSON
{"spec": {"name": "$dev", "backend": "null", "size_bytes": 1048576, "queues": 1,
 "queue_depth": 128, "block_size": 512, "read_only": false, "driver": "virtio"}, "pid": 0}
JSON
done
export PATH="$tmp/bin:$PATH" VDUSE_STATE_DIR=$tmp/state VDUSE_NO_SYSTEMD=1

# complete WORDS...: the candidates bash's completion offers for the last word.
complete_words() {
	bash -c '
		[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_vdusectl vdusectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$src/completions/vdusectl.bash" "$@"
}
expect() {
	local want=$1 got
	shift
	got=$(complete_words "$@")
	got=${got% }
	if [ "$got" = "$want" ]; then
		echo "ok: '$*' completes to '$got'"
	else
		fail "'$*' completes to '$got', expected '$want'"
	fi
}
expect "add bind check del gc list persist recover resize restart restore show stats unpersist" vdusectl ""
expect "alpha beta" vdusectl recover ""
expect "del" vdusectl de
expect "alpha beta" vdusectl del ""
expect "beta" vdusectl show b
expect "alpha beta" vdusectl del alpha ""
expect "file loop nbd null rbd vhost-user" vdusectl add -t ""
expect "vhost virtio" vdusectl add --driver ""
expect "4096 512" vdusectl add -b ""
expect "--persistent" vdusectl add --pers
expect "--all" vdusectl del --a
expect "--help --json --no-legend --output" vdusectl list --
expect "node,serial node,size_bytes node,socket_owner node,source node,state node,status" vdusectl list -o node,s
expect "--json=short" vdusectl show --json=s
expect "short" vdusectl list --json = s
expect "--load" vdusectl check --l
# --file completes file names.
touch "$tmp/disk-image.img"
expect "$tmp/disk-image.img" vdusectl add -t file --file "$tmp/disk-"

if zsh -n "$src/completions/_vdusectl"; then echo "ok: zsh -n _vdusectl"; else fail "zsh -n _vdusectl"; fi
if fish --no-execute "$src/completions/vdusectl.fish"; then
	echo "ok: fish --no-execute vdusectl.fish"
else
	fail "fish --no-execute vdusectl.fish"
fi
# fish, for real: device names and backend types.
got=$(fish -c "source $src/completions/vdusectl.fish; complete -C 'vdusectl show '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "alpha beta " ] && echo "ok: fish completes show to '$got'" || fail "fish completes show to '$got'"
got=$(fish -c "source $src/completions/vdusectl.fish; complete -C 'vdusectl add -t '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "file loop nbd null rbd vhost-user " ] && echo "ok: fish completes add -t to '$got'" || fail "fish completes add -t to '$got'"
exit $((fails > 0))
