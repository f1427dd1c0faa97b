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
#include <string_view>

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

// Checks an alive message before it is handled.
refusal check(const alive& a, std::size_t meta_max);
// Checks one entry of a remote push/pull table. Every state is checked: the
// table is the sender's whole view, and an entry with a bad Vsn fails the
// protocol check of the whole exchange (memberlist.md 10.2).
refusal check(const push_node_state& s, std::size_t meta_max);
// Checks a suspect or dead message (only the incarnation matters).
refusal check_accusation(std::uint32_t incarnation);

}  // namespace chorus::swim
