// A snapshot file as the agent replays it at start (agent::replay_snapshot):
// any bytes, since the file may be torn by a crash, edited by hand, or not a
// snapshot at all. Properties: no crash, UB or hang; the complete-lines
// prefix stays inside the input and ends at a line break; no restored
// member's name or address holds a line break (so it is written back as
// one line); the compaction of what was restored replays to the same state,
// with no warnings, and compacts to the same text again.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/snapshot.hpp"

using namespace chorus::agent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool rejoin : {false, true}) {
    const auto r = replay_snapshot(text, rejoin);
    if (r.valid_bytes > size) std::abort();
    if (r.valid_bytes > 0 && text[r.valid_bytes - 1] != '\n') std::abort();
    if (r.torn != (r.valid_bytes < size)) std::abort();
    for (const auto& [name, addr] : r.state.alive)
      if (name.find('\n') != std::string::npos || addr.find('\n') != std::string::npos) std::abort();
    const std::string compact = snapshot_compact_text(r.state);
    const auto again = replay_snapshot(compact, rejoin);
    if (!again.warnings.empty() || again.torn || !(again.state == r.state)) std::abort();
    if (snapshot_compact_text(again.state) != compact) std::abort();
  }
  return 0;
}
