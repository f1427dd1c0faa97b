#include "cli/dashes.hpp"

#include <cctype>
#include <optional>

namespace chorus::cli {

namespace {

struct flag_arg {
  std::string name;                  // without dashes or value
  std::optional<std::string> value;  // after '=', if any
};

// `-name[=v]` (two or more characters, starting with a letter, as Serf's
// long flags) or `--name[=v]`; nullopt for anything else (positionals, `-`,
// `-5`, short flags like `-h`).
std::optional<flag_arg> parse_flag(const std::string& arg) {
  std::size_t start = 0;
  if (arg.size() >= 3 && arg[0] == '-' && arg[1] != '-' && arg[2] != '=')
    start = 1;
  else if (arg.size() >= 3 && arg[0] == '-' && arg[1] == '-')
    start = 2;
  else
    return std::nullopt;
  if (!std::isalpha(static_cast<unsigned char>(arg[start]))) return std::nullopt;
  flag_arg f;
  const auto eq = arg.find('=', start);
  f.name = arg.substr(start, eq == std::string::npos ? std::string::npos : eq - start);
  if (eq != std::string::npos) f.value = arg.substr(eq + 1);
  return f;
}

}  // namespace

normalized_args normalize_args(const std::vector<std::string>& argv, const flag_kinds& kind) {
  normalized_args r;
  r.args.reserve(argv.size() + 1);
  std::string subcommand;
  bool passthrough = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (i == 0 || passthrough) {
      r.args.push_back(arg);
      continue;
    }
    if (arg == "--") {
      passthrough = true;
      r.args.push_back(arg);
      continue;
    }
    const auto f = parse_flag(arg);
    if (!f) {
      if (subcommand.empty() && !arg.empty() && arg[0] != '-') subcommand = arg;
      r.args.push_back(arg);
      continue;
    }
    const flag_kind k = kind(subcommand, f->name);
    if (f->value && f->value->empty()) {
      if (k == flag_kind::boolean) {
        r.error = "invalid boolean value \"\" for -" + f->name + ": give -" + f->name + ", -" + f->name + "=true or -" +
                  f->name + "=false";
        return r;
      }
      if (k == flag_kind::number) {
        r.error = "invalid value \"\" for flag -" + f->name + ": parse error";
        return r;
      }
      if (k == flag_kind::value) {
        r.args.push_back("--" + f->name);
        r.args.emplace_back();
        continue;
      }
    } else if (!f->value && (k == flag_kind::value || k == flag_kind::number) && i + 1 < argv.size()) {
      if (const auto next = parse_flag(argv[i + 1]); next && kind(subcommand, next->name) != flag_kind::unknown) {
        r.error = "flag needs a value: -" + f->name + " (the next argument, " + argv[i + 1] + ", is a flag)";
        return r;
      }
    }
    r.args.push_back(arg.compare(0, 2, "--") == 0 ? arg : "-" + arg);
  }
  return r;
}

}  // namespace chorus::cli
