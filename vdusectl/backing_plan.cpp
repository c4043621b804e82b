#include "backing_plan.h"

#include "state/backing_file.h"

#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace vduse
{

namespace
{

// Another device vdusectl created on the same file.
std::string device_using(const StateDir &state, const std::string &path)
{
	std::error_code ec;
	for (const auto &name : state.names()) {
		auto record = state.read(name);
		if (record && !record->spec.file.empty() &&
		    fs::equivalent(record->spec.file, path, ec))
			return name;
	}
	return {};
}

} // namespace

Result<BackingPlan> plan_backing(const StateDir &state, AddOptions &options, uint64_t size)
{
	DeviceSpec &spec = options.spec;
	BackingPlan plan;
	std::error_code ec;
	spec.file = fs::absolute(spec.file, ec).lexically_normal().string();
	bool exists = fs::exists(spec.file, ec);
	if (!exists && spec.backend == "loop")
		return Error{ENOENT, spec.name + ": " + spec.file + " does not exist"};
	if (!exists) {
		if (size == 0)
			// Not a usage error: the same command works once the file is there.
			return Error{ENOENT, spec.name + ": " + spec.file +
			                             " does not exist: give --size to create it"};
		if (spec.read_only)
			return Error{ENOENT,
			             spec.name + ": " + spec.file +
			                     " does not exist, and a read-only device cannot "
			                     "create it"};
		spec.size_bytes = size;
		plan.create = true;
		return plan;
	}
	if (std::string other = device_using(state, spec.file); !other.empty())
		return Error{EBUSY, spec.name + ": " + spec.file + " already backs device '" +
		                            other + "'"};

	// Opening it checks the type, the access and (block devices) exclusivity.
	auto file = open_backing_file(spec);
	if (!file)
		return file.error();
	if (file->block_device) {
		if (!options.block_size_given && file->logical_block_size <= 4096)
			spec.block_size = std::max<uint32_t>(512, file->logical_block_size);
		if (file->logical_block_size > spec.block_size)
			return usage_error(spec.name + ": block size " +
			                   std::to_string(spec.block_size) + " is smaller than " +
			                   spec.file + "'s " +
			                   std::to_string(file->logical_block_size));
		spec.physical_block_size = std::max(file->physical_block_size, spec.block_size);
		if (file->read_only && !spec.read_only)
			return Error{EROFS, spec.name + ": " + spec.file +
			                            " is read-only (use --read-only)"};
	}
	uint64_t have = file->size;
	if (size == 0 || size == have) {
		spec.size_bytes = have;
		return plan;
	}
	if (size < have)
		return usage_error(spec.name + ": size " + std::to_string(size) +
		                   " is smaller than " + spec.file + " (" + std::to_string(have) +
		                   " bytes)");
	if (spec.backend == "loop" || file->block_device || !options.grow)
		return usage_error(spec.name + ": size " + std::to_string(size) +
		                   " is larger than " + spec.file + " (" + std::to_string(have) +
		                   " bytes)" +
		                   (spec.backend == "file" ? "; add --grow to grow it" : ""));
	spec.size_bytes = size;
	plan.grow = true;
	plan.old_size = have;
	return plan;
}

Status apply_backing(const DeviceSpec &spec, const BackingPlan &plan)
{
	if (plan.create)
		return create_sparse_file(spec.file, spec.size_bytes);
	if (plan.grow && ::truncate(spec.file.c_str(), static_cast<off_t>(spec.size_bytes)) < 0)
		return errno_error(spec.name + ": cannot grow " + spec.file);
	return {};
}

void revert_backing(const DeviceSpec &spec, const BackingPlan &plan)
{
	if (plan.create)
		(void)::unlink(spec.file.c_str());
	else if (plan.grow && ::truncate(spec.file.c_str(), static_cast<off_t>(plan.old_size)) < 0)
		spdlog::warn("{}: cannot shrink {} back to {} bytes: {}", spec.name, spec.file,
		             plan.old_size, std::strerror(errno));
}

} // namespace vduse
