#include "swim/lzw.hpp"

#include <array>
#include <memory>

namespace chorus::swim::lzw {

namespace {

constexpr std::uint32_t literal_width = 8;
constexpr std::uint32_t clear_code = 1u << literal_width;  // 256
constexpr std::uint32_t eof_code = clear_code + 1;         // 257
constexpr std::uint32_t max_width = 12;
// The encoder resets when its next free code reaches this value (Go's writer
// never assigns code 4095, so its streams never need the decoder's
// "table full" mode; other encoders may).
constexpr std::uint32_t encoder_last_code = (1u << max_width) - 1;  // 4095
constexpr std::size_t table_entries = 1u << max_width;              // 4096

// Appends variable-width codes, least-significant bit first.
class bit_writer {
 public:
  explicit bit_writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void put(std::uint32_t code, std::uint32_t width) {
    bits_ |= static_cast<std::uint64_t>(code) << count_;
    count_ += width;
    while (count_ >= 8) {
      out_.push_back(static_cast<std::uint8_t>(bits_));
      bits_ >>= 8;
      count_ -= 8;
    }
  }
  void flush() {
    if (count_ > 0) out_.push_back(static_cast<std::uint8_t>(bits_));
    bits_ = 0;
    count_ = 0;
  }

 private:
  std::vector<std::uint8_t>& out_;
  std::uint64_t bits_ = 0;
  std::uint32_t count_ = 0;
};

// (prefix code, next byte) -> code, open addressing. At most 3838 entries
// live at once, so 8192 slots keep probe chains short.
class string_table {
 public:
  static constexpr std::size_t slots = 8192;
  void clear() { keys_.fill(empty); }
  // Returns the code for `key` or 0 (never a valid string code) if absent;
  // `slot` receives where the key is or would go.
  std::uint32_t find(std::uint32_t key, std::size_t& slot) const {
    slot = hash(key);
    while (keys_[slot] != empty) {
      if (keys_[slot] == key) return codes_[slot];
      slot = (slot + 1) & (slots - 1);
    }
    return 0;
  }
  void insert_at(std::size_t slot, std::uint32_t key, std::uint32_t code) {
    keys_[slot] = key;
    codes_[slot] = static_cast<std::uint16_t>(code);
  }

 private:
  static constexpr std::uint32_t empty = 0xffffffffu;
  static std::size_t hash(std::uint32_t key) { return ((key * 2654435761u) >> 19) & (slots - 1); }
  std::array<std::uint32_t, slots> keys_{};
  std::array<std::uint16_t, slots> codes_{};
};

}  // namespace

std::vector<std::uint8_t> compress(std::span<const std::uint8_t> in) {
  std::vector<std::uint8_t> out;
  out.reserve(in.size() / 2 + 8);
  bit_writer bits(out);
  auto table = std::make_unique<string_table>();
  table->clear();

  std::uint32_t width = literal_width + 1;
  std::uint32_t next = eof_code;  // last assigned code; the next string gets next + 1
  // Every stream starts with CLEAR, even the empty one.
  bits.put(clear_code, width);

  // Called after each emitted data code: one more code is implied. Returns
  // false when that exhausted the code space and the table was reset.
  auto advance = [&]() {
    ++next;
    if (next == (1u << width)) ++width;
    if (next == encoder_last_code) {
      bits.put(clear_code, width);
      width = literal_width + 1;
      next = eof_code;
      table->clear();
      return false;
    }
    return true;
  };

  if (!in.empty()) {
    std::uint32_t code = in[0];
    for (std::size_t i = 1; i < in.size(); ++i) {
      const std::uint32_t key = (code << 8) | in[i];
      std::size_t slot = 0;
      if (const std::uint32_t found = table->find(key, slot)) {
        code = found;
        continue;
      }
      bits.put(code, width);
      code = in[i];
      if (advance()) table->insert_at(slot, key, next);
    }
    bits.put(code, width);
    advance();
  }
  bits.put(eof_code, width);
  bits.flush();
  return out;
}

result decompress(std::span<const std::uint8_t> in, std::size_t max_output) {
  result r;
  // Each table entry is (prefix code, last byte, length); strings are
  // written back to front straight into the output.
  struct entry {
    std::uint16_t prefix;
    std::uint8_t suffix;
    std::uint16_t length;
  };
  auto table = std::make_unique<std::array<entry, table_entries>>();
  for (std::uint32_t c = 0; c < clear_code; ++c) (*table)[c] = {0, static_cast<std::uint8_t>(c), 1};

  constexpr std::uint32_t no_code = 0xffffffffu;
  std::uint32_t width = literal_width + 1;
  std::uint32_t hi = eof_code;  // the entry the next code will define (pending)
  std::uint32_t last = no_code;
  std::uint64_t bits = 0;
  std::uint32_t count = 0;
  std::size_t pos = 0;
  auto fail = [&](std::string msg) {
    r.data.clear();
    r.data.shrink_to_fit();
    r.error = std::move(msg);
    return std::move(r);
  };

  for (;;) {
    while (count < width) {
      if (pos >= in.size()) return fail("unexpected EOF");
      bits |= static_cast<std::uint64_t>(in[pos++]) << count;
      count += 8;
    }
    const auto code = static_cast<std::uint32_t>(bits & ((1u << width) - 1));
    bits >>= width;
    count -= width;

    if (code == clear_code) {
      width = literal_width + 1;
      hi = eof_code;
      last = no_code;
      continue;
    }
    if (code == eof_code) return r;
    if (code > hi) return fail("invalid code");

    // code == hi is the "KwKwK" case: the string is last's string plus its
    // own first byte. (With no previous code, code == hi only happens in the
    // table-full mode, where entry hi is already defined.)
    const bool kwkwk = code == hi && last != no_code;
    const std::uint32_t base = kwkwk ? last : code;
    const std::size_t length = (*table)[base].length + (kwkwk ? 1 : 0);
    if (length > max_output - r.data.size()) {
      r.too_large = true;
      return fail("output exceeds " + std::to_string(max_output) + " bytes");
    }
    const std::size_t start = r.data.size();
    r.data.resize(start + length);
    std::size_t i = start + (*table)[base].length;
    for (std::uint32_t c = base;;) {
      r.data[--i] = (*table)[c].suffix;
      if (c < clear_code) break;
      c = (*table)[c].prefix;
    }
    const std::uint8_t first = r.data[start];
    if (kwkwk) r.data[start + length - 1] = first;

    if (last != no_code) {
      (*table)[hi] = {static_cast<std::uint16_t>(last), first, static_cast<std::uint16_t>((*table)[last].length + 1)};
    }
    last = code;
    ++hi;
    if (hi >= (1u << width)) {
      if (width == max_width) {
        // Table full: keep decoding with the current entries, add no more
        // until the encoder sends CLEAR.
        last = no_code;
        --hi;
      } else {
        ++width;
      }
    }
  }
}

}  // namespace chorus::swim::lzw
