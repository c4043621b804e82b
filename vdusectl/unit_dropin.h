// The runtime drop-in vdusectl writes for vdused@NAME.service: what the
// template cannot know (the backing file it may write under
// ProtectSystem=strict, the block device it may open under DevicePolicy=
// closed, a vdused or state directory other than the installed ones).
#pragma once

#include "base/result.h"
#include "state/state_dir.h"

#include <filesystem>
#include <string>
#include <string_view>

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

// The ordering of vdused@NAME and vduse-detach@NAME against the file
// systems on the device: at shutdown, both stop after they are unmounted.
std::string filesystem_ordering(const DeviceSpec &spec);

// The drop-in of vduse-detach@NAME.service (units/vduse-detach@.service.in):
// its ordering, which the template cannot know.
std::string detach_dropin_text(const DeviceSpec &spec);

// Where runtime units and drop-ins go: /run/systemd/system.
std::filesystem::path runtime_unit_dir();
// runtime_unit_dir()/UNIT@NAME.service.d/50-vdusectl.conf
std::filesystem::path unit_dropin_path(const std::string &device, std::string_view unit = "vdused");

// Writes (or removes, for an empty text) the drop-in of UNIT@NAME.service;
// sets changed if the file on disk changed, so that the caller reloads
// systemd.
Status install_unit_dropin(const std::string &device, const std::string &text, bool &changed,
                           std::string_view unit = "vdused");
// Removes both drop-ins of the device (vdused@ and vduse-detach@); sets
// changed if one was there.
void remove_unit_dropins(const std::string &device, bool &changed);

} // namespace vduse
