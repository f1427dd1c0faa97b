// The Serf layer's events out of the agent: log lines, event handlers, RPC
// streams and the snapshot.
#include "agent/daemon_impl.hpp"

namespace chorus::agent {

namespace {

// User events and queries reach the RPC streams and the handlers with the
// same three fields: name, Lamport time and payload.
template <class Record, class Event>
Record rpc_record_of(const Event& e) {
  Record r;
  r.ltime = e.ltime;
  r.name = e.name;
  r.payload = e.payload;
  return r;
}

template <class Event>
handler_event handler_event_of(const char* kind, const Event& e) {
  handler_event he;
  he.event = kind;
  he.name = e.name;
  he.ltime = e.ltime;
  he.payload.assign(e.payload.begin(), e.payload.end());
  return he;
}

}  // namespace

void daemon_impl::member_event_raw(const agent::member_event& e) {
  // What happened to whom, at once (the serf: EventMember... lines come
  // after coalescing).
  for (const auto& m : e.members) {
    const auto addr = m.addr.to_string();
    if (e.type == member_event_type::join) {
      log_->info("{}", member_news_line(member_news::joined, m.name, addr));
    } else if (e.type == member_event_type::leave) {
      log_->info("{}", member_news_line(member_news::left, m.name, addr));
    } else if (e.type == member_event_type::failed) {
      const auto cur = serf_->find_member(m.name);
      log_->warn("{}", member_news_line(member_news::failed, m.name, addr, {}, cur ? &cur->failure : nullptr));
    }
  }
  if (!snapshot_) return;
  for (const auto& m : e.members) {
    if (e.type == member_event_type::join) {
      const auto ip = swim::transport::to_ip(m.addr);
      snapshot_->member_alive(
          m.name, (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + std::to_string(m.addr.port));
    } else if (e.type == member_event_type::leave || e.type == member_event_type::failed) {
      snapshot_->member_not_alive(m.name);
    }
  }
  const auto c = serf_->clocks();
  snapshot_->clocks(c.member_clock, c.event_clock, c.query_clock);
}

void daemon_impl::member_event(const agent::member_event& e) {
  rpc::member_event_record rec;
  rec.event = to_string(e.type);
  handler_event he;
  he.event = rec.event;
  for (const auto& m : e.members) {
    rec.members.push_back(to_rpc(m));
    handler_member hm;
    hm.name = m.name;
    hm.ip = ip_text(m.addr);
    if (auto it = m.tags.find("role"); it != m.tags.end()) hm.role = it->second;
    hm.tags = m.tags;
    he.members.push_back(std::move(hm));
    // A failure says why (who suspected, who confirmed, who declared it).
    std::string why;
    if (e.type == member_event_type::failed)
      if (auto cur = serf_->find_member(m.name))
        if (auto text = describe_failure(cur->failure, swim::transport::now(), std::chrono::system_clock::now());
            !text.empty())
          why = " (" + text + ")";
    log_->info("serf: {}: {} {}{}",
               rec.event == "member-join"     ? "EventMemberJoin"
               : rec.event == "member-leave"  ? "EventMemberLeave"
               : rec.event == "member-failed" ? "EventMemberFailed"
               : rec.event == "member-update" ? "EventMemberUpdate"
                                              : "EventMemberReap",
               m.name, ip_text(m.addr), why);
  }
  asio::post(io_, [this, rec] {
    if (rpc_) rpc_->publish(rec);
    if (http_api_) http_api_->publish(rec);
  });
  if (handlers_ && !handlers_->submit(he)) {
    ++handler_dropped_;
    log_->warn("agent: event handler queue full, dropped {}", he.event);
  }
}

void daemon_impl::user_event(const user_event_data& e) {
  log_->info("agent: Received event: user-event: {}", e.name);
  auto rec = rpc_record_of<rpc::user_event_record>(e);
  rec.coalesce = e.coalesce;
  asio::post(io_, [this, rec] {
    if (rpc_) rpc_->publish(rec);
    if (http_api_) http_api_->publish(rec);
  });
  const auto he = handler_event_of("user", e);
  if (handlers_ && !handlers_->submit(he)) {
    ++handler_dropped_;
    log_->warn("agent: event handler queue full, dropped user event");
  }
}

void daemon_impl::query(const query_event& e) {
  log_->info("agent: Received event: query: {}", e.name);
  const auto rec = rpc_record_of<rpc::query_event_record>(e);
  // The Serf layer's deadline is a swim time_point (integer time, no
  // clock); the RPC server and the handlers time out on steady_clock, so
  // what is carried over is the time left.
  const auto left = e.deadline - swim::transport::now();
  const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(left);
  asio::post(io_, [this, rec, h = e.handle, deadline] {
    if (rpc_) rpc_->publish_query(h, rec, deadline);
    if (http_api_) http_api_->publish(rec);
  });
  auto he = handler_event_of("query", e);
  he.query_handle = e.handle;
  he.deadline = deadline;
  if (handlers_ && !handlers_->submit(he)) ++handler_dropped_;
}

}  // namespace chorus::agent
