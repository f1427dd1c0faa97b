// The CLI's Serf-compatible text helpers. They live in the chorus executable,
// not in a library, so this test compiles their two source files directly.
#include <catch2/catch.hpp>

#include "cli/format.cpp"     // NOLINT: see above
#include "cli/go_syntax.cpp"  // NOLINT
#include "vectors.hpp"

using namespace chorus::cli;
using rpc_test::from_hex;

TEST_CASE("columnize pads every column but the last with two-space separators") {
  CHECK(columnize({}) == "");
  CHECK(columnize({{"n1", "127.0.0.1:7946", "alive", "role=web"}, {"node-22", "10.0.0.2:7946", "failed", ""}}) ==
        "n1       127.0.0.1:7946  alive   role=web\n"
        "node-22  10.0.0.2:7946   failed  \n");
  // Serf's CLI trims the whole block: only the last line loses its separator.
  CHECK(serf_table({{"x1", "a", "alive", ""}, {"x2", "b", "alive", ""}}) == "x1  a  alive  \nx2  b  alive\n");
  CHECK(serf_table({}) == "\n");
  // Widths count code points, not bytes.
  CHECK(columnize({{"\xc3\xa9t\xc3\xa9", "x"}, {"abcd", "y"}}) == "\xc3\xa9t\xc3\xa9   x\nabcd  y\n");
}

TEST_CASE("JSON strings and indentation follow Go's encoding/json") {
  CHECK(go_json_string("a<b>&c") == "\"a\\u003cb\\u003e\\u0026c\"");
  CHECK(go_json_string("tab\tnl\n\x01") == "\"tab\\tnl\\n\\u0001\"");
  CHECK(go_json_string("bad\xff") == "\"bad\xef\xbf\xbd\"");
  CHECK(go_json_string("\xe2\x80\xa8") == "\"\\u2028\"");
  CHECK(go_json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");
  nlohmann::ordered_json j;
  j["Acks"] = nullptr;
  j["Responses"] = nlohmann::ordered_json::object();
  j["list"] = {1, 2};
  CHECK(go_json_indent(j) == "{\n  \"Acks\": null,\n  \"Responses\": {},\n  \"list\": [\n    1,\n    2\n  ]\n}");
}

TEST_CASE("Go durations") {
  using std::chrono::nanoseconds;
  CHECK(parse_go_duration("0") == nanoseconds(0));
  CHECK(parse_go_duration("2s") == nanoseconds(2'000'000'000));
  CHECK(parse_go_duration("1.5s") == nanoseconds(1'500'000'000));
  CHECK(parse_go_duration("300ms") == nanoseconds(300'000'000));
  CHECK(parse_go_duration("2h45m") == nanoseconds(9'900'000'000'000));
  CHECK(parse_go_duration("10us") == nanoseconds(10'000));
  CHECK(parse_go_duration("-1s") == nanoseconds(-1'000'000'000));
  CHECK(!parse_go_duration(""));
  CHECK(!parse_go_duration("1"));
  CHECK(!parse_go_duration("bogus"));
  CHECK(!parse_go_duration("1x"));
  CHECK(!parse_go_duration("1000000000h"));
}

TEST_CASE("member addresses print as Go's net.IP does") {
  CHECK(host_port({127, 60, 0, 1}, 7946) == "127.60.0.1:7946");
  std::vector<std::uint8_t> v6(16, 0);
  v6[15] = 1;
  CHECK(host_port(v6, 7946) == "[::1]:7946");
  std::vector<std::uint8_t> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7};
  CHECK(host_port(mapped, 1) == "10.0.0.7:1");
  CHECK(split_tag("a=b=c") == std::make_pair(std::string("a"), std::string("b=c")));
  CHECK(!split_tag("bad"));
  CHECK(trim_one_newline("x\n\n") == "x\n");
}

TEST_CASE("monitor prints stream records in Go's %#v syntax, by msgpack format") {
  // A member-update record captured from Serf (rpc-session.jsonl).
  const auto member_update = from_hex(
      "82a54576656e74ad6d656d6265722d757064617465a74d656d62657273918ba441646472c4047f4d0002ab44656c656761746543757205ab"
      "44656c65676174654d617805ab44656c65676174654d696e02a44e616d65a26e32a4506f7274cd1f0aab50726f746f636f6c43757202ab"
      "50726f746f636f6c4d617805ab50726f746f636f6c4d696e01a6537461747573a5616c697665a45461677383a4726f6c65a26462a26463"
      "a477657374a47261636ba27231");
  CHECK(go_event_info_lines(member_update) ==
        "\tEvent: \"member-update\"\n"
        "\tMembers: []interface {}{map[interface {}]interface {}{\"Addr\":[]uint8{0x7f, 0x4d, 0x0, 0x2}, "
        "\"DelegateCur\":5, \"DelegateMax\":5, \"DelegateMin\":2, \"Name\":\"n2\", \"Port\":0x1f0a, \"ProtocolCur\":2, "
        "\"ProtocolMax\":5, \"ProtocolMin\":1, \"Status\":\"alive\", \"Tags\":map[interface {}]interface "
        "{}{\"dc\":\"west\", \"rack\":\"r1\", \"role\":\"db\"}}}\n");
  // A user event with a nil payload and an escaped name.
  chorus::rpc::user_event_record u;
  u.coalesce = true;
  u.ltime = 300;
  u.name = "a\"b\n";
  const auto raw = chorus::rpc::encode(u);
  CHECK(go_event_info_lines(raw) ==
        "\tCoalesce: true\n\tEvent: \"user\"\n\tLTime: 0x12c\n\tName: \"a\\\"b\\n\"\n\tPayload: <nil>\n");
  CHECK(go_event_info_lines(from_hex("93010203")).empty());
  CHECK(go_event_info_lines(from_hex("82a1")).empty());
}
