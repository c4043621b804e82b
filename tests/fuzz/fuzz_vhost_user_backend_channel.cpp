// What a vhost-user target can send on its back-end channel, arbitrary
// bytes included: the parser cut at any points, and the channel reading it
// from a socket and answering. Never crash, never block; a message parsed
// whole is one the channel counts.
#include "remote/vhost_user_backend_channel.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <sys/socket.h>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = data[0] % 17 + 1;
	std::span<const uint8_t> stream(data + 1, std::min<size_t>(size - 1, 64 * 1024));
	BackendMessageParser parser;
	size_t parsed = 0;
	bool broken = false;
	for (size_t at = 0; at < stream.size() && !broken; at += chunk) {
		auto got = parser.feed(stream.subspan(at, std::min(chunk, stream.size() - at)));
		if (!got)
			broken = true;
		else
			parsed += got->size();
	}
	if (parsed > stream.size() / 12)
		std::abort();

	std::array<int, 2> pair{};
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair.data()) < 0)
		std::abort();
	UniqueFd target(pair[1]);
	VhostUserBackendChannel channel(UniqueFd(pair[0]), "fuzz");
	if (!stream.empty() &&
	    ::send(target.get(), stream.data(), stream.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return 0;
	auto events = channel.serve();
	if (events && events->config_changes + events->refused > parsed)
		std::abort();
	return 0;
}
