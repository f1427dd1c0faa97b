// LZW (memberlist.md section 7). Properties: decompress never exceeds its
// limit and never crashes; whatever it yields, and the raw input itself,
// survive compress -> decompress unchanged.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "swim/lzw.hpp"

namespace lzw = chorus::swim::lzw;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  constexpr std::size_t limit = 1u << 20;
  const auto out = lzw::decompress(in, limit);
  if (out.data.size() > limit) std::abort();
  if (!out.ok() && !out.data.empty()) std::abort();
  if (out.ok()) {
    const auto again = lzw::decompress(lzw::compress(out.data), out.data.size());
    if (!again.ok() || again.data != out.data) std::abort();
  }
  const auto back = lzw::decompress(lzw::compress(in), size);
  if (!back.ok() || back.data.size() != size || !std::equal(back.data.begin(), back.data.end(), in.begin()))
    std::abort();
  return 0;
}
