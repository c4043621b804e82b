#!/bin/bash
# The main job, as an admin would type it, run inside the test guest by tools/demo.
set -euo pipefail
export PATH=$(dirname "$VDUSECTL"):$PATH
run() {
	echo "\$ $*" >&2
	"$@"
}
run vdusectl add -t null --size 1G --queues 2 --serial DEMO-1
node=$(vdusectl show vduse0 --json | jq -r '.[0].node')
run blockdev --getsize64 "$node"
run fio --name=demo --filename="$node" --rw=randrw --bs=4k --iodepth=16 --ioengine=io_uring \
	--direct=1 --numjobs=2 --runtime=2 --time_based --group_reporting --output-format=json |
	jq -r '.jobs[0] | "fio: \(.read.iops | floor) read IOPS, \(.write.iops | floor) write IOPS, errors \(.error)"'
run vdusectl list
run vdusectl show vduse0
run vdpa dev show vduse0
run vdusectl del vduse0
run vdusectl list
