// One function per verb; main.cpp parses the options and dispatches.
#pragma once

#include "context.h"
#include "state/device_spec.h"

#include <string>
#include <vector>

namespace vduse
{

struct AddOptions {
	DeviceSpec spec;  // name may be empty: the first free vduseN is taken
	std::string size; // as typed, parsed by the verb; may be empty for file and loop
	std::string driver = "virtio";
	bool grow = false; // let --size grow an existing image file
	bool block_size_given = false;
	bool persistent = false; // also write the spec to the persistent directory
	bool restoring = false;  // the spec comes from there (vdusectl restore)
};

int verb_add(Context &ctx, AddOptions &options);
int verb_del(Context &ctx, const std::vector<std::string> &names, bool all);
int verb_list(Context &ctx);
int verb_show(Context &ctx, const std::string &name);
int verb_restore(Context &ctx);
int verb_recover(Context &ctx, const std::string &name);
int verb_restart(Context &ctx, const std::string &name);
int verb_check(Context &ctx, bool load);

} // namespace vduse
