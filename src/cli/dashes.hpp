#pragma once
// Serf's CLI takes long flags with one dash (`-node=n1`); CLI11 wants two.
// This rewrite also keeps a flag from taking the next argument as its value:
// CLI11 reads `--node=` (an empty value) as `--node` and then takes the next
// argument, so `-node= -bind=ADDR` would name the node "-bind=ADDR". Go's
// flag package, which Serf uses, gives `-node=` the empty value instead.
#include <functional>
#include <string>
#include <vector>

namespace chorus::cli {

// What a subcommand's flag takes.
enum class flag_kind { unknown, value, number, boolean };
// The kind of flag `name` (without dashes) of `subcommand` ("" before one).
using flag_kinds = std::function<flag_kind(const std::string& subcommand, const std::string& name)>;

struct normalized_args {
  std::vector<std::string> args;
  std::string error;  // non-empty: the arguments are refused; print it, exit 1
};

// Before a bare `--`:
// - `-name[=v]` becomes `--name[=v]` for every argument that is a single dash
//   followed by two or more characters and starts with a letter; negative
//   numbers and short flags (`-h`) are left alone.
// - `-name=` or `--name=` with an empty value, for a flag that takes a value,
//   becomes `--name` followed by an empty argument, which CLI11 takes as the
//   value (as Go's flag package does); for a boolean or a number it is an
//   error, as in Serf (`invalid boolean value "" for -replay`), since CLI11
//   would read an empty number as 0.
// - a flag that takes a value, written without `=`, followed by another flag
//   of the same subcommand is an error: the flag's value is missing (Go would
//   take that flag as the value).
// The subcommand is the first argument that does not start with '-'.
normalized_args normalize_args(const std::vector<std::string>& argv, const flag_kinds& kind);

}  // namespace chorus::cli
