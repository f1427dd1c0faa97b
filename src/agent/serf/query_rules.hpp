#pragma once
// Query rules without state (../shared/protocol/serf.md section 9): filters,
// the default timeout, and the originator's response collector.
//
// Tag filters: Serf compiles them with Go's regexp (RE2 syntax) and searches
// unanchored. We use std::regex ECMAScript with regex_search, which agrees on
// the common subset (literals, classes, anchors, alternation, repetition).
// Differences: RE2-only syntax ((?i) flags, \pL classes, (?P<name>)) fails to
// compile here and so matches nothing; ECMAScript backreferences and
// lookahead, which RE2 rejects (no match in Serf), work here.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/serf/messages.hpp"
#include "swim/time.hpp"

namespace chorus::agent {

// Wire filters for the query (one node filter if the list is non-empty, then
// one tag filter per tag).
std::vector<query_filter> make_filters(const std::vector<std::string>& nodes,
                                       const std::map<std::string, std::string>& tags);

// All filters match for a node with this name and tags. Unknown/opaque
// filters and bad regexes never match.
bool filters_match(const std::vector<query_filter>& filters, const std::string& name, const tag_map& tags);
bool tag_expr_matches(const std::string& expr, const std::string& value);

// GossipInterval * mult * ceil(log10(n + 1)), n = live memberlist members.
swim::duration default_query_timeout(swim::duration gossip_interval, int mult, std::size_t n);

// The originator's bookkeeping for one query: acks and responses de-duplicated
// per sender; nothing after the deadline.
class response_collector {
 public:
  response_collector(std::uint64_t ltime, std::uint32_t id, swim::time_point deadline)
      : ltime_(ltime), id_(id), deadline_(deadline) {}
  enum class verdict : std::uint8_t { accepted, wrong_id, finished, duplicate };
  verdict add(const query_response& r, swim::time_point now);
  std::uint64_t ltime() const { return ltime_; }
  std::uint32_t id() const { return id_; }
  swim::time_point deadline() const { return deadline_; }
  std::size_t acks() const { return acks_.size(); }
  std::size_t responses() const { return responses_.size(); }

 private:
  std::uint64_t ltime_;
  std::uint32_t id_;
  swim::time_point deadline_;
  std::set<std::string> acks_, responses_;
};

}  // namespace chorus::agent
