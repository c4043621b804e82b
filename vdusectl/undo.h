// Undo steps registered while a command makes progress, run in reverse order
// unless the command completes: nothing is left behind by a failure half-way.
#pragma once

#include <functional>
#include <vector>

namespace vduse
{

class Undo
{
public:
	Undo() = default;
	Undo(const Undo &) = delete;
	Undo &operator=(const Undo &) = delete;
	~Undo()
	{
		for (auto it = steps_.rbegin(); it != steps_.rend(); ++it)
			(*it)();
	}
	void push(std::function<void()> step) { steps_.push_back(std::move(step)); }
	void dismiss() { steps_.clear(); }

private:
	std::vector<std::function<void()>> steps_;
};

} // namespace vduse
