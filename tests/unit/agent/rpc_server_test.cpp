// The RPC server against a fake agent (no daemon): session rules, commands,
// streams and hostile clients. The server runs on its own io thread; the
// fake answers from there, as the daemon does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

// The whole of Asio: the agent headers include only the parts they use.
#include <asio.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "agent/handlers.hpp"
#include "rpc/client.hpp"
#include "rpc/server.hpp"

using namespace chorus::rpc;
using namespace std::chrono_literals;

namespace {

struct fake_agent final : agent_api {
  std::vector<member> list;
  string_map tags;
  std::vector<member> members() override { return list; }
  void join(std::vector<std::string> addrs, bool, std::function<void(int, std::string)> done) override {
    done(static_cast<int>(addrs.size()), "");
  }
  void leave(std::function<void(std::string)> done) override { done(""); }
  std::string force_leave(const std::string& node, bool) override { return node == "x" ? "" : "no such node"; }
  std::string user_event(const std::string& name, const bytes&, bool) override { return name.empty() ? "empty" : ""; }
  std::string set_tags(const string_map& set, const std::vector<std::string>&) override {
    tags = set;
    return "";
  }
  stats_response stats() override { return {{"agent", {{"name", "fake"}}}}; }
  coordinate_response get_coordinate(const std::string&) override { return {}; }
  void key_operation(command, const std::string&, std::function<void(key_response, std::string)> done) override {
    done({}, "not here");
  }
  std::string query(const query_request&, std::function<void(const query_record&)> rec) override {
    rec({"n1", bytes{'h', 'i'}, "response"});
    rec({"", std::nullopt, "done"});
    return "";
  }
  std::string respond(std::uint64_t, const bytes&) override { return ""; }
  bool valid_filter(const std::string& f) override {
    std::vector<chorus::agent::event_filter> v;
    return chorus::agent::parse_event_filters(f, v);
  }
  bool filter_matches(const std::string& f, const std::string& e, const std::string& n) override {
    std::vector<chorus::agent::event_filter> v;
    return chorus::agent::parse_event_filters(f, v) && chorus::agent::filters_match(v, e, n);
  }
};

struct fixture {
  asio::io_context io;
  fake_agent agent;
  server srv;
  std::thread thread;
  std::string addr;
  explicit fixture(server_options o = {}) : srv(io, agent, o) {
    REQUIRE(srv.listen({asio::ip::make_address("127.0.0.1"), 0}).empty());
    addr = "127.0.0.1:" + std::to_string(srv.port());
    member m;
    m.name = "n1";
    m.addr = {127, 0, 0, 1};
    m.port = 7946;
    m.status = "alive";
    m.tags = string_map{{"role", "web"}};
    agent.list.push_back(m);
    m.name = "db1";
    m.status = "failed";
    m.tags = string_map{{"role", "db"}};
    agent.list.push_back(m);
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~fixture() {
    asio::post(io, [this] { srv.close(); });
    io.stop();
    thread.join();
  }
  // Raw bytes in, raw bytes out (reads until the server closes or 1 s passes).
  std::string raw(const bytes& in) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(srv.port());
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    (void)!write(fd, in.data(), in.size());
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
    close(fd);
    return out;
  }
};

bytes request(const std::string& cmd, std::uint64_t seq) { return encode(request_header{cmd, seq}); }

}  // namespace

TEST_CASE("rpc server: a command before the handshake is refused and the connection closed", "[rpc][server]") {
  fixture f;
  const auto out = f.raw(request("members", 1));
  CHECK(out.find("Handshake required") != std::string::npos);
}

TEST_CASE("rpc server: unknown commands and undecodable bodies close the connection", "[rpc][server]") {
  fixture f;
  bytes in = request("handshake", 1);
  const auto body = encode(handshake_request{1});
  in.insert(in.end(), body.begin(), body.end());
  auto more = request("frobnicate", 2);
  in.insert(in.end(), more.begin(), more.end());
  CHECK(f.raw(in).find("Unsupported command") != std::string::npos);
  // Garbage: closed without a crash; the server still serves.
  CHECK(f.raw(bytes{0xc1, 0xc1, 0xc1}).empty());
  CHECK(f.raw(bytes(100000, 0x91)).empty());  // deep nesting
  client c;
  REQUIRE(c.connect(f.addr, "", 2s).empty());
  members_response m;
  CHECK(c.members(m).empty());
  CHECK(m.members->size() == 2);
}

TEST_CASE("rpc server: with an auth token only handshake and auth work before auth", "[rpc][server]") {
  server_options o;
  o.auth_key = "s3cret";
  fixture f(o);
  client c;
  REQUIRE(c.connect(f.addr, "", 2s).empty());
  members_response m;
  CHECK(c.members(m) == "Authentication required");
  CHECK(c.auth("wrong") == "Invalid authentication token");
  CHECK(c.auth("s3cret").empty());
  CHECK(c.members(m).empty());
  client good;
  CHECK(good.connect(f.addr, "s3cret", 2s).empty());
}

TEST_CASE("rpc server: commands reach the agent and filtered members anchor like Serf", "[rpc][server]") {
  fixture f;
  client c;
  REQUIRE(c.connect(f.addr, "", 2s).empty());
  CHECK(c.handshake() == "Handshake already performed");
  members_response m;
  members_filtered_request req;
  req.status = "alive";
  CHECK(c.members_filtered(req, m).empty());
  REQUIRE(m.members->size() == 1);
  CHECK(m.members->at(0).name == "n1");
  req = {};
  req.tags = string_map{{"role", "d"}};  // anchored: "d" does not match "db"
  CHECK(c.members_filtered(req, m).empty());
  CHECK(m.members->empty());
  join_response j;
  join_request jr;
  jr.existing = std::vector<std::string>{"a", "b"};
  CHECK(c.join(jr, j).empty());
  CHECK(j.num == 2);
  CHECK(c.force_leave({"y", false}) == "no such node");
  tags_request tr;
  tr.tags = string_map{{"k", "v"}};
  CHECK(c.tags(tr).empty());
  stats_response s;
  CHECK(c.stats(s).empty());
  CHECK(s["agent"]["name"] == "fake");
  std::vector<query_record> recs;
  std::uint64_t seq = 0;
  CHECK(c.query(
             {}, [&](const query_record& r) { recs.push_back(r); }, seq)
            .empty());
  c.pump(client::clock::now() + 2s, [&] { return recs.size() == 2; });
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].from == "n1");
  CHECK(recs[1].type == "done");
}

TEST_CASE("rpc server: streams and monitors deliver, stop ends them", "[rpc][server]") {
  fixture f;
  client c;
  REQUIRE(c.connect(f.addr, "", 2s).empty());
  std::vector<event_record> events;
  std::uint64_t seq = 0;
  std::uint64_t bad = 0;
  CHECK(c.stream(
            {"member-joined"}, [](const event_record&) {}, bad) == "Invalid event filter");
  REQUIRE(c.stream(
               {"user:deploy"}, [&](const event_record& r) { events.push_back(r); }, seq)
              .empty());
  std::vector<log_record> logs;
  std::uint64_t mseq = 0;
  CHECK(c.monitor(
            {"LOUD"}, [](const log_record&) {}, mseq) == "Unknown log level: LOUD");
  REQUIRE(c.monitor(
               {"warn"}, [&](const log_record& r) { logs.push_back(r); }, mseq)
              .empty());
  asio::post(f.io, [&] {
    f.srv.publish(user_event_record{false, 1, "other", std::nullopt});
    f.srv.publish(user_event_record{false, 2, "deploy", bytes{'x'}});
    f.srv.publish_log(log_level::info, "quiet");
    f.srv.publish_log(log_level::err, "loud");
  });
  c.pump(client::clock::now() + 2s, [&] { return events.size() == 1 && logs.size() == 1; });
  REQUIRE(events.size() == 1);
  CHECK(std::get<user_event_record>(events[0]).name == "deploy");
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].log == "loud");
  CHECK(c.stop(seq).empty());
}

TEST_CASE("rpc server: a client that never reads is dropped without slowing the others", "[rpc][server]") {
  server_options o;
  o.max_write_queue = 64 * 1024;
  fixture f(o);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(f.srv.port());
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  bytes in = request("handshake", 1);
  auto b = encode(handshake_request{1});
  in.insert(in.end(), b.begin(), b.end());
  auto mon = request("monitor", 2);
  in.insert(in.end(), mon.begin(), mon.end());
  b = encode(monitor_request{"trace"});
  in.insert(in.end(), b.begin(), b.end());
  (void)!write(fd, in.data(), in.size());
  std::this_thread::sleep_for(200ms);
  std::atomic<bool> done{false};
  asio::post(f.io, [&] {
    for (int i = 0; i < 20000; ++i) f.srv.publish_log(log_level::info, std::string(200, 'x'));
    done = true;
  });
  for (int i = 0; i < 100 && !done; ++i) std::this_thread::sleep_for(50ms);
  CHECK(done);
  std::atomic<std::uint64_t> dropped{0};
  asio::post(f.io, [&] { dropped = f.srv.dropped_slow_clients(); });
  std::this_thread::sleep_for(100ms);
  CHECK(dropped == 1);
  client c;
  REQUIRE(c.connect(f.addr, "", 2s).empty());
  members_response m;
  CHECK(c.members(m).empty());
  close(fd);
}

namespace {
// The server's refusal counter, read on its io thread.
std::uint64_t refused_on_io(fixture& f, refusal r) {
  std::promise<std::uint64_t> p;
  asio::post(f.io, [&] { p.set_value(f.srv.refused(r)); });
  return p.get_future().get();
}
}  // namespace

TEST_CASE("rpc server: refusals are counted by reason, a request over max_request is closed", "[rpc][server]") {
  server_options o;
  o.auth_key = "s3cret";
  o.max_request = 4096;
  o.max_clients = 2;
  fixture f(o);
  CHECK(f.raw(request("members", 1)).find("Handshake required") != std::string::npos);
  CHECK(refused_on_io(f, refusal::handshake_required) == 1);

  bytes in = request("handshake", 1);
  const auto hs = encode(handshake_request{1});
  in.insert(in.end(), hs.begin(), hs.end());
  const auto members = request("members", 2);
  in.insert(in.end(), members.begin(), members.end());
  CHECK(f.raw(in).find("Authentication required") != std::string::npos);
  CHECK(refused_on_io(f, refusal::auth_required) == 1);

  // An event whose payload takes the request past 4096 bytes: closed unanswered.
  bytes big = request("handshake", 1);
  big.insert(big.end(), hs.begin(), hs.end());
  const auto auth_req = request("auth", 2);
  big.insert(big.end(), auth_req.begin(), auth_req.end());
  const auto auth_body = encode(auth_request{"s3cret"});
  big.insert(big.end(), auth_body.begin(), auth_body.end());
  const auto ev = request("event", 3);
  big.insert(big.end(), ev.begin(), ev.end());
  const auto ev_body = encode(event_request{false, "e", bytes(8000, 'x')});
  big.insert(big.end(), ev_body.begin(), ev_body.end());
  CHECK(f.raw(big).find("exceeds") == std::string::npos);
  CHECK(refused_on_io(f, refusal::too_large) == 1);

  CHECK(f.raw(bytes(100, 0x91)).empty());
  CHECK(refused_on_io(f, refusal::undecodable) == 1);

  // Two set-up clients fill the table: a third is refused at accept (once
  // the server has seen the connections above close).
  for (int i = 0; i < 100; ++i) {
    std::promise<std::size_t> open;
    asio::post(f.io, [&] { open.set_value(f.srv.clients()); });
    if (open.get_future().get() == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  client a, b, c;
  REQUIRE(a.connect(f.addr, "s3cret", 2s).empty());
  REQUIRE(b.connect(f.addr, "s3cret", 2s).empty());
  CHECK_FALSE(c.connect(f.addr, "s3cret", 2s).empty());
  CHECK(refused_on_io(f, refusal::table_full) >= 1);
  members_response m;
  CHECK(a.members(m).empty());
}
