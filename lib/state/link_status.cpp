#include "state/link_status.h"

#include "base/json_file.h"

#include <array>

namespace vduse
{

namespace
{

constexpr std::array<std::string_view, 4> names = {"connecting", "connected", "reconnecting",
                                                   "failed"};

} // namespace

std::string_view link_state_name(LinkState state)
{
	return names.at(static_cast<size_t>(state));
}

std::string describe_link(const LinkStatus &status)
{
	std::string text(link_state_name(status.state));
	if (status.state == LinkState::connected)
		return text;
	std::tm tm{};
	char when[32] = "";
	if (gmtime_r(&status.since, &tm))
		(void)std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return text + " since " + when;
}

Status write_link_status(const std::filesystem::path &path, const LinkStatus &status)
{
	nlohmann::json json = {{"state", link_state_name(status.state)},
	                       {"since", static_cast<int64_t>(status.since)},
	                       {"lock_owner", status.lock_owner}};
	if (status.follows_target_size)
		json["follows_target_size"] = *status.follows_target_size;
	return write_json_file(path, json);
}

Result<LinkStatus> read_link_status(const std::filesystem::path &path)
{
	auto json = read_json_file(path);
	if (!json)
		return json.error();
	try {
		LinkStatus status;
		auto state = json->at("state").get<std::string>();
		size_t i = 0;
		while (i < names.size() && names.at(i) != state)
			++i;
		if (i == names.size())
			return failure(path.string() + ": unknown connection state '" + state +
			               "'");
		status.state = static_cast<LinkState>(i);
		status.since = static_cast<std::time_t>(json->at("since").get<int64_t>());
		status.lock_owner = json->value("lock_owner", "");
		if (auto it = json->find("follows_target_size"); it != json->end())
			status.follows_target_size = it->get<bool>();
		return status;
	} catch (const nlohmann::json::exception &e) {
		return failure(path.string() + ": " + e.what());
	}
}

} // namespace vduse
