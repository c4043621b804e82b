#include "base/json_file.h"

#include <algorithm>
#include <fstream>

namespace fs = std::filesystem;

namespace vduse
{

Result<nlohmann::json> read_json_file(const fs::path &path)
{
	std::ifstream in(path);
	if (!in)
		return errno_error("cannot read " + path.string());
	nlohmann::json json = nlohmann::json::parse(in, nullptr, false);
	if (json.is_discarded())
		return failure(path.string() + " is not valid JSON");
	return json;
}

Status write_json_file(const fs::path &path, const nlohmann::json &json)
{
	fs::path tmp = path;
	tmp += ".tmp";
	{
		std::ofstream out(tmp, std::ios::trunc);
		out << json.dump(2) << '\n';
		out.flush();
		if (!out)
			return errno_error("cannot write " + tmp.string());
	}
	std::error_code ec;
	fs::rename(tmp, path, ec);
	if (ec) {
		fs::remove(tmp, ec);
		return system_error(ec.value(), "cannot rename " + tmp.string());
	}
	return {};
}

std::vector<std::string> json_file_stems(const fs::path &dir)
{
	std::vector<std::string> result;
	std::error_code ec;
	for (const auto &entry : fs::directory_iterator(dir, ec)) {
		if (entry.path().extension() == ".json")
			result.push_back(entry.path().stem().string());
	}
	std::sort(result.begin(), result.end());
	return result;
}

} // namespace vduse
