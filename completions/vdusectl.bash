# bash completion for vdusectl                               -*- shell-script -*-

_vdusectl_devices()
{
	vdusectl list --no-legend 2>/dev/null | while read -r name _; do
		printf '%s\n' "$name"
	done
}

_vdusectl()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion || return
	else
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi

	local verbs='add del list show stats resize bind recover restart restore persist unpersist gc check'
	local global_opts='-h --help --version -v --verbose --state-dir --no-systemd'
	local verb='' i
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		--state-dir) ((i++)) ;;
		-*) ;;
		*) verb=${words[i]}; break ;;
		esac
	done

	case $prev in
	--state-dir)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-t | --type)
		COMPREPLY=($(compgen -W 'null file loop nbd rbd vhost-user' -- "$cur"))
		return ;;
	--driver)
		COMPREPLY=($(compgen -W 'virtio vhost' -- "$cur"))
		return ;;
	--ceph-conf | --keyring | --socket)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--socket-owner)
		COMPREPLY=($(compgen -u -- "$cur"))
		return ;;
	--reconnect-timeout | --io-timeout)
		COMPREPLY=($(compgen -W 'forever' -- "$cur"))
		return ;;
	--cpus)
		COMPREPLY=($(compgen -W 'any' -- "$cur"))
		return ;;
	--bounce-memory)
		COMPREPLY=($(compgen -W 'default hugepage shmem auto' -- "$cur"))
		return ;;
	--url | --image | --namespace | --snap | --id)
		return ;;
	-f | --file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-b | --block-size)
		COMPREPLY=($(compgen -W '512 4096' -- "$cur"))
		return ;;
	-o | --output)
		local fields='name state hint node driver bound_driver pid unit unit_state status restarts
		              persistent backend source connection reconnect_timeout io_timeout socket_owner target_features file mode direct size_bytes block_size
		              physical_block_size queues queue_depth read_only serial'
		local prefix=''
		[[ $cur == *,* ]] && prefix=${cur%,*},
		COMPREPLY=($(compgen -P "$prefix" -W "$fields" -- "${cur##*,}"))
		compopt -o nospace 2>/dev/null
		return ;;
	-s | --size | -n | --name | -q | --queues | -d | --queue-depth | --serial)
		return ;;
	esac
	# --json=MODE, whether or not bash split the word at the "=".
	if [[ $prev == = && ${words[cword - 2]} == --json ]]; then
		COMPREPLY=($(compgen -W 'pretty short off' -- "$cur"))
		return
	fi
	if [[ $cur == --json=* ]]; then
		COMPREPLY=($(compgen -P --json= -W 'pretty short off' -- "${cur#--json=}"))
		return
	fi

	local opts
	case $verb in
	'')
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
		fi
		return ;;
	add)
		opts='-h --help -t --type -s --size -f --file --direct --grow --url --image
		      --namespace --snap --id --ceph-conf --keyring --socket --reconnect-timeout --io-timeout --socket-owner -n --name -q --queues
		      -d --queue-depth -b --block-size -r --read-only --serial --driver
		      --cpus --bounce-size --bounce-memory -p --persistent -j --json --spec' ;;
	del)
		opts='-h --help -a --all --wait -f --force -k --keep-spec' ;;
	list)
		opts='-h --help -j --json -o --output --no-legend' ;;
	show)
		opts='-h --help -j --json' ;;
	check)
		opts='-h --help -l --load -j --json' ;;
	resize)
		opts='-h --help --shrink -j --json' ;;
	bind)
		opts='-h --help --driver --force' ;;
	gc)
		opts='-h --help -y --yes -j --json' ;;
	stats)
		opts='-h --help -j --json -w --watch' ;;
	*)
		opts='-h --help' ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [[ $verb == del || $verb == show || $verb == stats || $verb == resize || $verb == bind || $verb == recover || $verb == restart || $verb == persist || $verb == unpersist ]]; then
		COMPREPLY=($(compgen -W "$(_vdusectl_devices)" -- "$cur"))
	fi
} &&
	complete -F _vdusectl vdusectl
