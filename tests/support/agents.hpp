#pragma once
// The programs under test: chorus's binary (built in this tree) and Debian's
// `serf`, their agent command line, and their CLI run to completion.
#include <algorithm>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace test_support {

inline const std::string chorus_binary = std::string(CHORUS_BINARY_DIR) + "/src/cli/chorus";
inline const std::string serf_binary = "/usr/bin/serf";

// `BINARY agent -node=NAME -bind=IP:7946 -rpc-addr=IP:7373`, then debug logs
// unless `flags` set the level themselves or name a config file or
// directory that may (the command line would win over it), then `flags`.
inline std::vector<std::string> agent_argv(const std::string& binary, const std::string& name, const std::string& ip,
                                           const std::vector<std::string>& flags) {
  std::vector<std::string> argv{binary, "agent", "-node=" + name, "-bind=" + ip + ":7946", "-rpc-addr=" + ip + ":7373"};
  const bool own_level = std::any_of(flags.begin(), flags.end(), [](const std::string& f) {
    return f.rfind("-log-level", 0) == 0 || f.rfind("-config-file", 0) == 0 || f.rfind("-config-dir", 0) == 0;
  });
  if (!own_level) argv.push_back("-log-level=debug");
  argv.insert(argv.end(), flags.begin(), flags.end());
  return argv;
}

inline run_result run_chorus(std::vector<std::string> args, std::chrono::milliseconds limit = 30s,
                             const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), chorus_binary);
  return run(args, limit, env);
}

inline run_result run_serf(std::vector<std::string> args, std::chrono::milliseconds limit = 30s,
                           const std::vector<std::string>& env = {}) {
  args.insert(args.begin(), serf_binary);
  return run(args, limit, env);
}

}  // namespace test_support
