// The metrics listener's request handling (agent/metrics_server.hpp) and the
// one-line member news of the agent log (agent/logging.hpp).
#include <sys/socket.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "agent/logging.hpp"
#include "agent/metrics_server.hpp"

using namespace chorus::agent;
using namespace std::chrono_literals;

TEST_CASE("http head: complete, incomplete, malformed, too large", "[metrics][http]") {
  http_request_head h;
  CHECK(parse_http_head("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 8192, h) == http_head_status::complete);
  CHECK(h.method == "GET");
  CHECK(h.target == "/metrics");
  CHECK(h.version == "HTTP/1.1");
  CHECK(parse_http_head("GET /metrics HTTP/1.0\n\n", 8192, h) == http_head_status::complete);
  CHECK(parse_http_head("GET /metrics HTTP/1.1\r\nHost: x\r\n", 8192, h) == http_head_status::incomplete);
  CHECK(parse_http_head("", 8192, h) == http_head_status::incomplete);
  CHECK(parse_http_head("hello\r\n\r\n", 8192, h) == http_head_status::malformed);
  CHECK(parse_http_head("GET  HTTP/1.1\r\n\r\n", 8192, h) == http_head_status::malformed);
  CHECK(parse_http_head("GET /metrics SPDY/3\r\n\r\n", 8192, h) == http_head_status::malformed);
  CHECK(parse_http_head(std::string("G\x01T / HTTP/1.1\r\n\r\n"), 8192, h) == http_head_status::malformed);
  CHECK(parse_http_head(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15), 8192, h) ==
        http_head_status::malformed);
  // No end of head within the limit, or a head longer than it.
  CHECK(parse_http_head(std::string(100, 'a'), 64, h) == http_head_status::too_large);
  CHECK(parse_http_head("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", 64, h) ==
        http_head_status::too_large);
}

TEST_CASE("http routing: /metrics only, GET and HEAD only", "[metrics][http]") {
  auto render = [] { return std::string("m 1\n"); };
  http_request_head h{"GET", "/metrics", "HTTP/1.1"};
  auto r = route_metrics_request(h, render);
  CHECK(r.code == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "m 1\n");
  h.target = "/metrics?name[]=x";
  CHECK(route_metrics_request(h, render).code == 200);
  h.target = "/";
  CHECK(route_metrics_request(h, render).code == 404);
  h.target = "/metricsx";
  CHECK(route_metrics_request(h, render).code == 404);
  h = {"POST", "/metrics", "HTTP/1.1"};
  CHECK(route_metrics_request(h, render).code == 405);
  h = {"HEAD", "/metrics", "HTTP/1.0"};
  CHECK(route_metrics_request(h, render).code == 200);
  h = {"GET", "/metrics", "HTTP/2.0"};
  CHECK(route_metrics_request(h, render).code == 505);
}

TEST_CASE("http response: status line, length, close, and HEAD without the body", "[metrics][http]") {
  CHECK(http_response(200, "text/plain", "abc") ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  CHECK(http_response(200, "text/plain", "abc", true) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
  CHECK(http_response(405, "text/plain", "").find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
  CHECK(http_response(431, "text/plain", "").rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
}

TEST_CASE("member news: one line says what happened to whom", "[metrics][log]") {
  CHECK(member_news_line(member_news::joined, "n3", "127.0.0.3:7946") == "member joined: n3 (127.0.0.3:7946)");
  CHECK(member_news_line(member_news::left, "n3", "127.0.0.3:7946") == "member left: n3 (127.0.0.3:7946)");
  CHECK(member_news_line(member_news::suspected, "n3", "127.0.0.3:7946", "n1") ==
        "member suspected: n3 (127.0.0.3:7946) by n1");
  CHECK(member_news_line(member_news::alive_again, "n3", "127.0.0.3:7946", "n1") ==
        "member alive again: n3 (127.0.0.3:7946), refuted the suspicion by n1");
  CHECK(member_news_line(member_news::alive_again, "n3", "127.0.0.3:7946") ==
        "member alive again: n3 (127.0.0.3:7946), refuted the suspicion");

  failure_report f;
  f.suspected_at = time_point{std::chrono::seconds(5)};
  f.suspected_by = "n1";
  f.confirmed_by = {"n2", "n4", "n2"};  // a repeated confirmation counts once
  f.failed_by = "n1";
  CHECK(suspicion_accusers(f) == 3);
  CHECK(member_news_line(member_news::failed, "n3", "127.0.0.3:7946", {}, &f) ==
        "member failed: n3 (127.0.0.3:7946) after suspicion by 3 nodes");
  f.confirmed_by.clear();
  CHECK(member_news_line(member_news::failed, "n3", "127.0.0.3:7946", {}, &f) ==
        "member failed: n3 (127.0.0.3:7946) after suspicion by 1 node");
  // Learned of the death without having seen a suspicion.
  failure_report g;
  g.failed_by = "n2";
  CHECK(suspicion_accusers(g) == 0);
  CHECK(member_news_line(member_news::failed, "n3", "[::1]:7946", {}, &g) ==
        "member failed: n3 ([::1]:7946), declared by n2");
  CHECK(member_news_line(member_news::failed, "n3", "127.0.0.3:7946") == "member failed: n3 (127.0.0.3:7946)");
}

namespace {

// A blocking loopback client: connect, send, read until the server closes
// (or `limit` passes). Returns what was read.
std::string http_exchange(std::uint16_t port, const std::string& request, std::chrono::milliseconds limit = 3000ms) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  asio::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return "connect failed: " + ec.message();
  timeval tv{static_cast<time_t>(limit.count() / 1000), static_cast<suseconds_t>(limit.count() % 1000 * 1000)};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (!request.empty()) asio::write(s, asio::buffer(request), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const auto n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace

TEST_CASE("metrics listener: serves, refuses over the cap, times out idle clients, survives junk", "[metrics][http]") {
  asio::io_context io;
  metrics_server::options o;
  o.max_connections = 2;
  o.timeout = 1000ms;
  metrics_server srv(io, o, [] { return std::string("chorus_up 1\n"); });
  REQUIRE(srv.listen({asio::ip::make_address("127.0.0.1"), 0}).empty());
  const auto port = srv.port();
  auto work = asio::make_work_guard(io);
  std::thread t([&] { io.run(); });
  // A failed REQUIRE leaves the scope early: stop and join the server thread.
  struct joiner {
    asio::io_context& io;
    std::thread& t;
    ~joiner() {
      io.stop();
      if (t.joinable()) t.join();
    }
  } joined{io, t};

  const auto ok = http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(ok.substr(ok.size() - 12) == "chorus_up 1\n");
  CHECK(http_exchange(port, "GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(http_exchange(port, "\x16\x03\x01 junk\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  // An oversized head gets its answer even though the client keeps sending.
  CHECK(http_exchange(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")
            .rfind("HTTP/1.1 431 ", 0) == 0);

  // Two silent clients fill the cap: a third is closed at once, and the
  // silent ones are dropped at the deadline. The server runs on its own
  // thread, so wait for its connection count rather than for a fixed time
  // (sanitizer builds on a loaded machine are slow).
  auto open_connections = [&] {
    std::promise<std::size_t> p;
    auto f = p.get_future();
    asio::post(io, [&] { p.set_value(srv.connections()); });
    return f.get();
  };
  auto wait_for_open = [&](auto done) {
    for (int i = 0; i < 500 && !done(open_connections()); ++i) std::this_thread::sleep_for(10ms);
    return done(open_connections());
  };
  // The exchanges above may still be draining on the server's side.
  REQUIRE(wait_for_open([](std::size_t n) { return n == 0; }));
  asio::io_context cio;
  asio::ip::tcp::socket a(cio), b(cio);
  a.connect({asio::ip::make_address("127.0.0.1"), port});
  b.connect({asio::ip::make_address("127.0.0.1"), port});
  REQUIRE(wait_for_open([](std::size_t n) { return n == 2; }));
  CHECK(http_exchange(port, "GET /metrics HTTP/1.1\r\n\r\n", 2000ms).empty());
  CHECK(wait_for_open([](std::size_t n) { return n == 0; }));
  CHECK(http_exchange(port, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);

  asio::post(io, [&] {
    CHECK(srv.stats().refused == 1);
    CHECK(srv.stats().timeouts == 2);
    CHECK(srv.stats().errors == 3);
    srv.close();
    work.reset();
  });
  t.join();
}
