#pragma once
// Host lookups for joins on the agent's Asio loop: each item (an IP literal,
// taken as it is, or a name sent to the system resolver) resolves on its own,
// so one slow or failing name does not hide the others. A failure is worded
// as Serf's agent words it (join_text.hpp): "Failed to resolve TEXT: lookup
// HOST: no such host". Used by plain -join arguments and by the targets of a
// "srv:NAME" argument.
#include <asio.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "swim/address.hpp"

namespace chorus::agent {

struct lookup_item {
  std::string text;  // what the user gave, for the error text
  std::string host;  // an IP literal or a name to look up
  std::uint16_t port = 0;
};
struct lookup_outcome {
  std::vector<swim::address> addresses;  // in the resolver's order
  std::string error;                     // "" when the lookup answered
};
// `done` gets one outcome per item, in item order, on `io` once every lookup
// answered; never from inside this call (the caller may be a Serf callback).
void resolve_addresses(asio::io_context& io, std::vector<lookup_item> items,
                       std::function<void(std::vector<lookup_outcome>)> done);

}  // namespace chorus::agent
