// What a vhost-user target can answer vdused's front-end: its replies to
// the negotiation (features, protocol features, queue count, memory slots,
// config space), arbitrary bytes included. Negotiation must fail cleanly or
// succeed with a config that passed its checks; never crash or hang.
#include "remote/vhost_user_client.h"

#include <algorithm>
#include <cstdlib>
#include <sys/socket.h>
#include <unistd.h>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int pair[2];
	if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		std::abort();
	UniqueFd ours(pair[0]);
	UniqueFd target(pair[1]);
	// Everything the target says, then it hangs up: no read can block.
	size_t length = std::min<size_t>(size, 64 * 1024);
	if (length > 0 &&
	    ::send(target.get(), data, length, MSG_NOSIGNAL) != static_cast<ssize_t>(length))
		std::abort();
	::shutdown(target.get(), SHUT_WR);
	auto client =
	        VhostUserClient::over(std::move(ours), "fuzz", std::chrono::milliseconds(100));
	if (client && client->target().config.capacity == 0)
		std::abort();
	return 0;
}
