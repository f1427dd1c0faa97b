// The SRV lookup's UDP exchange on a real loopback socket (127.17.0.1): a
// fake nameserver on the same io_context answers with garbage, a wrong ID,
// nothing at all, or the real reply. Timers are 100-200 ms.
// The whole of Asio: the agent headers include only the parts they use.
#include <asio.hpp>
#include <catch2/catch.hpp>

#include "agent/srv_resolver.hpp"

using namespace chorus::agent;
using asio::ip::udp;

namespace {

const dns::name qname{"_serf", "_udp", "test", "internal"};

// Answers every query it receives with what `respond` returns for the n-th
// query (empty: no answer); the replies are sent in order.
struct fake_nameserver {
  explicit fake_nameserver(asio::io_context& c) : io(c) {}
  asio::io_context& io;
  udp::socket socket{io, udp::endpoint(asio::ip::make_address("127.17.0.1"), 0)};
  std::function<std::vector<std::vector<std::uint8_t>>(const dns::message&, int)> respond;
  std::array<std::uint8_t, 1500> buf{};
  udp::endpoint from;
  int queries = 0;

  void serve() {
    socket.async_receive_from(asio::buffer(buf), from, [this](const asio::error_code& ec, std::size_t n) {
      if (ec) return;
      auto q = dns::parse(std::span<const std::uint8_t>(buf.data(), n));
      if (q.msg)
        for (const auto& reply : respond(*q.msg, queries++)) socket.send_to(asio::buffer(reply), from);
      serve();
    });
  }
};

std::vector<std::uint8_t> answer(const dns::message& q, std::uint16_t id, std::uint16_t rcode = 0) {
  dns::message m;
  m.id = id;
  m.flags = static_cast<std::uint16_t>(0x8180 | rcode);
  m.questions = q.questions;
  dns::record r;
  r.rname = qname;
  r.rtype = dns::type_srv;
  r.target = {"n1", "test", "internal"};
  r.port = 7001;
  m.answers.push_back(r);
  dns::record a;
  a.rname = r.target;
  a.rtype = dns::type_a;
  a.address = {127, 17, 0, 9};
  m.additional.push_back(a);
  return dns::encode(m);
}

srv::lookup_result run_lookup(asio::io_context& io, fake_nameserver& ns, int attempts) {
  ns.serve();
  std::optional<srv::lookup_result> got;
  srv::lookup(io, qname, {ns.socket.local_endpoint(), std::chrono::milliseconds(150), attempts},
              [&](srv::lookup_result r) {
                got = std::move(r);
                io.stop();
              });
  io.run_for(std::chrono::seconds(3));
  REQUIRE(got);
  return *got;
}

}  // namespace

TEST_CASE("an SRV lookup drops garbage and wrong-ID replies and takes the real one", "[agent][srv]") {
  asio::io_context io;
  fake_nameserver ns(io);
  ns.respond = [](const dns::message& q, int) {
    return std::vector<std::vector<std::uint8_t>>{
        {1, 2, 3}, answer(q, static_cast<std::uint16_t>(q.id + 1), 3), answer(q, q.id)};
  };
  const auto r = run_lookup(io, ns, 1);
  CHECK(ns.queries == 1);
  CHECK(r.ignored == 2);
  REQUIRE(r.answer.verdict == srv::reply::kind::answered);
  REQUIRE(r.answer.targets.size() == 1);
  CHECK(r.answer.targets[0].host == "n1.test.internal");
  CHECK(r.answer.targets[0].port == 7001);
  CHECK(r.answer.targets[0].addresses.at(0) == std::vector<std::uint8_t>{127, 17, 0, 9});
}

TEST_CASE("an SRV lookup resends after the timeout and gives up after the attempts", "[agent][srv]") {
  asio::io_context io;
  fake_nameserver ns(io);
  SECTION("the second attempt is answered") {
    ns.respond = [](const dns::message& q, int n) {
      return n == 0 ? std::vector<std::vector<std::uint8_t>>{}
                    : std::vector<std::vector<std::uint8_t>>{answer(q, q.id)};
    };
    const auto r = run_lookup(io, ns, 2);
    CHECK(ns.queries == 2);
    CHECK(r.answer.verdict == srv::reply::kind::answered);
  }
  SECTION("nothing is answered") {
    ns.respond = [](const dns::message&, int) { return std::vector<std::vector<std::uint8_t>>{}; };
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = run_lookup(io, ns, 2);
    CHECK(ns.queries == 2);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
    CHECK(r.answer.verdict == srv::reply::kind::failed);
    CHECK(r.answer.error == "i/o timeout (no reply after 2 attempts)");
  }
  SECTION("NXDOMAIN fails at once") {
    ns.respond = [](const dns::message& q, int) { return std::vector<std::vector<std::uint8_t>>{answer(q, q.id, 3)}; };
    const auto r = run_lookup(io, ns, 2);
    CHECK(ns.queries == 1);
    CHECK(r.answer.verdict == srv::reply::kind::failed);
    CHECK(r.answer.error == "no such host (NXDOMAIN)");
  }
}

TEST_CASE("an SRV lookup to an address where no DNS server listens fails at once", "[agent][srv]") {
  asio::io_context io;
  udp::endpoint closed;
  {
    udp::socket s(io, udp::endpoint(asio::ip::make_address("127.17.0.1"), 0));
    closed = s.local_endpoint();
  }
  std::optional<srv::lookup_result> got;
  srv::lookup(io, qname, {closed, std::chrono::milliseconds(2000), 2},
              [&](srv::lookup_result r) { got = std::move(r); });
  io.run_for(std::chrono::seconds(1));
  REQUIRE(got);
  CHECK(got->answer.verdict == srv::reply::kind::failed);
  CHECK(got->answer.error == "connection refused (no DNS server on that port)");
}

TEST_CASE("a srv: join argument that is not a DNS name fails without a query", "[agent][srv]") {
  asio::io_context io;
  std::optional<srv::join_seeds> got;
  srv::resolve_join_argument(io, "srv:a..b", [&](srv::join_seeds s) { got = std::move(s); });
  io.run_for(std::chrono::seconds(1));
  REQUIRE(got);
  CHECK(got->addresses.empty());
  CHECK(got->errors == std::vector<std::string>{"Failed to resolve srv:a..b: not a DNS name: \"a..b\""});
}
