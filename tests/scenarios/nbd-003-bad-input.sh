#!/bin/bash
# Bad NBD input gets a one-line error naming the device and the cause, the
# documented exit status, and leaves nothing behind.
source "$VTEST_LIB"
ip link set lo up
img=$(scratch_fs)

expect_status "nbd without --url" 2 "needs --url URI" "$VDUSECTL" add -t nbd --name b0
expect_status "not an NBD URI" 2 "'http://x/' is not an NBD URI" "$VDUSECTL" add -t nbd --url http://x/ --name b0
expect_status "nbd with --file" 2 "takes no --file" "$VDUSECTL" add -t nbd --url nbd://127.0.0.1/ --file /run/x --name b0
expect_status "rbd options on nbd" 2 "are for the rbd backend" "$VDUSECTL" add -t nbd --url nbd://127.0.0.1/ --image rbd/x --name b0
expect_status "--url on file" 2 "--url is for the nbd backend" "$VDUSECTL" add -t null --size 1M --url nbd://127.0.0.1/ --name b0
expect_status "bad reconnect timeout" 2 "--reconnect-timeout 'soon'" "$VDUSECTL" add -t nbd --url nbd://127.0.0.1/ --reconnect-timeout soon --name b0
expect_status "reconnect timeout on null" 2 "is for the nbd and rbd backends" "$VDUSECTL" add -t null --size 1M --reconnect-timeout 5 --name b0
expect_status "socket missing" 1 "b0: cannot connect to nbd+unix:///?socket=/run/nbd/none.sock" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/none.sock" --name b0
touch "$img/plain"
expect_status "not a socket" 1 "b0: cannot connect to" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=$img/plain" --name b0
expect_status "nobody listening on the port" 1 "b0: cannot connect to nbd://127.0.0.1:10999/" \
	"$VDUSECTL" add -t nbd --url nbd://127.0.0.1:10999/ --name b0
expect_status "a host without libnbd" 1 "b0: cannot load libnbd.so.0 (Debian package libnbd0): " \
	without_remote_libraries "$VDUSECTL" add -t nbd --url nbd://127.0.0.1:10999/ --name b0
# A server that is not NBD: it answers and closes.
mkdir -p /run/nbd
python3 -c '
import socket, os
s = socket.socket(socket.AF_UNIX); s.bind("/run/nbd/echo.sock"); s.listen(4)
if os.fork(): os._exit(0)
while True:
    c, _ = s.accept(); c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n"); c.close()
' </dev/null >/dev/null 2>&1
expect_status "a server that is not NBD" 1 "b0: cannot connect to nbd+unix:///?socket=/run/nbd/echo.sock" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/echo.sock" --name b0
nbd_start small memory size=1M
expect_status "--size larger than the export" 1 "--size 2097152 is larger than" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/small.sock" --size 2M --name b0
nbd_start named --filter=exportname memory size=1M exportname=disk exportname-strict=true
expect_status "an export the server does not have" 1 "b0: cannot connect to nbd+unix:///other" \
	"$VDUSECTL" add -t nbd --url "nbd+unix:///other?socket=/run/nbd/named.sock" --name b0
read -r _ node <<<"$("$VDUSECTL" add -t nbd --url "nbd+unix:///?socket=/run/nbd/small.sock" --size 512K --name part0)"
expect_eq "a smaller --size maps the start of the export" 524288 "$(blockdev --getsize64 "$node")"
"$VDUSECTL" del part0
expect_clean
pkill -f echo.sock || true
