#include "agent/handlers.hpp"

#include <catch2/catch.hpp>

using namespace chorus::agent;

TEST_CASE("event filters follow Serf's syntax", "[agent][handlers]") {
  std::vector<event_filter> f;
  REQUIRE(parse_event_filters("member-join,user:deploy,query", f));
  CHECK(filters_match(f, "member-join", ""));
  CHECK(filters_match(f, "user", "deploy"));
  CHECK_FALSE(filters_match(f, "user", "other"));
  CHECK(filters_match(f, "query", "anything"));
  CHECK_FALSE(filters_match(f, "member-leave", ""));
  REQUIRE(parse_event_filters("", f));
  CHECK(filters_match(f, "member-reap", ""));
  CHECK_FALSE(parse_event_filters("member-joined", f));
  handler_spec s;
  CHECK(parse_handler_spec("user:x=/bin/echo hi", s).empty());
  CHECK(s.script == "/bin/echo hi");
  CHECK(parse_handler_spec("/usr/bin/handler.sh", s).empty());
  CHECK(s.filters == std::vector<event_filter>{{"*", ""}});
  CHECK_FALSE(parse_handler_spec("bogus=/bin/true", s).empty());
}

TEST_CASE("handler environment names and stdin lines are escaped as Serf does", "[agent][handlers]") {
  CHECK(tag_env_name("long-tag-name.x") == "SERF_TAG_LONG_TAG_NAME_X");
  CHECK(tag_env_name("role") == "SERF_TAG_ROLE");
  handler_event e;
  e.event = "member-join";
  e.members.push_back({"n\t1", "127.0.0.1", "web", {{"a", "1"}, {"role", "web"}}});
  CHECK(handler_stdin(e) == "n\\t1\t127.0.0.1\tweb\ta=1,role=web\n");
  e = {};
  e.event = "user";
  e.payload = "abc";
  CHECK(handler_stdin(e) == "abc\n");
  e.payload = "abc\n";
  CHECK(handler_stdin(e) == "abc\n");
  e.payload = "";
  CHECK(handler_stdin(e).empty());
}

TEST_CASE("a handler runs under /bin/sh with SERF_ variables and its output captured", "[agent][handlers]") {
  handler_event e;
  e.event = "query";
  e.name = "uptime";
  e.ltime = 7;
  e.payload = "in";
  auto r =
      run_handler("read x; echo \"$SERF_EVENT $SERF_QUERY_NAME $SERF_QUERY_LTIME $SERF_SELF_NAME $x\"; echo err >&2", e,
                  {"SERF_SELF_NAME=me"});
  CHECK(r.exit_code == 0);
  CHECK(r.output == "query uptime 7 me in\nerr\n");
  r = run_handler("exit 3", e, {});
  CHECK(r.exit_code == 3);
  // Only the last 8 KiB of output is kept.
  r = run_handler("head -c 100000 /dev/zero | tr '\\0' 'a'; echo END", e, {});
  CHECK(r.output.size() == handler_output_limit);
  CHECK(r.output.substr(r.output.size() - 4) == "END\n");
}

TEST_CASE("the runner executes handlers one at a time in event order off the caller's thread", "[agent][handlers]") {
  std::mutex mu;
  std::vector<std::string> seen;
  std::condition_variable cv;
  {
    handler_runner runner([&](const handler_result& r) {
      std::lock_guard lk(mu);
      seen.push_back(r.output);
      cv.notify_all();
    });
    handler_spec s;
    REQUIRE(parse_handler_spec("user=sleep 0.2; echo $SERF_USER_EVENT", s).empty());
    runner.configure({s}, "me", {});
    const auto t0 = std::chrono::steady_clock::now();
    for (const char* n : {"a", "b", "c"}) {
      handler_event e;
      e.event = "user";
      e.name = n;
      REQUIRE(runner.submit(e));
    }
    handler_event other;
    other.event = "member-join";
    REQUIRE(runner.submit(other));                                                  // no matching handler: nothing runs
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100));  // never blocks
    std::unique_lock lk(mu);
    REQUIRE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return seen.size() == 3; }));
  }
  CHECK(seen == std::vector<std::string>{"a\n", "b\n", "c\n"});
}
