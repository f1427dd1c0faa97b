// `chorus decode` renders Serf messages in the shape of the vector files; so
// rendering every captured message must reproduce the dissection written
// beside it. The CLI is an executable, not a library, so its one source file
// under test is compiled into this test directly.
#include "cli/serf_json.cpp"  // NOLINT: the unit under test, see above

#include <catch2/catch.hpp>

#include "agent/serf/codec.hpp"
#include "unit/lzw/vector_file.hpp"

using chorus::test::from_hex;
using chorus::test::read_jsonl;
using json = nlohmann::json;

TEST_CASE("serf_json reproduces the captured dissection of every Serf message") {
  std::size_t count = 0;
  for (const char* file :
       {"vectors/serf-join-intent.jsonl", "vectors/serf-leave-intent.jsonl", "vectors/serf-user-event.jsonl",
        "vectors/serf-query.jsonl", "vectors/serf-query-response.jsonl", "vectors/serf-relay.jsonl"}) {
    for (const auto& line : read_jsonl(file)) {
      const auto raw = from_hex(line["serf_message_hex"].get<std::string>());
      const json ours = chorus::cli::to_json(chorus::agent::decode_serf_message(raw).value);
      INFO(file << " " << line["kind"] << "\nours:   " << ours.dump() << "\nvector: " << line["serf"].dump());
      // The conflict response's tag map is printed sorted; JSON objects
      // compare by key, so order does not matter here.
      CHECK(ours == line["serf"]);
      ++count;
    }
  }
  CHECK(count == 66);
}

TEST_CASE("serf_json shows undecodable bytes with the reason") {
  const std::vector<std::uint8_t> bad{0x01, 0x81, 0xa5};
  const json j = chorus::cli::serf_bytes_json(bad);
  CHECK(j.contains("error"));
  CHECK(j["serf_name"] == "join");
}
