#pragma once
// Text helpers that make our output byte-identical to the `serf` CLI's where
// scripts parse it (serf-rpc.md section 5): the two-space column layout, Go's
// indented JSON (with Go's string escaping), Go's duration syntax, and the
// `key=value` tag arguments.
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::cli {

// Rows of cells -> lines: cells joined by two spaces, every column but the
// last padded to its widest cell (counted in UTF-8 code points). Each line ends with '\n'; no rows -> "".
std::string columnize(const std::vector<std::vector<std::string>>& rows);

// A table as the `serf` CLI prints it: columnize()'s lines, then trailing
// whitespace of the whole block removed and one newline added. So only the
// *last* line loses the separator before an empty last cell, and an empty
// table prints "\n" (both observed with serf 0.9.4).
std::string serf_table(const std::vector<std::vector<std::string>>& rows);

// A JSON string literal as Go's encoding/json writes it: <, >, & and U+2028/9
// escaped as \u003c..., control characters as \n \r \t or \u00XX, invalid
// UTF-8 replaced by U+FFFD.
std::string go_json_string(std::string_view s);

// Go's json.MarshalIndent(v, "", "  ") of an ordered JSON tree: objects keep
// the tree's key order (use sorted keys where Go marshals a map), empty
// containers print as {} and [].
std::string go_json_indent(const nlohmann::ordered_json& v);

// Parses Go's time.ParseDuration syntax ("1.5s", "300ms", "2h45m", "0").
std::optional<std::chrono::nanoseconds> parse_go_duration(std::string_view s);

// Splits "key=value" at the first '='; nullopt when there is none.
std::optional<std::pair<std::string, std::string>> split_tag(std::string_view kv);

// Removes one trailing "\n" (the CLI does this to query response payloads).
std::string_view trim_one_newline(std::string_view s);

// "ip:port" with IPv6 bracketed, from the 4- or 16-byte address of a member.
std::string host_port(const std::vector<std::uint8_t>& addr, std::uint16_t port);

}  // namespace chorus::cli
