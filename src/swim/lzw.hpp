#pragma once
// LZW as memberlist's compress message uses it (memberlist.md section 7): Go's
// compress/lzw with LSB bit order and 8-bit literals, i.e. the GIF/TIFF-style
// variable-width LZW.
//
//   codes:  0..255 literals | 256 CLEAR | 257 EOF | 258..4095 table entries
//   width:  9 bits after CLEAR, +1 whenever the next free code reaches 2^width,
//           at most 12; the encoder emits CLEAR when the next free code hits 4095
//   bits:   packed least-significant bit first; the last byte is zero-padded
//
// The encoder is byte-exact with Go's writer (a Serf peer compares nothing,
// but our captured vectors and the simulator's byte counts do). The decoder
// takes untrusted input: its table is fixed-size and the caller bounds the
// output, so a decompression bomb costs at most `max_output` bytes.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace chorus::swim::lzw {

// Compresses `in` into a complete stream: CLEAR, codes, EOF, padding.
std::vector<std::uint8_t> compress(std::span<const std::uint8_t> in);

struct result {
  std::vector<std::uint8_t> data;
  std::string error;       // empty on success
  bool too_large = false;  // the error is that the output would pass max_output
  bool ok() const { return error.empty(); }
};

// Decompresses one stream up to its EOF code; bytes after EOF are ignored.
// Errors: "unexpected EOF" (input ends before the EOF code), "invalid code",
// "output exceeds N bytes" (more than `max_output` bytes would be produced).
// On error `data` is empty.
result decompress(std::span<const std::uint8_t> in, std::size_t max_output);

}  // namespace chorus::swim::lzw
