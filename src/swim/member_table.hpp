#pragma once
// The node table (memberlist.md 13.1): every node we know, ourselves
// included, in probe order, with a name index.
//
// Memory matters: in a 10,000-node simulation the table exists 10,000 times
// (10^8 entries). An entry is 56 bytes: the name lives in a per-table arena,
// the IP inline, meta (Serf tags, usually a few dozen bytes) out of line and
// only when present; the index is an open-addressing table of 32-bit slots.
//
// Positions are not stable: inserting swaps the new entry to a random
// position, and reset() shuffles and purges. Callers hold names, not indices,
// across calls.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swim/address.hpp"
#include "swim/messages.hpp"
#include "swim/random.hpp"
#include "swim/time.hpp"

namespace chorus::swim {

enum class member_state : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
const char* to_string(member_state s);

struct member_entry {
  std::uint32_t name_off = 0;  // into the table's name arena
  std::uint16_t name_len = 0;
  member_state state = member_state::dead;
  std::uint8_t vsn_len = 0;
  std::array<std::uint8_t, 6> vsn{};
  std::uint16_t port = 0;
  std::array<std::uint8_t, 16> ip{};
  std::uint8_t ip_len = 0;
  std::uint32_t incarnation = 0;
  std::uint32_t meta = 0;  // 1-based slot in the meta store; 0 = none
  std::int64_t state_change_us = 0;

  address addr() const {
    address a;
    a.ip = ip;
    a.ip_len = ip_len;
    a.port = port;
    return a;
  }
  void set_addr(const address& a) {
    ip = a.ip;
    ip_len = a.ip_len;
    port = a.port;
  }
  time_point state_change() const { return time_point{duration{state_change_us}}; }
  void set_state_change(time_point t) { state_change_us = t.time_since_epoch().count(); }
  std::span<const std::uint8_t> vsn_bytes() const { return {vsn.data(), vsn_len}; }
  void set_vsn(std::span<const std::uint8_t> v) {
    vsn_len = static_cast<std::uint8_t>(std::min<std::size_t>(v.size(), vsn.size()));
    std::copy_n(v.begin(), vsn_len, vsn.begin());
  }
  // Protocol max from Vsn (section 11); 0 when unknown.
  std::uint8_t pmax() const { return vsn_len >= 2 ? vsn[1] : 0; }
  bool dead_or_left() const { return state == member_state::dead || state == member_state::left; }
};

class member_table {
 public:
  std::size_t size() const { return entries_.size(); }
  member_entry& at(std::size_t i) { return entries_[i]; }
  const member_entry& at(std::size_t i) const { return entries_[i]; }

  std::string_view name(const member_entry& e) const { return {names_.data() + e.name_off, e.name_len}; }
  std::string_view name(std::size_t i) const { return name(entries_[i]); }
  std::span<const std::uint8_t> meta(const member_entry& e) const;
  void set_meta(member_entry& e, std::span<const std::uint8_t> meta);

  std::optional<std::size_t> find(std::string_view name) const;
  // Adds a new entry at a random position (swap with a random index, as
  // memberlist does); returns its index. Precondition: name not present.
  std::size_t insert(std::string_view name, random_source& rng);

  // End of a probe round (13.3): drops entries for which `purge` is true,
  // shuffles the rest.
  template <class Pred>
  std::size_t reset(random_source& rng, Pred purge);

  std::size_t memory_bytes() const;

 private:
  void rebuild_index();
  void index_insert(std::uint32_t idx);
  void grow_index();
  static std::uint64_t hash(std::string_view s);

  std::vector<member_entry> entries_;
  std::string names_;         // name arena; compacted by reset()
  std::vector<bytes> metas_;  // meta store, slots reused via free list
  std::vector<std::uint32_t> free_metas_;
  std::vector<std::uint32_t> index_;  // open addressing, entry index + 1; 0 = empty
};

template <class Pred>
std::size_t member_table::reset(random_source& rng, Pred purge) {
  std::size_t removed = 0;
  std::vector<member_entry> kept;
  std::string names;
  kept.reserve(entries_.size());
  names.reserve(names_.size());
  for (auto& e : entries_) {
    if (purge(e)) {
      set_meta(e, {});
      ++removed;
      continue;
    }
    const auto n = name(e);
    e.name_off = static_cast<std::uint32_t>(names.size());
    names.append(n);
    kept.push_back(e);
  }
  entries_ = std::move(kept);
  names_ = std::move(names);
  // Fisher-Yates with our own generator: reproducible everywhere.
  for (std::size_t i = entries_.size(); i > 1; --i) std::swap(entries_[i - 1], entries_[rng.below(i)]);
  rebuild_index();
  return removed;
}

}  // namespace chorus::swim
