// The DNS message codec and the DNS-SD logic of `-discover` (agent/mdns.hpp):
// what an agent answers, how responses become gossip endpoints, and that the
// parser survives hostile bytes (compression loops, lying counts, random and
// mutated messages); the interface look-up of -mdns-iface.
#include "agent/mdns.hpp"

#include <net/if.h>

// The whole of Asio: the agent headers include only the parts they use.
#include <asio.hpp>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "agent/dns_message.hpp"
#include "agent/mdns_interface.hpp"

using namespace chorus::agent;

namespace {

mdns::identity self_a() { return {"test", "a1", {10, 202, 0, 1}, 7946}; }

dns::message round_trip(const dns::message& m) {
  auto wire = dns::encode(m);
  REQUIRE(!wire.empty());
  auto p = dns::parse(wire);
  INFO(p.error);
  REQUIRE(p.msg);
  return *p.msg;
}

}  // namespace

TEST_CASE("a browse query asks for the PTR of _serf_NAME._tcp.local", "[mdns]") {
  auto q = round_trip(mdns::browse_query("test"));
  REQUIRE(q.questions.size() == 1);
  CHECK(dns::to_text(q.questions[0].qname) == "_serf_test._tcp.local.");
  CHECK(q.questions[0].qtype == dns::type_ptr);
  CHECK(q.questions[0].qclass == dns::class_in);  // multicast answer wanted
  CHECK_FALSE(q.is_response());
  // Byte-exact header: id 0, flags 0, one question.
  auto wire = dns::encode(mdns::browse_query("test"));
  CHECK(std::vector<std::uint8_t>(wire.begin(), wire.begin() + 12) ==
        std::vector<std::uint8_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("an agent answers a browse with PTR, then SRV, TXT and A", "[mdns]") {
  auto a = mdns::answer_query(self_a(), round_trip(mdns::browse_query("test")));
  REQUIRE(a);
  CHECK_FALSE(a->unicast);
  auto r = round_trip(a->msg);
  CHECK(r.is_response());
  CHECK((r.flags & dns::flag_authoritative) != 0);
  REQUIRE(r.answers.size() == 1);
  CHECK(r.answers[0].rtype == dns::type_ptr);
  CHECK(dns::to_text(r.answers[0].target) == "a1._serf_test._tcp.local.");
  REQUIRE(r.additional.size() == 3);
  CHECK(r.additional[0].rtype == dns::type_srv);
  CHECK(r.additional[0].port == 7946);
  CHECK(r.additional[1].rtype == dns::type_txt);
  CHECK(r.additional[1].txt == std::vector<std::string>{"Serf 'test' cluster"});
  CHECK(r.additional[2].rtype == dns::type_a);
  CHECK(r.additional[2].address == std::vector<std::uint8_t>{10, 202, 0, 1});

  auto found = mdns::read_response("test", r);
  CHECK(found.endpoints == std::vector<std::string>{"10.202.0.1:7946"});
  CHECK(found.incomplete.empty());
  // Another cluster's browser ignores it.
  CHECK(mdns::read_response("other", r).endpoints.empty());
}

TEST_CASE("questions for other services, responses and other opcodes get no answer", "[mdns]") {
  CHECK_FALSE(mdns::answer_query(self_a(), mdns::browse_query("other")));
  auto resp = mdns::browse_query("test");
  resp.flags = dns::flag_response;
  CHECK_FALSE(mdns::answer_query(self_a(), resp));
  auto update = mdns::browse_query("test");
  update.flags = 5 << 11;  // opcode UPDATE
  CHECK_FALSE(mdns::answer_query(self_a(), update));
  // Case does not matter in names; the QU bit asks for a unicast answer.
  auto q = mdns::browse_query("test");
  q.questions[0].qname = {"_SERF_test", "_TCP", "Local"};
  q.questions[0].qclass |= dns::class_top_bit;
  auto a = mdns::answer_query(self_a(), q);
  REQUIRE(a);
  CHECK(a->unicast);
}

TEST_CASE("a question about the instance gets its records and a PTR alone is incomplete", "[mdns]") {
  const auto inst = mdns::instance_name(self_a());
  auto a = mdns::answer_query(self_a(), mdns::instance_query(inst));
  REQUIRE(a);
  auto r = round_trip(a->msg);
  CHECK(r.answers.size() == 3);
  CHECK(mdns::read_response("test", r).endpoints == std::vector<std::string>{"10.202.0.1:7946"});

  dns::message ptr_only;
  ptr_only.flags = dns::flag_response;
  dns::record p;
  p.rname = mdns::service_name("test");
  p.rtype = dns::type_ptr;
  p.target = inst;
  ptr_only.answers.push_back(p);
  auto found = mdns::read_response("test", round_trip(ptr_only));
  CHECK(found.endpoints.empty());
  REQUIRE(found.incomplete.size() == 1);
  CHECK(dns::same_name(found.incomplete[0], inst));
}

TEST_CASE("an IPv6 advertise address is announced as AAAA and read back in brackets", "[mdns]") {
  mdns::identity six{"test", "v6", std::vector<std::uint8_t>(16, 0), 8000};
  six.address[15] = 1;  // ::1
  auto a = mdns::answer_query(six, mdns::browse_query("test"));
  REQUIRE(a);
  auto r = round_trip(a->msg);
  CHECK(r.additional[2].rtype == dns::type_aaaa);
  CHECK(mdns::read_response("test", r).endpoints == std::vector<std::string>{"[::1]:8000"});
}

TEST_CASE("compressed names as other responders write them are read", "[mdns]") {
  // A response whose PTR name points at the question's name (offset 12) and
  // whose SRV/A names point into the PTR data: what a compressing encoder sends.
  std::vector<std::uint8_t> m{0, 0, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 1};
  const std::size_t qname = m.size();
  for (const char* l : {"_serf_test", "_tcp", "local"}) {
    m.push_back(static_cast<std::uint8_t>(std::strlen(l)));
    m.insert(m.end(), l, l + std::strlen(l));
  }
  m.push_back(0);
  m.insert(m.end(), {0, 12, 0, 1});  // PTR IN
  // answer 1: PTR, name -> qname, data "b2" + pointer to qname
  m.insert(m.end(), {0xC0, static_cast<std::uint8_t>(qname), 0, 12, 0, 1, 0, 0, 0, 120, 0, 5});
  const std::size_t inst = m.size();
  m.insert(m.end(), {2, 'b', '2', 0xC0, static_cast<std::uint8_t>(qname)});
  // answer 2: SRV, name -> instance, target -> instance
  m.insert(m.end(), {0xC0, static_cast<std::uint8_t>(inst), 0, 33, 0x80, 1, 0, 0, 0, 120, 0, 8, 0, 0, 0, 0, 0x1F, 0x90,
                     0xC0, static_cast<std::uint8_t>(inst)});
  // additional: A, name -> instance
  m.insert(m.end(), {0xC0, static_cast<std::uint8_t>(inst), 0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 202, 0, 2});
  auto p = dns::parse(m);
  INFO(p.error);
  REQUIRE(p.msg);
  CHECK(dns::to_text(p.msg->answers[0].target) == "b2._serf_test._tcp.local.");
  CHECK(mdns::read_response("test", *p.msg).endpoints == std::vector<std::string>{"10.202.0.2:8080"});
}

TEST_CASE("hostile DNS messages are rejected without reading out of bounds", "[mdns]") {
  auto bad = [](std::vector<std::uint8_t> m) { return !dns::parse(m).msg; };
  CHECK(bad({}));
  CHECK(bad({0, 0, 0, 0, 0, 1}));  // short header
  // One question whose name is a pointer to itself, and one pointing forward.
  CHECK(bad({0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1}));
  CHECK(bad({0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1}));
  // Two pointers pointing at each other (the second one backwards).
  CHECK(bad({0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0xC0, 18, 0, 1, 0, 1, 0xC0, 12, 0, 1, 0, 1}));
  // Counts that cannot fit in the bytes: rejected before any reservation.
  CHECK(bad({0, 0, 0x84, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0}));
  // A record whose RDLENGTH runs past the end; an A record of 5 bytes.
  CHECK(bad({0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF, 1}));
  CHECK(bad({0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5}));
  // Reserved label type 01.
  CHECK(bad({0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 1, 0, 1}));
  // A name longer than 255 bytes through a chain of pointers to long labels.
  std::vector<std::uint8_t> longname{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    longname.push_back(63);
    longname.insert(longname.end(), 63, 'x');
  }
  longname.push_back(0);
  longname.insert(longname.end(), {0, 1, 0, 1});
  CHECK(bad(longname));
  // Encoding refuses what it cannot represent.
  dns::message m;
  m.questions.push_back({{std::string(64, 'x')}, dns::type_a, dns::class_in});
  CHECK(dns::encode(m).empty());
}

TEST_CASE("random and mutated messages never crash the parser or the browser", "[mdns]") {
  std::mt19937 rng(20261122);
  auto valid = dns::encode(mdns::answer_query(self_a(), mdns::browse_query("test"))->msg);
  std::size_t accepted = 0;
  for (int i = 0; i < 200000; ++i) {
    std::vector<std::uint8_t> m;
    if (i % 2 == 0) {
      m = valid;
      const int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
      if (rng() % 4 == 0) m.resize(rng() % m.size());
    } else {
      m.resize(rng() % 600);
      for (auto& b : m) b = static_cast<std::uint8_t>(rng());
      if (m.size() >= 12) m[4] = m[6] = m[8] = m[10] = 0;  // small counts: get past the header
    }
    auto p = dns::parse(m);
    if (!p.msg) continue;
    ++accepted;
    CHECK(p.msg->answers.size() + p.msg->additional.size() <= dns::max_records);
    (void)mdns::read_response("test", *p.msg);
    (void)mdns::answer_query(self_a(), *p.msg);
  }
  CHECK(accepted > 0);  // the mutations also produce messages that parse
}

TEST_CASE("the mDNS interface is looked up by name with its index and addresses", "[mdns]") {
  mdns::interface_info lo;
  REQUIRE(mdns::find_interface("lo", lo).empty());
  CHECK(lo.index == if_nametoindex("lo"));
  REQUIRE(lo.ipv4);
  CHECK(lo.ipv4->to_string() == "127.0.0.1");
  CHECK(mdns::interface_holding(asio::ip::make_address("127.0.0.1")) == lo.index);
  CHECK(mdns::interface_holding(asio::ip::make_address("192.0.2.77")) == 0);  // TEST-NET-1: on no interface

  mdns::interface_info none;
  const auto e = mdns::find_interface("nosuch0", none);
  CHECK(e == "Failed to use mDNS interface 'nosuch0': no such network interface");
  CHECK(none.index == 0);
  CHECK(mdns::find_interface("", none) == "Failed to use mDNS interface '': no such network interface");
}
