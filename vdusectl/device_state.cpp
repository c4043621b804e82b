#include "device_state.h"

#include <cerrno>

namespace vduse
{

DeviceState classify(const StateFacts &facts)
{
	if (facts.daemon_running && facts.on_vdpa_bus)
		return DeviceState::running;
	if (!facts.vduse_exists)
		return DeviceState::stale;
	if (!facts.daemon_running && facts.vduse_broken)
		return DeviceState::broken;
	if (!facts.daemon_running)
		return DeviceState::daemon_dead;
	return DeviceState::detached;
}

std::string_view state_name(DeviceState state)
{
	switch (state) {
	case DeviceState::running:
		return "running";
	case DeviceState::daemon_dead:
		return "daemon-dead";
	case DeviceState::broken:
		return "broken";
	case DeviceState::stale:
		return "stale";
	case DeviceState::detached:
		return "detached";
	}
	return "unknown";
}

namespace
{

// A device the admin must make again: a persistent one from its spec (del
// keeps it with --keep-spec, restore adds it), another with add.
std::string remake(const std::string &name, bool persistent, bool needs_del)
{
	if (persistent)
		return needs_del ? "vdusectl del --keep-spec " + name + ", then vdusectl restore " +
		                           name
		                 : "vdusectl restore " + name;
	return "vdusectl del " + name + ", then vdusectl add ... --name " + name + " again";
}

} // namespace

std::string state_hint(DeviceState state, const std::string &name, bool persistent)
{
	switch (state) {
	case DeviceState::running:
		return "";
	case DeviceState::daemon_dead:
		return "its vdused is gone, the kernel still holds its I/O; fix: vdusectl "
		       "recover " +
		       name;
	case DeviceState::broken:
		return "the kernel gave up on the device (a message was not answered in time) and "
		       "no daemon can serve it again; fix: " +
		       remake(name, persistent, true);
	case DeviceState::stale:
		// restore forgets a stale record itself (verb_restore.cpp).
		return "its VDUSE device is gone (removed by hand, or a reboot kept the record); "
		       "fix: " +
		       remake(name, persistent, false);
	case DeviceState::detached:
		return "it is not on the vdpa bus (vdusectl detach, or vdpa dev del by hand); fix: "
		       "vdusectl bind " +
		       name;
	}
	return "";
}

Status require_state(std::string_view verb, const std::string &name, DeviceState state,
                     bool persistent, Need need)
{
	bool ok = false;
	switch (need) {
	case Need::served:
		ok = state == DeviceState::running;
		break;
	case Need::attached:
		ok = state == DeviceState::running || state == DeviceState::detached;
		break;
	case Need::recoverable:
		ok = state == DeviceState::daemon_dead;
		break;
	case Need::replaceable:
		ok = state != DeviceState::stale && state != DeviceState::broken;
		break;
	}
	if (ok)
		return {};
	if (state == DeviceState::running)
		return Error{EBUSY,
		             name + ": its vdused is running; nothing to " + std::string(verb)};
	int code = state == DeviceState::stale ? ENODEV : EPERM;
	return Error{code, name + ": cannot " + std::string(verb) + " a " +
	                           std::string(state_name(state)) +
	                           " device: " + state_hint(state, name, persistent)};
}

} // namespace vduse
