// One cluster of two `serf agent`s and two `chorus agent`s (encrypted,
// tagged). Debian's `serf` CLI run against a chorus agent must print what it
// prints against a serf agent of the same cluster, and the chorus CLI must
// print the same against either. Values that differ by nature are masked:
// addresses, times, RTTs, versions, goroutine counts; Serf prints members,
// tags and acks in Go map order, so those are compared as sets.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "harness.hpp"
#include "swim/keyring.hpp"

using namespace cli_interop;
using nlohmann::json;

namespace {

const std::string key1 = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
const std::string s1_rpc = "-rpc-addr=127.66.1.1:7373";
const std::string c1_rpc = "-rpc-addr=127.66.1.2:7373";
const std::string s2_rpc = "-rpc-addr=127.66.1.3:7373";
const std::string c2_rpc = "-rpc-addr=127.66.1.4:7373";
const std::string long_tag = "long-tag-name.x=" + std::string(40, 'v');

// Sorts the k=v items of every tags cell (Go map order in Serf's output).
std::string sort_tag_cells(const std::string& line) {
  std::istringstream in(line);
  std::string out, token;
  while (in >> token) {
    if (token.find('=') != std::string::npos && token.find(':') == std::string::npos) {
      std::vector<std::string> items;
      std::istringstream t(token);
      for (std::string item; std::getline(t, item, ',');) items.push_back(item);
      std::sort(items.begin(), items.end());
      token.clear();
      for (const auto& item : items) token += (token.empty() ? "" : ",") + item;
    }
    out += (out.empty() ? "" : " ") + token;
  }
  return out;
}

std::multiset<std::string> member_lines(const std::string& s) {
  std::multiset<std::string> out;
  for (const auto& l : lines(s)) out.insert(sort_tag_cells(l));
  return out;
}

std::multiset<std::string> line_set(const std::string& s) {
  const auto v = lines(s);
  return {v.begin(), v.end()};
}

// Indented JSON lines without trailing commas: the same objects in another
// order give the same multiset.
std::multiset<std::string> json_line_set(const std::string& s) {
  std::multiset<std::string> out;
  for (auto l : lines(s)) {
    if (!l.empty() && l.back() == ',') l.pop_back();
    out.insert(l);
  }
  return out;
}

std::map<std::string, json> members_by_name(const std::string& out) {
  std::map<std::string, json> by_name;
  const auto j = json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.contains("members")) return by_name;
  for (const auto& m : j["members"]) by_name[m["name"]] = m;
  return by_name;
}

// The four runs of one command: {serf CLI, chorus CLI} x {serf agent s1,
// chorus agent c1}.
struct four {
  run_result serf_s, serf_c, chorus_s, chorus_c;
  std::vector<const run_result*> all() const { return {&serf_s, &serf_c, &chorus_s, &chorus_c}; }
};

four run4(const std::vector<std::string>& args) {
  auto with = [&](const std::string& rpc) {
    std::vector<std::string> a{args.at(0), rpc};
    a.insert(a.end(), args.begin() + 1, args.end());
    return a;
  };
  four f;
  f.serf_s = run_serf(with(s1_rpc));
  f.serf_c = run_serf(with(c1_rpc));
  f.chorus_s = run_chorus(with(s1_rpc));
  f.chorus_c = run_chorus(with(c1_rpc));
  return f;
}

// Every run equals the serf CLI against the serf agent under `norm`, with
// the same exit code.
template <class Norm>
void all_same(const four& f, Norm norm) {
  const auto ref = norm(f.serf_s.out);
  const char* names[] = {"serf->s1", "serf->c1", "chorus->s1", "chorus->c1"};
  int i = 0;
  for (const auto* r : f.all()) {
    INFO(names[i] << " stdout:\n" << r->out << "stderr:\n" << r->err << "reference (serf->s1):\n" << f.serf_s.out);
    CHECK(r->exit_code == f.serf_s.exit_code);
    CHECK(norm(r->out) == ref);
    ++i;
  }
}

std::string identity(const std::string& s) { return s; }

struct mixed_cluster {
  serf_cluster agents;
  mixed_cluster() {
    const std::vector<std::string> enc{"-encrypt=" + key1};
    agents.start({"s1", "127.66.1.1", {"role=web", "region=sin"}, enc});
    agents.start({"c1", "127.66.1.2", {"role=web", "region=sin"}, enc}, {}, chorus_binary);
    agents.start({"s2", "127.66.1.3", {"role=db", "region=fra"}, enc});
    agents.start({"c2", "127.66.1.4", {"role=cache", "region=sin", long_tag}, enc}, {}, chorus_binary);
    // The serf CLI drives the chorus agent's join, the chorus CLI a serf agent's.
    const auto a = run_serf({"join", c1_rpc, "127.66.1.1", "127.66.1.3"});
    INFO(a.out);
    REQUIRE(a.exit_code == 0);
    CHECK(a.out == "Successfully joined cluster by contacting 2 nodes.\n");
    const auto b = run_chorus({"join", s2_rpc, "127.66.1.4"});
    REQUIRE(b.exit_code == 0);
    CHECK(b.out == "Successfully joined cluster by contacting 1 nodes.\n");
    for (const char* rpc : {"127.66.1.1:7373", "127.66.1.2:7373", "127.66.1.3:7373", "127.66.1.4:7373"})
      REQUIRE(eventually([&] { return serf_cluster::count_status(rpc, "alive") == 4; }, 20s));
  }
};

}  // namespace

TEST_CASE("serf and chorus CLIs print the same against serf and chorus agents of one cluster") {
  mixed_cluster c;

  SECTION("members: text, detailed, filtered, json with -tag region=sin") {
    const auto plain = run4({"members"});
    all_same(plain, member_lines);
    CHECK(lines(plain.serf_c.out).size() == 4);
    all_same(run4({"members", "-detailed"}), member_lines);
    all_same(run4({"members", "-status=alive", "-name=c.*"}), member_lines);
    all_same(run4({"members", "-tag", "role=web|cache"}), member_lines);
    all_same(run4({"members", "-name=nomatch"}), identity);

    const auto j = run4({"members", "-format=json", "-tag", "region=sin"});
    all_same(j, json_line_set);
    const auto ref = members_by_name(j.serf_s.out);
    CHECK(ref.size() == 3);
    for (const auto* r : j.all()) CHECK(members_by_name(r->out) == ref);
    all_same(run4({"members", "-format=json"}), json_line_set);
  }

  SECTION("rtt: the same lines apart from the estimate") {
    auto mask = [](const std::string& s) {
      return std::regex_replace(s, std::regex("rtt: [0-9]+\\.[0-9]{3} ms"), "rtt: X ms");
    };
    // Every agent needs a coordinate for every node first.
    // An agent caches a member's coordinate when it probes that member or
    // hears from it, so wait until both agents asked below know s1, s2 and c2.
    for (const auto& rpc : {s1_rpc, c1_rpc}) {
      REQUIRE(eventually([&] { return run_serf({"rtt", rpc, "s1", "c2"}).exit_code == 0; }, 30s));
      REQUIRE(eventually([&] { return run_serf({"rtt", rpc, "s2", "c2"}).exit_code == 0; }, 30s));
      REQUIRE(eventually([&] { return run_serf({"rtt", rpc, "c2"}).exit_code == 0; }, 30s));
    }
    const auto two = run4({"rtt", "s2", "c2"});
    all_same(two, mask);
    CHECK(mask(two.serf_c.out) == "Estimated s2 <-> c2 rtt: X ms\n");
    // One node: the other end is the agent asked, so the names differ.
    const auto one = run4({"rtt", "c2"});
    CHECK(mask(one.serf_s.out) == "Estimated c2 <-> s1 rtt: X ms\n");
    CHECK(mask(one.serf_c.out) == "Estimated c2 <-> c1 rtt: X ms\n");
    CHECK(mask(one.chorus_s.out) == mask(one.serf_s.out));
    CHECK(mask(one.chorus_c.out) == mask(one.serf_c.out));
    all_same(run4({"rtt", "nosuch"}), identity);
    all_same(run4({"rtt", "s1", "nosuch"}), identity);
  }

  SECTION("event reaches every handler; limits and usage errors alike") {
    all_same(run4({"event", "deploy", "v1.2.3"}), identity);
    all_same(run4({"event", "-coalesce=false", "mixed-ev", "payload"}), identity);
    CHECK(eventually([&] {
      const auto log = c.agents.events_log();
      for (const char* n : {"s1", "c1", "s2", "c2"})
        if (log.find(std::string(n) + " user mixed-ev") == std::string::npos) return false;
      return true;
    }));
    all_same(run4({"event", "big", std::string(600, 'x')}), identity);
    all_same(run4({"event", "big", std::string(10000, 'x')}), identity);
  }

  SECTION("query: acks and responses from all four, json, filters, refused names") {
    const auto t = run4({"query", "-timeout=2s", "uptime", "load?"});
    all_same(t, line_set);
    const auto tl = lines(t.serf_c.out);
    REQUIRE(tl.size() == 11);  // dispatched, 4 acks, 4 responses, 2 totals
    CHECK(tl.front() == "Query 'uptime' dispatched");
    CHECK(tl[9] == "Total Acks: 4");
    CHECK(tl[10] == "Total Responses: 4");
    CHECK(t.serf_c.out.find("Response from 'c2': reply from c2\n") != std::string::npos);
    CHECK(t.serf_c.out.find("Response from 's2': reply from s2\n") != std::string::npos);

    const auto j = run4({"query", "-format=json", "-timeout=2s", "uptime"});
    all_same(j, json_line_set);
    const auto ref = json::parse(j.serf_s.out);
    CHECK(ref["Responses"].size() == 4);
    for (const auto* r : j.all()) CHECK(json::parse(r->out)["Responses"] == ref["Responses"]);

    all_same(run4({"query", "-node=c2", "-tag", "role=cache", "-timeout=2s", "filtered"}), identity);
    all_same(run4({"query", "-timeout=1s", "-tag", "role=nomatch", "q"}), identity);
    all_same(run4({"query", "_serf_x"}), identity);
    all_same(run4({"query", "-timeout=1s", "big", std::string(2000, 'x')}), identity);
    // The ping query stays allowed (reachability), with a payload it is not.
    const auto ping = run4({"query", "-no-ack", "-timeout=1s", "_serf_ping"});
    all_same(ping, identity);
    CHECK(ping.serf_c.exit_code == 0);
    all_same(run4({"query", "_serf_ping", "x"}), identity);
  }

  SECTION("join: success and failure") {
    all_same(run4({"join", "127.66.1.3"}), identity);
    // Failure: the chorus agent words every address's failure as the serf
    // agent does (Go's multierror list, in argument order); the targets are
    // the same, so the text is byte for byte the same.
    const auto bad = run4({"join", "127.66.1.9"});
    all_same(bad, identity);
    CHECK(bad.serf_s.exit_code == 1);
    CHECK(bad.serf_s.out ==
          "Error joining the cluster: 1 error occurred:\n"
          "\t* Failed to join 127.66.1.9: dial tcp 127.66.1.9:7946: connect: connection refused\n\n\n");
    // Several failures of different kinds: refused, an invalid name (no DNS
    // query), bad ports, a peer that is not memberlist (s1's RPC port: EOF),
    // a malformed address, a name prefix.
    const auto several = run4({"join", "127.66.1.9", "x/-bad.invalid", "127.66.1.9:99999", "127.66.1.1:7373", "[::1",
                               "n/127.66.1.10:7000", "h:"});
    all_same(several, identity);
    CHECK(several.serf_s.out.rfind("Error joining the cluster: 7 errors occurred:\n", 0) == 0);
    CHECK(several.serf_s.out.find("\t* Failed to join 127.66.1.1: EOF\n") != std::string::npos);
    // One success clears the errors.
    all_same(run4({"join", "127.66.1.9", "127.66.1.3"}), identity);
  }

  SECTION("tags -set and -delete on a chorus agent through the serf CLI") {
    const auto set_c = run_serf({"tags", c1_rpc, "-set", "dc=west", "-set", "rack=r1"});
    const auto set_s = run_serf({"tags", s1_rpc, "-set", "dc=west", "-set", "rack=r1"});
    CHECK(set_c.exit_code == 0);
    CHECK(set_c.out == set_s.out);
    CHECK(set_c.out == "Successfully updated agent tags\n");
    CHECK(run_chorus({"tags", c1_rpc, "-set", "shelf=3"}).out == "Successfully updated agent tags\n");
    // Both nodes now carry the tags everywhere, so every view agrees. The
    // two updates of c1 reach each agent at its own pace: wait until s1 and
    // c1 (the views compared below) and s2 all have the second.
    REQUIRE(eventually([&] {
      const auto f = run4({"members", "-tag", "dc=west", "-tag", "rack=r1"});
      for (const auto* r : f.all())
        if (lines(r->out).size() != 2 || r->out.find("shelf=3") == std::string::npos) return false;
      return run_serf({"members", s2_rpc, "-name=c1"}).out.find("shelf=3") != std::string::npos;
    }));
    all_same(run4({"members", "-tag", "dc=west"}), member_lines);
    CHECK(run_serf({"tags", c1_rpc, "-delete", "rack", "-delete", "shelf"}).out == "Successfully updated agent tags\n");
    CHECK(eventually([&] {
      const auto out = run_serf({"members", c2_rpc, "-name=c1"}).out;
      return out.find("rack=") == std::string::npos && out.find("shelf=") == std::string::npos &&
             out.find("dc=west") != std::string::npos;
    }));
    all_same(run4({"tags", "-set", "bad"}), identity);
  }

  SECTION("info: the same sections and keys; names, runtime and counters as expected") {
    // `key = value` lines with the values that differ by nature masked.
    auto shape = [](const std::string& out) {
      std::vector<std::string> v;
      std::string section;
      for (const auto& l : lines(out)) {
        if (!l.empty() && l[0] != '\t') section = l;
        // chorus only (chorus-stats): counters, and why members are suspect or failed.
        if (section == "metrics:" || section == "failures:") continue;
        const auto eq = l.find(" = ");
        const std::string key = l.substr(0, eq);
        static const std::set<std::string> stable{"\tos",     "\tarch",   "\tcpu_count", "\tmax_procs",
                                                  "\trole",   "\tregion", "\tencrypted", "\tmembers",
                                                  "\tfailed", "\tleft",   "\t*:"};
        v.push_back(eq != std::string::npos && stable.count(key) ? l : key);
      }
      return v;
    };
    const auto t = run4({"info"});
    all_same(t, shape);
    CHECK(lines(t.serf_c.out).at(1) == "\tname = c1");
    CHECK(t.serf_c.out.find("\tmembers = 4\n") != std::string::npos);
    CHECK(t.serf_c.out.find("\tencrypted = true\n") != std::string::npos);
    const auto j = run4({"info", "-format=json"});
    const auto ref = json::parse(j.serf_s.out);
    for (const auto* r : j.all()) {
      const auto o = json::parse(r->out);
      for (const auto& [section, kv] : ref.items()) {
        REQUIRE(o.contains(section));
        for (const auto& [k, v] : kv.items()) CHECK(o[section].contains(k));
      }
      CHECK(o["tags"] == ref["tags"]);
      CHECK(o["event_handlers"] == ref["event_handlers"]);
      CHECK(o["serf"]["members"] == "4");
    }
  }

  SECTION("monitor: log lines in Serf's format and the same event block") {
    struct watcher {
      std::string file;
      process monitor;
    };
    auto start = [&](const std::string& bin, const std::string& rpc, const std::string& name) {
      const std::string file = c.agents.dir() + "/" + name + ".monitor";
      spawn_options truncate;
      truncate.truncate_log = true;
      return watcher{file, process({bin, "monitor", rpc, "-log-level=debug"}, file, truncate)};
    };
    std::vector<watcher> ws;
    ws.push_back(start(serf_binary, s1_rpc, "serf-s1"));
    ws.push_back(start(serf_binary, c1_rpc, "serf-c1"));
    ws.push_back(start(chorus_binary, s1_rpc, "chorus-s1"));
    ws.push_back(start(chorus_binary, c1_rpc, "chorus-c1"));
    // The field lines of the "Event Info:" block (Serf's CLI prints them in
    // Go map order, chorus's sorted).
    const std::set<std::string> block{"\tName: \"monitored\"", "\tPayload: []byte{0x68, 0x69}", "\tCoalesce: false",
                                      "\tEvent: \"user\""};
    auto has_block = [&](const std::string& out) {
      const auto ls = lines(out);
      for (std::size_t i = 0; i + 5 < ls.size(); ++i) {  // 5 fields: the 4 above and LTime
        if (ls[i] != "Event Info:") continue;
        std::set<std::string> fields(ls.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                     ls.begin() + static_cast<std::ptrdiff_t>(i) + 6);
        if (std::includes(fields.begin(), fields.end(), block.begin(), block.end())) return true;
      }
      return false;
    };
    bool all_seen = eventually([&] {
      // Every monitor attached (it prints the agent's recent log first).
      for (const auto& w : ws)
        if (read_file(w.file).find("[INFO] agent.ipc: Accepted client: ") == std::string::npos) return false;
      return true;
    });
    run_serf({"event", s2_rpc, "-coalesce=false", "monitored", "hi"});
    all_seen = all_seen && eventually([&] {
                 for (const auto& w : ws)
                   if (!has_block(read_file(w.file))) return false;
                 return true;
               });
    for (auto& w : ws) w.monitor.signal(SIGINT);
    std::vector<int> codes;
    for (auto& w : ws) {
      const auto code = w.monitor.wait_exit(5s);
      codes.push_back(code ? *code : w.monitor.kill_now());  // 137 when it had to be killed
    }
    CHECK(all_seen);
    CHECK(codes == std::vector<int>{0, 0, 0, 0});
    const std::regex log_line(R"(^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(TRACE|DEBUG|INFO|WARN|ERR)\] \S.*)");
    for (const auto& w : ws) {
      const auto out = read_file(w.file);
      INFO(w.file << ":\n" << out);
      CHECK(out.find("[INFO] agent.ipc: Accepted client: ") != std::string::npos);
      CHECK(out.find("[INFO] agent: Received event: user-event: monitored") != std::string::npos);
      CHECK(out.find("\n\n") == std::string::npos);  // no empty lines (script output keeps one newline)
      for (const auto& l : lines(out))
        if (!l.empty() && l[0] != '\t' && l != "Event Info:") CHECK(std::regex_match(l, log_line));
    }
    all_same(run4({"monitor", "-log-level=bogus"}), identity);
  }

  SECTION("keys: list, install, use, remove through either agent") {
    const auto list = run4({"keys", "-list"});
    all_same(list, identity);
    CHECK(list.serf_c.out ==
          "==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" + key1 +
              "  [4/4]\n");
    for (const char* bad : {"bad", "a", "ab=c", "YWJj=", "@@@@", "ab==x"}) {
      INFO(bad);
      all_same(run4({"keys", std::string("-install=") + bad}), identity);
    }
    const std::string key2 = lines(run_chorus({"keygen"}).out).at(0);
    const auto inst = run_serf({"keys", c1_rpc, "-install", key2});
    CHECK(inst.exit_code == 0);
    CHECK(inst.out == "==> Installing key on all members...\n==> Successfully installed key!\n");
    all_same(run4({"keys", "-list"}), line_set);
    CHECK(run_serf({"keys", c1_rpc, "-use", key2}).exit_code == 0);
    all_same(run4({"keys", "-remove", key2}), line_set);  // the primary: every node refuses
    const auto rm = run_serf({"keys", c1_rpc, "-remove", key1});
    CHECK(rm.exit_code == 0);
    CHECK(rm.out == "==> Removing key on all members...\n==> Successfully removed key!\n");
    const auto after = run4({"keys", "-list"});
    all_same(after, identity);
    CHECK(after.serf_c.out.find(key2 + "  [4/4]") != std::string::npos);
  }

  SECTION("keys: a key of the wrong size goes to every member, and each answers for itself") {
    // 10 bytes: every member refuses it in Serf's words (no agent refuses
    // it on its own before asking the cluster).
    const std::string k10 = "muYezN06+z+ieg==";
    const auto bad = run4({"keys", "-install", k10});
    all_same(bad, line_set);
    CHECK(bad.serf_s.exit_code == 1);
    std::string want = "==> Installing key on all members...\n";
    for (const char* n : {"s1", "c1", "s2", "c2"})
      want += std::string("failed:  ") + n + "  key size must be 16, 24 or 32 bytes\n";
    want += "\nError installing key: 4/4 nodes reported failure\n";
    CHECK(line_set(bad.serf_s.out) == line_set(want));
    // Nobody has it: -use fails on every member, -remove succeeds.
    all_same(run4({"keys", "-use", k10}), line_set);
    const auto use = run_chorus({"keys", c1_rpc, "-use", k10});
    CHECK(use.out.find("failed:  s2  Requested key is not in the keyring\n") != std::string::npos);
    CHECK(use.out.find("Error changing primary key: 4/4 nodes reported failure") != std::string::npos);
    all_same(run4({"keys", "-remove", k10}), identity);
    // 16 bytes (AES-128): the serf agents install it; the chorus agents
    // (AES-256-GCM only) refuse it and say why.
    const std::string k16 = "ydcvrOWAPwH6+xEoym3lXg==";
    const auto mixed = run4({"keys", "-install", k16});
    all_same(mixed, line_set);
    CHECK(mixed.serf_s.exit_code == 1);
    const std::string why(chorus::swim::unsupported_key_size_error);
    CHECK(line_set(mixed.serf_s.out) ==
          line_set("==> Installing key on all members...\nfailed:  c1  " + why + "\nfailed:  c2  " + why +
                   "\n\nError installing key: 2/4 nodes reported failure\n"));
    all_same(run4({"keys", "-remove", k16}), identity);
    CHECK(run_serf({"keys", s1_rpc, "-list"}).out.find(k16) == std::string::npos);
  }
}

TEST_CASE("raw msgpack RPC client against chorus agents: auth and filters and streams and malformed input") {
  serf_cluster agents;
  agents.start({"r1", "127.66.2.1", {"role=web"}, {}}, {}, chorus_binary);
  agents.start({"r2", "127.66.2.2", {"role=db"}, {"-rpc-auth=t0ken"}}, "t0ken", chorus_binary);
  const std::string script = (fs::path(CHORUS_SOURCE_DIR) / "tests" / "interop" / "cli" / "rpc_raw_client.py").string();
  const auto r = run({"/usr/bin/python3", script, "127.66.2.1:7373", "r1", "127.66.2.2:7373", "t0ken"}, 60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("0 failure(s)") != std::string::npos);
  // The agents survived every malformed request.
  CHECK(serf_cluster::count_status("127.66.2.1:7373", "alive") == 1);
  CHECK(serf_cluster::count_status("127.66.2.2:7373", "alive", "t0ken") == 1);
}
