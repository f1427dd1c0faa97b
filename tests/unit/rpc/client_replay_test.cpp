// The client against recorded agents: a loopback server replays what the real
// agent sent to the real Go CLI (rpc-cli-streams.jsonl); our client, asked for
// the same commands, must send exactly the bytes the Go CLI sent and decode
// every reply.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "rpc/client.hpp"
#include "swim/msgpack.hpp"
#include "vectors.hpp"

using namespace rpc_test;
namespace rpc = chorus::rpc;
namespace mp = chorus::msgpack;

namespace {

// Accepts one connection on 127.0.0.1:<ephemeral>, writes `reply` at once,
// and records everything the client sends until it closes.
class replay_server {
 public:
  explicit replay_server(bytes reply, bool hang_up = false) : reply_(std::move(reply)), hang_up_(hang_up) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 1) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~replay_server() {
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Waits for the client to close, then returns what it sent.
  bytes received() {
    if (thread_.joinable()) thread_.join();
    return received_;
  }

 private:
  void serve() {
    const int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    timeval tv{10, 0};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    if (hang_up_) {
      ::close(c);
      return;
    }
    std::uint8_t buf[4096];
    for (;;) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      received_.insert(received_.end(), buf, buf + n);
    }
    ::close(c);
  }
  bytes reply_;
  bool hang_up_ = false;
  bytes received_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

template <class T>
T decode_value(const json& object) {
  const bytes raw = from_hex(object["hex"]);
  T v;
  REQUIRE(rpc::decode_bytes(raw, v).empty());
  return v;
}

}  // namespace

TEST_CASE("the client sends the Go CLI's exact bytes and decodes the agent's replies") {
  const auto lines = read_jsonl("rpc-cli-streams.jsonl");
  REQUIRE(lines.size() == 15);
  int queries = 0, records = 0;
  for (const auto& l : lines) {
    INFO("stream " << l["kind"]);
    replay_server server(from_hex(l["server_to_client_hex"]));
    rpc::client c;
    c.set_call_timeout(std::chrono::seconds(5));
    REQUIRE(c.connect(server.address()).empty());  // handshake
    const auto& cs = l["client_to_server_objects"];
    for (std::size_t i = 2; i < cs.size(); ++i) {  // [0], [1]: the handshake
      const auto h = decode_value<rpc::request_header>(cs[i]);
      const auto cmd = rpc::parse_command(h.command);
      REQUIRE(cmd);
      const json* body = rpc::request_has_body(*cmd) ? &cs[++i] : nullptr;
      std::string err;
      switch (*cmd) {
        case rpc::command::join: {
          rpc::join_response r;
          err = c.join(decode_value<rpc::join_request>(*body), r);
          CHECK(r.num == 1);
          break;
        }
        case rpc::command::event:
          err = c.event(decode_value<rpc::event_request>(*body));
          break;
        case rpc::command::tags:
          err = c.tags(decode_value<rpc::tags_request>(*body));
          break;
        case rpc::command::force_leave:
          err = c.force_leave(decode_value<rpc::force_leave_request>(*body));
          break;
        case rpc::command::members: {
          rpc::members_response r;
          err = c.members(r);
          REQUIRE(r.members);
          CHECK(r.members->size() == 3);
          break;
        }
        case rpc::command::members_filtered: {
          rpc::members_response r;
          err = c.members_filtered(decode_value<rpc::members_filtered_request>(*body), r);
          REQUIRE(r.members);
          CHECK(r.members->size() == 3);
          break;
        }
        case rpc::command::stats: {
          rpc::stats_response r;
          err = c.stats(r);
          CHECK(r["agent"]["name"] == "n1");
          break;
        }
        case rpc::command::get_coordinate: {
          rpc::coordinate_response r;
          const auto req = decode_value<rpc::get_coordinate_request>(*body);
          err = c.get_coordinate(req, r);
          CHECK(r.ok == (req.node != "nosuch"));
          break;
        }
        case rpc::command::list_keys: {
          rpc::key_response r;
          err = c.list_keys(r);
          CHECK(r.num_nodes == 3);
          break;
        }
        case rpc::command::install_key:
        case rpc::command::use_key:
        case rpc::command::remove_key: {
          rpc::key_response r;
          const auto req = decode_value<rpc::key_request>(*body);
          err = *cmd == rpc::command::install_key ? c.install_key(req, r)
                : *cmd == rpc::command::use_key   ? c.use_key(req, r)
                                                  : c.remove_key(req, r);
          CHECK(r.num_resp == 3);
          break;
        }
        case rpc::command::query: {
          ++queries;
          bool done = false;
          std::vector<rpc::query_record> got;
          std::uint64_t seq = 0;
          err = c.query(
              decode_value<rpc::query_request>(*body),
              [&](const rpc::query_record& r) {
                got.push_back(r);
                if (r.type == "done") done = true;
              },
              seq);
          REQUIRE(err.empty());
          const auto res = c.pump(rpc::client::clock::now() + std::chrono::seconds(5), [&] { return done; });
          CHECK(res == rpc::client::pump_result::done);
          records += static_cast<int>(got.size());
          REQUIRE(!got.empty());
          CHECK(got.back().from.empty());
          break;
        }
        default:
          FAIL("unexpected command " << h.command);
      }
      if (*cmd == rpc::command::list_keys)
        CHECK(err == "3/3 nodes reported failure");  // the plain cluster has no keyring
      else
        CHECK(err.empty());
    }
    c.close();
    CHECK(to_hex(server.received()) == l["client_to_server_hex"].get<std::string>());
  }
  CHECK(queries == 2);
  CHECK(records == 11);  // 3 acks + 3 responses + done, 3 acks + done
}

TEST_CASE("the client reports agent errors, refused connections and a closing agent") {
  SECTION("connection refused is reported in Go's words") {
    rpc::client c;
    // Bind then close a port so nothing listens there.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const std::string addr = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    ::close(fd);
    CHECK(c.connect(addr) == "dial tcp " + addr + ": connect: connection refused");
    CHECK(c.connect("127.0.0.1") == "dial tcp: address 127.0.0.1: missing port in address");
  }
  SECTION("an auth error from the agent fails connect") {
    bytes reply = from_hex("82a54572726f72a0a353657101");  // handshake ok
    const bytes bad = from_hex("82a54572726f72bc496e76616c69642061757468656e7469636174696f6e20746f6b656ea353657102");
    reply.insert(reply.end(), bad.begin(), bad.end());
    replay_server server(reply);
    rpc::client c;
    CHECK(c.connect(server.address(), "wrong") == "Invalid authentication token");
    CHECK(!c.connected());
  }
  SECTION("an agent that closes mid-call gives 'client closed'") {
    replay_server server(from_hex("82a54572726f72a0a353657101"), true);
    rpc::client c;
    c.set_call_timeout(std::chrono::seconds(5));
    REQUIRE(c.connect(server.address()).empty());
    server.received();  // the server has hung up
    rpc::members_response r;
    CHECK(c.members(r) == "client closed");
  }
  SECTION("garbage from the agent is an error, not a crash") {
    bytes reply = from_hex("82a54572726f72a0a353657101");
    reply.push_back(0xc1);
    replay_server server(reply);
    rpc::client c;
    c.set_call_timeout(std::chrono::seconds(5));
    REQUIRE(c.connect(server.address()).empty());
    rpc::stats_response r;
    CHECK(c.stats(r) == "undecodable reply: not msgpack");
  }
}
