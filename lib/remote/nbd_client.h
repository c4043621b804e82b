// An NBD server reached through libnbd: connecting with a deadline and what
// its handshake says about the export. Shared by vdusectl (which sizes the
// device from it) and vdused's nbd backend.
#pragma once

#include "base/result.h"

#include <chrono>
#include <cstdint>
#include <libnbd.h>
#include <memory>
#include <optional>
#include <string>
#include <sys/types.h>

namespace vduse
{

struct NbdHandleClose {
	void operator()(nbd_handle *h) const { nbd_close(h); }
};
using NbdHandle = std::unique_ptr<nbd_handle, NbdHandleClose>;

struct NbdExportInfo {
	uint64_t size = 0;
	bool read_only = false;
	bool flush = false;
	bool trim = false;
	bool zero = false;
	bool multi_conn = false;
	uint32_t min_block = 1;       // the server's block size constraints
	uint32_t preferred_block = 0; // 0: none given
	uint32_t max_request = 0;     // largest read or write, 0: libnbd's default
};

// libnbd's last error on this thread ("" if none).
std::string nbd_last_error();

// Connects to URI and completes the handshake, or fails within timeout
// naming the URI and libnbd's reason. With owner, a server on a unix socket
// must run as that user (or root), checked before the handshake.
Result<NbdHandle> nbd_connect_with_timeout(const std::string &uri,
                                           std::chrono::milliseconds timeout,
                                           std::optional<uid_t> owner = std::nullopt);

NbdExportInfo nbd_export_info(nbd_handle *h);

} // namespace vduse
