// `chorus agent -metrics-addr`: real agents on 127.70.0.x (default ports),
// scraped with a raw TCP client as Prometheus would; hostile HTTP and UDP
// traffic; `chorus info`'s chorus sections; the one-line member news in the
// log. Bounded in time; every process is killed by PID (agent_harness.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "integration/agent/agent_harness.hpp"

using namespace agent_test;

namespace {

std::string ip(int i) { return "127.70.0." + std::to_string(i); }

int connect_to(const std::string& host, int port) {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  timeval tv{5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &to.sin_addr);
  if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    close(s);
    return -1;
  }
  return s;
}

// Sends `request` and reads the whole answer (the server closes after one).
std::string http(const std::string& host, const std::string& request) {
  const int s = connect_to(host, 9100);
  if (s < 0) return "";
  std::size_t off = 0;
  while (off < request.size()) {
    const auto n = write(s, request.data() + off, request.size() - off);
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const auto n = read(s, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(s);
  return out;
}

std::string scrape(const std::string& host) {
  return http(host, "GET /metrics HTTP/1.1\r\nHost: " + host + ":9100\r\nAccept: text/plain\r\n\r\n");
}

// The value of one sample line ("name{labels} value"), or -1.
double sample(const std::string& page, const std::string& key) {
  const auto at = page.find("\n" + key + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(page.c_str() + at + key.size() + 2, nullptr);
}

}  // namespace

TEST_CASE("metrics: scraped over HTTP, counters move, hostile traffic is counted and refused", "[metrics]") {
  cluster c("metrics");
  // A handler that fails: runs and failures are counted.
  c.chorus("n1", ip(1), {"-metrics-addr=" + ip(1) + ":9100", "-event-handler=member-join=exit 3"});
  // The config-file key works as well as the flag.
  const std::string conf = c.dir() + "/n2.json";
  std::ofstream(conf) << R"({"metrics_addr": ")" << ip(2) << R"(:9100", "log_level": "debug"})";
  c.chorus("n2", ip(2), {"-config-file=" + conf, "-join=" + ip(1)});
  REQUIRE(eventually([&] { return count_status(ip(1) + ":7373", "alive") == 2; }, 15s));

  // A scrape as Prometheus does it.
  std::string page;
  REQUIRE(eventually(
      [&] {
        page = scrape(ip(1));
        return sample(page, "chorus_members{status=\"alive\"}") == 2;
      },
      10s));
  INFO(page);
  CHECK(page.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(page.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
  CHECK(page.find("\n# TYPE chorus_members gauge\n") != std::string::npos);
  CHECK(page.find("\n# HELP chorus_probes_total ") != std::string::npos);
  CHECK(page.find("\n# TYPE chorus_push_pull_duration_seconds histogram\n") != std::string::npos);
  CHECK(sample(page, "chorus_members{status=\"failed\"}") == 0);
  CHECK(sample(page, "chorus_rpc_clients") >= 0);
  CHECK(sample(page, "chorus_coordinate_error") > 0);
  CHECK(sample(page, "chorus_messages_received_total{type=\"push_pull\"}") >= 1);
  CHECK(sample(page, "chorus_push_pulls_total{direction=\"inbound\"}") >= 1);  // n2's join
  CHECK(sample(scrape(ip(2)), "chorus_push_pull_duration_seconds_count") >= 1);
  CHECK(sample(scrape(ip(2)), "chorus_members{status=\"alive\"}") == 2);

  // Probes go on: the counter moves between two scrapes.
  const double probes = sample(page, "chorus_probes_total");
  CHECK(eventually([&] { return sample(scrape(ip(1)), "chorus_probes_total") > probes; }, 10s));
  page = scrape(ip(1));
  CHECK(sample(page, "chorus_messages_sent_total{type=\"ping\"}") > 0);
  CHECK(sample(page, "chorus_messages_received_total{type=\"ack\"}") > 0);
  CHECK(sample(page, "chorus_message_bytes_received_total{type=\"ack\"}") > 0);

  CHECK(eventually(
      [&] {
        page = scrape(ip(1));
        return sample(page, "chorus_event_handler_runs_total") >= 1 &&
               sample(page, "chorus_event_handler_failures_total") >= 1;
      },
      10s));

  // Garbage datagrams to the gossip port are counted as malformed.
  const double malformed_before = sample(scrape(ip(1)), "chorus_malformed_packets_total{transport=\"udp\"}");
  const int udp = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(udp >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(7946);
  inet_pton(AF_INET, ip(1).c_str(), &to.sin_addr);
  for (int i = 0; i < 25; ++i) {
    const std::string junk = "\xff garbage " + std::to_string(i);
    sendto(udp, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  close(udp);
  CHECK(eventually(
      [&] {
        return sample(scrape(ip(1)), "chorus_malformed_packets_total{transport=\"udp\"}") >= malformed_before + 25;
      },
      10s));

  // Malformed, oversized and misdirected HTTP get errors.
  CHECK(http(ip(1), "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') + "\r\n\r\n")
            .rfind("HTTP/1.1 431 ", 0) == 0);
  CHECK(
      http(ip(1), std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15)).rfind("HTTP/1.1 400 ", 0) ==
      0);
  CHECK(http(ip(1), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 ", 0) == 0);
  CHECK(http(ip(1), "DELETE /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405 ", 0) == 0);
  // More silent connections than the cap (16): the extra ones are closed at
  // once, gossip and RPC carry on, and scrapes work again once they go.
  std::vector<int> idle;
  for (int i = 0; i < 24; ++i)
    if (const int s = connect_to(ip(1), 9100); s >= 0) idle.push_back(s);
  std::this_thread::sleep_for(300ms);
  CHECK(count_status(ip(1) + ":7373", "alive") == 2);
  for (int s : idle) close(s);
  CHECK(eventually([&] { return sample(scrape(ip(1)), "chorus_members{status=\"alive\"}") == 2; }, 10s));
  page = scrape(ip(1));
  CHECK(sample(page, "chorus_metrics_requests_total{result=\"error\"}") >= 4);
  CHECK(sample(page, "chorus_metrics_requests_total{result=\"refused\"}") >= 1);
  CHECK(count_status(ip(2) + ":7373", "alive") == 2);

  // RPC: `stats` carries Serf's sections only; chorus-stats the rest, and
  // `chorus info` shows both.
  chorus::rpc::client rc;
  REQUIRE(rc.connect(ip(1) + ":7373", "", 2s).empty());
  chorus::rpc::stats_response st, extra;
  REQUIRE(rc.stats(st).empty());
  for (const auto& [section, kv] : st) {
    INFO(section);
    CHECK((section == "agent" || section == "runtime" || section == "serf" || section == "tags" ||
           section == "event_handlers"));
  }
  REQUIRE(rc.chorus_stats(extra).empty());
  CHECK(extra["metrics"]["chorus_members{status=\"alive\"}"] == "2");
  const auto info = run_chorus({"info", "-rpc-addr=" + ip(1) + ":7373"});
  CHECK(info.exit_code == 0);
  CHECK(info.out.find("serf:\n") != std::string::npos);
  CHECK(info.out.find("metrics:\n") != std::string::npos);
  CHECK(info.out.find("\tchorus_members{status=\"alive\"} = 2\n") != std::string::npos);
  const auto json = run_chorus({"info", "-rpc-addr=" + ip(1) + ":7373", "-format=json"});
  CHECK(json.exit_code == 0);
  CHECK(json.out.find("\"chorus_probes_total\": \"") != std::string::npos);
}

TEST_CASE("metrics and logs: a frozen member is suspected and alive again, a killed one failed, in one line each",
          "[metrics]") {
  cluster c("metrics-fail");
  c.chorus("n1", ip(1), {"-metrics-addr=" + ip(1) + ":9100", "-log-level=info"});
  c.chorus("n2", ip(2), {"-join=" + ip(1)});
  REQUIRE(eventually([&] { return count_status(ip(1) + ":7373", "alive") == 2; }, 15s));
  CHECK(eventually(
      [&] { return c.log_of("n1").find("[INFO] member joined: n2 (127.70.0.2:7946)") != std::string::npos; }, 5s));
  // A short freeze (SIGSTOP, shorter than the 4 s suspicion timeout of a
  // two-node LAN cluster): suspected, then refuted when it wakes up.
  bool refuted = false;
  for (int attempt = 0; attempt < 3 && !refuted; ++attempt) {
    c.signal("n2", SIGSTOP);
    std::this_thread::sleep_for(2500ms);
    c.signal("n2", SIGCONT);
    refuted = eventually(
        [&] {
          return c.log_of("n1").find(
                     "[INFO] member alive again: n2 (127.70.0.2:7946), refuted the suspicion by n1\n") !=
                 std::string::npos;
        },
        6s);
    REQUIRE(eventually([&] { return count_status(ip(1) + ":7373", "alive") == 2; }, 15s));
  }
  CHECK(refuted);
  CHECK(sample(scrape(ip(1)), "chorus_suspicions_refuted_total") >= 1);
  c.kill9("n2");
  CHECK(eventually([&] { return sample(scrape(ip(1)), "chorus_members{status=\"failed\"}") == 1; }, 20s));
  const auto log = c.log_of("n1");
  INFO(log);
  CHECK(log.find("[WARN] member suspected: n2 (127.70.0.2:7946) by n1\n") != std::string::npos);
  CHECK(log.find("[WARN] member failed: n2 (127.70.0.2:7946) after suspicion by 1 node\n") != std::string::npos);
  // Serf's own line stays.
  CHECK(eventually([&] { return c.log_of("n1").find("serf: EventMemberFailed: n2 127.70.0.2") != std::string::npos; },
                   10s));
  const auto page = scrape(ip(1));
  CHECK(sample(page, "chorus_suspicions_observed_total") >= 1);
  CHECK(sample(page, "chorus_probes_failed_total") >= 1);
  CHECK(sample(page, "chorus_members{status=\"alive\"}") == 1);
}

TEST_CASE("metrics: a metrics address without a port is refused at start", "[metrics]") {
  cluster c("metrics-bad");
  c.chorus("n3", ip(3), {"-metrics-addr=" + ip(3)}, false);
  CHECK(c.wait_exit("n3", 10s) == 1);
  CHECK(c.log_of("n3").find("Invalid metrics address") != std::string::npos);
}
