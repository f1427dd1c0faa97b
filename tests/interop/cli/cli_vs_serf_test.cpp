// The chorus CLI and Debian's `serf` CLI, run against the same real Serf
// agents, print the same thing and exit the same way. Where Serf's own output
// order is random (Go map order: members, tags, acks), outputs are compared
// as sets of lines / JSON objects.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "harness.hpp"

using namespace cli_interop;
using nlohmann::json;

namespace {

const std::string n1_rpc = "-rpc-addr=127.60.0.1:7373";
const std::string n2_rpc = "-rpc-addr=127.60.0.2:7373";
const std::string n3_rpc = "-rpc-addr=127.60.0.3:7373";
const std::string long_tag = "long-tag-name.x=" + std::string(40, 'v');

// Sorts the comma-separated k=v items inside each tags cell, so that lines
// from Serf (random tag order) and chorus (sorted) can be compared.
std::string normalize_tags(const std::string& line) {
  std::string out;
  std::size_t i = 0;
  while (i <= line.size()) {
    const std::size_t sp = std::min(line.find(' ', i), line.size());
    std::string token = line.substr(i, sp - i);
    if (token.find('=') != std::string::npos && token.find(':') == std::string::npos) {
      std::vector<std::string> items;
      std::size_t s = 0;
      while (s <= token.size()) {
        const std::size_t c = std::min(token.find(',', s), token.size());
        items.push_back(token.substr(s, c - s));
        s = c + 1;
      }
      std::sort(items.begin(), items.end());
      token.clear();
      for (const auto& it : items) token += (token.empty() ? "" : ",") + it;
    }
    out += token;
    if (sp < line.size()) out += ' ';
    i = sp + 1;
  }
  return out;
}

std::multiset<std::string> line_set(const std::string& s, bool tags = false) {
  std::multiset<std::string> out;
  for (auto& l : lines(s)) out.insert(tags ? normalize_tags(l) : l);
  return out;
}

// JSON lines without trailing commas: Go's indented JSON of the same
// members in another order gives the same multiset.
std::multiset<std::string> json_line_set(const std::string& s) {
  std::multiset<std::string> out;
  for (auto l : lines(s)) {
    if (!l.empty() && l.back() == ',') l.pop_back();
    out.insert(l);
  }
  return out;
}

json members_by_name(const std::string& out) {
  auto j = json::parse(out);
  std::map<std::string, json> by_name;
  for (const auto& m : j["members"]) by_name[m["name"]] = m;
  return by_name;
}

void same_output(const run_result& ours, const run_result& theirs) {
  INFO("chorus stdout:\n" << ours.out << "chorus stderr:\n" << ours.err << "serf stdout:\n" << theirs.out);
  CHECK(ours.exit_code == theirs.exit_code);
  CHECK(ours.out == theirs.out);
}

struct three_nodes {
  serf_cluster cluster;
  std::string n1, n2, n3;  // agent names (serf_cluster::start)
  explicit three_nodes(const std::vector<std::string>& extra = {}) {
    n1 = cluster.start({"n1", "127.60.0.1", {"role=web", "region=sin"}, extra});
    n2 = cluster.start({"n2", "127.60.0.2", {"role=db", "region=sin"}, extra});
    n3 = cluster.start({"n3", "127.60.0.3", {"role=cache", "region=fra", long_tag}, extra});
  }
  void join_all() {
    const auto a = run_chorus({"join", n2_rpc, "127.60.0.1"});
    REQUIRE(a.exit_code == 0);
    CHECK(a.out == "Successfully joined cluster by contacting 1 nodes.\n");
    const auto b = run_serf({"join", n3_rpc, "127.60.0.1:7946"});
    REQUIRE(b.exit_code == 0);
    for (const char* rpc : {"127.60.0.1:7373", "127.60.0.2:7373", "127.60.0.3:7373"})
      REQUIRE(eventually([&] { return serf_cluster::count_status(rpc, "alive") == 3; }));
  }
};

}  // namespace

TEST_CASE("chorus CLI output matches serf's against a live Serf cluster") {
  three_nodes c;
  c.join_all();

  SECTION("members (text, detailed, filtered, json) and members -near") {
    const auto ours = run_chorus({"members", n1_rpc});
    const auto theirs = run_serf({"members", n1_rpc});
    REQUIRE(ours.exit_code == 0);
    REQUIRE(theirs.exit_code == 0);
    CHECK(lines(ours.out).size() == 3);
    CHECK(line_set(ours.out, true) == line_set(theirs.out, true));

    const auto od = run_chorus({"members", n1_rpc, "-detailed"});
    const auto td = run_serf({"members", n1_rpc, "-detailed"});
    CHECK(od.exit_code == 0);
    CHECK(line_set(od.out, true) == line_set(td.out, true));

    // Two dashes work too; the agent anchors '^web|db$' without grouping.
    const auto of = run_chorus({"members", n1_rpc, "--status=alive", "-tag", "role=web|db", "-name=n.*"});
    const auto tf = run_serf({"members", n1_rpc, "-status=alive", "-tag", "role=web|db", "-name=n.*"});
    CHECK(lines(of.out).size() == 2);
    CHECK(line_set(of.out, true) == line_set(tf.out, true));

    same_output(run_chorus({"members", n1_rpc, "-name=nomatch"}), run_serf({"members", n1_rpc, "-name=nomatch"}));

    const auto oj = run_chorus({"members", n1_rpc, "-format=json"});
    const auto tj = run_serf({"members", n1_rpc, "-format=json"});
    REQUIRE(oj.exit_code == 0);
    CHECK(json_line_set(oj.out) == json_line_set(tj.out));
    CHECK(members_by_name(oj.out) == members_by_name(tj.out));

    const auto os = run_chorus({"members", n1_rpc, "-tag", "region=sin", "-format", "json"});
    const auto ts = run_serf({"members", n1_rpc, "-tag", "region=sin", "-format", "json"});
    CHECK(members_by_name(os.out).size() == 2);
    CHECK(members_by_name(os.out) == members_by_name(ts.out));
    CHECK(json_line_set(os.out) == json_line_set(ts.out));

    same_output(run_chorus({"members", n1_rpc, "-format=xml"}), run_serf({"members", n1_rpc, "-format=xml"}));
    same_output(run_chorus({"members", n1_rpc, "-tag", "bad"}), run_serf({"members", n1_rpc, "-tag", "bad"}));

    // chorus only: nearest first, with coordinates and estimates in JSON.
    REQUIRE(eventually([&] {
      auto r = run_chorus({"members", n1_rpc, "-near=n2", "-format=json"});
      if (r.exit_code != 0) return false;
      auto j = json::parse(r.out);
      double last = -1;
      for (const auto& m : j["members"]) {
        if (m["estimated_rtt_ms"].is_null() || m["coordinate"]["vec"].size() != 8) return false;
        const double rtt = m["estimated_rtt_ms"];
        if (rtt < last) return false;
        last = rtt;
      }
      return j["members"].size() == 3;
    }));
    const auto near_text = run_chorus({"members", n1_rpc, "-near", "n3"});
    CHECK(near_text.exit_code == 0);
    CHECK(line_set(near_text.out, true) == line_set(theirs.out, true));
  }

  SECTION("rtt between two nodes, to the agent itself, unknown node, and -matrix") {
    // Coordinates move with every probe: retry until both CLIs read the same.
    for (std::vector<std::string> args : {std::vector<std::string>{"n2"}, {"n2", "n3"}}) {
      std::vector<std::string> full{"rtt", n1_rpc};
      full.insert(full.end(), args.begin(), args.end());
      run_result ours, theirs;
      const bool same = eventually(
          [&] {
            theirs = run_serf(full);
            ours = run_chorus(full);
            return theirs.exit_code == 0 && ours.out == theirs.out;
          },
          20s);
      INFO("chorus: " << ours.out << "serf: " << theirs.out);
      CHECK(same);
      CHECK(ours.exit_code == 0);
      CHECK(ours.out.rfind("Estimated " + args[0] + " <-> " + (args.size() == 2 ? args[1] : "n1") + " rtt: ", 0) == 0);
    }
    same_output(run_chorus({"rtt", n1_rpc, "nosuch"}), run_serf({"rtt", n1_rpc, "nosuch"}));
    const auto usage = run_chorus({"rtt", n1_rpc});
    CHECK(usage.exit_code == 1);
    CHECK(lines(usage.out).at(0) == lines(run_serf({"rtt", n1_rpc}).out).at(0));

    // Every cell filled once all three have coordinates; symmetric.
    run_result m;
    CHECK(eventually([&] {
      m = run_chorus({"rtt", n1_rpc, "-matrix"});
      return m.exit_code == 0 && m.out.find(" -") == std::string::npos;
    }));
    const auto rows = lines(m.out);
    REQUIRE(rows.size() == 4);
    auto cells = [](const std::string& row) {
      std::vector<std::string> v;
      std::istringstream in(row);
      for (std::string t; in >> t;) v.push_back(t);
      return v;
    };
    CHECK(cells(rows[0]) == std::vector<std::string>{"n1", "n2", "n3"});
    REQUIRE(cells(rows[2]).size() == 4);
    CHECK(cells(rows[2])[0] == "n2");
    CHECK(cells(rows[1])[2] == cells(rows[2])[1]);
    CHECK(cells(rows[3])[2] == cells(rows[2])[3]);
    // A node is 0 ms from itself, off the diagonal a real estimate.
    for (std::size_t i = 1; i <= 3; ++i) CHECK(cells(rows[i])[i] == "0.000");
    CHECK(cells(rows[1])[2] != "0.000");
  }

  SECTION("event reaches every node's handler") {
    same_output(run_chorus({"event", n1_rpc, "deploy", "v1.2.3"}), run_serf({"event", n1_rpc, "deploy", "v1.2.3"}));
    same_output(run_chorus({"event", n1_rpc, "-coalesce=false", "restart", "now"}),
                run_serf({"event", n1_rpc, "-coalesce=false", "restart", "now"}));
    const auto ours = run_chorus({"event", n1_rpc, "--coalesce=false", "chorus-ev", "payload"});
    CHECK(ours.exit_code == 0);
    CHECK(ours.out == "Event 'chorus-ev' dispatched! Coalescing enabled: false\n");
    CHECK(eventually([&] {
      const auto log = c.cluster.events_log();
      return log.find("n1 user chorus-ev") != std::string::npos && log.find("n2 user chorus-ev") != std::string::npos &&
             log.find("n3 user chorus-ev") != std::string::npos;
    }));
    const auto no_name = run_chorus({"event", n1_rpc});
    CHECK(no_name.exit_code == 1);
    CHECK(lines(no_name.out).at(0) == lines(run_serf({"event", n1_rpc}).out).at(0));
    const auto too_many = run_chorus({"event", n1_rpc, "a", "b", "c"});
    CHECK(too_many.exit_code == 1);
    CHECK(lines(too_many.out).at(0) == lines(run_serf({"event", n1_rpc, "a", "b", "c"}).out).at(0));
    const std::string big(600, 'x');
    same_output(run_chorus({"event", n1_rpc, "big", big}), run_serf({"event", n1_rpc, "big", big}));
  }

  SECTION("query: acks and responses, filters, json, errors") {
    const auto ours = run_chorus({"query", n1_rpc, "-timeout=2s", "uptime", "load?"});
    const auto theirs = run_serf({"query", n1_rpc, "-timeout=2s", "uptime", "load?"});
    REQUIRE(ours.exit_code == 0);
    const auto ol = lines(ours.out);
    const auto tl = lines(theirs.out);
    REQUIRE(ol.size() == 9);
    REQUIRE(tl.size() == 9);
    CHECK(ol.front() == "Query 'uptime' dispatched");
    CHECK(ol.front() == tl.front());
    CHECK(std::vector<std::string>(ol.end() - 2, ol.end()) == std::vector<std::string>(tl.end() - 2, tl.end()));
    CHECK(line_set(ours.out) == line_set(theirs.out));

    const auto oj = run_chorus({"query", n1_rpc, "-format=json", "-timeout=2s", "uptime"});
    const auto tj = run_serf({"query", n1_rpc, "-format=json", "-timeout=2s", "uptime"});
    REQUIRE(oj.exit_code == 0);
    auto a = json::parse(oj.out), b = json::parse(tj.out);
    CHECK(a["Responses"] == b["Responses"]);
    CHECK(a["Responses"]["n3"] == "reply from n3\n");
    auto acks = [](json j) {
      std::vector<std::string> v = j["Acks"];
      std::sort(v.begin(), v.end());
      return v;
    };
    CHECK(acks(a) == acks(b));
    CHECK(json_line_set(oj.out) == json_line_set(tj.out));

    same_output(run_chorus({"query", n1_rpc, "-node=n2", "-tag", "role=db", "-timeout=2s", "filtered", "p"}),
                run_serf({"query", n1_rpc, "-node=n2", "-tag", "role=db", "-timeout=2s", "filtered", "p"}));
    const auto no_ack = run_chorus({"query", n1_rpc, "-no-ack", "-relay-factor=1", "-timeout=2s", "relayed"});
    CHECK(no_ack.exit_code == 0);
    CHECK(no_ack.out.find("Ack from") == std::string::npos);
    CHECK(lines(no_ack.out).back() == "Total Responses: 3");
    same_output(run_chorus({"query", n1_rpc, "-format=json", "-timeout=1s", "-tag", "role=nomatch", "q"}),
                run_serf({"query", n1_rpc, "-format=json", "-timeout=1s", "-tag", "role=nomatch", "q"}));
    same_output(run_chorus({"query", n1_rpc, "_serf_x"}), run_serf({"query", n1_rpc, "_serf_x"}));
    same_output(run_chorus({"query", n1_rpc, "-format=xml", "q"}), run_serf({"query", n1_rpc, "-format=xml", "q"}));
    same_output(run_chorus({"query", n1_rpc, "-relay-factor=300", "q"}),
                run_serf({"query", n1_rpc, "-relay-factor=300", "q"}));
  }

  SECTION("reachability") {
    const auto ours = run_chorus({"reachability", n1_rpc, "-verbose"});
    const auto theirs = run_serf({"reachability", n1_rpc, "-verbose"});
    CHECK(ours.exit_code == 0);
    const auto ol = lines(ours.out);
    const auto tl = lines(theirs.out);
    REQUIRE(ol.size() == 7);
    CHECK(ol[0] == tl[0]);
    CHECK(ol[1] == tl[1]);
    CHECK(std::multiset<std::string>(ol.begin() + 2, ol.begin() + 5) ==
          std::multiset<std::string>(tl.begin() + 2, tl.begin() + 5));
    CHECK(ol[5].rfind("Query time: ", 0) == 0);
    CHECK(ol[6] == "Successfully contacted all live nodes");
  }

  SECTION("tags -set and -delete are gossiped") {
    // Sequenced: both set the same tags (argument evaluation order is unspecified).
    const auto set_ours = run_chorus({"tags", n2_rpc, "-set", "dc=west", "-set", "rack=r1"});
    const auto set_theirs = run_serf({"tags", n2_rpc, "-set", "dc=west", "-set", "rack=r1"});
    same_output(set_ours, set_theirs);
    CHECK(set_ours.out == "Successfully updated agent tags\n");
    CHECK(eventually([&] {
      return run_chorus({"members", n1_rpc, "-tag", "dc=west", "-tag", "rack=r1"}).out.find("n2  ") == 0;
    }));
    const auto del = run_chorus({"tags", n2_rpc, "-delete", "rack"});
    CHECK(del.out == "Successfully updated agent tags\n");
    CHECK(eventually([&] {
      const auto out = run_serf({"members", n1_rpc, "-name=n2"}).out;
      return out.find("rack=") == std::string::npos && out.find("dc=west") != std::string::npos;
    }));
    same_output(run_chorus({"tags", n2_rpc, "-set", "bad"}), run_serf({"tags", n2_rpc, "-set", "bad"}));
    const auto usage = run_chorus({"tags", n2_rpc});
    CHECK(usage.exit_code == 1);
  }

  SECTION("info text and json carry the same sections and keys") {
    const auto ot = run_chorus({"info", n1_rpc});
    const auto tt = run_serf({"info", n1_rpc});
    REQUIRE(ot.exit_code == 0);
    auto shape = [](const std::string& out) {
      std::vector<std::string> v;
      for (const auto& l : lines(out)) v.push_back(l.substr(0, l.find(" = ")));
      return v;
    };
    CHECK(shape(ot.out) == shape(tt.out));
    CHECK(lines(ot.out).at(1) == "\tname = n1");
    const auto oj = json::parse(run_chorus({"info", n1_rpc, "-format=json"}).out);
    const auto tj = json::parse(run_serf({"info", n1_rpc, "-format=json"}).out);
    for (const auto& [section, kv] : tj.items()) {
      REQUIRE(oj.contains(section));
      for (const auto& [k, v] : kv.items()) CHECK(oj[section].contains(k));
    }
    CHECK(oj["agent"] == tj["agent"]);
    CHECK(oj["tags"] == tj["tags"]);
    same_output(run_chorus({"info", n1_rpc, "-format=xml"}), run_serf({"info", n1_rpc, "-format=xml"}));
  }

  SECTION("monitor streams log lines and events until interrupted") {
    const std::string out_file = c.cluster.dir() + "/monitor.out";
    spawn_options truncate;
    truncate.truncate_log = true;
    process monitor({chorus_binary, "monitor", n1_rpc, "-log-level=debug"}, out_file, truncate);
    auto read_out = [&] { return monitor.output(); };
    // Buffered log lines come first; then the event we send now.
    const bool logged =
        eventually([&] { return read_out().find("[INFO] agent: Serf agent starting") != std::string::npos; });
    run_chorus({"event", n1_rpc, "-coalesce=false", "monitored", "hello"});
    const bool evented = eventually([&] {
      const auto o = read_out();
      return o.find("Event Info:\n\tCoalesce: false\n\tEvent: \"user\"\n") != std::string::npos &&
             o.find("\tName: \"monitored\"\n\tPayload: []byte{0x68, 0x65, 0x6c, 0x6c, 0x6f}\n") != std::string::npos;
    });
    monitor.signal(SIGINT);
    const auto code = monitor.wait_exit(5s);  // an exit code 0..255, or 128 + a signal
    const bool exited = code.has_value();
    INFO(read_out());
    CHECK(logged);
    CHECK(evented);
    CHECK(exited);
    CHECK(code == 0);  // exited normally with status 0
    same_output(run_chorus({"monitor", n1_rpc, "-log-level=bogus"}), run_serf({"monitor", n1_rpc, "-log-level=bogus"}));
  }

  SECTION("join errors, connection errors and usage errors match") {
    same_output(run_chorus({"join", n1_rpc, "127.60.0.9"}), run_serf({"join", n1_rpc, "127.60.0.9"}));
    same_output(run_chorus({"join", n1_rpc, "127.60.0.2"}), run_serf({"join", n1_rpc, "127.60.0.2"}));
    same_output(run_chorus({"members", "-rpc-addr=127.60.0.9:7373"}),
                run_serf({"members", "-rpc-addr=127.60.0.9:7373"}));
    same_output(run_chorus({"members"}, 30s, {"SERF_RPC_ADDR=127.60.0.9:7373"}),
                run_serf({"members"}, 30s, {"SERF_RPC_ADDR=127.60.0.9:7373"}));
    CHECK(lines(run_chorus({"members"}, 30s, {"CHORUS_RPC_ADDR=127.60.0.1:7373"}).out).size() == 3);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"join", n1_rpc}, {"force-leave", n1_rpc}, {"query", n1_rpc}, {"query", n1_rpc, "a", "b", "c"}}) {
      const auto o = run_chorus(args);
      const auto t = run_serf(args);
      INFO(args[0] << ": " << o.out);
      CHECK(o.exit_code == 1);
      CHECK(t.exit_code == 1);
      CHECK(lines(o.out).at(0) == lines(t.out).at(0));
    }
    CHECK(run_chorus({"members", n1_rpc, "-bogus"}).exit_code == run_serf({"members", n1_rpc, "-bogus"}).exit_code);
    CHECK(run_chorus({"event", n1_rpc, "-coalesce=maybe", "x"}).exit_code == 1);
    CHECK(run_chorus({"members", "--help"}).exit_code == 0);
    CHECK(run_chorus({"keys", n1_rpc}).exit_code == 1);
    same_output(run_chorus({"keys", n1_rpc, "-list", "-install=x"}), run_serf({"keys", n1_rpc, "-list", "-install=x"}));
    // Unencrypted: every node fails; Serf lists them in random order.
    const auto lo = run_chorus({"keys", n1_rpc, "-list"});
    const auto lt = run_serf({"keys", n1_rpc, "-list"});
    CHECK(lo.exit_code == 1);
    CHECK(lt.exit_code == 1);
    CHECK(line_set(lo.out) == line_set(lt.out));
    CHECK(lines(lo.out).back() == "Failed to gather member keys: 3/3 nodes reported failure");
    same_output(run_chorus({"keys", n1_rpc, "-install=bad"}), run_serf({"keys", n1_rpc, "-install=bad"}));
  }

  SECTION("force-leave of a failed node, then leave") {
    c.cluster.kill_agent(c.n2);
    REQUIRE(eventually([&] { return serf_cluster::count_status("127.60.0.1:7373", "failed") == 1; }, 30s));
    same_output(run_chorus({"force-leave", n1_rpc, "n2"}), run_serf({"force-leave", n1_rpc, "nosuch"}));
    CHECK(eventually([&] {
      return run_chorus({"members", n1_rpc, "-name=n2"}).out.find("  left  ") != std::string::npos;
    }));
    const auto pruned = run_chorus({"force-leave", n1_rpc, "-prune", "n2"});
    CHECK(pruned.exit_code == 0);
    CHECK(pruned.out.empty());

    const auto left = run_chorus({"leave", n3_rpc}, 60s);
    CHECK(left.exit_code == 0);
    CHECK(left.out == "Graceful leave complete\n");
    CHECK(c.cluster.wait_exit(c.n3, 20s));
    CHECK(eventually([&] { return serf_cluster::count_status("127.60.0.1:7373", "left") >= 1; }));
    same_output(run_chorus({"leave", n3_rpc}), run_serf({"leave", n3_rpc}));  // agent gone: connection refused
  }
}

TEST_CASE("keys against an encrypted Serf cluster") {
  const std::string key1 = "DsztwYCZBvF2KY/IXNPZ2VtxassyUTpsQCx9KE7j1Z8=";
  const auto gen = run_chorus({"keygen"});
  REQUIRE(gen.exit_code == 0);
  REQUIRE(gen.out.size() == 45);  // 44 base64 characters and a newline
  const std::string key2 = gen.out.substr(0, 44);
  CHECK(run_chorus({"keygen"}).out != gen.out);

  three_nodes c({"-encrypt=" + key1});
  c.join_all();

  same_output(run_chorus({"keys", n1_rpc, "-list"}), run_serf({"keys", n1_rpc, "-list"}));
  CHECK(run_chorus({"keys", n1_rpc, "-list"}).out ==
        "==> Asking all members for installed keys...\n==> Keys gathered, listing cluster keys...\n\n" + key1 +
            "  [3/3]\n");

  const auto inst = run_chorus({"keys", n1_rpc, "-install", key2});
  CHECK(inst.exit_code == 0);
  CHECK(inst.out == "==> Installing key on all members...\n==> Successfully installed key!\n");
  const auto two_ours = run_chorus({"keys", n1_rpc, "-list"});
  const auto two_theirs = run_serf({"keys", n1_rpc, "-list"});
  CHECK(lines(two_ours.out).size() == 5);
  CHECK(line_set(two_ours.out) == line_set(two_theirs.out));

  same_output(run_chorus({"keys", n1_rpc, "-use=" + key2}), run_serf({"keys", n1_rpc, "-use=" + key2}));
  // Removing the primary key fails on every node; Serf lists the nodes in
  // random order, chorus sorted.
  const auto rm_primary_ours = run_chorus({"keys", n1_rpc, "-remove=" + key2});
  const auto rm_primary_theirs = run_serf({"keys", n1_rpc, "-remove=" + key2});
  CHECK(rm_primary_ours.exit_code == 1);
  CHECK(rm_primary_theirs.exit_code == 1);
  CHECK(line_set(rm_primary_ours.out) == line_set(rm_primary_theirs.out));
  const auto rm = run_chorus({"keys", n1_rpc, "-remove=" + key1});
  CHECK(rm.exit_code == 0);
  CHECK(rm.out == "==> Removing key on all members...\n==> Successfully removed key!\n");
  same_output(run_chorus({"keys", n1_rpc, "-list"}), run_serf({"keys", n1_rpc, "-list"}));
  CHECK(run_chorus({"keys", n1_rpc, "-list"}).out.find(key2 + "  [3/3]") != std::string::npos);
}

TEST_CASE("RPC auth token: flag, environment and wrong token") {
  serf_cluster cluster;
  const std::string config = cluster.dir() + "/auth.json";
  {
    std::ofstream f(config);
    f << R"({"rpc_auth": "s3cret"})";
  }
  cluster.start({"a1", "127.60.0.1", {"role=auth"}, {"-config-file=" + config}}, "s3cret");
  same_output(run_chorus({"members", n1_rpc}), run_serf({"members", n1_rpc}));  // Authentication required
  same_output(run_chorus({"members", n1_rpc, "-rpc-auth=wrong"}), run_serf({"members", n1_rpc, "-rpc-auth=wrong"}));
  same_output(run_chorus({"members", n1_rpc, "-rpc-auth=s3cret"}), run_serf({"members", n1_rpc, "-rpc-auth=s3cret"}));
  same_output(run_chorus({"members", n1_rpc}, 30s, {"SERF_RPC_AUTH=s3cret"}),
              run_serf({"members", n1_rpc}, 30s, {"SERF_RPC_AUTH=s3cret"}));
  const auto env = run_chorus({"members", n1_rpc}, 30s, {"CHORUS_RPC_AUTH=s3cret"});
  CHECK(env.exit_code == 0);
  CHECK(env.out == "a1  127.60.0.1:7946  alive  role=auth\n");

  // A member without tags (the last line of the table: trimmed).
  cluster.start({"a2", "127.60.0.2", {}, {}});
  same_output(run_chorus({"members", n2_rpc}), run_serf({"members", n2_rpc}));
  CHECK(run_chorus({"members", n2_rpc}).out == "a2  127.60.0.2:7946  alive\n");
  same_output(run_chorus({"members", n2_rpc, "-format=json"}), run_serf({"members", n2_rpc, "-format=json"}));
  same_output(run_chorus({"members", n2_rpc, "-detailed"}), run_serf({"members", n2_rpc, "-detailed"}));
}

TEST_CASE("raw msgpack RPC session against a Serf agent (tests the server side)") {
  serf_cluster cluster;
  const std::string config = cluster.dir() + "/auth.json";
  {
    std::ofstream f(config);
    f << R"({"rpc_auth": "t0ken"})";
  }
  cluster.start({"n1", "127.60.0.1", {"role=web"}, {}});
  cluster.start({"n2", "127.60.0.2", {"role=db"}, {"-config-file=" + config}}, "t0ken");
  const std::string script = (fs::path(CHORUS_SOURCE_DIR) / "tests" / "interop" / "cli" / "rpc_raw_client.py").string();
  const auto r = run({"/usr/bin/python3", script, "127.60.0.1:7373", "n1", "127.60.0.2:7373", "t0ken"}, 60s);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("0 failure(s)") != std::string::npos);
}
