#pragma once
// The I/O half of every sans-I/O layer's output: datagrams out, timers, TCP
// exchanges (STYLE #1). One interface, implemented once per world the
// protocol runs in: the Asio transport, the simulator's network, a test's
// recorder. The SWIM core and the Serf layer above it both write to it
// directly, so a datagram the core sends goes from core to transport with
// no layer in between re-sending it.
//
//   swim::core ──┬── io ────────► transport | simulator | test recorder
//                └── listener ──► Serf layer (serf_impl) | simulator | test
//   agent::serf ─┬── io ────────► (the same object the core writes to)
//                └── serf_listener ► daemon | simulator | test
//
// A layer's entry points take a `sink`: the io and that layer's listener,
// which may be one object (a simulator node or a test recorder implements
// both) or two (the daemon hands the transport as io and itself as listener).
//
// Threading and ownership: called synchronously from inside the layer's entry
// points, on the caller's thread, after the state transition that produced
// the effect is complete. An io must not re-enter the layer from these calls;
// results come back later through the layer's entry points.
#include <concepts>
#include <cstdint>

#include "swim/address.hpp"
#include "swim/errors.hpp"
#include "swim/messages.hpp"
#include "swim/time.hpp"

namespace chorus::swim {

// Identifies a timer a layer asked for. A timer that fires after the layer
// cancelled or replaced it is recognised as stale and ignored, so drivers
// never need to cancel anything.
using timer_token = std::uint64_t;
// Identifies one TCP exchange (push/pull or fallback ping) the core started.
using exchange_id = std::uint64_t;

// What became of a datagram handed to send_packet, as far as the io can
// tell at once. Reported synchronously (a return value, not a callback, so
// the core stays deterministic): a non-blocking send knows at once.
enum class send_result : std::uint8_t {
  sent,     // handed to the network, which may still lose it
  dropped,  // dropped here for a local reason (full socket buffer, could not
            // seal): says nothing about the peer, and is treated as a loss
  // The network refused this destination at once (no route to the host or
  // network, a local firewall rule, an address family we cannot send to):
  // the peer cannot be reached from here. A probe's target that gives this
  // is probed indirectly at once (memberlist #242, config.hpp).
  unreachable,
};

class io {
 public:
  virtual ~io() = default;

  // Send one UDP datagram: a single encoded message or a compound. The packet
  // layer (compression, CRC, encryption) is the io's. `crc`: memberlist
  // adds the CRC header on this packet (recipient known with PMax >= 5, 6).
  virtual send_result send_packet(const address& to, bytes packet, bool crc) = 0;

  // Call the layer's handle_timer(at or later, token).
  virtual void set_timer(time_point at, timer_token token) = 0;
  // The layer no longer wants `token` (it would drop it as stale when it
  // fired). An io may forget it so the process does not wake up for nothing
  // (an idle agent's probe timeout, cancelled by every ack); ignoring this
  // is correct too, and the default (the simulator fires it and the layer
  // drops it, so deterministic runs do not depend on it).
  virtual void cancel_timer(timer_token token) { (void)token; }

  // Open a TCP connection to `to`, send `request` (10.2), read the reply and
  // report it with push_pull_completed, or push_pull_failed (with an
  // exchange_error) once `deadline` passes or the exchange breaks.
  virtual void start_push_pull(const address& to, exchange_id id, const push_pull& request, time_point deadline) = 0;
  // The same when the core hands over a table it no longer needs (a
  // temporary): an io that can use it without a copy (the simulator)
  // overrides this; the default encodes through the overload above.
  virtual void start_push_pull(const address& to, exchange_id id, push_pull&& request, time_point deadline) {
    start_push_pull(to, id, static_cast<const push_pull&>(request), deadline);
  }

  // The fallback probe (10.3): send `request` over TCP and report with
  // tcp_ping_completed(id, ok) by `deadline` at the latest.
  virtual void start_tcp_ping(const address& to, exchange_id id, const ping& request, time_point deadline) = 0;
};

// What one entry point of a layer writes to: the io and the layer's
// listener. Built implicitly from one object that is both (a simulator
// node, a test recorder), or from two. Two references: pass it by value.
template <class Listener>
struct sink {
  io& out;
  Listener& on;

  sink(io& o, Listener& l) : out(o), on(l) {}
  template <class Both>
  requires std::derived_from<Both, io> && std::derived_from<Both, Listener> sink(Both& both)
      : out(both), on(both) {}  // NOLINT(google-explicit-constructor): a driver passes itself
};

}  // namespace chorus::swim
