#!/bin/bash
# Every bad input gets a one-line error naming the value, the right exit
# status, and leaves nothing behind.
source "$VTEST_LIB"

expect_status "no backend" 2 "--type" "$VDUSECTL" add --size 1G
expect_status "size 0" 2 "size must not be 0" "$VDUSECTL" add -t null --size 0
expect_status "size not a multiple" 2 "size 1000 is not a multiple of the block size 512" "$VDUSECTL" add -t null --size 1000
expect_status "size 4k device" 2 "not a multiple of the block size 4096" "$VDUSECTL" add -t null --size 6K --block-size 4096
expect_status "size unparsable" 2 "size 'lots'" "$VDUSECTL" add -t null --size lots
expect_status "size unit" 2 "unknown unit 'X'" "$VDUSECTL" add -t null --size 1X
expect_status "size not whole" 2 "size '1.3K' is not a whole number of bytes" "$VDUSECTL" add -t null --size 1.3K
expect_status "size empty" 2 "add: --size: the value is empty" "$VDUSECTL" add -t null --size ""
expect_status "state dir empty" 2 "--state-dir: the value is empty" "$VDUSECTL" --state-dir "" list
expect_status "queues empty" 2 "--queues: the value is empty" "$VDUSECTL" add -t null --size 1G --queues ""
expect_status "queues 0" 2 "queue count 0 is out of range" "$VDUSECTL" add -t null --size 1G --queues 0
expect_status "queues too many" 2 "queue count 257 is out of range" "$VDUSECTL" add -t null --size 1G --queues 257
expect_status "depth not a power of two" 2 "queue depth 100 is not a power of two" "$VDUSECTL" add -t null --size 1G --queue-depth 100
expect_status "depth too large" 2 "queue depth 65536 is out of range" "$VDUSECTL" add -t null --size 1G --queue-depth 65536
expect_status "block size" 2 "block size 1024" "$VDUSECTL" add -t null --size 1G --block-size 1024
expect_status "name with /" 2 "device name 'a/b'" "$VDUSECTL" add -t null --size 1G --name a/b
expect_status "name too long" 2 "is too long" "$VDUSECTL" add -t null --size 1G --name "$(printf 'x%.0s' $(seq 65))"
expect_status "unknown backend" 2 "unknown backend 'tape'" "$VDUSECTL" add -t tape --size 1G
expect_status "unknown driver" 2 "unknown driver 'pci'" "$VDUSECTL" add -t null --size 1G --driver pci
expect_status "serial too long" 2 "longer than 20 bytes" "$VDUSECTL" add -t null --size 1G --serial 123456789012345678901
expect_clean

"$VDUSECTL" add -t null --size 1G --name dup >/dev/null
expect_status "duplicate name" 1 "device 'dup' already exists" "$VDUSECTL" add -t null --size 1G --name dup
# Usage errors are found before the name is looked up: exit 2, not 1.
expect_status "bad backend and a taken name" 2 "unknown backend 'bogus'" "$VDUSECTL" add -t bogus --name dup
expect_eq "a global option after the verb" "" "$("$VDUSECTL" list --no-legend --state-dir /run/no-such-state)"
expect_eq "the first dup still runs" running "$(device_field dup state)"
"$VDUSECTL" del dup
expect_clean

expect_status "vdused missing" 1 "cannot run vdused at /nonexistent/vdused" \
	env VDUSED=/nonexistent/vdused "$VDUSECTL" add -t null --size 1G
expect_clean
expect_status "vdused crashing before ready" 1 "vdused exited with status 1 before it was ready" \
	env VDUSED=/bin/false "$VDUSECTL" add -t null --size 1G
expect_clean
crash=$TMPDIR/crash-vdused
printf '#!/bin/sh\necho "simulated crash" >&2\nkill -SEGV $$\n' >"$crash"
chmod +x "$crash"
expect_status "vdused killed before ready" 1 "was killed by signal" \
	env VDUSED="$crash" "$VDUSECTL" add -t null --size 1G
expect_clean

# No /dev/vduse/control: hide it in a private mount namespace.
expect_status "no VDUSE in the kernel" 1 "cannot open /dev/vduse/control: No such file or directory (VDUSE is not loaded or not in this kernel: 'vdusectl check' says which, and the fix)" \
	unshare -m sh -c "mount -t tmpfs none /dev/vduse && exec $VDUSECTL add -t null --size 1G"
expect_clean

expect_status "del of an unknown device" 1 "device 'ghost' does not exist" "$VDUSECTL" del ghost
expect_status "del without names" 2 "name the devices to delete, or use --all" "$VDUSECTL" del
expect_status "del with names and --all" 2 "--all takes no device names" "$VDUSECTL" del --all x
expect_status "show of an unknown device" 1 "device 'ghost' does not exist" "$VDUSECTL" show ghost
expect_status "unknown verb" 2 "unknown verb 'frobnicate'" "$VDUSECTL" frobnicate
expect_status "no verb" 2 "no verb given" "$VDUSECTL"
expect_status "an extra argument" 2 "unexpected argument 'x'" "$VDUSECTL" list x
expect_status "bad --json mode" 2 "--json takes pretty, short or off, not 'yaml'" "$VDUSECTL" list --json=yaml
expect_status "unknown column" 2 "unknown column 'colour'" "$VDUSECTL" list -o name,colour
expect_status "unknown option" 2 "--bogus" "$VDUSECTL" add -t null --size 1G --bogus
expect_clean
