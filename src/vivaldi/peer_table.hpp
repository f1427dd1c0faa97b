#pragma once
// Per-peer state keyed by a numeric peer id: an open-addressing hash table
// (linear probing, power-of-two capacity, load <= 1/2) storing the values
// inline. Compared with std::unordered_map it needs no allocation per peer
// and no pointer chase per lookup, which is most of an update's cost at
// millions of updates per second. Allocation happens only when the table
// doubles.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chorus::vivaldi {

template <class Value>
class peer_table {
 public:
  // The value for `key`, default-constructed on first use.
  Value& operator[](std::uint64_t key) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    std::size_t i = home(key);
    while (slots_[i].used) {
      if (slots_[i].key == key) return slots_[i].value;
      i = (i + 1) & mask_;
    }
    slots_[i].used = true;
    slots_[i].key = key;
    slots_[i].value = Value{};
    ++size_;
    return slots_[i].value;
  }

  void erase(std::uint64_t key) {
    if (slots_.empty()) return;
    std::size_t i = home(key);
    while (slots_[i].used && slots_[i].key != key) i = (i + 1) & mask_;
    if (!slots_[i].used) return;
    // Backward-shift deletion keeps every probe chain unbroken without
    // tombstones.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; slots_[j].used; j = (j + 1) & mask_) {
      const std::size_t h = home(slots_[j].key);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].used = false;
    --size_;
  }

  bool contains(std::uint64_t key) const {
    if (slots_.empty()) return false;
    for (std::size_t i = home(key); slots_[i].used; i = (i + 1) & mask_)
      if (slots_[i].key == key) return true;
    return false;
  }

  std::size_t size() const { return size_; }

  // Makes room for `peers` entries so that no later insert allocates.
  void reserve(std::size_t peers) {
    while (slots_.size() < peers * 2) grow();
  }

 private:
  struct slot {
    std::uint64_t key = 0;
    bool used = false;
    Value value{};
  };

  std::size_t home(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ULL) >> shift_) & mask_;  // Fibonacci hashing
  }

  void grow() {
    std::vector<slot> old = std::move(slots_);
    const std::size_t capacity = old.empty() ? 16 : old.size() * 2;
    slots_.assign(capacity, slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
    size_ = 0;
    for (auto& s : old)
      if (s.used) (*this)[s.key] = s.value;
  }

  std::vector<slot> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace chorus::vivaldi
