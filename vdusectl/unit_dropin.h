// The runtime drop-in vdusectl writes for vdused@NAME.service: what the
// template cannot know (the backing file it may write under
// ProtectSystem=strict, the block device it may open under DevicePolicy=
// closed, a vdused or state directory other than the installed ones).
#pragma once

#include "base/result.h"
#include "state/state_dir.h"

#include <filesystem>
#include <string>

namespace vduse
{

struct DropinInputs {
	std::string vdused;           // the vdused to run
	std::string installed_vdused; // the one the template runs
	std::filesystem::path state_dir;
	std::filesystem::path default_state_dir;
	bool verbose = false;
};

// The drop-in's text: the unit's ordering, and what the hardened template
// does not allow but the device needs. A path with a control character
// (which could inject a line) is refused.
Result<std::string> unit_dropin_text(const DeviceSpec &spec, const DropinInputs &in);

// Where runtime units and drop-ins go: /run/systemd/system.
std::filesystem::path runtime_unit_dir();
// runtime_unit_dir()/vdused@NAME.service.d/50-vdusectl.conf
std::filesystem::path unit_dropin_path(const std::string &device);

// Writes (or removes, for an empty text) the drop-in; sets changed if the
// file on disk changed, so that the caller reloads systemd.
Status install_unit_dropin(const std::string &device, const std::string &text, bool &changed);

} // namespace vduse
