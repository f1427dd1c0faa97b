// The metrics listener's request handling (agent/metrics_server.hpp) and the
// one-line member news of the agent log (agent/logging.hpp).
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
// The whole of Asio: the agent headers include only the parts they use.
#include <asio.hpp>
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "agent/config.hpp"
#include "agent/logging.hpp"
#include "agent/metrics_server.hpp"

using namespace chorus::agent;
using namespace std::chrono_literals;

namespace {
http_parse_status parse_all(std::string_view bytes, http_request& out, std::size_t max_head = 8192,
                            std::size_t max_body = 1024) {
  http_request_parser p(max_head, max_body);
  const auto st = p.feed(bytes);
  out = p.request();
  return st;
}
}  // namespace

TEST_CASE("http request: complete, incremental, malformed, too large", "[metrics][http]") {
  http_request h;
  CHECK(parse_all("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", h) == http_parse_status::complete);
  CHECK(h.method == "GET");
  CHECK(h.target == "/metrics");
  CHECK(h.path == "/metrics");
  CHECK(h.version == "HTTP/1.1");
  CHECK(h.header("host") == "x");
  CHECK(parse_all("GET /metrics HTTP/1.0\r\n\r\n", h) == http_parse_status::complete);
  CHECK(h.version == "HTTP/1.0");
  CHECK(parse_all("GET /metrics HTTP/1.1\r\nHost: x\r\n", h) == http_parse_status::incomplete);
  CHECK(parse_all("", h) == http_parse_status::incomplete);
  CHECK(parse_all("hello\r\n\r\n", h) == http_parse_status::malformed);
  CHECK(parse_all("GET  HTTP/1.1\r\n\r\n", h) == http_parse_status::malformed);
  CHECK(parse_all("GET /metrics SPDY/3\r\n\r\n", h) == http_parse_status::malformed);
  CHECK(parse_all(std::string("G\x01T / HTTP/1.1\r\n\r\n"), h) == http_parse_status::malformed);
  CHECK(parse_all(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15), h) ==
        http_parse_status::malformed);
  // A head longer than the limit, with or without its end.
  CHECK(parse_all("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), h, 64) == http_parse_status::head_too_large);
  CHECK(parse_all("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", h, 64) ==
        http_parse_status::head_too_large);

  // Byte by byte gives the same request; the query is decoded, names repeat.
  http_request_parser p(8192, 1024);
  const std::string req =
      "POST /v1/event/de%20ploy?coalesce=false&tag=a%3D1&tag=b=2+3 HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
  http_parse_status st = http_parse_status::incomplete;
  for (char c : req) st = p.feed(std::string_view(&c, 1));
  REQUIRE(st == http_parse_status::complete);
  CHECK(p.request().path == "/v1/event/de ploy");
  CHECK(p.request().param("coalesce") == "false");
  CHECK(p.request().params("tag") == std::vector<std::string>{"a=1", "b=2 3"});
  CHECK(p.request().body == "hello");
  // Chunked bodies; bodies over the limit, declared or streamed.
  CHECK(parse_all("PUT /v1/tags HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", h) ==
        http_parse_status::complete);
  CHECK(h.body == "abcde");
  CHECK(parse_all("POST / HTTP/1.1\r\nContent-Length: 2000\r\n\r\n", h) == http_parse_status::body_too_large);
  CHECK(parse_all("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'x'), h) ==
        http_parse_status::body_too_large);
  // A bad escape is a malformed request, not a guess.
  CHECK(parse_all("GET /v1/members?name=%zz HTTP/1.1\r\n\r\n", h) == http_parse_status::malformed);
  CHECK(percent_decode("%41b+c", true) == "Ab c");
  CHECK(percent_decode("%41b+c", false) == "Ab+c");
  CHECK_FALSE(percent_decode("%4", true));
}

TEST_CASE("http routing: /metrics only, GET and HEAD only", "[metrics][http]") {
  auto render = [] { return std::string("m 1\n"); };
  http_request h;
  h.method = "GET";
  h.path = "/metrics";
  auto r = route_metrics_request(h, render);
  CHECK(r.code == 200);
  CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(r.body == "m 1\n");
  h.path = "/";
  CHECK(route_metrics_request(h, render).code == 404);
  h.path = "/metricsx";
  CHECK(route_metrics_request(h, render).code == 404);
  h.path = "/metrics";
  h.method = "POST";
  r = route_metrics_request(h, render);
  CHECK(r.code == 405);
  CHECK(r.headers == std::vector<std::string>{"Allow: GET, HEAD"});
  h.method = "HEAD";
  CHECK(route_metrics_request(h, render).code == 200);
}

TEST_CASE("http response: status line, length, close, and HEAD without the body", "[metrics][http]") {
  CHECK(http_response(200, "text/plain", "abc") ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  CHECK(http_response(200, "text/plain", "abc", true) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
  CHECK(http_response(405, "text/plain", "", false, {"Allow: GET, HEAD"}).find("\r\nAllow: GET, HEAD\r\n") !=
        std::string::npos);
  CHECK(http_response(431, "text/plain", "").rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
  CHECK(http_chunk("abc") == "3\r\nabc\r\n");
  CHECK(http_chunk("") == "0\r\n\r\n");
  CHECK(http_stream_head(200, "text/event-stream").find("Transfer-Encoding: chunked\r\n") != std::string::npos);
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
std::string http_roundtrip(std::uint16_t port, const std::string& request, std::chrono::milliseconds limit = 3000ms) {
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
  http_server::options o;
  o.max_connections = 2;
  o.timeout = 1000ms;
  http_server srv(io, o, metrics_handler([] { return std::string("chorus_up 1\n"); }), "metrics");
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

  const auto ok = http_roundtrip(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(ok.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(ok.substr(ok.size() - 12) == "chorus_up 1\n");
  CHECK(http_roundtrip(port, "GET /nope HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(http_roundtrip(port, "\x16\x03\x01 junk\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
  // An oversized head gets its answer even though the client keeps sending.
  CHECK(http_roundtrip(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n")
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
  CHECK(http_roundtrip(port, "GET /metrics HTTP/1.1\r\n\r\n", 2000ms).empty());
  CHECK(wait_for_open([](std::size_t n) { return n == 0; }));
  CHECK(http_roundtrip(port, "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);

  asio::post(io, [&] {
    CHECK(srv.stats().refused == 1);
    CHECK(srv.stats().timeouts == 2);
    CHECK(srv.stats().errors == 3);
    srv.close();
    work.reset();
  });
  t.join();
}

TEST_CASE("http stream: chunks in order, a reader too slow loses chunks, never memory", "[metrics][http]") {
  asio::io_context io;
  http_server::options o;
  o.max_write_queue = 16 * 1024;
  std::size_t accepted = 0, refused = 0;
  http_server srv(
      io, o,
      [&](const http_request& r, std::shared_ptr<http_exchange> x) {
        x->begin_stream(200, "text/plain");
        // All sent before the loop writes anything: the queue holds what
        // fits and refuses the rest.
        const std::string line(1000, r.path == "/a" ? 'a' : 'b');
        for (int i = 0; i < 100; ++i) (x->send(line) ? accepted : refused)++;
        x->end_stream();
      },
      "test");
  REQUIRE(srv.listen({asio::ip::make_address("127.0.0.1"), 0}).empty());
  const auto port = srv.port();
  std::thread t([&] { io.run_for(5s); });
  const auto out = http_roundtrip(port, "GET /a HTTP/1.1\r\n\r\n");
  asio::post(io, [&] { srv.close(); });
  t.join();
  const auto body = out.substr(std::min(out.size(), out.find("\r\n\r\n") + 4));
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK((out.size() >= 5 && out.substr(out.size() - 5) == "0\r\n\r\n"));
  // 16 KiB of queue: about 15 chunks of 1000 bytes (the head is queued too).
  CHECK(accepted >= 10);
  CHECK(accepted <= 16);
  CHECK(refused == 100 - accepted);
  CHECK(srv.stats().dropped_chunks == refused);
  CHECK(std::count(body.begin(), body.end(), 'a') == static_cast<std::ptrdiff_t>(accepted * 1000));
}

TEST_CASE("http address: loopback unless a host is named, a port required", "[metrics][http]") {
  host_port hp;
  CHECK(parse_http_addr("8500", hp).empty());
  CHECK(hp.host == "127.0.0.1");
  CHECK(hp.port == 8500);
  CHECK(parse_http_addr(":8501", hp).empty());
  CHECK(hp.host == "127.0.0.1");
  CHECK(parse_http_addr("0.0.0.0:80", hp).empty());
  CHECK(hp.host == "0.0.0.0");
  CHECK(parse_http_addr("[::1]:8500", hp).empty());
  CHECK(hp.host == "::1");
  CHECK_FALSE(parse_http_addr("", hp).empty());
  CHECK_FALSE(parse_http_addr("10.0.0.1", hp).empty());
  CHECK_FALSE(parse_http_addr("example.com:80", hp).empty());
  CHECK_FALSE(parse_http_addr("127.0.0.1:99999", hp).empty());
}
