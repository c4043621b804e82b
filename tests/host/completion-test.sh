#!/usr/bin/env bash
# The shell completions the build generated from the verb table (vdusectl
# completion SHELL): bash's function, run as bash would run it, and fish's
# complete -C offer every verb, every option of every verb (as each verb's
# --help lists them), every column of list -o (as vdusectl(8) documents
# them), device names from the --state-dir given on the command line, and
# what each option's value is (files, choices, nothing for a number); zsh's
# passes zsh -n and names every option of every verb.
# Usage: completion-test.sh SRCDIR VDUSECTL COMPLETIONS-DIR
set -uo pipefail
src=$1 vdusectl=$2 generated=$3
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
	' _ "$generated/vdusectl" "$@"
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
expect "add bind check completion del detach gc list persist recover resize restart restore show stats unpersist" vdusectl ""
expect "alpha beta" vdusectl recover ""
expect "del detach" vdusectl de
expect "detach" vdusectl det
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
# What issue 28 found drifted: an option's value is not a device name, a
# spec is a file, restore's names are persistent devices.
expect "" vdusectl del --wait ""
touch "$tmp/dev.json"
expect "$tmp/dev.json" vdusectl add --spec "$tmp/dev"
expect "--help --local --network" vdusectl restore --
mkdir "$tmp/persist" && touch "$tmp/persist/keep0.json"
got=$(VDUSE_PERSIST_DIR=$tmp/persist complete_words vdusectl restore "")
[ "$got" = "keep0 " ] && echo "ok: restore completes persistent devices" || fail "restore completes '$got', expected keep0"
expect "--json" vdusectl persist --js
# --state-dir on the command line, not the default's devices.
mkdir "$tmp/other" && sed 's/alpha/gamma/g' "$tmp/state/alpha.json" >"$tmp/other/gamma.json"
expect "gamma" vdusectl --state-dir "$tmp/other" show ""
expect "gamma" vdusectl show --state-dir "$tmp/other" ""
expect "--json=short" vdusectl show --json=s
expect "short" vdusectl list --json = s
expect "--load" vdusectl check --l
# --file completes file names.
touch "$tmp/disk-image.img"
expect "$tmp/disk-image.img" vdusectl add -t file --file "$tmp/disk-"

if zsh -n "$generated/_vdusectl"; then echo "ok: zsh -n _vdusectl"; else fail "zsh -n _vdusectl"; fi
if fish --no-execute "$generated/vdusectl.fish"; then
	echo "ok: fish --no-execute vdusectl.fish"
else
	fail "fish --no-execute vdusectl.fish"
fi
# fish, for real: device names and backend types.
got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl show '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "alpha beta " ] && echo "ok: fish completes show to '$got'" || fail "fish completes show to '$got'"
got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl add -t '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "file loop nbd null rbd vhost-user " ] && echo "ok: fish completes add -t to '$got'" || fail "fish completes add -t to '$got'"

# Every verb, every option and every column, against what the program and
# its man page say, in bash and fish.
verbs=$("$vdusectl" --help | awk '/^Subcommands:/{f=1; next} f && /^  [a-z]/{print $1}' | sort | tr '\n' ' ')
[ -n "$verbs" ] || fail "no verbs in vdusectl --help"
got=$(complete_words vdusectl "")
[ "$got" = "$verbs" ] && echo "ok: bash completes the verbs of --help" || fail "bash verbs '$got', --help '$verbs'"
got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "$verbs" ] && echo "ok: fish completes the verbs of --help" || fail "fish verbs '$got', --help '$verbs'"
for verb in $verbs; do
	want=$("$vdusectl" "$verb" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	got=$(complete_words vdusectl "$verb" -- | tr ' ' '\n' | grep -- '^--' | sort -u)
	missing=$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	[ -z "$missing" ] || fail "bash: vdusectl $verb -- lacks $missing"
	got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl $verb --'" | cut -f1 | sed 's/=.*//' | sort -u)
	missing=$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	[ -z "$missing" ] || fail "fish: vdusectl $verb -- lacks $missing"
	section=$(awk -v v="$verb" '$1 == v ")" {f=1; next} f && /^\t\t\t;;/{exit} f' "$generated/_vdusectl")
	for option in $want; do
		grep -qF -- "$option[" <<<"$section" || grep -qF -- "$option=[" <<<"$section" ||
			fail "zsh: $verb's section lacks $option"
	done
done
echo "ok: every option of every verb completes (bash, fish) and is in zsh's spec"
columns=$(awk '/^# /{f = ($0 == "# DEVICE FIELDS"); next} f && /^\*[a-z_]+\*$/{gsub(/\*/, ""); print}' \
	"$src/man/vdusectl.8.scd" | sort | tr '\n' ' ')
got=$(complete_words vdusectl list -o "")
[ "$got" = "$columns" ] && echo "ok: bash completes every column" || fail "bash list -o: '$got', documented '$columns'"
got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl list -o '" | cut -f1 | sort | tr '\n' ' ')
[ "$got" = "$columns" ] && echo "ok: fish completes every column" || fail "fish list -o: '$got', documented '$columns'"
got=$(fish -c "source $generated/vdusectl.fish; complete -C 'vdusectl --state-dir $tmp/other show '" | cut -f1 | tr '\n' ' ')
[ "$got" = "gamma " ] && echo "ok: fish honours --state-dir" || fail "fish --state-dir: '$got'"
for shell in bash zsh fish; do
	cmp -s <("$vdusectl" completion "$shell") "$generated/$(case $shell in bash) echo vdusectl ;; zsh) echo _vdusectl ;; fish) echo vdusectl.fish ;; esac)" ||
		fail "the installed $shell completion is not what vdusectl completion $shell prints"
done
exit $((fails > 0))
