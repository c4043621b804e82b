#include "remote/nbd_client.h"

#include "base/socket_peer.h"
#include "remote/lazy_library.h"

#include <cerrno>

namespace vduse
{

std::string nbd_last_error()
{
	const char *text = nbd_get_error();
	return text ? text : "";
}

Result<NbdHandle> nbd_connect_with_timeout(const std::string &uri,
                                           std::chrono::milliseconds timeout,
                                           std::optional<uid_t> owner)
{
	if (auto loaded = load_remote_library(RemoteLibrary::nbd); !loaded)
		return loaded.error();
	NbdHandle h(nbd_create());
	if (!h)
		return failure("cannot create an NBD handle: " + nbd_last_error());
	auto fail = [&](const std::string &why) {
		return failure("cannot connect to " + uri + ": " + why);
	};
	// Reads fill the whole buffer or fail: no need to clear it first.
	nbd_set_pread_initialize(h.get(), false);
	// The URI is the administrator's: let it name its TLS key and
	// certificate files (tls-psk-file=, tls-certificates=).
	nbd_set_uri_allow_local_file(h.get(), true);
	if (nbd_aio_connect_uri(h.get(), uri.c_str()) < 0)
		return fail(nbd_last_error());
	// A unix socket is connected at once (the handshake comes next).
	if (owner) {
		if (auto st = check_socket_peer(nbd_aio_get_fd(h.get()), *owner, uri); !st)
			return st.error();
	}
	using clock = std::chrono::steady_clock;
	auto deadline = clock::now() + timeout;
	while (nbd_aio_is_connecting(h.get())) {
		auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
		                                                                  clock::now());
		if (left.count() <= 0)
			return fail("no answer within " + std::to_string(timeout.count()) + " ms");
		if (nbd_poll(h.get(), static_cast<int>(left.count())) < 0 && errno != EINTR)
			return fail(nbd_last_error());
	}
	if (!nbd_aio_is_ready(h.get())) {
		std::string why = nbd_last_error();
		return fail(why.empty() ? "the server closed the connection" : why);
	}
	return h;
}

NbdExportInfo nbd_export_info(nbd_handle *h)
{
	NbdExportInfo info;
	int64_t size = nbd_get_size(h);
	info.size = size > 0 ? static_cast<uint64_t>(size) : 0;
	info.read_only = nbd_is_read_only(h) == 1;
	info.flush = nbd_can_flush(h) == 1;
	info.trim = nbd_can_trim(h) == 1;
	info.zero = nbd_can_zero(h) == 1;
	info.multi_conn = nbd_can_multi_conn(h) == 1;
	auto block = [&](int which) {
		int64_t v = nbd_get_block_size(h, which);
		return v > 0 && v <= UINT32_MAX ? static_cast<uint32_t>(v) : 0u;
	};
	info.min_block = std::max(1u, block(LIBNBD_SIZE_MINIMUM));
	info.preferred_block = block(LIBNBD_SIZE_PREFERRED);
	info.max_request = block(LIBNBD_SIZE_MAXIMUM);
	return info;
}

} // namespace vduse
