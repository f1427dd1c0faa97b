#include "cli/dashes.hpp"

#include <cctype>

namespace chorus::cli {

std::vector<std::string> normalize_dashes(int argc, char** argv) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(argc));
  bool passthrough = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") passthrough = true;
    if (!passthrough && i > 0 && arg.size() >= 3 && arg[0] == '-' && arg[1] != '-' &&
        std::isalpha(static_cast<unsigned char>(arg[1])) && arg[2] != '=')
      arg = "-" + arg;
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace chorus::cli
