// What a spec file (/etc/vduse/devices/NAME.json, /run/vduse/NAME.json,
// add --spec) can hold: parsed and checked; what passes must survive a
// round trip unchanged.
#include "state/device_spec.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

using namespace vduse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	auto json = nlohmann::json::parse(data, data + size, nullptr, false);
	if (json.is_discarded())
		return 0;
	auto spec = spec_from_json(json);
	if (!spec || !validate_spec(*spec))
		return 0;
	auto again = spec_from_json(spec_to_json(*spec));
	if (!again || spec_to_json(*again) != spec_to_json(*spec))
		std::abort();
	(void)blk_geometry(*spec);
	return 0;
}
