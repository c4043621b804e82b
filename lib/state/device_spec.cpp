#include "state/device_spec.h"

#include "base/size.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace vduse
{

namespace
{

bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == ':';
}

Status check_range(const std::string &name, uint64_t what, uint64_t min, uint64_t max,
                   const char *label)
{
	if (what < min || what > max)
		return usage_error(name + ": " + label + " " + std::to_string(what) +
		                   " is out of range (" + std::to_string(min) + " to " +
		                   std::to_string(max) + ")");
	return {};
}

} // namespace

Status validate_name(std::string_view name)
{
	std::string quoted = "device name '" + std::string(name) + "'";
	if (name.empty())
		return usage_error("device name is empty");
	if (name.size() > limits::name_max)
		return usage_error(quoted + " is too long (" + std::to_string(name.size()) +
		                   " characters, at most " + std::to_string(limits::name_max) +
		                   ")");
	if (name == "." || name == "..")
		return usage_error(quoted + " is not allowed");
	if (!std::all_of(name.begin(), name.end(), is_name_char))
		return usage_error(quoted +
		                   " may contain only letters, digits, '-', '_', '.' and ':'");
	return {};
}

Status validate_spec_settings(const DeviceSpec &spec)
{
	const std::string &n = spec.name;
	if (spec.backend != "null" && spec.backend != "file" && spec.backend != "loop")
		return usage_error(n + ": unknown backend '" + spec.backend +
		                   "' (available: null, file, loop)");
	if (spec.backend == "null" && !spec.file.empty())
		return usage_error(n + ": the null backend takes no --file");
	if (spec.backend != "null" && spec.file.empty())
		return usage_error(n + ": the " + spec.backend + " backend needs --file PATH");
	if (spec.backend != "null" && spec.file.front() != '/')
		return usage_error(n + ": backing file '" + spec.file +
		                   "' is not an absolute path");
	if (spec.physical_block_size != 0 && (spec.physical_block_size < spec.block_size ||
	                                      !std::has_single_bit(spec.physical_block_size)))
		return usage_error(n + ": physical block size " +
		                   std::to_string(spec.physical_block_size) +
		                   " is not a power of two of at least the block size");
	if (spec.block_size != 512 && spec.block_size != 4096)
		return usage_error(n + ": block size " + std::to_string(spec.block_size) +
		                   " is not 512 or 4096");
	if (auto st = check_range(n, spec.queues, 1, limits::queues_max, "queue count"); !st)
		return st;
	if (auto st = check_range(n, spec.queue_depth, limits::queue_depth_min,
	                          limits::queue_depth_max, "queue depth");
	    !st)
		return st;
	if (!std::has_single_bit(spec.queue_depth))
		return usage_error(n + ": queue depth " + std::to_string(spec.queue_depth) +
		                   " is not a power of two");
	if (spec.serial.size() > limits::serial_max)
		return usage_error(n + ": serial '" + spec.serial + "' is longer than " +
		                   std::to_string(limits::serial_max) + " bytes");
	if (!std::all_of(spec.serial.begin(), spec.serial.end(),
	                 [](char c) { return c > ' ' && c < 127; }))
		return usage_error(n + ": serial '" + spec.serial +
		                   "' must be printable ASCII without spaces");
	return {};
}

Status validate_spec(const DeviceSpec &spec)
{
	if (auto st = validate_name(spec.name); !st)
		return st;
	if (auto st = validate_spec_settings(spec); !st)
		return st;
	const std::string &n = spec.name;
	if (spec.size_bytes == 0)
		return usage_error(n + ": size must not be 0");
	if (spec.size_bytes % spec.block_size != 0)
		return usage_error(n + ": size " + std::to_string(spec.size_bytes) +
		                   " is not a multiple of the block size " +
		                   std::to_string(spec.block_size));
	return {};
}

BlkGeometry blk_geometry(const DeviceSpec &spec)
{
	return {spec.size_bytes / 512, spec.block_size,          spec.read_only,
	        spec.serial,           spec.physical_block_size, spec.queues};
}

nlohmann::json spec_to_json(const DeviceSpec &spec)
{
	return {
	        {"name", spec.name},
	        {"backend", spec.backend},
	        {"size_bytes", spec.size_bytes},
	        {"queues", spec.queues},
	        {"queue_depth", spec.queue_depth},
	        {"block_size", spec.block_size},
	        {"read_only", spec.read_only},
	        {"serial", spec.serial},
	        {"file", spec.file},
	        {"direct", spec.direct},
	        {"physical_block_size", spec.physical_block_size},
	        {"driver", driver_kernel_name(spec.driver)},
	};
}

namespace
{

// A whole number that fits T. nlohmann's get<T>() would cast a float or a
// negative number (a float out of range is undefined behaviour; found by
// tests/fuzz/fuzz_spec_file).
template <typename T>
T whole_number(const nlohmann::json &json, const char *key, std::optional<T> fallback = {})
{
	if (!json.contains(key) && fallback)
		return *fallback;
	const nlohmann::json &v = json.at(key);
	if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<T>::max())
		throw std::invalid_argument(std::string(key) +
		                            " must be a whole number from 0 to " +
		                            std::to_string(std::numeric_limits<T>::max()));
	return static_cast<T>(v.get<uint64_t>());
}

} // namespace

Result<DeviceSpec> spec_from_json(const nlohmann::json &json)
{
	DeviceSpec spec;
	try {
		spec.name = json.at("name").get<std::string>();
		spec.backend = json.at("backend").get<std::string>();
		spec.size_bytes = whole_number<uint64_t>(json, "size_bytes");
		spec.queues = whole_number<uint32_t>(json, "queues");
		spec.queue_depth = whole_number<uint32_t>(json, "queue_depth");
		spec.block_size = whole_number<uint32_t>(json, "block_size");
		spec.read_only = json.at("read_only").get<bool>();
		spec.serial = json.value("serial", "");
		spec.file = json.value("file", "");
		spec.direct = json.value("direct", false);
		spec.physical_block_size = whole_number<uint32_t>(json, "physical_block_size", 0u);
		auto driver = parse_driver(json.at("driver").get<std::string>());
		if (!driver)
			return failure(driver.error().message);
		spec.driver = *driver;
	} catch (const nlohmann::json::exception &e) {
		return failure(std::string("malformed device spec: ") + e.what());
	} catch (const std::invalid_argument &e) {
		return failure(std::string("malformed device spec: ") + e.what());
	}
	// A spec read from a file that a person or a bug broke: not a usage error.
	if (auto st = validate_spec(spec); !st)
		return failure(st.error().message);
	return spec;
}

} // namespace vduse
