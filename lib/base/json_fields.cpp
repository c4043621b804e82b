#include "base/json_fields.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace vduse
{

namespace
{

// What a value is, as a person would say it, with the value if short.
std::string describe(const nlohmann::json &value)
{
	if (value.is_array())
		return "an array";
	if (value.is_object())
		return "an object";
	std::string text = value.dump();
	if (text.size() > 40)
		text = text.substr(0, 37) + "...";
	if (value.is_number())
		return "the number " + text;
	if (value.is_string())
		return "the string " + text;
	return text; // true, false, null
}

size_t edit_distance(const std::string &a, const std::string &b)
{
	std::vector<size_t> row(b.size() + 1);
	for (size_t j = 0; j <= b.size(); ++j)
		row[j] = j;
	for (size_t i = 1; i <= a.size(); ++i) {
		size_t diagonal = row[0];
		row[0] = i;
		for (size_t j = 1; j <= b.size(); ++j) {
			size_t above = row[j];
			row[j] = std::min({row[j] + 1, row[j - 1] + 1,
			                   diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
			diagonal = above;
		}
	}
	return row[b.size()];
}

} // namespace

JsonFields::JsonFields(const nlohmann::json &json, std::string what)
        : json_(json), what_(std::move(what))
{
	if (!json_.is_object())
		throw std::invalid_argument(what_ + " must be a JSON object ({...}), not " +
		                            describe(json_));
}

const nlohmann::json *JsonFields::field(const char *key)
{
	known_.insert(key);
	auto it = json_.find(key);
	return it == json_.end() ? nullptr : &*it;
}

bool JsonFields::has(const char *key)
{
	return field(key) != nullptr;
}

void JsonFields::missing(const char *key) const
{
	throw std::invalid_argument(what_ + " lacks the key \"" + key + "\"");
}

void JsonFields::wrong(const char *key, const std::string &expected,
                       const nlohmann::json &value) const
{
	throw std::invalid_argument("\"" + std::string(key) + "\" must be " + expected + ", not " +
	                            describe(value));
}

const nlohmann::json *JsonFields::lookup(const char *key, bool has_fallback)
{
	const nlohmann::json *v = field(key);
	if (!v && !has_fallback)
		missing(key);
	return v;
}

std::string JsonFields::text(const char *key, std::optional<std::string> fallback)
{
	const nlohmann::json *v = lookup(key, fallback.has_value());
	if (!v)
		return *fallback;
	if (!v->is_string())
		wrong(key, "a string", *v);
	return v->get<std::string>();
}

bool JsonFields::flag(const char *key, std::optional<bool> fallback)
{
	const nlohmann::json *v = lookup(key, fallback.has_value());
	if (!v)
		return *fallback;
	if (!v->is_boolean())
		wrong(key, "true or false", *v);
	return v->get<bool>();
}

std::string JsonFields::nearest(const std::string &key, const std::set<std::string> &known)
{
	std::string best;
	size_t best_distance = std::max<size_t>(2, key.size() / 3) + 1;
	for (const std::string &k : known) {
		size_t d = edit_distance(key, k);
		if (d < best_distance) {
			best_distance = d;
			best = k;
		}
	}
	return best;
}

Status JsonFields::no_other_keys() const
{
	for (const auto &[key, value] : json_.items()) {
		if (known_.count(key) != 0)
			continue;
		std::string near = nearest(key, known_);
		return failure(
		        what_ + " has an unknown key \"" + key + "\"" +
		        (near.empty() ? std::string() : " (did you mean \"" + near + "\"?)"));
	}
	return {};
}

} // namespace vduse
