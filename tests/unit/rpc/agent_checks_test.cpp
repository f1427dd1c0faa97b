// What the agent's RPC server checks before it acts: request framing with a
// body per command, Go's base64 errors for keys (offsets as the real agent
// reports them, see mixed_cluster_cli_test), and members-filtered
// expressions bounded so that no client can crash or stall the agent.
#include <catch2/catch.hpp>
#include <chrono>

#include "agent/serf/regex_limits.hpp"
#include "rpc/framing.hpp"
#include "rpc/go_base64.hpp"
#include "rpc/member_filter.hpp"
#include "rpc/protocol.hpp"

namespace rpc = chorus::rpc;
using rpc::bytes;

namespace {

bytes request(const std::string& command, std::uint64_t seq) { return rpc::encode(rpc::request_header{command, seq}); }

template <class T>
bytes with_body(bytes b, const T& body) {
  const auto e = rpc::encode(body);
  b.insert(b.end(), e.begin(), e.end());
  return b;
}

std::vector<rpc::member> sample_members() {
  std::vector<rpc::member> ms(3);
  ms[0].name = "web-1";
  ms[0].status = "alive";
  ms[0].tags = rpc::string_map{{"role", "web"}};
  ms[1].name = "db-1";
  ms[1].status = "failed";
  ms[1].tags = rpc::string_map{{"role", "db"}};
  ms[2].name = std::string(40, 'a');
  ms[2].status = "alive";
  return ms;
}

}  // namespace

TEST_CASE("next_request cuts header and body by command, waits for missing bytes, refuses bad headers") {
  const bytes stream = with_body(request("handshake", 1), rpc::handshake_request{1});
  bytes two = stream;
  const bytes members = request("members", 2);
  two.insert(two.end(), members.begin(), members.end());

  auto f = rpc::next_request(two);
  REQUIRE(f.status == rpc::frame_status::complete);
  CHECK(f.cmd == rpc::command::handshake);
  CHECK(f.size() == stream.size());
  rpc::request_body body;
  REQUIRE(rpc::decode_request_body(*f.cmd, f.body(two), body).empty());
  CHECK(std::get<rpc::handshake_request>(body).version == 1);

  auto g = rpc::next_request(chorus::msgpack::byte_view(two).subspan(f.size()));
  REQUIRE(g.status == rpc::frame_status::complete);
  CHECK(g.cmd == rpc::command::members);  // no body
  CHECK(g.body_size == 0);
  CHECK(g.header.seq == 2);

  for (std::size_t cut = 0; cut < stream.size(); ++cut)
    CHECK(rpc::next_request(chorus::msgpack::byte_view(stream).first(cut)).status == rpc::frame_status::incomplete);

  const auto unknown = rpc::next_request(request("bogus", 7));
  CHECK(unknown.status == rpc::frame_status::complete);
  CHECK(!unknown.cmd);
  CHECK(unknown.header.command == "bogus");

  CHECK(rpc::next_request(bytes{0x05}).status == rpc::frame_status::invalid);  // header not a map
  CHECK(rpc::next_request(bytes{0xc1}).status == rpc::frame_status::invalid);

  // A body of the wrong shape is refused by decode_request_body.
  const bytes wrong{0x81, 0xa4, 'S', 't', 'o', 'p', 0xa1, 'x'};  // {Stop: "x"}
  CHECK(!rpc::decode_request_body(rpc::command::stop, wrong, body).empty());
  CHECK(!rpc::decode_request_body(rpc::command::members, wrong, body).empty());
  // Unknown keys are ignored, missing ones are zero (the agent is lenient).
  REQUIRE(rpc::decode_request_body(rpc::command::stop, rpc::encode(rpc::stream_request{"x"}), body).empty());
  CHECK(std::get<rpc::stop_request>(body).stop == 0);
  CHECK(rpc::decode_request_body(rpc::command::members, {}, body).empty());
}

TEST_CASE("key text is checked as Go's base64 decoder does, offsets included") {
  // Offsets observed from `serf agent` 0.9.4 (see mixed_cluster_cli_test).
  CHECK(rpc::go_base64_error("DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=").empty());
  CHECK(rpc::go_base64_error("").empty());
  CHECK(rpc::go_base64_error("YW\nJj").empty());
  CHECK(rpc::go_base64_error("YW=\n=").empty());
  CHECK(rpc::go_base64_error("bad") == "illegal base64 data at input byte 0");
  CHECK(rpc::go_base64_error("a") == "illegal base64 data at input byte 0");
  CHECK(rpc::go_base64_error("ab=c") == "illegal base64 data at input byte 2");
  CHECK(rpc::go_base64_error("YWJj=") == "illegal base64 data at input byte 4");
  CHECK(rpc::go_base64_error("@@@@") == "illegal base64 data at input byte 0");
  CHECK(rpc::go_base64_error("ab==x") == "illegal base64 data at input byte 4");
  CHECK(rpc::go_base64_error("ab=") == "illegal base64 data at input byte 3");
  CHECK(rpc::go_base64_error("YQ==x") == "illegal base64 data at input byte 4");
  CHECK(rpc::go_base64_error("Y===") == "illegal base64 data at input byte 1");
}

TEST_CASE("keys of any size decode (each member checks the size, as in Serf)") {
  using v = std::vector<std::uint8_t>;
  CHECK(rpc::go_base64_decode("") == v{});
  CHECK(rpc::go_base64_decode("YWJj") == v{'a', 'b', 'c'});
  CHECK(rpc::go_base64_decode("YW\nJj") == v{'a', 'b', 'c'});
  CHECK(rpc::go_base64_decode("YQ==") == v{'a'});
  CHECK(rpc::go_base64_decode("YWI=") == v{'a', 'b'});
  CHECK(rpc::go_base64_decode("muYezN06+z+ieg==").size() == 10);
  CHECK(rpc::go_base64_decode("ydcvrOWAPwH6+xEoym3lXg==").size() == 16);
  const auto k = rpc::go_base64_decode("DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=");
  REQUIRE(k.size() == 32);
  CHECK(k[0] == 0x0e);
  CHECK(k[31] == 0x9f);
}

TEST_CASE("members-filtered: Serf's anchoring, and hostile expressions refused or matched in bounded time") {
  auto filtered = [](rpc::members_filtered_request r) {
    auto ms = sample_members();
    const auto e = rpc::filter_members(r, ms);
    std::vector<std::string> names;
    for (const auto& m : ms) names.push_back(m.name);
    return std::make_pair(e, names);
  };
  rpc::members_filtered_request r;
  r.tags = rpc::string_map{{"role", "web|db"}};  // ^web|db$: starts with web or ends with db
  CHECK(filtered(r).second == std::vector<std::string>{"web-1", "db-1"});
  r.tags = rpc::string_map{{"role", ""}};  // missing tag = ""
  CHECK(filtered(r).second == std::vector<std::string>{std::string(40, 'a')});
  r.tags.reset();
  r.status = "alive";
  r.name = "w.*";
  CHECK(filtered(r).second == std::vector<std::string>{"web-1"});

  // Exponential for a backtracking matcher; linear here.
  r = {};
  r.name = "(a*)*b";
  const auto t0 = std::chrono::steady_clock::now();
  const auto slow = filtered(r);
  CHECK(slow.first.empty());
  CHECK(slow.second.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));

  // Refused before std::regex sees them (it would overflow the stack or
  // build millions of states).
  for (const std::string& bad : {std::string(100000, '(') + "a" + std::string(100000, ')'), std::string("a{100000}"),
                                 std::string("(a{1000}){1000}"), std::string(5000, 'a') + "?"}) {
    INFO(bad.substr(0, 40));
    CHECK(!chorus::agent::regex_complexity_error(bad).empty());
    r.name = bad;
    CHECK(!filtered(r).first.empty());
  }
  CHECK(chorus::agent::regex_complexity_error("a{1001}") == "invalid repeat count");
  // Found by fuzz_rpc_request: a long back-reference number or repeat count
  // overflowed a long inside libstdc++'s parser (UBSan).
  for (const std::string& bad : {"\\" + std::string(30, '2'), "[\\" + std::string(30, '2') + "]",
                                 "a{" + std::string(30, '2') + ",x}", "a{1," + std::string(30, '9') + "}"}) {
    INFO(bad);
    CHECK(!chorus::agent::regex_complexity_error(bad).empty());
    r.name = bad;
    CHECK(!filtered(r).first.empty());
  }
  CHECK(chorus::agent::regex_complexity_error("\\1") == "invalid escape sequence");
  CHECK(chorus::agent::regex_complexity_error("node-12345678").empty());
  CHECK(chorus::agent::regex_complexity_error("(web|db)-[0-9]{1,3}").empty());
  r.name = "(";  // invalid
  const auto invalid = filtered(r);
  CHECK(!invalid.first.empty());
  CHECK(invalid.second.size() == 3);  // unchanged
}
