#!/bin/bash
# Random faults, one after another and together, under fio verify on NBD
# storage: the server killed and restarted, the server stopped and
# continued, vdused killed (-9) and recovered, vdused stopped and
# continued, and the server killed with vdused killed while it is away.
# At the end: 0 fio errors, every block read back, vdused's memory flat.
# CI runs it for SOAK_SECONDS=45; the long form is by hand, e.g.
#   tests/vm/run-in-guest --timeout 2400 --env SOAK_SECONDS=1800 \
#     --env VDUSECTL=... --env VDUSED=... tests/scenarios/soak-001-faults.sh
# SOAK_SEED repeats a run's sequence of faults.
source "$VTEST_LIB"
seconds=${SOAK_SECONDS:-45}
seed=${SOAK_SEED:-$(date +%s)}
RANDOM=$seed
pass "soak for $seconds s, seed $seed"
img=$(scratch_fs)
truncate -s 256M "$img/disk.img"
# One thread: nbdkit 1.32 aborts (connections.c, raw_send_socket:
# "Assertion `sock >= 0' failed") when a client's connection closes (vdused
# killed) while another of its threads still works on that client's request.
server_start() { nbd_start disk --threads 1 file "$img/disk.img"; }
server_start
url="nbd+unix:///?socket=/run/nbd/disk.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --queues 2 --io-timeout 5 --name soak0)"
fio_start soak --name=soak --filename="$node" --rw=randwrite --bsrange=4k-256k --size=64M \
	--ioengine=io_uring --iodepth=16 --direct=1 --numjobs=2 --offset_increment=64M \
	--verify=crc32c --verify_backlog=32 --verify_fatal=1 --time_based --runtime="$seconds"

server_pid() { cat /run/nbd/disk.pid; }
vdused_pid() { device_field soak0 pid; }
kill_vdused() {
	local pid
	pid=$(vdused_pid)
	kill_dead "$pid" vdused
}
recover() {
	"$VDUSECTL" recover soak0 >/dev/null || fail "recover: $(tail -5 /run/vduse/soak0.log)"
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }

declare -A samples # vdused pid -> its RSS after each fault, kB
faults=0
end=$((SECONDS + seconds - 8))
sleep 3
while [ "$SECONDS" -lt "$end" ]; do
	kill -0 "$(server_pid)" 2>/dev/null ||
		fail "nbdkit died by itself after fault $faults: $(tail -3 /run/nbd/disk.log)"
	pause=$((1 + RANDOM % 3))
	case $((RANDOM % 5)) in
	0) what="server killed for $pause s"
		nbd_kill disk; sleep "$pause"; server_start ;;
	1) what="server stopped for $pause s"
		kill -STOP "$(server_pid)"; sleep "$pause"; kill -CONT "$(server_pid)" ;;
	2) what="vdused killed and recovered"
		kill_vdused; recover ;;
	3) what="vdused stopped for $pause s"
		kill -STOP "$(vdused_pid)"; sleep "$pause"; kill -CONT "$(vdused_pid)" ;;
	4) what="server killed, vdused killed and recovered meanwhile"
		nbd_kill disk; sleep 1; kill_vdused; recover; sleep "$pause"
		server_start ;;
	esac
	faults=$((faults + 1))
	kill -0 "$fio_pid" 2>/dev/null || break
	pid=$(vdused_pid)
	rss=$(rss_kb "$pid")
	samples[$pid]="${samples[$pid]:-} $rss"
	echo "fault $faults at $SECONDS s: $what (vdused $pid, RSS $rss kB)"
	sleep $((2 + RANDOM % 3))
done
fio_finish soak "under $faults faults"
pass "fio wrote $(fio_total write.total_ios) verified blocks under $faults faults"
# Memory: never past the ceiling (2 queues x 64 MiB of gather buffers, plus
# the process), and flat once warm: the gather buffers fill up over the
# first minutes (the 30-minute run went from 44 to 65.5 MiB over 6 faults,
# then stayed at 65.5), so the longest-lived vdused's RSS halfway through
# its life is compared with its last.
most=0 longest=
for p in "${!samples[@]}"; do
	read -ra s <<<"${samples[$p]}"
	for kb in "${s[@]}"; do [ "$kb" -le $((192 * 1024)) ] || fail "vdused $p reached $((kb / 1024)) MiB"; done
	[ "${#s[@]}" -gt "$most" ] && most=${#s[@]} && longest=$p
done
if [ "$most" -ge 3 ]; then
	read -ra s <<<"${samples[$longest]}"
	half=$((${#s[@]} / 2))
	growth=$(((s[-1] - s[half]) / 1024))
	[ "$growth" -le 8 ] || fail "vdused $longest grew by $growth MiB over the second half of its ${#s[@]} faults: ${samples[$longest]} kB"
	pass "vdused $longest: RSS $((s[half] / 1024)) MiB halfway through its ${#s[@]} faults, $((s[-1] / 1024)) MiB after its last"
else
	pass "no vdused lived through 3 faults: memory checked against the ceiling only"
fi
fio_check "read back all 128 MiB after the soak" --name=check --filename="$node" --rw=read --size=128M \
	--ioengine=io_uring --iodepth=16 --direct=1 --bs=64k
"$VDUSECTL" del soak0
expect_clean
