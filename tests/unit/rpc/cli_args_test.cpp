// The CLI's argument rewriting (Serf's one-dash flags for CLI11), above all
// for flags given an empty value (issue 18: `-node= -bind=ADDR` named the
// node "-bind=ADDR"). dashes.cpp lives in the chorus executable, so it is
// compiled in here; the flag table stands in for CLI11's registrations.
#include <catch2/catch.hpp>
#include <map>

#include "cli/dashes.cpp"  // NOLINT: the unit under test, see above

using namespace chorus::cli;
using args = std::vector<std::string>;

namespace {

// A few subcommands' flags, as main.cpp reports them from CLI11.
flag_kind kinds(const std::string& sub, const std::string& name) {
  static const std::map<std::pair<std::string, std::string>, flag_kind> table{
      {{"agent", "node"}, flag_kind::value},          {{"agent", "bind"}, flag_kind::value},
      {{"agent", "rpc-addr"}, flag_kind::value},      {{"agent", "tag"}, flag_kind::value},
      {{"agent", "join"}, flag_kind::value},          {{"agent", "replay"}, flag_kind::boolean},
      {{"members", "format"}, flag_kind::value},      {{"members", "name"}, flag_kind::value},
      {{"members", "rpc-addr"}, flag_kind::value},    {{"members", "detailed"}, flag_kind::boolean},
      {{"query", "node"}, flag_kind::value},          {{"query", "timeout"}, flag_kind::value},
      {{"query", "rpc-addr"}, flag_kind::value},      {{"query", "no-ack"}, flag_kind::boolean},
      {{"query", "relay-factor"}, flag_kind::number}, {{"event", "coalesce"}, flag_kind::boolean},
      {{"event", "rpc-addr"}, flag_kind::value},
  };
  const auto it = table.find({sub, name});
  return it == table.end() ? flag_kind::unknown : it->second;
}

args rewrite(const args& in) {
  auto r = normalize_args(in, kinds);
  INFO("error: " << r.error);
  REQUIRE(r.error.empty());
  return r.args;
}

std::string refusal(const args& in) { return normalize_args(in, kinds).error; }

}  // namespace

TEST_CASE("cli args: one-dash flags become CLI11's two-dash flags", "[cli]") {
  CHECK(rewrite({"chorus", "members", "-format=json", "-detailed"}) ==
        args{"chorus", "members", "--format=json", "--detailed"});
  CHECK(rewrite({"chorus", "agent", "--node=n1", "-bind", "127.0.0.1"}) ==
        args{"chorus", "agent", "--node=n1", "--bind", "127.0.0.1"});
  // Short flags, negative numbers, a lone dash and what follows `--` stay.
  CHECK(rewrite({"chorus", "event", "-h", "-5", "-", "--", "-node="}) ==
        args{"chorus", "event", "-h", "-5", "-", "--", "-node="});
}

TEST_CASE("cli args: an empty value is passed as an empty argument, never the next one", "[cli]") {
  CHECK(rewrite({"chorus", "agent", "-node=", "-bind=127.80.6.1:7999"}) ==
        args{"chorus", "agent", "--node", "", "--bind=127.80.6.1:7999"});
  CHECK(rewrite({"chorus", "agent", "--node=", "--bind=127.80.6.1:7999"}) ==
        args{"chorus", "agent", "--node", "", "--bind=127.80.6.1:7999"});
  CHECK(rewrite({"chorus", "agent", "-tag=", "-join=", "-rpc-addr=x"}) ==
        args{"chorus", "agent", "--tag", "", "--join", "", "--rpc-addr=x"});
  CHECK(rewrite({"chorus", "members", "-format=", "-name=", "-rpc-addr=a:1"}) ==
        args{"chorus", "members", "--format", "", "--name", "", "--rpc-addr=a:1"});
  CHECK(rewrite({"chorus", "query", "-node=", "-timeout=", "q"}) ==
        args{"chorus", "query", "--node", "", "--timeout", "", "q"});
  // As the last argument too.
  CHECK(rewrite({"chorus", "event", "x", "-rpc-addr="}) == args{"chorus", "event", "x", "--rpc-addr", ""});
}

TEST_CASE("cli args: an empty boolean is refused naming the flag, as Serf does", "[cli]") {
  CHECK(refusal({"chorus", "event", "-coalesce=", "deploy"}) ==
        "invalid boolean value \"\" for -coalesce: give -coalesce, -coalesce=true or -coalesce=false");
  CHECK(refusal({"chorus", "members", "--detailed="}).find("-detailed") != std::string::npos);
  CHECK(refusal({"chorus", "agent", "-replay=", "-bind=x"}).find("-replay") != std::string::npos);
}

TEST_CASE("cli args: an empty number is refused naming the flag, as Serf does", "[cli]") {
  // CLI11 would read it as 0.
  CHECK(refusal({"chorus", "query", "-relay-factor=", "q"}) ==
        "invalid value \"\" for flag -relay-factor: parse error");
  CHECK(rewrite({"chorus", "query", "-relay-factor", "2", "q"}) == args{"chorus", "query", "--relay-factor", "2", "q"});
}

TEST_CASE("cli args: a flag missing its value does not take the next flag", "[cli]") {
  CHECK(refusal({"chorus", "agent", "-node", "-bind=127.0.0.1"}) ==
        "flag needs a value: -node (the next argument, -bind=127.0.0.1, is a flag)");
  CHECK(refusal({"chorus", "query", "-node", "--no-ack", "q"}).find("-node") != std::string::npos);
  // A value that only looks like a flag of no one is a value.
  CHECK(rewrite({"chorus", "members", "-name", "-x"}) == args{"chorus", "members", "--name", "-x"});
}

TEST_CASE("cli args: flags are looked up in the subcommand given", "[cli]") {
  // -replay is the agent's boolean; members has no such flag, so `-replay=`
  // is left for CLI11 to refuse as unknown, alone.
  CHECK(rewrite({"chorus", "members", "-replay=", "-rpc-addr=a:1"}) ==
        args{"chorus", "members", "--replay=", "--rpc-addr=a:1"});
  // -node takes a value in query, and in agent.
  CHECK(rewrite({"chorus", "query", "-node=", "q"}) == args{"chorus", "query", "--node", "", "q"});
}
