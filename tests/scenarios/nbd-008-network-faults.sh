#!/bin/bash
# NBD over TCP through a network that fails: nbdkit runs in a network
# namespace of its own, behind a veth pair, as a storage server on another
# host would. Faults on the link, not the server, so that nothing closes the
# socket: replies just stop coming.
# - netem delay and loss on both ends under fio verify;
# - the link down 10 s under fio verify (the reply deadline, --io-timeout 5,
#   severs the connection; connecting fails until the link is back);
# - the link down and vdused killed (-9) and recovered under fio verify;
# - the link down and the driver (the project's vhost client) resetting the
#   device with requests on the wire, then announcing its memory again.
# Each with 0 errors, vdused's pid kept unless killed, the device never
# broken (no VDUSE message left unanswered), and del clean.
source "$VTEST_LIB"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
ns=vtnbd
ip link set lo up
ip netns add "$ns"
ip link add vt-host type veth peer name vt-srv
ip link set vt-srv netns "$ns"
ip addr add 10.77.0.1/24 dev vt-host
ip link set vt-host up
ip -n "$ns" addr add 10.77.0.2/24 dev vt-srv
ip -n "$ns" link set vt-srv up
ip -n "$ns" link set lo up
mkdir -p /run/nbd
# One thread: nbdkit 1.32 aborts when a client's socket goes while another of
# its threads works on a request (see nbd-004).
ip netns exec "$ns" nbdkit --pidfile /run/nbd/net.pid --ipaddr 10.77.0.2 --port 10809 \
	--threads 1 file "$img/disk.img" 2>>/run/nbd/net.log ||
	fail "nbdkit did not start in $ns: $(cat /run/nbd/net.log)"
wait_for 30 "nbdkit's pid file" test -s /run/nbd/net.pid
url=nbd://10.77.0.2:10809

# link up|down: the host's end of the veth pair.
link() { ip link set vt-host "$1"; }
# fio_background NODE SECONDS JOB: random writes with verify on the first
# 64 MiB of each of two 64 MiB halves, in the background (pid in $fio_pid).
fio_background() {
	fio_start "$3" --name="$3" --filename="$1" --rw=randwrite --bsrange=4k-128k --size=64M \
		--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
		--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime="$2"
}
# fio_done WHAT JOB: waits for the background fio; 0 errors.
fio_done() {
	fio_finish "$2" "$1" 90
	pass "$1: $(fio_total write.total_ios) writes verified"
}
connected() {
	wait_for "$2" "show $1 to say connected" \
		field_is $1 connection connected
}

read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --io-timeout 5 --queues 2 --name tcp0)"
pid=$(device_field tcp0 pid)

# Delay and loss both ways. The loss must have happened for the part to
# count: netem's drop counter says so.
tc qdisc add dev vt-host root netem delay 20ms 5ms loss 3%
ip netns exec "$ns" tc qdisc add dev vt-srv root netem delay 20ms 5ms loss 3%
fio_check "netem delay 20 ms and loss 3%" --name=netem --filename="$node" --rw=randwrite \
	--bsrange=4k-128k --size=32M --ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 \
	--offset_increment=64M --verify=crc32c --verify_backlog=32 --verify_fatal=1 \
	--time_based --runtime=8
dropped=$(tc -s qdisc show dev vt-host | sed -n 's/.*dropped \([0-9]*\).*/\1/p' | head -1)
[ "${dropped:-0}" -gt 0 ] || fail "netem dropped no packet: $(tc -s qdisc show dev vt-host)"
pass "netem dropped $dropped packets on the host's end"
tc qdisc del dev vt-host root
ip netns exec "$ns" tc qdisc del dev vt-srv root

# The link down about 10 s under fio: requests on the wire get no reply and
# no error; the reply deadline severs the connection, connecting fails while
# the link is down, and vdused reconnects once it is back.
fio_background "$node" 20 down
sleep 3
link down
wait_for 15 "show to say reconnecting" \
	field_starts tcp0 connection "reconnecting since"
sleep 4
link up
connected tcp0 30
fio_done "the link down 10 s" down
grep -q "no reply for" /run/vduse/tcp0.log ||
	fail "vdused's log does not say it gave up on the silent connection: $(grep connection /run/vduse/tcp0.log | tail -5)"
expect_eq "vdused's pid across the link down" "$pid" "$(device_field tcp0 pid)"

# The link down, and vdused killed while it holds requests: recover works
# with the server unreachable; fio finishes once the link is back.
fio_background "$node" 22 crash
sleep 3
link down
wait_for 15 "show to say reconnecting" \
	field_starts tcp0 connection "reconnecting since"
kill_dead "$pid" vdused
"$VDUSECTL" recover tcp0 >/dev/null || fail "recover with the link down: $(tail -5 /run/vduse/tcp0.log)"
new_pid=$(device_field tcp0 pid)
[ "$new_pid" != "$pid" ] && [ "$new_pid" != null ] || fail "no new vdused after recover ($new_pid)"
pass "recovered with the link down"
sleep 3
link up
connected tcp0 30
fio_done "the link down and vdused killed" crash
fio_check "read back the 128 MiB fio wrote" --name=check --filename="$node" --rw=read \
	--size=128M --ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
expect_eq "tcp0's state" running "$(device_field tcp0 state)"
"$VDUSECTL" del tcp0

# A VM on that storage: the link goes down with writes on the wire and the
# VM resets the device (a reboot). The reset is answered at once and the
# driver's memory is left alone; then the link down again and the VMM
# announces its memory again: answered at once, the held requests finish
# once the link is back.
read -r _ vnode <<<"$("$VDUSECTL" add -t nbd --url "$url" --io-timeout 5 --driver vhost --name tcp1)"
vpid=$(device_field tcp1 pid)
"$VHOST_CLIENT" -d "$vnode" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify before the link went down: $(cat "$TMPDIR/client.log")"
link down
"$VHOST_CLIENT" -d "$vnode" outage --requests 8 --hold 2 --watch 3 \
	>"$TMPDIR/outage.log" 2>&1 || fail "the link down and a reset: $(cat "$TMPDIR/outage.log")"
pass "link down: $(grep 'answered in' "$TMPDIR/outage.log")"
pass "link down: $(grep 'nothing touched' "$TMPDIR/outage.log")"
link up
connected tcp1 30
# What nbdkit had read before the link went down it may still carry out
# when the link is back (NBD cannot take a command back): let it.
sleep 2
(sleep 8 && link up) &
up=$!
link down
"$VHOST_CLIENT" -d "$vnode" outage --reads --requests 8 --hold 2 --iotlb-remap --watch 30 \
	--reset-limit-ms 2000 >"$TMPDIR/outage.log" 2>&1 ||
	fail "the link down and the remapped memory: $(cat "$TMPDIR/outage.log")"
pass "link down: $(grep 'IOTLB change was answered in' "$TMPDIR/outage.log")"
pass "link down: $(grep 'held requests finished' "$TMPDIR/outage.log")"
wait "$up"
connected tcp1 30
"$VHOST_CLIENT" -d "$vnode" verify -t 3 >"$TMPDIR/client.log" 2>&1 ||
	fail "verify after the link came back: $(cat "$TMPDIR/client.log")"
pass "verify after the reset and the remapped memory with the link down"
expect_eq "vdused's pid across the link faults" "$vpid" "$(device_field tcp1 pid)"
expect_eq "tcp1's state" running "$(device_field tcp1 state)"
"$VDUSECTL" del tcp1
expect_clean
