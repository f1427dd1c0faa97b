// The open-addressing per-peer table against std::map as a model.
#include "vivaldi/peer_table.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "common/random.hpp"

using chorus::random_source;
using chorus::vivaldi::peer_table;

TEST_CASE("peer table behaves like a map under random inserts and erases") {
  peer_table<int> table;
  std::map<std::uint64_t, int> model;
  random_source rng(7);
  for (int step = 0; step < 20000; ++step) {
    // Few distinct keys so that erases hit, plus clustered keys that collide.
    const std::uint64_t key = rng.next() % 3 == 0 ? rng.next() % 64 : (rng.next() % 500) * 1024;
    if (rng.next() % 3 == 0) {
      table.erase(key);
      model.erase(key);
    } else {
      table[key] += 1;
      model[key] += 1;
    }
    REQUIRE(table.size() == model.size());
  }
  for (const auto& [key, count] : model) {
    REQUIRE(table.contains(key));
    CHECK(table[key] == count);
  }
  CHECK_FALSE(table.contains(999'999'999));
}

TEST_CASE("peer table reserve keeps inserts from growing") {
  peer_table<double> table;
  table.reserve(100);
  for (std::uint64_t k = 0; k < 100; ++k) table[k] = static_cast<double>(k);
  for (std::uint64_t k = 0; k < 100; ++k) CHECK(table[k] == static_cast<double>(k));
  CHECK(table.size() == 100);
}
