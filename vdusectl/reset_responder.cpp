#include "reset_responder.h"

#include <poll.h>
#include <spdlog/spdlog.h>

namespace vduse
{

Result<ResetResponder> ResetResponder::start(const std::string &name)
{
	auto device = VduseDevice::open(name);
	if (!device)
		return device.error();
	return ResetResponder(std::make_unique<VduseDevice>(std::move(*device)));
}

ResetResponder::ResetResponder(std::unique_ptr<VduseDevice> device) : device_(std::move(device))
{
	thread_ = std::jthread([dev = device_.get()](const std::stop_token &stop) {
		while (!stop.stop_requested()) {
			pollfd p{dev->fd(), POLLIN, 0};
			if (::poll(&p, 1, 50) <= 0)
				continue;
			auto request = dev->read_request();
			if (!request || !*request)
				continue;
			// Every message (status, queue state, IOTLB update) succeeds; a
			// queue's state reads as zero, which is what a reset sets.
			vduse_dev_response response{};
			response.request_id = (*request)->request_id;
			response.result = VDUSE_REQ_RESULT_OK;
			spdlog::debug("{}: answered message type {}", dev->name(),
			              (*request)->type);
			(void)dev->write_response(response);
		}
	});
}

} // namespace vduse
