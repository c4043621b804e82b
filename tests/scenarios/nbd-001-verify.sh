#!/bin/bash
# The nbd backend against a real NBD server (nbdkit): the size, read-only
# state and features come from the handshake; data written through /dev/vdX
# is verified by fio (crc32c), lands in the server's image byte for byte,
# survives mkfs + files + del + re-add; unix socket, TCP and TLS; multi-conn.
source "$VTEST_LIB"
ip link set lo up

# conn_wakeups NAME INDEX NODE: how often the thread of NAME's connection
# INDEX woke (voluntary context switches) over 2000 4k reads of NODE at QD1.
conn_wakeups() {
	local pid task before after
	pid=$(device_field "$1" pid)
	task=$(grep -lx "nbd-conn$2" /proc/"$pid"/task/*/comm | head -1)
	[ -n "$task" ] || fail "$1 has no thread nbd-conn$2"
	task=${task%/comm}
	before=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$task/status")
	fio --name=qd1 --filename="$3" --rw=randread --bs=4k --iodepth=1 --ioengine=psync \
		--direct=1 --size=16M --number_ios=2000 >/dev/null || fail "fio QD1 on $3 failed"
	after=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$task/status")
	echo $((after - before))
}
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
nbd_start disk file "$img/disk.img"
url="nbd+unix:///?socket=/run/nbd/disk.sock"

read -r name node <<<"$("$VDUSECTL" add -t nbd --url "$url" --queues 2 --name nbd0)"
expect_eq "size from the server" 268435456 "$(blockdev --getsize64 "$node")"
expect_eq "source in show" "$url" "$(device_field nbd0 source)"
wait_for 10 "connection established" field_is nbd0 connection connected
pass "connection: $(device_field nbd0 connection)"
# The nbd backend loads libnbd, and not Ceph's libraries.
maps=/proc/$(device_field nbd0 pid)/maps
[ "$(grep -c '/libnbd\.so' "$maps")" -gt 0 ] || fail "nbd0's vdused has not mapped libnbd"
expect_eq "librbd and librados in nbd0's vdused" 0 "$(grep -cE '/lib(rbd|rados)\.so' "$maps")"
expect_contains "list names the URI" "$url" "$("$VDUSECTL" list)"
# nbdkit's file plugin allows multi-conn: one connection per queue.
wait_for 10 "the second connection" grep -q "connection 1 to .* established" /run/vduse/nbd0.log
pass "one connection per queue (multi-conn): $(grep -c 'established' /run/vduse/nbd0.log) established"
expect_eq "discard offered (the server can trim)" 1 "$([ "$(cat /sys/block/"$(basename "$node")"/queue/discard_max_bytes)" -gt 0 ] && echo 1)"

fio_verify nbd-unix "$node" 4k-1M 48M

# What the driver wrote is what the server holds.
dd if=/dev/urandom of="$TMPDIR/pattern" bs=1M count=8 status=none
dd if="$TMPDIR/pattern" of="$node" bs=1M seek=100 oflag=direct conv=fsync status=none
cmp <(dd if="$img/disk.img" bs=1M skip=100 count=8 status=none) "$TMPDIR/pattern" ||
	fail "the server's image differs from what was written through $node"
pass "8 MiB written through $node are in the server's image"
# Write zeroes and discard reach the server.
blkdiscard -z -o $((100 << 20)) -l $((4 << 20)) "$node"
cmp <(dd if="$img/disk.img" bs=1M skip=100 count=4 status=none) <(head -c $((4 << 20)) /dev/zero) ||
	fail "write zeroes did not zero the server's image"
pass "blkdiscard -z zeroed 4 MiB on the server"
blkdiscard -o $((104 << 20)) -l $((4 << 20)) "$node"
pass "blkdiscard (trim) succeeded"

# A file system, across del and add.
mkfs.ext4 -q -F "$node"
mkdir -p /run/mnt
mount "$node" /run/mnt
for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >"/run/mnt/f$i"; done
sums=$(cd /run/mnt && sha256sum f1 f2 f3)
umount /run/mnt
"$VDUSECTL" del nbd0
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --name nbd0)"
e2fsck -fn "$node" >/dev/null || fail "e2fsck found errors after del and re-add"
pass "e2fsck clean after del + add"
# The connection's thread wakes once per reply at QD1, not once more per
# request to take up the reply deadline (it looks at it within io_timeout).
expect_le "wake-ups of nbd-conn0 over 2000 reads at QD1" 2600 "$(conn_wakeups nbd0 0 "$node")"
mount "$node" /run/mnt
expect_eq "file checksums after re-add" "$sums" "$(cd /run/mnt && sha256sum f1 f2 f3)"
umount /run/mnt
"$VDUSECTL" del nbd0

# TCP, and a server with fewer features: read-only, no zeroes, no multi-conn.
nbd_start tcp --port 10809 memory size=64M
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url nbd://127.0.0.1:10809/ --queues 2 --name tcp0)"
expect_eq "size of the TCP export" 67108864 "$(blockdev --getsize64 "$node")"
fio_verify nbd-tcp "$node" 4k-256k 16M
"$VDUSECTL" del tcp0
# TLS with a pre-shared key: the URI names the key file, and the key appears
# nowhere vdusectl or vdused write.
psk=/run/nbd/keys.psk
printf 'alice:%s\n' "$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >"$psk"
chmod 600 "$psk"
nbd_start tls --tls=require --tls-psk="$psk" memory size=16M
tls_url="nbds+unix://alice@/?socket=/run/nbd/tls.sock&tls-psk-file=$psk"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$tls_url" --name tls0)"
fio_verify nbd-tls "$node" 4k-64k 4M
key=$(cut -d: -f2 "$psk")
if grep -rqF "$key" /run/vduse /run/systemd/system 2>/dev/null || "$VDUSECTL" show tls0 | grep -qF "$key"; then
	fail "the TLS key appears in the state directory or in show"
fi
pass "the TLS key is nowhere in the state directory, the drop-ins or show"
"$VDUSECTL" del tls0
expect_status "plain NBD to a TLS-only server" 1 "tls0: cannot connect to" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/tls.sock" --name tls0

nbd_start nz --filter=nozero memory size=16M
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/nz.sock" --name nz0)"
expect_eq "no write zeroes offered by a server without them" 0 "$(cat /sys/block/"$(basename "$node")"/queue/write_zeroes_max_bytes)"
expect_eq "the record says no write zeroes" false "$(jq -r .spec.write_zeroes /run/vduse/nz0.json)"
"$VDUSECTL" del nz0
nbd_start ro --read-only --filter=multi-conn file "$img/disk.img" multi-conn-mode=disable
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/ro.sock" --queues 2 --name ro0 --json=short | jq -r '.name + " " + .node')"
expect_eq "read-only server: read-only device" 1 "$(blockdev --getro "$node")"
expect_eq "read_only in show" true "$(device_field ro0 read_only)"
dd if="$node" of=/dev/null bs=1M count=16 iflag=direct status=none
pass "reads work on the read-only device"
if dd if=/dev/zero of="$node" bs=4k count=1 oflag=direct status=none 2>/dev/null; then
	fail "a write to the read-only device succeeded"
fi
pass "a write to the read-only device fails"
wait_for 10 "connection" grep -q "connection 0 to .* established" /run/vduse/ro0.log
grep -q "connection 1" /run/vduse/ro0.log && fail "two connections to a server without multi-conn"
pass "one shared connection without multi-conn"
"$VDUSECTL" del ro0
expect_clean
