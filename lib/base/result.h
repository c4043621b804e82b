// Errors as values: a Result holds either a value or an Error (errno plus a
// sentence for the user). The caller that can add context logs it once.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace vduse
{

// Whose fault an error is, decided where the error is made (never inferred
// from errno): a usage error is a command line that cannot be right whatever
// the system's state (vdusectl exits 2), a failure is everything else (1).
enum class ErrorKind { failure, usage };

struct Error {
	int code = 0;        // errno value, or 0 when the failure has no errno
	std::string message; // complete sentence: "cannot open /dev/vduse/x: Permission denied"
	ErrorKind kind = ErrorKind::failure;

	bool is_usage() const { return kind == ErrorKind::usage; }
};

// "WHAT: strerror(code)", a failure.
Error system_error(int code, const std::string &what);
// system_error(errno, what)
Error errno_error(const std::string &what);
// A failure without an errno: the system or a file is not as it must be.
Error failure(std::string message);
// A value or a combination of options that the user must change.
Error usage_error(std::string message);
// The same error with its message prefixed ("PREFIX: message"), kind kept.
Error with_context(const std::string &prefix, Error error);

template <typename T>
class [[nodiscard]] Result
{
public:
	Result(T value) : v_(std::move(value)) {}
	Result(Error error) : v_(std::move(error)) {}

	bool ok() const { return v_.index() == 0; }
	explicit operator bool() const { return ok(); }
	T &value() { return std::get<0>(v_); }
	const T &value() const { return std::get<0>(v_); }
	T &operator*() { return value(); }
	const T &operator*() const { return value(); }
	T *operator->() { return &value(); }
	const T *operator->() const { return &value(); }
	const Error &error() const { return std::get<1>(v_); }

private:
	std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void>
{
public:
	Result() = default;
	Result(Error error) : error_(std::move(error)), failed_(true) {}

	bool ok() const { return !failed_; }
	explicit operator bool() const { return ok(); }
	const Error &error() const { return error_; }

private:
	Error error_;
	bool failed_ = false;
};

using Status = Result<void>;

} // namespace vduse
