#include "state/resize_ack.h"

#include "base/json_file.h"

namespace vduse
{

Status write_resize_ack(const std::filesystem::path &path, const ResizeAck &ack)
{
	return write_json_file(path, {{"size_bytes", ack.size_bytes}, {"error", ack.error}});
}

Result<ResizeAck> read_resize_ack(const std::filesystem::path &path)
{
	auto json = read_json_file(path);
	if (!json)
		return json.error();
	try {
		ResizeAck ack;
		ack.size_bytes = json->at("size_bytes").get<uint64_t>();
		ack.error = json->at("error").get<std::string>();
		return ack;
	} catch (const nlohmann::json::exception &e) {
		return failure(path.string() + ": " + e.what());
	}
}

} // namespace vduse
