#include "cli/session.hpp"

#include <cstdlib>
#include <string>

#include "cli/format.hpp"

namespace chorus::cli {

namespace {
std::string env_or(const char* a, const char* b, const char* fallback) {
  if (const char* v = std::getenv(a); v && *v) return v;
  if (const char* v = std::getenv(b); v && *v) return v;
  return fallback;
}
}  // namespace

std::string default_rpc_address() { return env_or("CHORUS_RPC_ADDR", "SERF_RPC_ADDR", rpc::default_rpc_address); }
std::string default_rpc_auth() { return env_or("CHORUS_RPC_AUTH", "SERF_RPC_AUTH", ""); }

int usage_error(const std::string& message) {
  out_line(message);
  out_line("");
  return show_usage;
}

bool open_session(rpc::client& c, const rpc_target& target) {
  return !failed("Error connecting to Serf agent", c.connect(target.address, target.auth));
}

bool read_tag_flags(const std::vector<std::string>& flags, rpc::string_map& into) {
  for (const auto& t : flags) {
    auto kv = split_tag(t);
    if (!kv) {
      out_line("Error: Invalid tag: '" + t + "'");
      return false;
    }
    into[kv->first] = kv->second;
  }
  return true;
}

}  // namespace chorus::cli
