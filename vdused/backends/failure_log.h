// A queue's log of failed backend operations: the first failure of each
// kind (operation and errno) is logged at once with where it happened,
// later ones of that kind at most once every ten seconds as a count, so
// that a dead disk cannot flood the journal and an operator still sees
// why requests fail (vdusectl stats counts every one).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <spdlog/logger.h>
#include <string>
#include <utility>

namespace vduse
{

class FailureLog
{
public:
	using Clock = std::chrono::steady_clock;
	static constexpr std::chrono::seconds interval{10};

	explicit FailureLog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

	// what: "read", "write", "flush", ...; err: a positive errno.
	void failed(const std::string &what, int err, uint64_t offset, uint64_t length,
	            Clock::time_point now = Clock::now());
	// Failures of that kind so far (for tests).
	uint64_t count(const std::string &what, int err) const;

private:
	struct Kind {
		uint64_t count = 0;
		uint64_t logged = 0; // count when last logged
		Clock::time_point last{};
	};
	std::shared_ptr<spdlog::logger> log_;
	std::map<std::pair<std::string, int>, Kind> kinds_;
};

} // namespace vduse
