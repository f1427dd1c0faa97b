#pragma once
// A small msgpack writer and a bounded, non-throwing msgpack reader.
//
// Why not msgpack-cxx here: gossip bytes must match what go-msgpack 0.5.5
// writes (memberlist.md section 2): strings *and* byte slices in the raw
// family (fixstr, str16, str32; never str8 or bin), float64 always as 0xcb,
// struct keys in sorted order. The RPC protocol (serf-rpc.md section 1) is the
// opposite: str8 for strings, bin for byte slices. One writer with a flavour
// covers both. The reader has to take untrusted input: it never throws, bounds
// nesting depth and refuses any declared length larger than the bytes left,
// so allocation is always bounded by the input size.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::msgpack {

using bytes = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

// Which msgpack dialect the writer produces.
enum class flavor : std::uint8_t {
  gossip,  // go-msgpack 0.5.5 as used by memberlist/Serf gossip: raw family only
  rpc,     // Serf's RPC codec: str8 allowed for strings, bin for byte slices
};

// The smallest unsigned form of `v`, as go-msgpack writes it: a positive
// fixint (the type byte is the value, no payload) or 0xcc..0xcf followed by
// `len` = 1, 2, 4 or 8 big-endian bytes. The writer below and the codec's
// single-pass node-state writer (codec.cpp) both use it.
struct uint_form {
  std::uint8_t type;
  int len;
};
constexpr uint_form uint_form_of(std::uint64_t v) {
  if (v <= 0x7f) return {static_cast<std::uint8_t>(v), 0};
  if (v <= 0xff) return {0xcc, 1};
  if (v <= 0xffff) return {0xcd, 2};
  if (v <= 0xffffffffULL) return {0xce, 4};
  return {0xcf, 8};
}

class writer {
 public:
  explicit writer(bytes& out, flavor f = flavor::gossip) : out_(out), flavor_(f) {}

  void nil();
  void boolean(bool v);
  void uint(std::uint64_t v);
  void sint(std::int64_t v);  // non-negative values use the unsigned forms, as Go does
  void float64(double v);     // always 0xcb + 8 bytes
  void str(std::string_view s);
  void bin(byte_view b);  // gossip: raw family; rpc: bin family
  void array_header(std::uint32_t n);
  void map_header(std::uint32_t n);
  // Appends bytes that already are one encoded msgpack value.
  void raw(byte_view encoded);

  bytes& out() { return out_; }

 private:
  void put8(std::uint8_t b) { out_.push_back(b); }
  void put_be(std::uint64_t v, int n);
  void raw_header(std::size_t len);
  // A length or count past its fix form: type t8 + 1 byte (t8 == 0: no such
  // form), t16 + 2 bytes or t32 + 4 bytes, the smallest that holds `n`.
  void sized_header(std::uint64_t n, std::uint8_t t8, std::uint8_t t16, std::uint8_t t32);
  bytes& out_;
  flavor flavor_;
};

// ---------------------------------------------------------------------------
// Reader: decodes one value into a tree. Strings and binaries point into the
// input buffer (zero copy): the input must outlive the tree.

enum class kind : std::uint8_t { nil, boolean, uint, sint, float64, str, bin, array, map, ext };

struct value {
  kind k = kind::nil;
  bool b = false;
  std::uint64_t u = 0;  // kind::uint
  std::int64_t i = 0;   // kind::sint (always negative: non-negatives decode as uint)
  double f = 0;         // kind::float64 (float32 widened)
  byte_view raw;        // kind::str, kind::bin, kind::ext (payload)
  std::vector<value> items;  // array: the elements; map: key, value, key, value, ...

  bool is_nil() const { return k == kind::nil; }
  bool is_map() const { return k == kind::map; }
  bool is_array() const { return k == kind::array; }
  std::size_t size() const { return k == kind::map ? items.size() / 2 : items.size(); }
  std::string_view text() const { return {reinterpret_cast<const char*>(raw.data()), raw.size()}; }
  // Map lookup by string key (exact, case-sensitive); nullptr when absent.
  const value* find(std::string_view key) const;
};

struct limits {
  std::size_t max_depth = 32;
  // Total number of values in one tree. Each costs ~80 bytes of memory, so
  // this caps what one hostile input can make us allocate.
  std::size_t max_values = 1u << 16;
};

struct read_result {
  value v;
  std::size_t consumed = 0;  // bytes of input the value took
  std::string error;         // empty on success
  // The error is that the input ended inside the value: more bytes could
  // complete it (a stream reader waits for them). False for every other error.
  bool truncated = false;
  bool ok() const { return error.empty(); }
};

// Decodes exactly one value from the front of `in`; trailing bytes are left.
read_result read(byte_view in, limits lim = {});

// ---------------------------------------------------------------------------
// Scanner: finds where one value ends in input that arrives in pieces,
// without building it. A stream reader feeds each received chunk once; the
// scanner keeps O(max_depth) state between chunks (a stack of element counts
// and the length of a string or payload still to skip), so each byte is
// looked at exactly once whatever the chunking, and declared lengths cost
// nothing until their bytes arrive. It enforces read()'s limits (depth,
// value count, the 0xc1 type byte) the way read() does, so a value it
// accepts is one read() can decode, once, when it is whole.

class scanner {
 public:
  enum class status : std::uint8_t {
    more,  // the value goes on past the input given so far
    done,  // the value ended; `pos` points just past it
    bad,   // not a value read() would accept; error() says why
  };

  explicit scanner(limits lim = {});
  // Starts over for the next value.
  void reset();
  // Scans in[pos..] and advances `pos` past the bytes taken (never past the
  // end of the value). After `bad` the scanner stays bad until reset().
  status scan(byte_view in, std::size_t& pos);

  const std::string& error() const { return error_; }
  // Bytes taken since construction (not reset by reset()): each input byte
  // is counted when the scanner looks at it or skips it, and never again.
  std::uint64_t bytes_examined() const { return examined_; }

 private:
  enum class after : std::uint8_t { blob, ext, array, map };
  // One type byte; false when it makes the value bad.
  bool begin(std::uint8_t t);
  // The big-endian length/count that followed a type byte is complete.
  bool length_done();
  // A container of `n` elements (map: 2n) starts; false on a limit.
  bool open(std::uint64_t n);
  // A scalar, string or container ended; true when it was the whole value.
  bool item_done();
  bool fail(std::string why);

  limits lim_;
  std::vector<std::uint64_t> open_;  // elements still due, per open container
  std::uint64_t values_ = 1;         // read()'s count: 1 + the elements of every container
  int length_bytes_ = 0;             // length bytes still to read after a type byte
  std::uint64_t length_ = 0;
  after after_ = after::blob;
  std::uint64_t skip_ = 0;  // payload bytes still to skip
  bool finished_ = false;   // the current item ended (set by begin/length_done)
  std::uint64_t examined_ = 0;
  std::string error_;
};

// ---------------------------------------------------------------------------
// Typed field access with Go's decoding rules (memberlist.md 2.2-2.4): any
// integer form fits any integer field if the value is in range; nil gives the
// zero value; strings accept str (and nil) but not bin; byte slices accept
// both. Each returns false (leaving `out` unchanged) on a type mismatch.
bool as_uint(const value& v, std::uint64_t max, std::uint64_t& out);
bool as_int(const value& v, std::int64_t& out);
bool as_bool(const value& v, bool& out);
bool as_double(const value& v, double& out);
bool as_string(const value& v, std::string& out);
bool as_bytes(const value& v, bytes& out);

// Reads the fields of a struct encoded as a map. Missing keys leave the field
// at its zero value; unknown keys are skipped; the first bad field is
// remembered and makes ok() false.
class struct_reader {
 public:
  explicit struct_reader(const value& v);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  template <class Unsigned>
  void unsigned_field(std::string_view key, Unsigned& out) {
    std::uint64_t tmp = 0;
    if (const value* v = lookup(key)) {
      if (as_uint(*v, static_cast<std::uint64_t>(static_cast<Unsigned>(-1)), tmp))
        out = static_cast<Unsigned>(tmp);
      else
        fail(key);
    }
  }
  void int_field(std::string_view key, std::int64_t& out);
  void bool_field(std::string_view key, bool& out);
  void double_field(std::string_view key, double& out);
  void string_field(std::string_view key, std::string& out);
  void bytes_field(std::string_view key, bytes& out);
  // The raw sub-value, or nullptr when absent.
  const value* lookup(std::string_view key) const;
  void fail(std::string_view key);

 private:
  const value* v_;
  std::string error_;
};

}  // namespace chorus::msgpack
