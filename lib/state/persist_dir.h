// The persistent directory (/etc/vduse/devices by default): one spec per
// device that `vdusectl add --persistent` made, recreated at boot by
// `vdusectl restore` (vduse-restore.service). Format: vduse-spec(5).
#pragma once

#include "base/result.h"
#include "state/device_spec.h"

#include <filesystem>
#include <string>
#include <vector>

namespace vduse
{

// Reads and checks a vduse-spec(5) file (add --spec, and each file of the
// persistent directory).
Result<DeviceSpec> read_spec_file(const std::filesystem::path &path);

class PersistDir
{
public:
	explicit PersistDir(std::filesystem::path root) : root_(std::move(root)) {}
	// $VDUSE_PERSIST_DIR, else the build-time default.
	static std::filesystem::path default_root();

	const std::filesystem::path &root() const { return root_; }
	std::filesystem::path spec_path(const std::string &name) const;

	bool has(const std::string &name) const;
	std::vector<std::string> names() const;
	Result<DeviceSpec> read(const std::string &name) const;
	Status write(const DeviceSpec &spec) const;
	void remove(const std::string &name) const;

private:
	std::filesystem::path root_;
};

} // namespace vduse
