// The event loop's dispatch: one due event to its node, in steps (a crashed
// or stalled node, the trace, then the event's own work).
#include <algorithm>

#include "sim/simulator.hpp"

namespace chorus::sim {

void simulator::dispatch(event& e) {
  if (e.kind == ev::action) {
    ++totals_.events;
    auto fn = std::move(actions_[e.token]);
    actions_[e.token] = nullptr;
    fn();
    return;
  }
  auto& nd = nodes_[e.node];
  if (!nd.up) {
    fail_at_down_node(e);
    return;
  }
  const bool own = e.kind == ev::timer || e.kind == ev::pp_response || e.kind == ev::pp_failed ||
                   e.kind == ev::ping_result || e.kind == ev::reconnect || e.kind == ev::node_action;
  if (own && e.epoch != nd.epoch) return;  // from a previous life of this node
  if (hold_while_stalled(e)) return;
  if (e.kind == ev::packet && nd.backlog_bytes > 0) nd.backlog_bytes -= std::min(nd.backlog_bytes, e.data.size());
  ++totals_.events;
  swim::opened_stream opened;
  const swim::push_pull* table = trace_event(e, opened);
  host& h = *nd.machine;
  switch (e.kind) {
    case ev::packet:
      deliver_packet(e);
      break;
    case ev::timer:
      h.handle_timer(now_, e.token);
      break;
    case ev::pp_request:
      answer_push_pull(e, table);
      break;
    case ev::pp_response:
      if (!table) {
        ++totals_.decode_errors;
        h.push_pull_failed(now_, e.token);
      } else {
        h.push_pull_completed(now_, e.token, *table);
      }
      break;
    case ev::pp_failed:
      h.push_pull_failed(now_, e.token);
      break;
    case ev::ping_request:
      answer_ping(e);
      break;
    case ev::ping_result:
      finish_ping(e);
      break;
    case ev::reconnect:
      reconnect_tick(e);
      break;
    case ev::node_action: {
      auto fn = std::move(actions_[e.token]);
      actions_[e.token] = nullptr;
      fn();
      break;
    }
    case ev::action:
      break;
  }
}

void simulator::fail_at_down_node(event& e) {
  // A crashed node processes nothing. A TCP exchange aimed at it fails for
  // the initiator at its deadline.
  if (e.kind != ev::pp_request && e.kind != ev::ping_request) return;
  ++totals_.tcp_failed;
  const ev result = e.kind == ev::pp_request ? ev::pp_failed : ev::ping_result;
  push({e.deadline, 0, result, e.from, e.node, e.epoch, e.token, e.deadline, {}});
}

bool simulator::hold_while_stalled(event& e) {
  auto& nd = nodes_[e.node];
  const bool runs_while_stalled = nd.stall_kind == stall_mode::receive &&
                                  (e.kind == ev::timer || e.kind == ev::reconnect || e.kind == ev::node_action);
  if (nd.stalled_until <= now_ || runs_while_stalled) return false;
  // Handled when it wakes up, in arrival order, overdue timers first: a
  // process resuming from a pause sees its expired deadlines before it has
  // read the socket backlog (the acks that did arrive in time). The backlog
  // of datagrams is bounded like a socket receive buffer; what does not fit
  // is lost.
  if (e.kind == ev::packet) {
    if (nd.backlog_bytes + e.data.size() > stall_backlog_bytes) {
      ++totals_.udp_dropped;
      ++totals_.stall_dropped;
      return true;
    }
    nd.backlog_bytes += e.data.size();
  }
  e.at = nd.stalled_until + (e.kind == ev::timer ? duration::zero() : 1us);
  push(std::move(e));
  return true;
}

const swim::push_pull* simulator::trace_event(event& e, swim::opened_stream& opened) {
  trace_.mix(static_cast<std::uint64_t>(now_.time_since_epoch().count()));
  trace_.mix((std::uint64_t{e.node} << 8) | static_cast<std::uint64_t>(e.kind));
  // A push/pull table is hashed as a table (whether it came as bytes or as
  // a struct); encrypted bytes by their size (their nonces are random, and
  // the trace must stay a function of the seed); everything else as bytes.
  const bool table_event = e.kind == ev::pp_request || e.kind == ev::pp_response;
  const swim::push_pull* table = e.table.get();
  if (table_event && !table) {
    opened = wire_.open_stream(e.data, keys_of(e.node));
    table = opened.ok() ? std::get_if<swim::push_pull>(&opened.msg) : nullptr;
  }
  if (table_event)
    trace_.mix_table(e.size(), table);
  else if (wire_.encrypted(keys_of(e.node)) || wire_.encrypted(keys_of(e.from)))
    trace_.mix(e.data.size());
  else
    trace_.mix_bytes(e.data);
  if (trace_.recording())
    trace_.line(std::to_string(now_.time_since_epoch().count()) + " " + name_of(e.node) +
                " kind=" + std::to_string(static_cast<int>(e.kind)) + " from=" + name_of(e.from) +
                " bytes=" + std::to_string(e.size()));
  return table;
}

void simulator::deliver_packet(event& e) {
  host& h = *nodes_[e.node].machine;
  const auto before = h.core().stats().decode_errors;
  const swim::address from = address_of(e.from);
  if (!opt_.seal) {
    h.handle_packet(now_, from, e.data);
  } else {
    // The transport's path: peel the layers, then each message to the node;
    // a datagram with a fatal fault (decryption, CRC) is dropped whole.
    const auto opened = wire_.open_packet(e.data, keys_of(e.node));
    totals_.decode_errors += opened.part_errors.size() + (opened.ok() ? 0 : 1);
    if (opened.ok())
      for (const auto& m : opened.messages) h.handle_message(now_, from, m);
  }
  totals_.decode_errors += h.core().stats().decode_errors - before;
}

void simulator::answer_push_pull(event& e, const swim::push_pull* table) {
  if (!table) {
    ++totals_.decode_errors;
    push({e.deadline, 0, ev::pp_failed, e.from, e.node, e.epoch, e.token, e.deadline, {}});
    return;
  }
  stream_payload reply =
      wire_.pack(nodes_[e.node].machine->handle_push_pull(now_, address_of(e.from), *table), keys_of(e.node));
  totals_.tcp_bytes += reply.size;
  const duration d = net_.tcp_transfer(e.node, e.from, reply.size, net_rng_);
  if (now_ + d > e.deadline) {
    ++totals_.tcp_failed;
    push({e.deadline, 0, ev::pp_failed, e.from, e.node, e.epoch, e.token, e.deadline, {}});
    return;
  }
  push({now_ + d, 0, ev::pp_response, e.from, e.node, e.epoch, e.token, e.deadline, std::move(reply.data),
        std::move(reply.table), reply.size});
}

void simulator::answer_ping(event& e) {
  const auto req = wire_.open_stream(e.data, keys_of(e.node));
  const auto* p = req.ok() ? std::get_if<swim::ping>(&req.msg) : nullptr;
  const std::optional<swim::ack> a = p ? nodes_[e.node].machine->handle_stream_ping(*p) : std::nullopt;
  if (!a) {
    push({e.deadline, 0, ev::ping_result, e.from, e.node, e.epoch, e.token, e.deadline, {}});
    return;
  }
  stream_payload reply = wire_.encode(swim::stream_message{*a}, keys_of(e.node));
  totals_.tcp_bytes += reply.size;
  const duration d = net_.tcp_transfer(e.node, e.from, reply.size, net_rng_);
  // Too late: the initiator's deadline passed first (empty data = failed).
  push({std::min(now_ + d, e.deadline), 0, ev::ping_result, e.from, e.node, e.epoch, e.token, e.deadline,
        now_ + d <= e.deadline ? std::move(reply.data) : swim::bytes{}});
}

void simulator::finish_ping(event& e) {
  bool ok = false;
  if (!e.data.empty()) {
    const auto resp = wire_.open_stream(e.data, keys_of(e.node));
    ok = resp.ok() && std::holds_alternative<swim::ack>(resp.msg);
  }
  nodes_[e.node].machine->tcp_ping_completed(now_, e.token, ok);
}

void simulator::reconnect_tick(event& e) {
  auto& nd = nodes_[e.node];
  push({now_ + opt_.reconnect_interval, 0, ev::reconnect, e.node, e.node, nd.epoch, 0, {}, {}});
  if (nd.failed.empty()) return;
  // Serf's reconnect: try with probability failed / alive ("we
  // probabilistically expand our reconnect attempts as the number of failed
  // members increases"), so one crashed node in 10,000 costs ~one join
  // attempt per 30 s cluster-wide, not 10,000 full-table joins. Alive =
  // table size - failed (left members, which Serf also subtracts, are rare
  // here).
  const std::size_t members = nd.machine->core().members().size();
  const double alive = std::max<double>(1.0, static_cast<double>(members) - static_cast<double>(nd.failed.size()));
  const double prob = static_cast<double>(nd.failed.size()) / alive;
  const double draw = static_cast<double>(root_rng_.below(1u << 24)) / static_cast<double>(1u << 24);
  if (draw <= prob) {
    const node_id target = nd.failed[root_rng_.below(nd.failed.size())];
    join(e.node, {target});
  }
}

}  // namespace chorus::sim
