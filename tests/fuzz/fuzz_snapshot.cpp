// A snapshot file as the agent replays it at start (agent::replay_snapshot,
// agent::snapshot_reader): any bytes, since the file may be torn by a crash,
// edited by hand, or not a snapshot at all. Properties: no crash, UB or
// hang; the complete-lines prefix stays inside the input and ends at a line
// break; no restored member's name or address holds a line break (so it is
// written back as one line); the compaction of what was restored replays to
// the same state, with no warnings, and compacts to the same text again;
// the reader gives the same result whether the file arrives whole, in two
// pieces or byte by byte, also with a small line cap (the over-long path).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/snapshot.hpp"

using namespace chorus::agent;

namespace {

bool same(const snapshot_replay& a, const snapshot_replay& b) {
  return a.state == b.state && a.warnings == b.warnings && a.skipped_lines == b.skipped_lines &&
         a.records == b.records && a.valid_bytes == b.valid_bytes && a.torn == b.torn;
}

void check_pieces(std::string_view text, bool rejoin, std::size_t max_line) {
  snapshot_reader whole(rejoin, max_line);
  whole.feed(text);
  const auto w = whole.finish();
  snapshot_reader halves(rejoin, max_line);
  const std::size_t cut = text.empty() ? 0 : static_cast<unsigned char>(text[0]) % (text.size() + 1);
  halves.feed(text.substr(0, cut));
  halves.feed(text.substr(cut));
  if (!same(w, halves.finish())) std::abort();
  if (text.size() > 512) return;
  snapshot_reader bytes(rejoin, max_line);
  for (std::size_t i = 0; i < text.size(); ++i) bytes.feed(text.substr(i, 1));
  if (!same(w, bytes.finish())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const bool rejoin : {false, true}) {
    const auto r = replay_snapshot(text, rejoin);
    if (r.valid_bytes > size) std::abort();
    if (r.valid_bytes > 0 && text[r.valid_bytes - 1] != '\n') std::abort();
    if (r.torn != (r.valid_bytes < size)) std::abort();
    if (r.warnings.size() > max_snapshot_warnings || r.warnings.size() > r.skipped_lines) std::abort();
    for (const auto& [name, addr] : r.state.alive)
      if (name.find('\n') != std::string::npos || addr.find('\n') != std::string::npos) std::abort();
    const std::string compact = snapshot_compact_text(r.state);
    const auto again = replay_snapshot(compact, rejoin);
    if (!again.warnings.empty() || again.torn || !(again.state == r.state)) std::abort();
    if (snapshot_compact_text(again.state) != compact) std::abort();
    check_pieces(text, rejoin, max_snapshot_line_bytes);
    check_pieces(text, rejoin, 40);
  }
  return 0;
}
