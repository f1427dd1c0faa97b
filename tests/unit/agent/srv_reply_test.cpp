// The unicast SRV lookup behind `-join srv:NAME`: the query it sends and
// how it reads replies, against hand-built DNS messages, including garbage,
// truncated datagrams and replies to somebody else's query.
#include "agent/srv_reply.hpp"

#include <catch2/catch.hpp>

using namespace chorus::agent;

namespace {

const dns::name qname{"_serf", "_udp", "test", "internal"};

dns::record srv_rr(const dns::name& owner, const dns::name& host, std::uint16_t port, std::uint16_t prio = 0,
                   std::uint16_t weight = 0) {
  dns::record r;
  r.rname = owner;
  r.rtype = dns::type_srv;
  r.ttl = 30;
  r.target = host;
  r.port = port;
  r.priority = prio;
  r.weight = weight;
  return r;
}

dns::record a_rr(const dns::name& owner, std::vector<std::uint8_t> ip) {
  dns::record r;
  r.rname = owner;
  r.rtype = ip.size() == 4 ? dns::type_a : dns::type_aaaa;
  r.ttl = 30;
  r.address = std::move(ip);
  return r;
}

// A reply to our query: ID 0x1234, QR and RD/RA set.
dns::message reply_to(std::uint16_t id = 0x1234, std::uint16_t rcode = 0) {
  dns::message m;
  m.id = id;
  m.flags = static_cast<std::uint16_t>(0x8180 | rcode);
  m.questions.push_back({qname, dns::type_srv, dns::class_in});
  return m;
}

srv::reply read(const dns::message& m) { return srv::read_reply(dns::encode(m), 0x1234, qname); }

}  // namespace

TEST_CASE("an SRV query asks one recursive question for the name", "[agent][srv]") {
  const auto bytes = srv::query(srv::parse_name("_serf._udp.test.internal."), 0xBEEF);
  auto parsed = dns::parse(bytes);
  REQUIRE(parsed.msg);
  CHECK(parsed.msg->id == 0xBEEF);
  CHECK(parsed.msg->flags == 0x0100);  // a query (QR clear), recursion desired
  REQUIRE(parsed.msg->questions.size() == 1);
  CHECK(dns::same_name(parsed.msg->questions[0].qname, qname));
  CHECK(parsed.msg->questions[0].qtype == dns::type_srv);
  CHECK(parsed.msg->questions[0].qclass == dns::class_in);
}

TEST_CASE("SRV names: srv: arguments and names that cannot be sent", "[agent][srv]") {
  CHECK(srv::is_srv_argument("srv:_serf._udp.x"));
  CHECK(srv::is_srv_argument("srv:"));
  CHECK_FALSE(srv::is_srv_argument("127.0.0.1:7946"));
  CHECK_FALSE(srv::is_srv_argument("srvhost"));
  CHECK_FALSE(srv::is_srv_argument("srv:7946"));  // the host "srv", port 7946, as in Serf
  CHECK(srv::srv_name("srv:_gossip._udp.chorus.default.svc.cluster.local") ==
        "_gossip._udp.chorus.default.svc.cluster.local");
  CHECK(srv::parse_name("_gossip._udp.chorus.default.svc.cluster.local").size() == 7);
  CHECK(srv::parse_name("").empty());
  CHECK(srv::parse_name("a..b").empty());
  CHECK(srv::parse_name("a.b..").empty());
  CHECK(srv::parse_name(std::string(64, 'x') + ".test").empty());
  std::string long_name;
  for (int i = 0; i < 60; ++i) long_name += "abcd.";
  CHECK(srv::parse_name(long_name).empty());  // 300 bytes encoded
}

TEST_CASE("resolv.conf: the first nameserver, timeout and attempts, glibc defaults otherwise", "[agent][srv]") {
  auto c = srv::parse_resolv_conf(
      "# comment\nsearch default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver 8.8.8.8\n"
      "options ndots:5 timeout:2 attempts:3\n");
  CHECK(c.nameserver == "10.96.0.10");
  CHECK(c.timeout == std::chrono::seconds(2));
  CHECK(c.attempts == 3);
  c = srv::parse_resolv_conf("nameserver ::1\n");
  CHECK(c.nameserver == "::1");
  CHECK(c.timeout == std::chrono::seconds(5));
  CHECK(c.attempts == 2);
  c = srv::parse_resolv_conf("options timeout:0 attempts:99 timeout:x\n");
  CHECK(c.nameserver.empty());
  CHECK(c.timeout == std::chrono::seconds(1));
  CHECK(c.attempts == 5);
}

TEST_CASE("an SRV reply gives the targets with the addresses from the additional section", "[agent][srv]") {
  auto m = reply_to();
  const dns::name n1{"n1", "test", "internal"}, n2{"N2", "test", "internal"}, n3{"n3", "test", "internal"};
  m.answers.push_back(srv_rr(qname, n2, 7002, 10, 5));
  m.answers.push_back(srv_rr(qname, n1, 7001, 10, 50));
  m.answers.push_back(srv_rr(qname, n3, 7003, 0, 0));
  m.answers.push_back(srv_rr(qname, {}, 7004));  // "." = no service: skipped
  m.additional.push_back(a_rr({"n1", "test", "internal"}, {127, 17, 0, 1}));
  m.additional.push_back(a_rr({"n2", "TEST", "internal"}, {127, 17, 0, 2}));  // names compare case-insensitively
  m.additional.push_back(a_rr(n2, std::vector<std::uint8_t>(16, 1)));
  m.additional.push_back(a_rr({"other", "internal"}, {10, 0, 0, 1}));
  const auto r = read(m);
  REQUIRE(r.verdict == srv::reply::kind::answered);
  REQUIRE(r.targets.size() == 3);
  // Lowest priority first, then the heavier weight.
  CHECK(r.targets[0].host == "n3.test.internal");
  CHECK(r.targets[0].addresses.empty());  // no glue: the caller looks the host up
  CHECK(r.targets[1].host == "n1.test.internal");
  CHECK(r.targets[1].port == 7001);
  CHECK(r.targets[1].addresses == std::vector<std::vector<std::uint8_t>>{{127, 17, 0, 1}});
  CHECK(r.targets[2].host == "N2.test.internal");
  CHECK(r.targets[2].addresses.size() == 2);
}

TEST_CASE("an SRV reply that answers the query with an error fails the lookup in words", "[agent][srv]") {
  auto r = read(reply_to(0x1234, 3));
  CHECK(r.verdict == srv::reply::kind::failed);
  CHECK(r.error == "no such host (NXDOMAIN)");
  r = read(reply_to(0x1234, 2));
  CHECK(r.verdict == srv::reply::kind::failed);
  CHECK(r.error == "server failure (SERVFAIL)");
  r = read(reply_to(0x1234, 5));
  CHECK(r.error == "query refused (REFUSED)");
  // NOERROR without SRV records (NODATA): names the problem.
  auto m = reply_to();
  m.answers.push_back(a_rr(qname, {127, 17, 0, 1}));
  r = read(m);
  CHECK(r.verdict == srv::reply::kind::failed);
  CHECK(r.error == "no SRV records");
  m = reply_to();
  m.flags |= 0x0200;  // TC with nothing usable
  r = read(m);
  CHECK(r.verdict == srv::reply::kind::failed);
  CHECK(r.error.find("truncated") != std::string::npos);
  // TC, but the records that fit are used.
  m.answers.push_back(srv_rr(qname, {"n1", "test"}, 7001));
  CHECK(read(m).verdict == srv::reply::kind::answered);
}

TEST_CASE("datagrams that do not answer the query are ignored, never believed", "[agent][srv]") {
  auto good = reply_to();
  good.answers.push_back(srv_rr(qname, {"n1", "test"}, 7001));
  REQUIRE(read(good).verdict == srv::reply::kind::answered);

  auto wrong_id = good;
  wrong_id.id = 0x1235;
  CHECK(read(wrong_id).verdict == srv::reply::kind::ignored);
  auto not_response = good;
  not_response.flags &= 0x7FFF;  // our own query echoed back
  CHECK(read(not_response).verdict == srv::reply::kind::ignored);
  auto other_question = good;
  other_question.questions[0].qname = {"_serf", "_udp", "evil", "internal"};
  CHECK(read(other_question).verdict == srv::reply::kind::ignored);
  auto other_type = good;
  other_type.questions[0].qtype = dns::type_a;
  CHECK(read(other_type).verdict == srv::reply::kind::ignored);
  auto no_question = good;
  no_question.questions.clear();
  CHECK(read(no_question).verdict == srv::reply::kind::ignored);
  // A wrong-ID NXDOMAIN does not fail the lookup either.
  CHECK(read(reply_to(0x9999, 3)).verdict == srv::reply::kind::ignored);

  // Every truncation of a valid reply, and garbage.
  const auto bytes = dns::encode(good);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto r = srv::read_reply(std::span(bytes.data(), n), 0x1234, qname);
    INFO(n);
    CHECK(r.verdict == srv::reply::kind::ignored);
  }
  std::vector<std::uint8_t> junk(512);
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 37 + 11);
  junk[0] = 0x12, junk[1] = 0x34, junk[2] = 0x81;
  CHECK(srv::read_reply(junk, 0x1234, qname).verdict == srv::reply::kind::ignored);
  CHECK(srv::read_reply({}, 0x1234, qname).verdict == srv::reply::kind::ignored);
}
