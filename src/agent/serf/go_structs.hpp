#pragma once
// The two Go structs that both Serf's gossip and its RPC put on the wire,
// each keyed once here for the C++ struct of either side:
//
//   Member      gossip: a _serf_conflict response (serf.md 2, agent::member_info)
//               RPC: members replies and member-event records (serf-rpc.md 4, rpc::member)
//   Coordinate  gossip: the payload of every ack (serf.md 5, vivaldi::coordinate)
//               RPC: the get-coordinate reply (rpc::coordinate)
//
// The keys are the same on both sides; how a value is held differs, and the
// member types choose it (Status is a number in gossip and text in RPC; Tags
// may be nil in RPC). Where the same C++ type goes out differently (an empty
// Addr is nil in gossip, an empty bin in RPC; Vec is bounded in gossip, may
// be nil in RPC), the side passes the codec. Header-only: the RPC layer
// uses these tables without linking the Serf runtime.
#include "swim/msgpack_struct.hpp"

namespace chorus::agent {

template <class Member, class Addr = msgpack::codec<msgpack::bytes>>
constexpr auto member_fields() {
  using msgpack::field;
  using M = Member;
  return msgpack::table<M>(field<Addr>("Addr", &M::addr), field("DelegateCur", &M::delegate_cur),
                           field("DelegateMax", &M::delegate_max), field("DelegateMin", &M::delegate_min),
                           field("Name", &M::name), field("Port", &M::port), field("ProtocolCur", &M::protocol_cur),
                           field("ProtocolMax", &M::protocol_max), field("ProtocolMin", &M::protocol_min),
                           field("Status", &M::status), field("Tags", &M::tags));
}

template <class Coordinate, class Vec>
constexpr auto coordinate_fields() {
  using msgpack::field;
  using C = Coordinate;
  return msgpack::table<C>(field("Adjustment", &C::adjustment), field("Error", &C::error), field("Height", &C::height),
                           field<Vec>("Vec", &C::vec));
}

}  // namespace chorus::agent
