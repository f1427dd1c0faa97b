#pragma once
// Serf's CLI takes long flags with one dash (`-node=n1`); CLI11 wants two.
#include <string>
#include <vector>

namespace chorus::cli {

// Rewrites `-name[=v]` to `--name[=v]` for every argument that is a single
// dash followed by two or more characters, starts with a letter and appears
// before a bare `--`. Negative numbers and short flags (`-h`) are left alone.
std::vector<std::string> normalize_dashes(int argc, char** argv);

}  // namespace chorus::cli
