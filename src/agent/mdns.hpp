#pragma once
// `-discover NAME`: cluster discovery over multicast DNS, as `serf agent
// -discover` does it. Each agent is a DNS-SD service instance of
// `_serf_NAME._tcp.local` (RFC 6763 over RFC 6762, groups 224.0.0.251 and
// ff02::fb, port 5353) and browses for the others:
//
//   query:    _serf_NAME._tcp.local. PTR ?
//   response: _serf_NAME._tcp.local.       PTR  NODE._serf_NAME._tcp.local.
//             NODE._serf_NAME._tcp.local.  SRV  0 0 PORT NODE._serf_NAME._tcp.local.
//             NODE._serf_NAME._tcp.local.  TXT  "Serf 'NAME' cluster"
//             NODE._serf_NAME._tcp.local.  A    ADVERTISE-IP   (AAAA for IPv6)
//
// The SRV target is the instance name itself, so the address record belongs
// to this agent alone (a host name could be shared by several agents). Serf's
// browser (hashicorp/mdns) needs the address, the port and a TXT record
// before it reports an instance, and reads records in order: PTR first, then
// SRV, TXT and the address, all in one response.
//
// Discovered gossip addresses are joined in a batch once the responses go
// quiet for 100 ms; an address is not joined again after a join with it
// succeeded. Browsing repeats at 0, 1, 2, 4 ... seconds, then every 60 s
// (Serf polls every 60 s; the faster start finds agents started together).
//
// Two sockets, one per family, each optional: a host or interface without
// IPv6 (or without IPv4) runs mDNS on the other family alone. A query is
// answered on the family it came in on; browses go out on both.
//
// The pure part (names, answers, reading responses) is separate from the
// socket so unit tests drive it with bytes.
#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/dns_message.hpp"

namespace chorus::agent::mdns {

constexpr std::uint16_t port = 5353;
inline const char* group_v4 = "224.0.0.251";
inline const char* group_v6 = "ff02::fb";
constexpr std::uint32_t ttl_seconds = 120;  // RFC 6762 10: records with host names

struct identity {
  std::string cluster;                // NAME of -discover NAME
  std::string node;                   // instance label (node name)
  std::vector<std::uint8_t> address;  // advertised gossip IP: 4 or 16 bytes
  std::uint16_t gossip_port = 7946;
};

dns::name service_name(const std::string& cluster);
dns::name instance_name(const identity& self);

// The browse query for a cluster's instances (no QU bit: answers come by multicast).
dns::message browse_query(const std::string& cluster);
// A query for one instance's SRV/TXT/address records.
dns::message instance_query(const dns::name& instance);

// What `self` answers to `query`; nullopt when nothing asked is ours (or it
// is not a standard query). `unicast` tells whether a question asked for a
// unicast answer (QU bit).
struct answer {
  dns::message msg;
  bool unicast = false;
};
std::optional<answer> answer_query(const identity& self, const dns::message& query);

// Instances of `cluster` a response describes: complete ones as gossip
// endpoints ("IP:PORT", IPv6 in brackets), and instance names announced
// without their SRV or address (to query next).
struct browse_result {
  std::vector<std::string> endpoints;
  std::vector<dns::name> incomplete;
};
browse_result read_response(const std::string& cluster, const dns::message& response);

// The socket side: owns the 5353 socket on the daemon's io_context.
class discovery {
 public:
  using join_fn = std::function<void(std::vector<std::string> addrs, std::function<void(int joined)> done)>;
  using log_fn = std::function<void(int level, const std::string& text)>;  // 0 debug, 1 info, 2 warn/error

  struct options {
    identity self;
    std::string iface;                  // interface name, for messages (empty: none chosen)
    bool ipv4 = true;                   // run on 224.0.0.251
    asio::ip::address_v4 interface_ip;  // unspecified: the kernel's choice (route to 224.0.0.0/4)
    bool ipv6 = true;                   // run on ff02::fb
    unsigned ipv6_index = 0;            // 0: the kernel's choice (route to ff00::/8)
  };

  discovery(asio::io_context& io, options opt, join_fn join, log_fn log);
  ~discovery();
  discovery(const discovery&) = delete;
  discovery& operator=(const discovery&) = delete;

  // Binds 0.0.0.0:5353 and [::]:5353 (shared with other responders), joins
  // the groups and starts browsing. A family that cannot be set up is
  // logged once (warn) and left out; an error only when neither works.
  std::string start();
  void stop();

  struct counters {
    std::uint64_t received = 0, malformed = 0, queries_answered = 0, responses_read = 0, joins = 0;
  };
  const counters& stats() const { return stats_; }

 private:
  // One family's socket and receive state.
  struct channel {
    explicit channel(asio::io_context& io, bool is_v6) : sock(io), v6(is_v6) {}
    asio::ip::udp::socket sock;
    bool v6;
    asio::ip::udp::endpoint from;
    std::array<std::uint8_t, 9000> rx{};  // RFC 6762 17: mDNS messages up to 9000 bytes
    std::chrono::steady_clock::time_point last_multicast_answer{};
  };
  std::string open_v4(channel& c);
  std::string open_v6(channel& c);
  asio::ip::udp::endpoint group_of(const channel& c) const;
  void receive(channel& c);
  void handle(channel& c, std::size_t n);
  void send(channel& c, const dns::message& m, const asio::ip::udp::endpoint& to);
  void schedule_browse();
  void found(const std::string& endpoint);
  void join_batch();

  asio::io_context& io_;
  options opt_;
  join_fn join_;
  log_fn log_;
  std::vector<std::unique_ptr<channel>> channels_;  // the families that work
  asio::steady_timer browse_timer_, quiet_timer_;
  std::chrono::seconds next_interval_{1};
  std::string self_endpoint_;
  std::set<std::string> joined_;    // joined successfully: not again
  std::vector<std::string> batch_;  // found, waiting for the quiet period
  counters stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace chorus::agent::mdns
