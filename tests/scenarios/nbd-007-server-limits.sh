#!/bin/bash
# The limits an NBD server announces are honoured: a server whose maximum
# block size is 64 KiB (nbdkit's blocksize-policy filter, refusing larger
# requests with EINVAL) gets reads and writes of at most 64 KiB, whatever
# the driver sends (fio up to 1 MiB, and the vhost client's largest
# requests): fio verify finishes with 0 errors. Before, vdused split only
# at 32 MiB and every larger request failed.
source "$VTEST_LIB"
nbd_start small --filter=blocksize-policy memory 128M \
	blocksize-maximum=64K blocksize-error-policy=error
url="nbd+unix:///?socket=/run/nbd/small.sock"
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --name lim0)"
fio_check "bs 4k-1M against a 64 KiB maximum" --name=lim --filename="$node" --rw=randwrite \
	--bsrange=4k-1M --size=64M --ioengine=io_uring --iodepth=16 --direct=1 \
	--verify=crc32c --do_verify=1 --verify_fatal=1
fio_check "sequential 1 MiB reads" --name=seq --filename="$node" --rw=read --bs=1M --size=64M \
	--ioengine=io_uring --iodepth=8 --direct=1
"$VDUSECTL" del lim0

read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "$url" --driver vhost --name lim1)"
"$VHOST_CLIENT" -d "$node" -D 16 flood -n 4 --segments 8 -t 2 --write >"$TMPDIR/flood.log" 2>&1 ||
	fail "8 MiB writes against a 64 KiB maximum: $(cat "$TMPDIR/flood.log")"
grep -q ' 0 failed, 0 unanswered' "$TMPDIR/flood.log" || fail "$(cat "$TMPDIR/flood.log")"
pass "$(tail -1 "$TMPDIR/flood.log")"
"$VHOST_CLIENT" -d "$node" verify -t 2 >"$TMPDIR/client.log" 2>&1 ||
	fail "vhost client verify: $(cat "$TMPDIR/client.log")"
pass "vhost client verify against a 64 KiB maximum"
"$VDUSECTL" del lim1
expect_clean
