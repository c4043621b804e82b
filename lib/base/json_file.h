// JSON files that readers never see half-written, and directories of them.
#pragma once

#include "base/result.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vduse
{

// Parses PATH; ENOENT if it does not exist, a failure if it is not JSON.
Result<nlohmann::json> read_json_file(const std::filesystem::path &path);
// Writes TEXT to PATH.tmp and renames it over PATH: a reader sees the old
// file or the new one, never half of one. A file written again keeps its
// mode.
Status write_file_atomically(const std::filesystem::path &path, const std::string &text);
// write_file_atomically of the JSON, indented.
Status write_json_file(const std::filesystem::path &path, const nlohmann::json &json);
// The stems of DIR/*.json, sorted.
std::vector<std::string> json_file_stems(const std::filesystem::path &dir);

} // namespace vduse
