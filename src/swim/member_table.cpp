#include "swim/member_table.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/enum_names.hpp"

namespace chorus::swim {

const char* to_string(member_state s) { return enum_name<member_state::left>(s, {"alive", "suspect", "dead", "left"}); }

std::uint64_t member_table::hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h ^ (h >> 29);
}

std::span<const std::uint8_t> member_table::meta(const member_entry& e) const {
  if (e.meta == 0) return {};
  return metas_[e.meta - 1];
}

void member_table::set_meta(member_entry& e, std::span<const std::uint8_t> meta) {
  if (meta.empty()) {
    if (e.meta) {
      metas_[e.meta - 1] = bytes{};
      free_metas_.push_back(e.meta);
      e.meta = 0;
    }
    return;
  }
  if (e.meta == 0) {
    if (!free_metas_.empty()) {
      e.meta = free_metas_.back();
      free_metas_.pop_back();
    } else {
      metas_.emplace_back();
      e.meta = static_cast<std::uint32_t>(metas_.size());
    }
  }
  metas_[e.meta - 1].assign(meta.begin(), meta.end());
}

address member_table::addr(const member_entry& e) const {
  address a;
  a.port = e.port;
  if (e.ip_len == 4) {
    a.ip_len = 4;
    for (int i = 0; i < 4; ++i) a.ip[i] = static_cast<std::uint8_t>(e.ip >> (8 * i));
  } else if (e.ip != 0) {
    const auto& slot = ips_[e.ip - 1];
    a.ip_len = slot[0];
    std::copy_n(slot.begin() + 1, a.ip_len, a.ip.begin());
  }
  return a;
}

void member_table::release_ip(member_entry& e) {
  if (e.ip_len != 4 && e.ip != 0) free_ips_.push_back(e.ip);
  e.ip = 0;
  e.ip_len = 0;
}

void member_table::set_addr(member_entry& e, const address& a) {
  e.port = a.port;
  if (a.ip_len == 4) {
    release_ip(e);
    e.ip_len = 4;
    e.ip = std::uint32_t{a.ip[0]} | (std::uint32_t{a.ip[1]} << 8) | (std::uint32_t{a.ip[2]} << 16) |
           (std::uint32_t{a.ip[3]} << 24);
    return;
  }
  if (e.ip_len == 4 || e.ip == 0) {
    e.ip = 0;
    if (!free_ips_.empty()) {
      e.ip = free_ips_.back();
      free_ips_.pop_back();
    } else {
      ips_.emplace_back();
      e.ip = static_cast<std::uint32_t>(ips_.size());
    }
  }
  e.ip_len = a.ip_len;
  auto& slot = ips_[e.ip - 1];
  slot[0] = a.ip_len;
  std::copy_n(a.ip.begin(), a.ip_len, slot.begin() + 1);
}

std::span<const std::uint8_t> member_table::vsn(const member_entry& e) const {
  if (e.vsn == 0) return {};
  const auto& v = vsns_[e.vsn - 1].v;
  return {v.data() + 1, v[0]};
}

void member_table::release_vsn(member_entry& e) {
  if (e.vsn == 0) return;
  auto& slot = vsns_[e.vsn - 1];
  if (--slot.refs == 0) {
    std::uint64_t key = 0;
    for (auto b : slot.v) key = (key << 8) | b;
    vsn_ids_.erase(key);
    free_vsns_.push_back(e.vsn);
  }
  e.vsn = 0;
}

void member_table::set_vsn(member_entry& e, std::span<const std::uint8_t> v) {
  std::array<std::uint8_t, 7> packed{};
  packed[0] = static_cast<std::uint8_t>(std::min<std::size_t>(v.size(), 6));
  std::copy_n(v.begin(), packed[0], packed.begin() + 1);
  std::uint64_t key = 0;
  for (auto b : packed) key = (key << 8) | b;
  release_vsn(e);
  if (packed[0] == 0) return;
  if (last_vsn_ != 0 && vsns_[last_vsn_ - 1].refs > 0 && vsns_[last_vsn_ - 1].v == packed) {
    e.vsn = last_vsn_;
    ++vsns_[e.vsn - 1].refs;
    return;
  }
  if (auto it = vsn_ids_.find(key); it != vsn_ids_.end()) {
    e.vsn = it->second;
    ++vsns_[e.vsn - 1].refs;
    last_vsn_ = e.vsn;
    return;
  }
  std::uint16_t id = 0;
  if (!free_vsns_.empty()) {
    id = free_vsns_.back();
    free_vsns_.pop_back();
  } else if (vsns_.size() < 0xffff) {
    vsns_.emplace_back();
    id = static_cast<std::uint16_t>(vsns_.size());
  } else {
    // 65,535 distinct versions in use at once: only a hostile cluster does
    // that. The entry keeps no Vsn (pmax 0: no TCP ping, no nacks to it).
    return;
  }
  vsns_[id - 1] = vsn_value{packed, 1};
  vsn_ids_.emplace(key, id);
  e.vsn = id;
  last_vsn_ = id;
}

std::optional<std::size_t> member_table::find(std::string_view n) const {
  if (index_.empty()) return std::nullopt;
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t h = hash(n);
  const std::uint32_t t = tag(h), idx_mask = index_mask();
  for (std::size_t slot = h & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t v = index_[slot];
    if (v == 0) return std::nullopt;
    if ((v & ~idx_mask) != t) continue;
    const auto& e = entries_[(v & idx_mask) - 1];
    if (e.name_len == n.size() && std::memcmp(names_.data() + e.name_off, n.data(), n.size()) == 0)
      return (v & idx_mask) - 1;
  }
}

void member_table::index_insert(std::uint32_t idx) {
  const std::size_t mask = index_.size() - 1;
  const std::uint64_t h = hash(name(entries_[idx]));
  for (std::size_t slot = h & mask;; slot = (slot + 1) & mask) {
    if (index_[slot] == 0) {
      index_[slot] = (idx + 1) | tag(h);
      return;
    }
  }
}

void member_table::rebuild_index(std::size_t for_entries) {
  const std::size_t n = std::max(entries_.size(), for_entries);
  std::size_t cap = 16;
  while (cap * 3 < n * 4 + 4) cap *= 2;  // load factor <= 3/4
  index_.assign(cap, 0);
  index_bits_ = 1;  // entry index + 1 <= cap needs log2(cap) + 1 bits
  while ((std::size_t{1} << index_bits_) <= cap) ++index_bits_;
  for (std::uint32_t i = 0; i < entries_.size(); ++i) index_insert(i);
}

void member_table::grow_index() {
  if (index_.empty() || (entries_.size() + 1) * 4 > index_.size() * 3) rebuild_index();
}

void member_table::reserve(std::size_t entries) {
  if (entries <= entries_.capacity()) return;
  // Names: as long as the current ones on average (a simulation's are).
  const std::size_t avg = entries_.empty() ? 8 : names_.size() / entries_.size() + 1;
  names_.reserve(std::max(names_.capacity(), entries * avg));
  entries_.reserve(entries);
  if (index_.empty() || entries * 4 > index_.size() * 3) rebuild_index(entries);
}

std::size_t member_table::insert(std::string_view n, random_source& rng) {
  if (n.size() > 0xffff) throw std::length_error("member name too long");  // callers bound names first
  // Grow by 1/4 rather than doubling: the table is the simulator's dominant
  // allocation and a doubled vector wastes up to half of it.
  if (entries_.size() == entries_.capacity()) entries_.reserve(entries_.size() + entries_.size() / 4 + 8);
  if (names_.size() + n.size() > names_.capacity()) names_.reserve(names_.size() + names_.size() / 4 + n.size() + 64);
  member_entry e;
  e.name_off = static_cast<std::uint32_t>(names_.size());
  e.name_len = static_cast<std::uint16_t>(n.size());
  names_.append(n);
  entries_.push_back(e);
  const std::size_t last = entries_.size() - 1;
  const std::size_t pos = rng.below(entries_.size());
  std::swap(entries_[last], entries_[pos]);
  // Fix the index: the moved entry's slot and the new one.
  if (index_.empty() || entries_.size() * 4 > index_.size() * 3) {
    rebuild_index();
  } else {
    if (pos != last) {
      const std::size_t mask = index_.size() - 1;
      const std::uint32_t idx_mask = index_mask();
      for (std::size_t slot = hash(name(entries_[last])) & mask;; slot = (slot + 1) & mask)
        if ((index_[slot] & idx_mask) == pos + 1) {
          index_[slot] = (index_[slot] & ~idx_mask) | static_cast<std::uint32_t>(last + 1);
          break;
        }
    }
    index_insert(static_cast<std::uint32_t>(pos));
  }
  return pos;
}

std::size_t member_table::memory_bytes() const {
  std::size_t m = entries_.capacity() * sizeof(member_entry) + names_.capacity() + index_.capacity() * 4 +
                  metas_.capacity() * sizeof(bytes) + free_metas_.capacity() * 4 +
                  vsns_.capacity() * sizeof(vsn_value) + vsn_ids_.size() * 32 + ips_.capacity() * 17 +
                  free_ips_.capacity() * 4 + free_vsns_.capacity() * 2;
  for (const auto& b : metas_) m += b.capacity();
  return m;
}

}  // namespace chorus::swim
