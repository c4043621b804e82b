#include "base/cli_errors.h"

#include <regex>

namespace vduse
{

namespace
{

// A list as CLI11 writes it ("a|b", "a,b") as a person does: "a, b".
std::string listed(std::string text, char separator)
{
	for (size_t at = text.find(separator); at != std::string::npos;
	     at = text.find(separator, at + 2))
		text.replace(at, 1, ", ");
	return text;
}

// What an option of CLI11 type name type takes, for a conversion error.
std::string expected_of(const CLI::App &app, const std::string &name)
{
	const CLI::Option *option = app.get_option_no_throw(name);
	std::string type = option ? option->get_type_name() : "";
	if (type == "INT")
		return "a whole number";
	if (type.find("INT") != std::string::npos)
		return "a whole number of 0 or more";
	if (type == "FLOAT" || type == "NUMBER")
		return "a number";
	// A choice, as the option's help writes it: "512|4096".
	if (type.find('|') != std::string::npos &&
	    type.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos)
		return "one of " + listed(type, '|');
	return "a valid value";
}

// A number as a person writes it: "1.000000" -> "1", "0.500000" -> "0.5".
std::string plain(std::string number)
{
	if (number.find('.') == std::string::npos)
		return number;
	while (!number.empty() && number.back() == '0')
		number.pop_back();
	if (!number.empty() && number.back() == '.')
		number.pop_back();
	return number;
}

// A positional's name as the usage line shows it (NAME), an option's as is.
std::string argument_name(const std::string &name)
{
	if (name.rfind('-', 0) == 0)
		return name;
	std::string upper;
	for (char c : name)
		upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	return upper;
}

} // namespace

std::string parse_error_text(const CLI::App &app, const CLI::ParseError &error)
{
	std::string text = error.what();
	std::smatch m;
	if (std::regex_match(text, m, std::regex(R"(Could not convert: (\S+) = (.*))")))
		return m[1].str() + ": '" + m[2].str() + "' is not " + expected_of(app, m[1].str());
	if (std::regex_match(text, m, std::regex(R"((\S+): Value (.*) not in range (.*) to (.*))")))
		return m[2].str().empty()
		               ? m[1].str() + ": the value is empty"
		               : m[1].str() + ": " + m[2].str() + " is not in the range " +
		                         plain(m[3].str()) + " to " + plain(m[4].str());
	if (std::regex_match(text, m, std::regex(R"((\S+): (.*) not in \{(.*)\})")))
		return m[1].str() + ": '" + m[2].str() + "' is not one of " +
		       listed(m[3].str(), ',');
	if (std::regex_match(text, m, std::regex(R"((\S+) is required)")))
		return argument_name(m[1].str()) + " is required";
	if (std::regex_match(text, m,
	                     std::regex(R"((\S+): At Most (\d+) required but received (\d+))")))
		return m[1].str() + " is given " + m[3].str() + " times; it takes " +
		       (m[2].str() == "1" ? std::string("one value") : m[2].str() + " values");
	if (std::regex_match(text, m, std::regex(R"((\S+): (\d+) required (\S+) missing)")))
		return m[1].str() + " needs a value";
	if (std::regex_match(text, m, std::regex(R"((\d+) required (\S+) missing)")))
		return "a value is missing";
	if (std::regex_match(text, m, std::regex(R"((\S+): the value is empty)")))
		return argument_name(m[1].str()) + ": the value is empty";
	if (std::regex_match(text, m,
	                     std::regex(R"(The following arguments were not expected: (.*))")))
		return "unexpected argument '" + m[1].str() + "'";
	return text;
}

void refuse_empty_values(CLI::App &command)
{
	for (CLI::Option *option : command.get_options()) {
		// Flags take no value; --help and --version neither.
		if (option->get_expected_max() == 0)
			continue;
		option->check(CLI::Validator(
		        [](const std::string &value) {
			        return value.empty() ? std::string("the value is empty")
			                             : std::string();
		        },
		        ""));
	}
}

} // namespace vduse
