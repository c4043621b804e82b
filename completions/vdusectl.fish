# fish completion for vdusectl

function __vdusectl_devices
    vdusectl list --no-legend 2>/dev/null | string replace -r '\s.*' ''
end

set -l verbs add del list show recover restart restore check
complete -c vdusectl -f
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a add -d 'Create a block device served by a new vdused'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a del -d 'Remove devices and stop their daemons'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a list -d 'List the devices'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a show -d 'Show devices'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a recover -d 'Start a new vdused for a device whose daemon died'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a restart -d 'Replace the vdused of a device without I/O errors'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a restore -d 'Add every persistent device not there yet'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -a check -d 'Check that this system can run VDUSE devices'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -s v -l verbose -d 'Log more'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -l state-dir -r -a '(__fish_complete_directories)' -d 'State directory'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -l no-systemd -d 'Spawn vdused directly'
complete -c vdusectl -n "not __fish_seen_subcommand_from $verbs" -l version -d 'Show the version'

complete -c vdusectl -n '__fish_seen_subcommand_from add' -s t -l type -x -a 'null file loop nbd rbd' -d Backend
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s s -l size -x -d 'Size (K, M, G, T)'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s f -l file -r -F -d 'Image file or block device'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l direct -d 'Bypass the page cache'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l grow -d 'Let --size grow an existing image'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l url -x -d 'NBD URI of the server'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l image -x -d 'RBD image, POOL/IMAGE'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l namespace -x -d 'RBD namespace'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l snap -x -d 'RBD snapshot (read-only)'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l id -x -d 'Ceph user'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l ceph-conf -r -F -d 'Ceph configuration file'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l keyring -r -F -d 'Ceph keyring file'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l reconnect-timeout -x -a forever -d 'Seconds requests wait for a lost server'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s n -l name -x -d 'Device name'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s q -l queues -x -d 'Number of virtqueues'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s d -l queue-depth -x -d 'Descriptors per queue'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s b -l block-size -x -a '512 4096' -d 'Logical block size'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s r -l read-only -d 'Offer a read-only device'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l serial -x -d 'Serial number'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -l driver -x -a 'virtio vhost' -d 'Driver to bind'
complete -c vdusectl -n '__fish_seen_subcommand_from add' -s p -l persistent -d 'Restore the device at boot'
complete -c vdusectl -n '__fish_seen_subcommand_from add show list check' -s j -l json -a 'pretty short off' -d 'Print JSON'
complete -c vdusectl -n '__fish_seen_subcommand_from del' -s a -l all -d 'Remove every device'
complete -c vdusectl -n '__fish_seen_subcommand_from del' -l wait -x -d 'Seconds to wait for holders of /dev/vhost-vdpa-N'
complete -c vdusectl -n '__fish_seen_subcommand_from del show recover restart' -a '(__vdusectl_devices)' -d 'VDUSE device'
complete -c vdusectl -n '__fish_seen_subcommand_from list' -l no-legend -d 'Print no header line'
complete -c vdusectl -n '__fish_seen_subcommand_from list' -s o -l output -x -a 'name state node driver bound_driver pid unit unit_state status restarts persistent backend file mode direct size_bytes block_size physical_block_size queues queue_depth read_only serial' -d 'Columns to print'
complete -c vdusectl -n '__fish_seen_subcommand_from check' -s l -l load -d 'Load missing kernel modules'
