#include "state/persist_dir.h"

#include "base/json_file.h"
#include "config.h"

#include <cstdlib>

namespace fs = std::filesystem;

namespace vduse
{

fs::path PersistDir::default_root()
{
	const char *env = std::getenv("VDUSE_PERSIST_DIR");
	return env && *env ? fs::path(env) : fs::path(VDUSE_PERSIST_DIR);
}

fs::path PersistDir::spec_path(const std::string &name) const
{
	return root_ / (name + ".json");
}

bool PersistDir::has(const std::string &name) const
{
	std::error_code ec;
	return fs::exists(spec_path(name), ec);
}

std::vector<std::string> PersistDir::names() const
{
	return json_file_stems(root_);
}

Result<DeviceSpec> read_spec_file(const fs::path &path)
{
	auto json = read_json_file(path);
	if (!json)
		return json.error();
	auto spec = spec_from_json(*json);
	if (!spec)
		return failure(path.string() + ": " + spec.error().message);
	return spec;
}

Result<DeviceSpec> PersistDir::read(const std::string &name) const
{
	fs::path path = spec_path(name);
	auto spec = read_spec_file(path);
	if (!spec)
		return spec;
	if (spec->name != name)
		return failure(path.string() + ": names device '" + spec->name +
		               "', not the file's name '" + name + "'");
	return spec;
}

Status PersistDir::write(const DeviceSpec &spec) const
{
	std::error_code ec;
	fs::create_directories(root_, ec);
	if (ec)
		return system_error(ec.value(), "cannot create " + root_.string());
	return write_json_file(spec_path(spec.name), spec_to_json(spec));
}

void PersistDir::remove(const std::string &name) const
{
	std::error_code ec;
	fs::remove(spec_path(name), ec);
}

} // namespace vduse
