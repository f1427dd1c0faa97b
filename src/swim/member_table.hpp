#pragma once
// The node table (memberlist.md 13.1): every node we know, ourselves
// included, in probe order, with a name index.
//
// Memory matters: in a 10,000-node simulation the table exists 10,000 times
// (10^8 entries). An entry is 32 bytes: the name lives in a per-table arena,
// an IPv4 address inline (IPv6 in a slot store), the Vsn interned, meta
// (Serf tags, usually a few dozen bytes) out of line and only when present;
// the index is an open-addressing table of 32-bit slots: the entry index
// plus, in the bits the index does not need, a tag from the name's hash, so
// that a probe rarely touches an entry (and its name) that is not the one
// sought (each is a cache miss when 10,000 tables do not fit in any cache).
//
// Positions are not stable: inserting swaps the new entry to a random
// position, and reset() shuffles and purges. Callers hold names, not indices,
// across calls.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/random.hpp"
#include "swim/address.hpp"
#include "swim/messages.hpp"
#include "swim/time.hpp"

namespace chorus::swim {

enum class member_state : std::uint8_t { alive = 0, suspect = 1, dead = 2, left = 3 };
const char* to_string(member_state s);

// 32 bytes. What most entries share or rarely have lives in the table: the
// name in an arena, meta in a slot store, the 6-byte Vsn interned (every node
// of a cluster usually runs the same version), an IPv6 address in a slot
// store (IPv4 is inline). Access those through member_table.
struct member_entry {
  std::uint32_t name_off = 0;  // into the table's name arena
  std::uint32_t incarnation = 0;
  std::uint32_t meta = 0;  // 1-based slot in the meta store; 0 = none
  std::uint32_t ip = 0;    // IPv4 bytes when ip_len == 4, else 1-based slot in the IP store (0 = none)
  std::int64_t state_change_us = 0;
  std::uint16_t name_len = 0;
  std::uint16_t port = 0;
  std::uint16_t vsn = 0;  // 1-based id in the table's Vsn set; 0 = none
  member_state state = member_state::dead;
  std::uint8_t ip_len = 0;

  time_point state_change() const { return time_point{duration{state_change_us}}; }
  void set_state_change(time_point t) { state_change_us = t.time_since_epoch().count(); }
  bool dead_or_left() const { return state == member_state::dead || state == member_state::left; }
};
static_assert(sizeof(member_entry) == 32, "member entries are the simulator's dominant allocation");

class member_table {
 public:
  std::size_t size() const { return entries_.size(); }
  member_entry& at(std::size_t i) { return entries_[i]; }
  const member_entry& at(std::size_t i) const { return entries_[i]; }

  std::string_view name(const member_entry& e) const { return {names_.data() + e.name_off, e.name_len}; }
  std::string_view name(std::size_t i) const { return name(entries_[i]); }
  std::span<const std::uint8_t> meta(const member_entry& e) const;
  void set_meta(member_entry& e, std::span<const std::uint8_t> meta);

  address addr(const member_entry& e) const;
  void set_addr(member_entry& e, const address& a);
  std::span<const std::uint8_t> vsn(const member_entry& e) const;
  // Keeps at most 6 bytes (section 11).
  void set_vsn(member_entry& e, std::span<const std::uint8_t> v);
  // Protocol max from Vsn (section 11); 0 when unknown.
  std::uint8_t pmax(const member_entry& e) const {
    const auto v = vsn(e);
    return v.size() >= 2 ? v[1] : 0;
  }

  std::optional<std::size_t> find(std::string_view name) const;
  // Adds a new entry at a random position (swap with a random index, as
  // memberlist does); returns its index. Precondition: name not present.
  std::size_t insert(std::string_view name, random_source& rng);
  // Room for `entries` entries in all (a bulk insert, core::restore): one
  // allocation of each array instead of growing by a quarter ~40 times on
  // the way to 10,000 (each a copy into freshly faulted pages).
  void reserve(std::size_t entries);

  // End of a probe round (13.3): drops entries for which `purge` is true,
  // shuffles the rest.
  template <class Pred>
  std::size_t reset(random_source& rng, Pred purge);

  std::size_t memory_bytes() const;

 private:
  void rebuild_index(std::size_t for_entries = 0);
  void index_insert(std::uint32_t idx);
  void grow_index();
  static std::uint64_t hash(std::string_view s);

  std::vector<member_entry> entries_;
  std::string names_;         // name arena; compacted by reset()
  std::vector<bytes> metas_;  // meta store, slots reused via free list
  std::vector<std::uint32_t> free_metas_;
  // Open addressing: (entry index + 1) | tag; 0 = empty. The low
  // index_bits_ bits hold entry index + 1 (<= capacity), the rest the tag.
  std::vector<std::uint32_t> index_;
  unsigned index_bits_ = 0;
  std::uint32_t index_mask() const { return index_bits_ >= 32 ? ~0u : (1u << index_bits_) - 1; }
  std::uint32_t tag(std::uint64_t h) const {
    return index_bits_ >= 32 ? 0u : static_cast<std::uint32_t>(h >> 32) << index_bits_;
  }
  // Interned Vsn values (length byte + 6 bytes), reference counted.
  struct vsn_value {
    std::array<std::uint8_t, 7> v{};
    std::uint32_t refs = 0;
  };
  std::vector<vsn_value> vsns_;
  std::unordered_map<std::uint64_t, std::uint16_t> vsn_ids_;  // packed value -> id
  std::vector<std::uint16_t> free_vsns_;
  std::uint16_t last_vsn_ = 0;  // the id set_vsn found or made last (usually everyone's)
  void release_vsn(member_entry& e);
  // IPv6 (and any non-4-byte) addresses: length + 16 bytes per slot.
  std::vector<std::array<std::uint8_t, 17>> ips_;
  std::vector<std::uint32_t> free_ips_;
  void release_ip(member_entry& e);
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
      release_vsn(e);
      release_ip(e);
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
