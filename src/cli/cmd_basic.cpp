// The one-request subcommands: join, leave, force-leave, event, tags, keygen.
#include <sodium.h>

#include "cli/commands.hpp"
#include "cli/format.hpp"
#include "cli/session.hpp"

namespace chorus::cli {

int run_join(const join_options& o) {
  if (o.args.empty()) {
    return usage_error("At least one address to join must be specified.");
  }
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  // Host names go to the agent as given: it resolves them (to every A/AAAA
  // address) and reports resolution failures in Serf's words.
  rpc::join_response resp;
  if (failed("Error joining the cluster", c.join({o.args, o.replay}, resp))) return 1;
  out_line("Successfully joined cluster by contacting " + std::to_string(resp.num) + " nodes.");
  return 0;
}

int run_leave(const rpc_target& rpc) {
  rpc::client c;
  if (!open_session(c, rpc)) return 1;
  if (failed("Error leaving", c.leave())) return 1;
  out_line("Graceful leave complete");
  return 0;
}

int run_force_leave(const force_leave_options& o) {
  if (o.args.size() != 1) {
    return usage_error("A node name must be specified to force leave.");
  }
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  if (failed("Error force leaving", c.force_leave({o.args[0], o.prune}))) return 1;
  return 0;
}

int run_event(const event_options& o) {
  if (o.args.empty()) {
    return usage_error("An event name must be specified.");
  }
  if (o.args.size() > 2) {
    return usage_error("Too many command line arguments. Only a name and payload must be specified.");
  }
  rpc::event_request req;
  req.name = o.args[0];
  req.coalesce = o.coalesce;
  if (o.args.size() == 2) req.payload = rpc::bytes(o.args[1].begin(), o.args[1].end());  // "" stays an empty payload
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  if (failed("Error sending event", c.event(req))) return 1;
  out_line("Event '" + req.name + "' dispatched! Coalescing enabled: " + (o.coalesce ? "true" : "false"));
  return 0;
}

int run_tags(const tags_options& o) {
  if (o.set.empty() && o.del.empty()) return show_usage;
  rpc::tags_request req;
  req.tags.emplace();  // Serf sends a map even when only deleting
  if (!read_tag_flags(o.set, *req.tags)) return 1;
  if (!o.del.empty()) req.delete_tags = o.del;
  rpc::client c;
  if (!open_session(c, o.rpc)) return 1;
  if (failed("Error setting tags", c.tags(req))) return 1;
  out_line("Successfully updated agent tags");
  return 0;
}

int run_keygen() {
  if (sodium_init() < 0) {
    out_line("Error reading random data: libsodium failed to initialise");
    return 1;
  }
  unsigned char key[32];
  randombytes_buf(key, sizeof key);
  char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(key, sizeof key);
  out_line(b64);
  return 0;
}

}  // namespace chorus::cli
