#pragma once
// What the core refuses from the wire although it decodes: node fields that
// Serf 0.9's memberlist (0.2.2) would crash on, or that would corrupt state
// for good once stored. A refused message or push/pull entry is counted
// (core_stats::refused) and dropped before it changes anything; it is never
// stored, so never relayed to a Serf peer.
//
// Why here and not in the decoder: the bytes are valid msgpack of the right
// shape (`chorus decode` shows them as they are); it is what they would do to
// a cluster that makes them unacceptable, and a push/pull with one bad entry
// still merges the others.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "swim/cidr.hpp"
#include "swim/messages.hpp"

namespace chorus::swim {

// Closed set; each value says why a message was refused. Nothing was changed
// in any case.
enum class refusal : std::uint8_t {
  none,
  // Vsn is not exactly 6 bytes. memberlist 0.2.2 reads Vsn[0..5] of a stored
  // member without a length check: a 1-byte Vsn gossiped to a Serf node
  // panics it (`index out of range [1] with length 1`); memberlist 0.6
  // refuses such messages (PR #368).
  vsn_length,
  // PMin or PMax is 0, or PMin > PMax (memberlist.md 11): such a node would
  // narrow every push/pull's protocol range to nothing.
  vsn_range,
  // Addr is not a 4-byte IPv4 or 16-byte IPv6 address.
  address_length,
  // Port 0: nobody can be probed there.
  port_zero,
  // Meta above config::meta_max_size (512: Serf's tag limit, MetaMaxSize).
  meta_too_large,
  // Node name empty (or longer than the member table stores).
  bad_name,
  // Incarnation above max_wire_incarnation: see there.
  incarnation_too_high,
  // Only with config::validate_node_names (Serf 0.10's ValidateNodeNames,
  // serf #612): the name is not 1-128 characters of [A-Za-z0-9.-].
  invalid_name,
  // Only with config::allowed_cidrs: the advertised address is outside
  // every allowed range. Its packets would be dropped, so we could only
  // ever see it fail.
  address_not_allowed,
};
const char* to_string(refusal r);

// The highest incarnation accepted from the wire. A node refutes a suspicion
// with the accused incarnation + 1 and bumps its own on every tag change; an
// accusation at 2^32 - 1 would wrap its refutation to 0, which everybody
// ignores, so the node would stay failed for good (Serf 0.9 does exactly
// that). Honest nodes count up from 1, one step per refutation or tag
// change: half the range is more than any cluster ever reaches, and leaves
// the other half for the steps after an accepted value.
inline constexpr std::uint32_t max_wire_incarnation = 0x7fffffffu;

// Serf 0.10's rule for node names when names are validated: 1 to 128
// characters, each an ASCII letter, digit, '.' or '-' (so a name is also a
// valid DNS label sequence).
inline constexpr std::size_t max_validated_name_len = 128;
bool valid_node_name(std::string_view name);
// Why `name` fails that rule, for the agent's start-up error; "" if it passes.
std::string node_name_problem(std::string_view name);

// What the checks enforce besides the fixed rules.
struct admission_rules {
  std::size_t meta_max = 512;                  // config::meta_max_size
  bool validate_names = false;                 // config::validate_node_names
  const std::vector<cidr>* allowed = nullptr;  // config::allowed_cidrs; null or empty = all
};

// Checks an alive message before it is handled.
refusal check(const alive& a, const admission_rules& rules);
// Checks one entry of a remote push/pull table. Every state is checked: the
// table is the sender's whole view, and an entry with a bad Vsn fails the
// protocol check of the whole exchange (memberlist.md 10.2).
refusal check(const push_node_state& s, const admission_rules& rules);
// Checks a suspect or dead message (only the incarnation matters).
refusal check_accusation(std::uint32_t incarnation);

}  // namespace chorus::swim
