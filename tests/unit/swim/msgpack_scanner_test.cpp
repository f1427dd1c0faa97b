// msgpack::scanner: the resumable end-of-value finder under the TCP stream
// framer. It must end a value exactly where read() does, whatever the
// chunking, refuse what read() refuses, and look at each byte once.
#include <catch2/catch.hpp>

#include "swim/msgpack.hpp"

using namespace chorus::msgpack;

namespace {

// One value of every type family, nested (what a stream header or node
// state can hold, and more).
bytes every_kind() {
  bytes out;
  writer w(out);
  w.map_header(12);
  w.str("fixint");
  w.uint(5);
  w.str("u8");
  w.uint(200);
  w.str("u16");
  w.uint(7946);
  w.str("u32");
  w.uint(3'000'000'000ULL);
  w.str("u64");
  w.uint(1ULL << 40);
  w.str("neg");
  w.sint(-70000);
  w.str("float");
  w.float64(1.5);
  w.str("str16");
  w.str(std::string(300, 's'));
  w.str("nested");
  w.array_header(3);
  w.nil();
  w.boolean(true);
  w.map_header(1);
  w.str("k");
  w.array_header(0);
  w.str("bin8");
  bytes rpc_bin;
  writer(rpc_bin, flavor::rpc).bin(bytes(20, 1));  // c4 14 ...
  w.raw(rpc_bin);
  w.str("fixext");
  w.raw(bytes{0xd6, 0x01, 1, 2, 3, 4});
  w.str("ext8");
  w.raw(bytes{0xc7, 0x03, 0x02, 9, 9, 9});
  return out;
}

// Scans `in` in chunks of `step` bytes; returns the status and the end.
std::pair<scanner::status, std::size_t> scan_in_chunks(scanner& s, const bytes& in, std::size_t step) {
  std::size_t pos = 0;
  auto st = scanner::status::more;
  while (pos < in.size() && st == scanner::status::more) {
    const std::size_t end = std::min(in.size(), pos + step);
    st = s.scan(byte_view(in.data(), end), pos);
  }
  return {st, pos};
}

}  // namespace

TEST_CASE("the scanner ends a value where read() does, whatever the chunking", "[msgpack][scanner]") {
  bytes in = every_kind();
  const std::size_t value_len = in.size();
  REQUIRE(read(in).ok());
  REQUIRE(read(in).consumed == value_len);
  in.push_back(0x2a);  // the next value's byte: not taken
  for (std::size_t step : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{64}, in.size()}) {
    INFO("chunks of " << step);
    scanner s;
    const auto [st, end] = scan_in_chunks(s, in, step);
    CHECK(st == scanner::status::done);
    CHECK(end == value_len);
    CHECK(s.bytes_examined() == value_len);
  }
}

TEST_CASE("the scanner scans consecutive values after reset, counting each byte once", "[msgpack][scanner]") {
  bytes in;
  writer w(in);
  for (int i = 0; i < 100; ++i) {
    w.map_header(1);
    w.str("n");
    w.uint(static_cast<std::uint64_t>(i) * 1000);
  }
  scanner s;
  std::size_t pos = 0;
  int values = 0;
  while (pos < in.size()) {
    REQUIRE(s.scan(in, pos) == scanner::status::done);
    ++values;
    s.reset();
  }
  CHECK(values == 100);
  CHECK(s.bytes_examined() == in.size());
}

TEST_CASE("the scanner waits for declared lengths without allocating or failing", "[msgpack][scanner]") {
  // str32 of 4 GiB and a map32 of 2^32-1 entries: only more input can end them.
  scanner s;
  std::size_t pos = 0;
  const bytes str32{0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'};
  CHECK(s.scan(str32, pos) == scanner::status::more);
  CHECK(pos == str32.size());
  scanner m({32, std::size_t{1} << 40});
  pos = 0;
  const bytes map32{0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
  CHECK(m.scan(map32, pos) == scanner::status::more);
}

TEST_CASE("the scanner refuses what read() refuses", "[msgpack][scanner]") {
  SECTION("0xc1") {
    scanner s;
    std::size_t pos = 0;
    const bytes in{0x92, 0x01, 0xc1};
    CHECK(s.scan(in, pos) == scanner::status::bad);
    CHECK_FALSE(read(in).ok());
    CHECK(s.error().find("0xc1") != std::string::npos);
  }
  SECTION("nesting deeper than the limit") {
    bytes deep(40, 0x91);
    deep.push_back(0x01);
    scanner s;
    std::size_t pos = 0;
    CHECK(s.scan(deep, pos) == scanner::status::bad);
    CHECK_FALSE(read(deep).ok());
    // Exactly at the limit both accept.
    bytes ok(32, 0x91);
    ok.push_back(0x01);
    scanner t;
    pos = 0;
    CHECK(t.scan(ok, pos) == scanner::status::done);
    CHECK(read(ok).ok());
  }
  SECTION("more values than the limit") {
    // [array16 of 65535 ones, [1, 2]]: 1 + 2 + 65535 + 2 values, over 65536.
    scanner t;
    std::size_t pos = 0;
    bytes big{0x92, 0xdc, 0xff, 0xff};
    big.insert(big.end(), 0xffff, 0x01);
    big.insert(big.end(), {0x92, 0x01, 0x02});
    CHECK(t.scan(big, pos) == scanner::status::bad);
    CHECK_FALSE(read(big).ok());
  }
  SECTION("after bad it stays bad until reset") {
    scanner s;
    std::size_t pos = 0;
    const bytes in{0xc1};
    CHECK(s.scan(in, pos) == scanner::status::bad);
    const bytes good{0x01};
    pos = 0;
    CHECK(s.scan(good, pos) == scanner::status::bad);
    s.reset();
    pos = 0;
    CHECK(s.scan(good, pos) == scanner::status::done);
  }
}
