// Follows a vhost-user target that says its disk changed size
// (BACKEND_CONFIG_CHANGE_MSG on the back-end channel, VhostUserLink): the
// device takes the target's size as `vdusectl resize NAME` would give it,
// bigger or smaller, at most five times a second (a target that says it
// again and again costs one GET_CONFIG per 200 ms), and the record takes it
// once the state lock is free. vdusectl may hold that lock while it waits
// for the control thread's answer to a SIGHUP, so the control thread never
// waits for it. The persistent spec keeps no size of a remote device
// (restore asks the target), and vdused may not write there.
#pragma once

#include "base/result.h"
#include "state/device_spec.h"
#include "state/state_dir.h"

#include <chrono>

namespace vduse
{

// What the follower needs of the device (DeviceServer; a fake in the unit
// test).
class ResizableDevice
{
public:
	virtual ~ResizableDevice() = default;
	// The size the remote end says (GET_CONFIG).
	virtual Result<uint64_t> remote_size() = 0;
	virtual Status resize(uint64_t size_bytes) = 0;
	virtual uint64_t size_bytes() const = 0;
};

class TargetSizeFollower
{
public:
	// How often at most the target is asked.
	static constexpr std::chrono::milliseconds min_interval{200};

	// spec: the device's (its name and block size).
	TargetSizeFollower(ResizableDevice &server, const StateDir &state, DeviceSpec spec)
	        : server_(server), state_(state), spec_(std::move(spec))
	{
	}
	// The target said its config changed.
	void changed() { pending_ = true; }
	// At every wake of the control thread: follows the target if it is
	// time, writes the record if it can. True while there is more to do
	// soon.
	bool tick();

private:
	void follow();
	// True while the record is behind and the lock is busy.
	bool save_record();

	ResizableDevice &server_;
	const StateDir &state_;
	DeviceSpec spec_;
	bool pending_ = false;
	bool record_behind_ = false;
	std::chrono::steady_clock::time_point next_follow_{};
};

} // namespace vduse
