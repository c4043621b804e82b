#include "state/bounce_status.h"

#include "base/json_file.h"

namespace vduse
{

Status write_bounce_status(const std::filesystem::path &path, const BounceStatus &status)
{
	return write_json_file(path, {{"memory", status.memory},
	                              {"size", status.size},
	                              {"registered", status.registered}});
}

Result<BounceStatus> read_bounce_status(const std::filesystem::path &path)
{
	auto json = read_json_file(path);
	if (!json)
		return json.error();
	try {
		BounceStatus status;
		status.memory = json->at("memory").get<std::string>();
		status.size = json->at("size").get<uint64_t>();
		status.registered = json->at("registered").get<bool>();
		return status;
	} catch (const nlohmann::json::exception &e) {
		return failure(path.string() + ": " + e.what());
	}
}

} // namespace vduse
