// Serf's own outputs for fixed inputs (../shared/vectors/vivaldi-reference.jsonl)
// reproduced bit for bit with algorithm::serf.
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "vivaldi/client.hpp"

using namespace chorus::vivaldi;
using json = nlohmann::json;

namespace {

double from_bits(const std::string& hex) { return std::bit_cast<double>(std::stoull(hex, nullptr, 16)); }

coordinate parse(const json& j) {
  coordinate c;
  c.vec.clear();
  for (const auto& b : j.at("Vec_bits")) c.vec.push_back(from_bits(b.get<std::string>()));
  c.error = from_bits(j.at("Error_bits").get<std::string>());
  c.adjustment = from_bits(j.at("Adjustment_bits").get<std::string>());
  c.height = from_bits(j.at("Height_bits").get<std::string>());
  return c;
}

std::vector<json> load() {
  std::ifstream in(std::string(CHORUS_SHARED_DIR) + "/vectors/vivaldi-reference.jsonl");
  REQUIRE(in.good());
  std::vector<json> steps;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) steps.push_back(json::parse(line));
  return steps;
}

void check_bits(const coordinate& got, const coordinate& want) {
  REQUIRE(got.vec.size() == want.vec.size());
  for (std::size_t i = 0; i < want.vec.size(); ++i) {
    INFO("vec[" << i << "]");
    CHECK(std::bit_cast<std::uint64_t>(got.vec[i]) == std::bit_cast<std::uint64_t>(want.vec[i]));
  }
  CHECK(std::bit_cast<std::uint64_t>(got.error) == std::bit_cast<std::uint64_t>(want.error));
  CHECK(std::bit_cast<std::uint64_t>(got.adjustment) == std::bit_cast<std::uint64_t>(want.adjustment));
  CHECK(std::bit_cast<std::uint64_t>(got.height) == std::bit_cast<std::uint64_t>(want.height));
}

}  // namespace

TEST_CASE("serf algorithm reproduces every reference update and distance bit for bit") {
  const auto steps = load();
  client c(config::serf());
  int updates = 0, distances = 0, rejections = 0;
  for (const auto& s : steps) {
    if (!s.contains("step")) continue;
    const std::string step = s["step"];
    INFO(step);
    if (step == "config") {
      const auto& r = s["result"];
      const config cfg = config::serf();
      CHECK(r["Dimensionality"] == cfg.dimensionality);
      CHECK(r["VivaldiErrorMax"] == cfg.vivaldi_error_max);
      CHECK(r["VivaldiCE"] == cfg.vivaldi_ce);
      CHECK(r["VivaldiCC"] == cfg.vivaldi_cc);
      CHECK(r["AdjustmentWindowSize"] == cfg.adjustment_window_size);
      CHECK(r["HeightMin"] == cfg.height_min);
      CHECK(r["LatencyFilterSize"] == cfg.latency_filter_size);
      CHECK(r["GravityRho"] == cfg.gravity_rho);
    } else if (step == "new client coordinate") {
      check_bits(c.get_coordinate(), parse(s["result"]));
    } else if (step == "SetCoordinate") {
      REQUIRE(c.set_coordinate(parse(s["input"]["coord"])) == error::none);
      check_bits(c.get_coordinate(), parse(s["result"]));
    } else if (step.rfind("update ", 0) == 0 && s.contains("input")) {
      const auto& in = s["input"];
      check_bits(c.get_coordinate(), parse(in["before"]));
      const auto rtt = std::chrono::nanoseconds(in["rtt_ns"].get<std::int64_t>());
      REQUIRE(c.update(std::string(in["node"]), parse(in["remote"]), rtt) == error::none);
      check_bits(c.get_coordinate(), parse(s["result"]));
      ++updates;
    } else if (step.rfind("update with", 0) == 0) {
      // The file records only Serf's error text; rebuild the inputs it names.
      const coordinate before = c.get_coordinate();
      coordinate remote = coordinate::origin();
      auto rtt = std::chrono::nanoseconds(std::chrono::milliseconds(5));
      error want = error::none;
      if (step == "update with NaN component") {
        remote.vec[2] = std::nan("");
        want = error::invalid_coordinate;
      } else if (step == "update with 3-dimensional coordinate") {
        remote.vec.resize(3);
        want = error::incompatible_dimensions;
      } else if (step == "update with rtt 11s") {
        rtt = std::chrono::seconds(11);
        want = error::rtt_out_of_range;
      } else if (step == "update with rtt -1ms") {
        rtt = -std::chrono::milliseconds(1);
        want = error::rtt_out_of_range;
      }
      REQUIRE(want != error::none);
      const std::string serf_text = s["error"];
      CHECK(serf_text.rfind(std::string(to_string(want)).substr(0, 20), 0) == 0);
      CHECK(c.update("nodeA", remote, rtt) == want);
      CHECK(c.get_coordinate() == before);
      ++rejections;
    } else if (step.rfind("distance ", 0) == 0) {
      const auto d = estimate_rtt(parse(s["input"]["a"]), parse(s["input"]["b"]));
      REQUIRE(d.ok());
      CHECK(d.value().count() == s["result"]["ns"].get<std::int64_t>());
      ++distances;
    } else if (step == "stats") {
      CHECK(c.resets() == s["result"]["Resets"].get<std::uint64_t>());
    }
  }
  CHECK(updates == 12);
  CHECK(distances == 5);
  CHECK(rejections == 4);
}
