// The fields of a JSON object that a person may have written (a device spec
// file), read strictly: every key is asked for by name and type, an error
// names the key and what it must be, and a key nobody asked for is an error
// that names the nearest known one (a typo such as "drect" is never silently
// ignored).
#pragma once

#include "base/result.h"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

namespace vduse
{

class JsonFields
{
public:
	// what: what the object is, for errors ("a device spec"). Throws
	// std::invalid_argument if json is not an object.
	JsonFields(const nlohmann::json &json, std::string what);

	// Each getter throws std::invalid_argument naming the key if it is
	// missing without a fallback, or of another type.
	std::string text(const char *key, std::optional<std::string> fallback = {});
	bool flag(const char *key, std::optional<bool> fallback = {});
	// A whole number that fits T (never a float, a negative number or one
	// out of range).
	template <typename T>
	T whole(const char *key, std::optional<T> fallback = {})
	{
		const nlohmann::json *v = lookup(key, fallback.has_value());
		if (!v)
			return *fallback;
		if (!v->is_number_unsigned() || v->get<uint64_t>() > std::numeric_limits<T>::max())
			wrong(key,
			      "a whole number from 0 to " +
			              std::to_string(std::numeric_limits<T>::max()),
			      *v);
		return static_cast<T>(v->get<uint64_t>());
	}
	bool has(const char *key);

	// Fails naming the first key no getter asked for (and the nearest
	// known key, if one is close).
	Status no_other_keys() const;

	// The known key nearest to key within a few edits, or "".
	static std::string nearest(const std::string &key, const std::set<std::string> &known);

private:
	const nlohmann::json *field(const char *key);
	// key's value; nullptr if it is missing and has_fallback, else throws.
	const nlohmann::json *lookup(const char *key, bool has_fallback);
	[[noreturn]] void missing(const char *key) const;
	[[noreturn]] void wrong(const char *key, const std::string &expected,
	                        const nlohmann::json &value) const;

	const nlohmann::json &json_;
	std::string what_;
	std::set<std::string> known_;
};

} // namespace vduse
