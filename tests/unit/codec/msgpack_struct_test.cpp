// The field tables of swim/msgpack_struct.hpp: what one table gives both
// the writer and the reader (Go's struct rules), on a small made-up struct.
#include "swim/msgpack_struct.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::test_structs {

struct inner {
  std::string zone;
  std::uint16_t port = 0;
  bool operator==(const inner&) const = default;
};

struct outer {
  std::int32_t count = 7;  // not zero: a missing key must still read 0
  msgpack::bytes blob;
  std::optional<std::vector<std::string>> names;
  std::string ip;
  std::uint16_t port = 0;
  std::vector<inner> inners;
  bool operator==(const outer&) const = default;
};

using msgpack::field;

constexpr auto tables = std::tuple{
    msgpack::table<inner>(field("Port", &inner::port), field("Zone", &inner::zone)),
    msgpack::table<outer>(field<msgpack::nil_if_empty<>>("Blob", &outer::blob), field("Count", &outer::count),
                          msgpack::constant("Kind", "outer"),
                          msgpack::group("Dest", msgpack::fields(field("IP", &outer::ip), field("Port", &outer::port))),
                          field("Inners", &outer::inners), field("Names", &outer::names)),
};

template <msgpack::listed<decltype(tables)> S>
constexpr const auto& wire_fields(std::type_identity<S>) {
  return msgpack::table_of<S>(tables);
}

}  // namespace chorus::test_structs

using namespace chorus;
using test_structs::inner;
using test_structs::outer;

namespace {

msgpack::bytes write(const outer& v) {
  msgpack::bytes out;
  msgpack::writer w(out);
  msgpack::write_struct(w, v);
  return out;
}

std::string read(const msgpack::bytes& in, outer& v) {
  const auto r = msgpack::read(in);
  REQUIRE(r.ok());
  return msgpack::read_struct(r.v, v);
}

}  // namespace

TEST_CASE("a table writes its keys in table order and reads them back") {
  outer v{.count = -3,
          .blob = {1, 2},
          .names = std::vector<std::string>{},
          .ip = "10.0.0.1",
          .port = 80,
          .inners = {inner{"z", 9}}};
  const auto wire = write(v);
  // {Blob, Count, Kind: "outer", Dest: {IP, Port}, Inners: [{Port, Zone}], Names: []}
  CHECK(wire.front() == 0x86);
  outer back;
  REQUIRE(read(wire, back).empty());
  CHECK(back == v);
}

TEST_CASE("nil for an empty nil_if_empty slice and for an empty optional") {
  outer v;
  msgpack::bytes wire = write(v);
  const auto r = msgpack::read(wire);
  REQUIRE(r.ok());
  CHECK(r.v.find("Blob")->is_nil());
  CHECK(r.v.find("Names")->is_nil());
  CHECK(r.v.find("Inners")->is_array());  // a plain vector is never nil
}

TEST_CASE("missing keys read Go's zero value, unknown keys are skipped") {
  msgpack::bytes in;
  msgpack::writer w(in);
  w.map_header(2);
  w.str("Else");
  w.str("ignored");
  w.str("Dest");
  w.map_header(1);
  w.str("Port");
  w.uint(53);
  outer v;
  REQUIRE(read(in, v).empty());
  CHECK(v.count == 0);  // not the C++ default 7
  CHECK(v.port == 53);
  CHECK(!v.names);
}

TEST_CASE("read_present keeps the fields whose keys are absent") {
  msgpack::bytes in;
  msgpack::writer w(in);
  w.map_header(0);
  outer v;
  const auto r = msgpack::read(in);
  REQUIRE(msgpack::read_present(r.v, v).empty());
  CHECK(v.count == 7);
}

TEST_CASE("the first wrong field is named, nested errors carry their path") {
  auto fails = [](auto build) {
    msgpack::bytes in;
    msgpack::writer w(in);
    build(w);
    outer v;
    return read(in, v);
  };
  CHECK(fails([](msgpack::writer& w) {
          w.map_header(1);
          w.str("Count");
          w.uint(std::uint64_t{1} << 31);  // over int32
        }) == "field Count has the wrong type or is out of range");
  CHECK(fails([](msgpack::writer& w) {
          w.map_header(1);
          w.str("Dest");
          w.map_header(1);
          w.str("Port");
          w.str("x");
        }) == "Dest: field Port has the wrong type or is out of range");
  CHECK(fails([](msgpack::writer& w) {
          w.map_header(1);
          w.str("Inners");
          w.array_header(1);
          w.uint(1);
        }) == "field Inners has the wrong type or is out of range");
  CHECK(fails([](msgpack::writer& w) { w.array_header(0); }) == "expected a map");
}
