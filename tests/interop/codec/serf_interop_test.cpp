// Our encoder's bytes accepted by a real Serf 0.9.4 agent (Debian `serf`):
//  * a hand-built alive over UDP makes Serf list our node with our tags;
//  * a push/pull join over TCP is answered with Serf's own state, which we
//    decode, and Serf lists the joined node;
//  * a Serf user event inside a memberlist user message fires Serf's event
//    handler with our name and payload.
// Every packet Serf sends us meanwhile must open cleanly with our decoder.
// Addresses 127.61.0.x only; every serf process is killed by PID (RAII).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/serf/codec.hpp"
#include "agent/serf/coordinate_payload.hpp"
#include "agent/serf/tags.hpp"
#include "support/agents.hpp"
#include "support/process.hpp"
#include "swim/codec.hpp"
#include "swim/packet.hpp"
#include "swim/stream.hpp"

using namespace chorus;
using namespace chorus::swim;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Each test case runs its own agent on its own address (CTest may run the
// cases in parallel): 127.61.0.1, .11, .21, with fake peers at +1.
constexpr std::uint16_t gossip_port = 7946;
const std::filesystem::path work_dir = std::filesystem::path(CHORUS_BINARY_DIR) / "interop-codec";

// A serf agent process (the shared process harness: killed by PID and
// reaped when the guard goes), its log in the build tree for a failure's
// post-mortem.
class serf_agent {
 public:
  serf_agent(const std::string& ip, std::vector<std::string> extra_args)
      : ip_(ip), rpc_addr_(ip + ":7373"), proc_(start(ip, std::move(extra_args))) {}

  const std::string& ip() const { return ip_; }
  const std::string& rpc_addr() const { return rpc_addr_; }
  std::string log() const { return proc_.output(); }

 private:
  static test_support::process start(const std::string& ip, std::vector<std::string> extra_args) {
    std::filesystem::create_directories(work_dir);
    extra_args.insert(extra_args.begin(), "-log-level=debug");
    test_support::spawn_options fresh_log;
    fresh_log.truncate_log = true;
    return test_support::process(test_support::agent_argv(test_support::serf_binary, "s1", ip, extra_args),
                                 work_dir / ("serf-" + ip + ".log"), fresh_log);
  }
  std::string ip_, rpc_addr_;
  test_support::process proc_;
};

// `serf members -format=json`, bounded by `timeout`. Empty json on failure.
json serf_members(const serf_agent& serf) {
  const std::string cmd = "timeout 5 serf members -rpc-addr=" + serf.rpc_addr() + " -format=json 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return {};
  auto j = json::parse(out, nullptr, false);
  return j.is_discarded() ? json{} : j;
}

// The member entry (a copy), null when absent.
json find_member(const json& members, const std::string& name) {
  if (!members.contains("members")) return nullptr;
  for (const auto& m : members["members"])
    if (m.value("name", "") == name) return m;
  return nullptr;
}

bool wait_for_rpc(const serf_agent& serf) {
  for (auto deadline = std::chrono::steady_clock::now() + 8s; std::chrono::steady_clock::now() < deadline;) {
    if (!find_member(serf_members(serf), "s1").is_null()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

sockaddr_in endpoint(const char* ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

bytes ip_bytes(const char* ip) {
  in_addr a{};
  ::inet_pton(AF_INET, ip, &a);
  const auto* p = reinterpret_cast<const std::uint8_t*>(&a);
  return bytes(p, p + 4);
}

// A fake gossip peer: a UDP socket on ip:7946 answering Serf's pings with
// acks that carry a Vivaldi coordinate, and checking that every packet Serf
// sends opens cleanly.
class fake_peer {
 public:
  fake_peer(const char* ip, const std::string& serf_ip) : ip_(ip), serf_ip_(serf_ip) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = endpoint(ip, gossip_port);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~fake_peer() { ::close(fd_); }

  void send_to_serf(const bytes& datagram) {
    auto a = endpoint(serf_ip_.c_str(), gossip_port);
    REQUIRE(::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a) ==
            static_cast<ssize_t>(datagram.size()));
  }

  // Serves pings for `d`.
  void pump(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    std::vector<std::uint8_t> buf(udp_receive_buffer);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof from;
      const ssize_t n = ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      ++received_;
      auto pkt = open(std::span<const std::uint8_t>(buf.data(), static_cast<std::size_t>(n)), {});
      if (!pkt.ok() || !pkt.part_errors.empty()) {
        ++undecodable_;
        continue;
      }
      for (const auto& m : pkt.messages) {
        if (const auto* pg = std::get_if<ping>(&m.msg)) {
          ++pings_;
          ack a;
          a.seq_no = pg->seq_no;
          a.payload = agent::encode_coordinate_payload(vivaldi::coordinate::origin());
          const bytes reply = encode(message{a});
          ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
    }
  }

  int received_ = 0, undecodable_ = 0, pings_ = 0;

 private:
  const char* ip_;
  std::string serf_ip_;
  int fd_ = -1;
};

alive alive_for(const std::string& name, const char* ip, const agent::tag_map& tags) {
  alive a;
  a.incarnation = 1;
  a.node = name;
  a.addr = ip_bytes(ip);
  a.port = gossip_port;
  auto t = agent::encode_tags(tags);
  REQUIRE(t.ok());
  a.meta = t.meta;
  a.vsn = {1, 5, 2, 2, 5, 5};
  return a;
}

}  // namespace

TEST_CASE("serf accepts a hand-built alive and lists our node with our tags") {
  serf_agent serf("127.61.0.1", {});
  REQUIRE(wait_for_rpc(serf));
  fake_peer peer("127.61.0.2", serf.ip());
  const agent::tag_map tags{{"role", "codec"}, {"long-tag-name.x", std::string(40, 'v')}};
  seal_options so;
  so.crc = true;  // as a gossip round would send it
  auto s = seal_messages(std::vector<message>{alive_for("chorus-alive", "127.61.0.2", tags)}, so);
  REQUIRE(s.ok());
  peer.send_to_serf(s.data);

  json me;
  for (int i = 0; i < 20 && me.is_null(); ++i) {
    peer.pump(250ms);
    me = find_member(serf_members(serf), "chorus-alive");
  }
  INFO(serf.log());
  REQUIRE_FALSE(me.is_null());
  CHECK(me["status"] == "alive");
  CHECK(me["addr"] == "127.61.0.2:7946");
  CHECK(me["tags"]["role"] == "codec");
  CHECK(me["tags"]["long-tag-name.x"] == std::string(40, 'v'));
  // Keep answering its probes a little: it stays alive and every packet it
  // sent us decoded.
  peer.pump(2500ms);
  CHECK(peer.pings_ > 0);
  CHECK(peer.undecodable_ == 0);
  const json later = find_member(serf_members(serf), "chorus-alive");
  REQUIRE_FALSE(later.is_null());
  CHECK(later["status"] == "alive");
}

TEST_CASE("serf answers our push/pull join and merges our state") {
  serf_agent serf("127.61.0.11", {});
  REQUIRE(wait_for_rpc(serf));
  fake_peer peer("127.61.0.12", serf.ip());

  push_pull pp;
  pp.join = true;
  const alive me = alive_for("chorus-pp", "127.61.0.12", {{"role", "pushpull"}});
  pp.nodes.push_back({me.node, me.addr, me.port, me.meta, me.incarnation, node_state::alive, me.vsn});
  agent::push_pull_state st;
  st.ltime = 1;
  st.status_ltimes = {{"chorus-pp", 1}};
  st.event_ltime = 1;
  st.query_ltime = 1;
  pp.user_state = agent::encode(agent::serf_message{st});
  stream_options so;
  so.compress = true;  // what a default Serf peer does on TCP
  auto wire = encode_stream(pp, so);
  REQUIRE(wire.ok());

  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  auto local = endpoint("127.61.0.12", 0);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto remote = endpoint(serf.ip().c_str(), gossip_port);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
  REQUIRE(::send(fd, wire.data.data(), wire.data.size(), 0) == static_cast<ssize_t>(wire.data.size()));
  // Read the reply until it decodes (the incremental reader) or the peer closes.
  bytes reply;
  opened_stream got;
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) break;
    reply.insert(reply.end(), buf.begin(), buf.begin() + n);
    got = decode_stream(reply, {});
    if (got.ok() || !got.incomplete) break;
  }
  ::close(fd);
  INFO(got.error.what << "\n" << serf.log());
  REQUIRE(got.ok());
  CHECK(got.layers.compressed);  // Serf compresses every stream message
  const auto& theirs = std::get<push_pull>(got.msg);
  CHECK(theirs.join);
  REQUIRE(theirs.nodes.size() >= 1);
  CHECK(theirs.nodes[0].name == "s1");
  CHECK(theirs.nodes[0].vsn == bytes{1, 5, 2, 2, 5, 5});
  CHECK(theirs.nodes[0].addr == ip_bytes(serf.ip().c_str()));
  auto serf_state = agent::decode_serf_message(theirs.user_state);
  REQUIRE(serf_state.ok());
  REQUIRE(std::holds_alternative<agent::push_pull_state>(serf_state.value));
  CHECK(std::get<agent::push_pull_state>(serf_state.value).status_ltimes.count("s1") == 1);

  json m;
  for (int i = 0; i < 12 && m.is_null(); ++i) {
    peer.pump(250ms);
    m = find_member(serf_members(serf), "chorus-pp");
  }
  REQUIRE_FALSE(m.is_null());
  CHECK(m["status"] == "alive");
  CHECK(m["tags"]["role"] == "pushpull");
  CHECK(peer.undecodable_ == 0);
}

TEST_CASE("a Serf user event we encode fires serf's event handler") {
  std::filesystem::create_directories(work_dir);
  const auto out = work_dir / "event-127.61.0.21.out";
  const auto script = work_dir / "handler-127.61.0.21.sh";
  std::filesystem::remove(out);
  {
    std::ofstream s(script);
    s << "#!/bin/sh\necho \"$SERF_EVENT $SERF_USER_EVENT\" > " << out.string() << ".tmp\ncat >> " << out.string()
      << ".tmp\nmv " << out.string() << ".tmp " << out.string() << "\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  serf_agent serf("127.61.0.21", {"-event-handler=user:chorus-test=" + script.string()});
  REQUIRE(wait_for_rpc(serf));
  fake_peer peer("127.61.0.22", serf.ip());

  agent::user_event ev;
  ev.ltime = 7;
  ev.name = "chorus-test";
  ev.payload = {'h', 'e', 'l', 'l', 'o', ' ', 's', 'e', 'r', 'f'};
  ev.cc = false;  // fire at once, no coalescing
  user u;
  u.payload = agent::encode(agent::serf_message{ev});
  auto s = seal_messages(std::vector<message>{u}, {});
  REQUIRE(s.ok());
  peer.send_to_serf(s.data);

  std::string seen;
  for (int i = 0; i < 40 && seen.empty(); ++i) {
    peer.pump(100ms);
    if (std::filesystem::exists(out)) {
      std::ifstream in(out);
      std::stringstream ss;
      ss << in.rdbuf();
      seen = ss.str();
    }
  }
  INFO(serf.log());
  // Serf writes the payload to the handler's stdin followed by a newline.
  CHECK(seen == "user chorus-test\nhello serf\n");
}
