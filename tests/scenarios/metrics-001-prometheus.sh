#!/bin/bash
# The metrics contract, against the real consumers: stats
# --format=openmetrics passes Debian's promtool (check metrics), and with
# vduse-metrics.timer enabled, Debian's prometheus-node-exporter serves the
# devices' counters on its /metrics endpoint through its textfile collector,
# refreshed by the timer; a device whose daemon died is up 0 there.
source "$VTEST_LIB"
[ "$(cat /proc/1/comm)" = systemd ] || fail "PID 1 is $(cat /proc/1/comm), not systemd"
unset VDUSED
VDUSECTL=vdusectl
textdir=/var/lib/prometheus/node-exporter
mkdir -p "$textdir"

read -r _ node <<<"$(vdusectl add -t null --size 256M --queues 2 --name m0)"
fio_check "fio writes to m0" --name=w --filename="$node" --rw=randwrite --bs=4k \
	--ioengine=io_uring --iodepth=8 --direct=1 --size=16M --numjobs=2 --offset_increment=64M
vdusectl stats --format=openmetrics >"$TMPDIR/m.prom" || fail "stats --format=openmetrics failed"
out=$(promtool check metrics <"$TMPDIR/m.prom" 2>&1) || fail "promtool check metrics: $out"
pass "promtool check metrics accepts it ($(grep -c '^vduse_' "$TMPDIR/m.prom") samples)"
writes=$(awk '/^vduse_requests_total\{device="m0",queue="[01]",type="write"\}/ {s += $2} END {print s}' "$TMPDIR/m.prom")
expect_eq "writes in the metrics vs stats --json" "$(vdusectl stats m0 --json | jq '.[0].total.writes')" "$writes"

# node_exporter with only its textfile collector, as Debian configures it.
prometheus-node-exporter --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$textdir" --web.listen-address=127.0.0.1:9100 \
	>"$TMPDIR/node-exporter.log" 2>&1 &
exporter=$!
wait_for 20 "node_exporter to listen" curl -sf -o /dev/null http://127.0.0.1:9100/metrics
systemctl start vduse-metrics.timer
expect_eq "vduse-metrics.timer" active "$(systemctl is-active vduse-metrics.timer)"
wait_for 20 "$textdir/vduse.prom" test -s "$textdir/vduse.prom"
scrape() { curl -sf http://127.0.0.1:9100/metrics; }
metrics=$(scrape)
expect_contains "node_exporter serves m0's writes" "vduse_requests_total{device=\"m0\",queue=\"0\",type=\"write\"}" "$metrics"
expect_contains "node_exporter read the file without error" "node_textfile_scrape_error 0" "$metrics"
expect_contains "m0 is up" 'vduse_device_up{device="m0"} 1' "$metrics"
served=$(awk '/^vduse_requests_total\{device="m0",queue="[01]",type="write"\}/ {s += $2} END {print s}' <<<"$metrics")
expect_eq "writes served by node_exporter" "$writes" "$served"

# The timer refreshes the file: more writes show up without anyone asking.
fio_check "more writes" --name=w --filename="$node" --rw=randwrite --bs=4k \
	--ioengine=io_uring --iodepth=8 --direct=1 --size=4M
more() {
	local now
	now=$(scrape | awk '/^vduse_requests_total\{device="m0",queue="[01]",type="write"\}/ {s += $2} END {print s}')
	[ "${now:-0}" -gt "$writes" ]
}
wait_for 40 "the timer to bring the new writes to node_exporter" more
pass "node_exporter shows the new writes (timer every 15 s)"

# A device without its daemon (its unit stopped by hand): still listed, up 0,
# with its state.
systemctl stop vdused@m0.service
expect_eq "m0 without its daemon" daemon-dead "$(device_field m0 state)"
systemctl start vduse-metrics.service
metrics=$(scrape)
expect_contains "m0 is down" 'vduse_device_up{device="m0"} 0' "$metrics"
expect_contains "m0's state" 'state="daemon-dead"' "$metrics"
vdusectl stats --format=openmetrics | promtool check metrics >/dev/null 2>&1 ||
	fail "promtool check metrics with a device down"
kill "$exporter"
vdusectl del m0
rm -f "$textdir/vduse.prom"
