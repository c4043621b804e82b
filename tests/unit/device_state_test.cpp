// The device state model, as a table: for each combination of facts, the
// state, its hint, and which verbs it lets act. The guest scenario
// adm-003-device-states follows the hints on real devices.
#include "device_state.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace vduse
{
namespace
{

struct Row {
	StateFacts facts;
	DeviceState state;
	const char *fix; // the hint's fix, for a device named d (persistent as facts say)
};

// daemon, vduse device, broken, on the bus, persistent
const std::vector<Row> &rows()
{
	static const std::vector<Row> table = {
	        {{true, true, false, true, false}, DeviceState::running, ""},
	        {{false, true, false, true, false},
	         DeviceState::daemon_dead,
	         "fix: vdusectl recover d"},
	        {{false, true, false, false, true},
	         DeviceState::daemon_dead,
	         "fix: vdusectl recover d"},
	        {{false, true, true, true, false},
	         DeviceState::broken,
	         "fix: vdusectl del d, then vdusectl add ... --name d again"},
	        {{false, true, true, true, true},
	         DeviceState::broken,
	         "fix: vdusectl del --keep-spec d, then vdusectl restore d"},
	        {{false, false, false, false, false},
	         DeviceState::stale,
	         "fix: vdusectl del d, then vdusectl add ... --name d again"},
	        {{false, false, false, false, true}, DeviceState::stale, "fix: vdusectl restore d"},
	        // A daemon whose device is gone under it is stale too.
	        {{true, false, false, false, true}, DeviceState::stale, "fix: vdusectl restore d"},
	        {{true, true, false, false, false}, DeviceState::detached, "fix: vdusectl bind d"},
	};
	return table;
}

TEST(DeviceState, EachStateHasOneFix)
{
	for (const Row &row : rows()) {
		SCOPED_TRACE(std::string(state_name(row.state)));
		EXPECT_EQ(classify(row.facts), row.state);
		std::string hint = state_hint(row.state, "d", row.facts.persistent);
		if (row.state == DeviceState::running) {
			EXPECT_EQ(hint, "");
			continue;
		}
		// "WHY; fix: ...", the fix last and whole.
		EXPECT_NE(hint.find("; "), std::string::npos) << hint;
		EXPECT_EQ(hint.substr(hint.find("fix: ")), row.fix) << hint;
	}
}

TEST(DeviceState, VerbsRefuseWithTheStateAndItsFix)
{
	struct Case {
		Need need;
		std::vector<DeviceState> allowed;
	};
	const std::vector<Case> cases = {
	        {Need::served, {DeviceState::running}},
	        {Need::attached, {DeviceState::running, DeviceState::detached}},
	        {Need::recoverable, {DeviceState::daemon_dead}},
	        {Need::replaceable,
	         {DeviceState::running, DeviceState::daemon_dead, DeviceState::detached}},
	};
	for (const Case &c : cases) {
		for (const Row &row : rows()) {
			DeviceState state = row.state;
			SCOPED_TRACE(std::string(state_name(state)));
			Status st = require_state("verb", "d", state, row.facts.persistent, c.need);
			bool allowed = std::find(c.allowed.begin(), c.allowed.end(), state) !=
			               c.allowed.end();
			EXPECT_EQ(st.ok(), allowed);
			if (allowed)
				continue;
			if (state == DeviceState::running) {
				EXPECT_EQ(st.error().message,
				          "d: its vdused is running; nothing to verb");
				continue;
			}
			// The refusal carries show's hint word for word.
			EXPECT_EQ(
			        st.error().message,
			        "d: cannot verb a " + std::string(state_name(state)) +
			                " device: " + state_hint(state, "d", row.facts.persistent));
			EXPECT_FALSE(st.error().is_usage()) << "a state is not a usage error";
		}
	}
}

} // namespace
} // namespace vduse
