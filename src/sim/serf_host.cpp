#include "sim/serf_host.hpp"

namespace chorus::sim {

void serf_host::member_event(const agent::member_event& e) {
  if (record_) seen_.member_events.push_back(e);
}

void serf_host::member_event_raw(const agent::member_event& e) {
  if (hooks_.member_event) hooks_.member_event(sink_.now(), id_, e);
}

void serf_host::user_event(const agent::user_event_data& e) {
  if (record_) seen_.user_events.push_back(e);
  if (hooks_.user_event) hooks_.user_event(sink_.now(), id_, e);
}

void serf_host::query(const agent::query_event& e) {
  if (record_) seen_.queries.push_back(e);
  if (hooks_.query) hooks_.query(sink_.now(), id_, e);
  if (!hooks_.responder) return;
  auto answer = hooks_.responder(id_, e);
  if (!answer) return;
  // Not from inside this callback: the serf object is mid-call.
  sink_.defer(id_, [this, h = e.handle, a = std::move(*answer)] {
    machine_.respond(sink_.now(), h,
                     std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(a.data()), a.size()), rt());
  });
}

void serf_host::query_ack(agent::query_handle h, std::string_view from) {
  if (record_) seen_.acks[h].emplace_back(from);
  if (hooks_.query_ack) hooks_.query_ack(sink_.now(), id_, h, from);
}

void serf_host::query_response(agent::query_handle h, std::string_view from, std::span<const std::uint8_t> p) {
  if (record_) seen_.responses[h].emplace_back(std::string(from), std::string(p.begin(), p.end()));
  if (hooks_.query_response) hooks_.query_response(sink_.now(), id_, h, from, p);
}

void serf_host::query_done(agent::query_handle h) {
  if (record_) seen_.done.push_back(h);
}

void serf_host::key_operation_done(std::uint64_t op, const agent::key_result& r) {
  if (record_) seen_.key_results[op] = r;
}

void serf_host::keyring_changed() {
  if (record_) ++seen_.keyring_changes;
}

void serf_host::leave_done(std::string_view error) {
  if (record_) seen_.leave_result = std::string(error);
}

void serf_host::shutdown_requested(std::string_view reason) {
  if (record_) seen_.shutdown = std::string(reason);
}

void serf_host::log(agent::log_level, std::string_view text) {
  if (record_) seen_.logs.emplace_back(text);
}

}  // namespace chorus::sim
