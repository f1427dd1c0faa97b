// `keys` (install, use, remove, list: the agent runs the internal key queries
// across the cluster) and their reports in Serf's format.
#include <algorithm>

#include "agent/text_escape.hpp"
#include "cli/commands.hpp"
#include "cli/format.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

namespace {

// "failed:  NODE  MESSAGE" lines, a blank line, then the error.
int report_failure(const rpc::key_response& r, const std::string& what, const std::string& error) {
  std::vector<std::vector<std::string>> rows;
  if (r.messages)
    for (const auto& [node, msg] : *r.messages)
      rows.push_back({"failed:", agent::escape_text(node), agent::escape_text(msg)});
  out_raw(columnize(rows));
  out_line("");
  out_line(what + ": " + error);
  return 1;
}

}  // namespace

int run_keys(const keys_options& o) {
  const int actions = !o.install.empty() + !o.use.empty() + !o.remove.empty() + o.list;
  if (actions == 0) return show_usage;
  if (actions > 1) {
    out_line("Only one of -install, -use, -remove, or -list allowed");
    return 1;
  }
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  rpc::key_response r;
  if (o.list) {
    out_line("==> Asking all members for installed keys...");
    if (auto e = c.list_keys(r); !e.empty()) return report_failure(r, "Failed to gather member keys", e);
    out_line("==> Keys gathered, listing cluster keys...");
    out_line("");
    std::vector<std::vector<std::string>> rows;
    if (r.keys)
      for (const auto& [key, n] : *r.keys)
        rows.push_back({key, "[" + std::to_string(n) + "/" + std::to_string(r.num_nodes) + "]"});
    out_raw(serf_table(rows));
    return 0;
  }
  if (!o.install.empty()) {
    out_line("==> Installing key on all members...");
    if (auto e = c.install_key({o.install}, r); !e.empty()) return report_failure(r, "Error installing key", e);
    out_line("==> Successfully installed key!");
    return 0;
  }
  if (!o.use.empty()) {
    out_line("==> Changing primary key on all members...");
    if (auto e = c.use_key({o.use}, r); !e.empty()) return report_failure(r, "Error changing primary key", e);
    out_line("==> Successfully changed primary key!");
    return 0;
  }
  out_line("==> Removing key on all members...");
  if (auto e = c.remove_key({o.remove}, r); !e.empty()) return report_failure(r, "Error removing key", e);
  out_line("==> Successfully removed key!");
  return 0;
}

}  // namespace chorus::cli
