// The member table's name index (tagged open addressing) against a plain
// set: every name found at its entry, absent names not found, through
// inserts that grow the index and resets that purge and shuffle.
#include "swim/member_table.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

using namespace chorus::swim;
using chorus::random_source;

TEST_CASE("member_table_finds_every_name_and_only_those_through_growth_and_resets", "[member_table]") {
  member_table t;
  random_source rng(7);
  std::set<std::string> names;
  auto check = [&] {
    REQUIRE(t.size() == names.size());
    for (const auto& n : names) {
      const auto idx = t.find(n);
      REQUIRE(idx);
      CHECK(t.name(*idx) == n);
    }
    for (int i = 0; i < 200; ++i) CHECK_FALSE(t.find("absent-" + std::to_string(i)));
    CHECK_FALSE(t.find(""));
  };
  // Names that share prefixes and lengths, a long one, one with a NUL.
  for (int i = 0; i < 5000; ++i) {
    std::string n = i % 97 == 0 ? std::string(300, 'a') + std::to_string(i) : "n" + std::to_string(i);
    if (i == 4321) n = std::string("nul\0name", 8);
    REQUIRE_FALSE(t.find(n));
    const std::size_t idx = t.insert(n, rng);
    t.at(idx).incarnation = static_cast<std::uint32_t>(i);
    names.insert(n);
    if (i % 1000 == 999) check();
  }
  check();
  // Purge every third incarnation; the rest must still be found.
  t.reset(rng, [&](const member_entry& e) {
    if (e.incarnation % 3 != 0) return false;
    names.erase(std::string(t.name(e)));
    return true;
  });
  check();
  for (int i = 0; i < 3000; ++i) {
    const std::string n = "m" + std::to_string(i);
    t.insert(n, rng);
    names.insert(n);
  }
  check();
}
