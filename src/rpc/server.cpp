#include "rpc/server.hpp"

#include <algorithm>
#include <asio/write.hpp>
#include <deque>

#include "common/tcp_listen.hpp"
#include "rpc/framing.hpp"
#include "rpc/go_base64.hpp"
#include "rpc/member_filter.hpp"

namespace chorus::rpc {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return u;
}

// Log records carry one line without its newline; a message that already
// ended in one (a script's output) loses it, as in Serf's log writer.
std::string record_line(const std::string& line) {
  if (!line.empty() && line.back() == '\n') return line.substr(0, line.size() - 1);
  return line;
}

// "5s" or "1500ms", for log lines.
std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

}  // namespace

std::optional<log_level> parse_log_level(std::string_view s) {
  const std::string u = upper(s);
  if (u == "TRACE") return log_level::trace;
  if (u == "DEBUG") return log_level::debug;
  if (u == "INFO") return log_level::info;
  if (u == "WARN") return log_level::warn;
  if (u == "ERR" || u == "ERROR") return log_level::err;
  return std::nullopt;
}

class server::connection : public std::enable_shared_from_this<server::connection> {
 public:
  connection(server& s, asio::ip::tcp::socket sock, std::uint64_t serial)
      : s_(s), alive_(s.alive_), sock_(std::move(sock)), deadline_(s.io_), serial_(serial) {
    asio::error_code ec;
    auto ep = sock_.remote_endpoint(ec);
    if (!ec) peer_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void start() {
    if (s_.opt_.handshake_timeout.count() > 0) {
      deadline_.expires_after(s_.opt_.handshake_timeout);
      deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
        if (ec || !*self->alive_ || !self->pending()) return;
        self->s_.count_pending_closed(server::pending_close::timed_out);
        self->close();
      });
    }
    read();
  }
  const std::string& peer() const { return peer_; }
  std::uint64_t serial() const { return serial_; }
  // Open, but not yet handshaken (and authenticated, when a token is set).
  bool pending() const { return !closed_ && !(handshaken_ && (s_.opt_.auth_key.empty() || authed_)); }

  void close() {
    if (closed_) return;
    closed_ = true;
    deadline_.cancel();
    asio::error_code ec;
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock_.close(ec);
    streams_.clear();
    monitor_.reset();
    if (*alive_) s_.conns_.erase(shared_from_this());
  }

  // --- fan-out ---------------------------------------------------------------
  void event(const std::string& ev, const std::string& name, const bytes& record) {
    const auto streams = streams_;  // send_record may close (and clear) the connection
    for (const auto& [seq, filter] : streams)
      if (s_.agent_.filter_matches(filter, ev, name)) send_record(seq, record);
  }
  void query_event(std::uint64_t handle, query_event_record r) {
    const auto streams = streams_;
    for (const auto& [seq, filter] : streams) {
      if (!s_.agent_.filter_matches(filter, "query", r.name)) continue;
      r.id = next_query_id_++;
      pending_queries_[r.id] = handle;
      send_record(seq, encode(r));
    }
  }
  void log_line(log_level level, const std::string& line) {
    if (monitor_ && level >= monitor_->second) send_record(monitor_->first, encode(log_record{record_line(line)}));
  }

 private:
  void read() {
    if (closed_) return;
    chunk_.resize(64 * 1024);
    sock_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
      if (!*self->alive_ || self->closed_) return;
      if (ec) return self->close();
      if (self->closing_) return;
      self->buf_.insert(self->buf_.end(), self->chunk_.begin(), self->chunk_.begin() + static_cast<std::ptrdiff_t>(n));
      self->process();
      if (self->closed_) return;
      // What is left is one incomplete request.
      if (self->buf_.size() > self->s_.opt_.max_request) return self->refuse_too_large();
      self->read();
    });
  }

  void refuse_too_large() {
    s_.count(refusal::too_large);
    log(log_level::warn, "agent.ipc: request from " + peer_ + " exceeds the size limit, closing");
    close();
  }

  void log(log_level l, const std::string& text) {
    if (s_.log_) s_.log_(l, text);
  }

  // Handles every complete request in the buffer, in order.
  void process() {
    while (!closed_ && !busy_ && !closing_) {
      const msgpack::byte_view in(buf_);
      const request_frame f = reader_.next(in);
      if (f.status == frame_status::incomplete) return;
      if (f.status == frame_status::invalid) {
        s_.count(refusal::undecodable);
        log(log_level::err, "agent.ipc: failed to decode request header from " + peer_);
        return close();
      }
      // A request that arrived whole within one read is held to the limit too.
      if (f.size() > s_.opt_.max_request) return refuse_too_large();
      const auto body = f.body(in);
      const bytes body_copy(body.begin(), body.end());
      buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(f.size()));
      reader_.reset();
      handle(f.header, f.cmd, body_copy);
    }
  }

  void handle(const request_header& h, std::optional<command> cmd, const bytes& body) {
    if (!admitted(h, cmd)) return;
    request_body rb;
    if (!decode_request_body(*cmd, body, rb).empty()) {
      s_.count(refusal::undecodable);
      log(log_level::err, "agent.ipc: failed to decode request body from " + peer_);
      return close();
    }
    dispatch(h.seq, *cmd, rb);
  }

  // Whether a request may run; if not, it has been answered (and the
  // connection may be closing). Serf's order of checks: known command, then
  // handshake, then auth.
  bool admitted(const request_header& h, std::optional<command> cmd) {
    if (!cmd) {
      s_.count(refusal::unsupported_command);
      reply(h.seq, std::string(errors::unsupported_command));
      log(log_level::warn, "agent.ipc: Unsupported command: " + h.command);
      close_after_flush();
      return false;
    }
    if (!handshaken_ && *cmd != command::handshake) {
      s_.count(refusal::handshake_required);
      reply(h.seq, std::string(errors::handshake_required));
      close_after_flush();
      return false;
    }
    if (!s_.opt_.auth_key.empty() && !authed_ && *cmd != command::handshake && *cmd != command::auth) {
      s_.count(refusal::auth_required);
      reply(h.seq, std::string(errors::auth_required));
      return false;
    }
    return true;
  }

  // One case a command: the short ones answer here, the others have a
  // method below.
  void dispatch(std::uint64_t seq, command cmd, const request_body& rb) {
    switch (cmd) {
      case command::handshake:
        return handshake(seq, std::get<handshake_request>(rb));
      case command::auth:
        return auth(seq, std::get<auth_request>(rb));
      case command::event: {
        const auto& r = std::get<event_request>(rb);
        return reply(seq, s_.agent_.user_event(r.name, r.payload.value_or(bytes{}), r.coalesce));
      }
      case command::force_leave: {
        const auto& r = std::get<force_leave_request>(rb);
        return reply(seq, s_.agent_.force_leave(r.node, r.prune));
      }
      case command::join:
        return join(seq, std::get<join_request>(rb));
      case command::members: {
        members_response r;
        r.members = s_.agent_.members();
        return reply(seq, "", encode(r));
      }
      case command::members_filtered:
        return members_filtered(seq, std::get<members_filtered_request>(rb));
      case command::tags: {
        const auto& r = std::get<tags_request>(rb);
        return reply(
            seq, s_.agent_.set_tags(r.tags.value_or(string_map{}), r.delete_tags.value_or(std::vector<std::string>{})));
      }
      case command::stream:
        return stream(seq, std::get<stream_request>(rb));
      case command::monitor:
        return monitor(seq, std::get<monitor_request>(rb));
      case command::stop:
        return stop(seq, std::get<stop_request>(rb));
      case command::leave:
        return leave(seq);
      case command::query:
        return query(seq, std::get<query_request>(rb));
      case command::respond:
        return respond(seq, std::get<respond_request>(rb));
      case command::install_key:
      case command::use_key:
      case command::remove_key:
      case command::list_keys:
        return key_operation(seq, cmd, std::get_if<key_request>(&rb));
      case command::stats:
        return reply(seq, "", encode(s_.agent_.stats()));
      case command::chorus_stats:
        return reply(seq, "", encode(s_.agent_.chorus_stats()));
      case command::get_coordinate:
        return reply(seq, "", encode(s_.agent_.get_coordinate(std::get<get_coordinate_request>(rb).node)));
    }
  }

  void handshake(std::uint64_t seq, const handshake_request& r) {
    if (r.version != ipc_version) return reply(seq, std::string(errors::unsupported_ipc_version));
    if (handshaken_) return reply(seq, std::string(errors::duplicate_handshake));
    handshaken_ = true;
    if (!pending()) deadline_.cancel();
    reply(seq, "");
  }

  void auth(std::uint64_t seq, const auth_request& r) {
    if (r.auth_key != s_.opt_.auth_key) {
      s_.count(refusal::auth_failed);
      return reply(seq, std::string(errors::invalid_auth_token));
    }
    authed_ = true;
    if (!pending()) deadline_.cancel();
    reply(seq, "");
  }

  // join, leave and key operations answer later: the connection reads no
  // further request until then (busy_), as Serf handles one at a time.
  void join(std::uint64_t seq, const join_request& r) {
    busy_ = true;
    s_.agent_.join(r.existing.value_or(std::vector<std::string>{}), r.replay,
                   [self = shared_from_this(), seq](int num, std::string error) {
                     if (!*self->alive_ || self->closed_) return;
                     self->reply(seq, error, encode(join_response{num}));
                     self->resume();
                   });
  }

  void leave(std::uint64_t seq) {
    busy_ = true;
    s_.agent_.leave([self = shared_from_this(), seq](std::string error) {
      if (!*self->alive_ || self->closed_) return;
      self->reply(seq, error);
      self->resume();
    });
  }

  void stream(std::uint64_t seq, const stream_request& r) {
    const std::string filter = r.type.empty() ? "*" : r.type;
    if (!s_.agent_.valid_filter(filter)) return reply(seq, std::string(errors::invalid_filter));
    if (streams_.count(seq)) return reply(seq, std::string(errors::stream_exists));
    reply(seq, "");
    streams_[seq] = filter;
  }

  void monitor(std::uint64_t seq, const monitor_request& r) {
    const auto lvl = parse_log_level(r.log_level.empty() ? "INFO" : r.log_level);
    if (!lvl) return reply(seq, "Unknown log level: " + upper(r.log_level));
    if (monitor_) return reply(seq, std::string(errors::monitor_exists));
    reply(seq, "");
    monitor_ = std::make_pair(seq, *lvl);
    if (s_.history_)
      for (const auto& [l, line] : s_.history_())
        if (l >= *lvl) send_record(seq, encode(log_record{record_line(line)}));
  }

  void stop(std::uint64_t seq, const stop_request& r) {
    streams_.erase(r.stop);
    if (monitor_ && monitor_->first == r.stop) monitor_.reset();
    reply(seq, "");
  }

  void query(std::uint64_t seq, const query_request& r) {
    // Internal queries are the agent's own, except a plain ping
    // (`reachability`).
    if (r.name.starts_with("_serf_") && (r.name != "_serf_ping" || (r.payload && !r.payload->empty())))
      return reply(seq, "Queries cannot contain the '_serf_' prefix");
    auto weak = weak_from_this();
    auto alive = alive_;
    // Records the agent delivers from inside query() are held until the
    // ack is out: the client takes the first header of a Seq as the ack.
    auto early = std::make_shared<std::vector<bytes>>();
    auto acked = std::make_shared<bool>(false);
    const auto err = s_.agent_.query(r, [weak, alive, seq, early, acked](const query_record& rec) {
      if (!*alive) return;
      if (!*acked) return early->push_back(encode(rec));
      if (auto self = weak.lock(); self && !self->closed_) self->send_record(seq, encode(rec));
    });
    reply(seq, err);
    *acked = true;
    if (err.empty())
      for (const auto& rec : *early) send_record(seq, rec);
  }

  void respond(std::uint64_t seq, const respond_request& r) {
    auto it = pending_queries_.find(r.id);
    if (it == pending_queries_.end()) return reply(seq, std::string(errors::invalid_query_id));
    const auto handle = it->second;
    pending_queries_.erase(it);
    reply(seq, s_.agent_.respond(handle, r.payload.value_or(bytes{})));
  }

  // r is null for list-keys (no body).
  void key_operation(std::uint64_t seq, command cmd, const key_request* r) {
    const std::string key = r ? r->key : std::string();
    // The agent decodes the key with Go's base64 and reports its error.
    if (r)
      if (auto e = go_base64_error(key); !e.empty()) return reply(seq, e, encode(key_response{}));
    busy_ = true;
    s_.agent_.key_operation(cmd, key, [self = shared_from_this(), seq](key_response resp, std::string error) {
      if (!*self->alive_ || self->closed_) return;
      self->reply(seq, error, encode(resp));
      self->resume();
    });
  }

  void members_filtered(std::uint64_t seq, const members_filtered_request& r) {
    members_response resp;
    resp.members = s_.agent_.members();
    // An invalid (or too complex) expression drops the connection, as in Serf 0.9.4.
    if (auto e = filter_members(r, *resp.members); !e.empty()) {
      log(log_level::err, "agent.ipc: invalid members-filtered expression from " + peer_ + ": " + e);
      return close();
    }
    reply(seq, "", encode(resp));
  }

  // Stops reading; closes once the queued replies are written.
  void close_after_flush() {
    closing_ = true;
    buf_.clear();
    if (!writing_) close();
  }

  void resume() {
    busy_ = false;
    process();
  }

  void reply(std::uint64_t seq, const std::string& error, const bytes& body = {}) {
    bytes out = encode(response_header{error, seq});
    if (!reply_error_has_no_body(error)) out.insert(out.end(), body.begin(), body.end());
    write(std::move(out));
  }

  void send_record(std::uint64_t seq, const bytes& record) {
    bytes out = encode(response_header{"", seq});
    out.insert(out.end(), record.begin(), record.end());
    write(std::move(out));
  }

  void write(bytes data) {
    if (closed_) return;
    queued_ += data.size();
    if (queued_ > s_.opt_.max_write_queue) {
      ++s_.dropped_slow_;
      log(log_level::warn, "agent.ipc: client " + peer_ + " is too slow (write queue full), disconnecting");
      return close();
    }
    out_.push_back(std::move(data));
    if (!writing_) flush();
  }

  void flush() {
    if (out_.empty() || closed_) {
      writing_ = false;
      if (closing_) close();
      return;
    }
    writing_ = true;
    asio::async_write(sock_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
                        if (!*self->alive_ || self->closed_) return;
                        if (ec) return self->close();
                        self->queued_ -= n;
                        self->out_.pop_front();
                        self->flush();
                      });
  }

  server& s_;
  std::shared_ptr<bool> alive_;
  asio::ip::tcp::socket sock_;
  std::string peer_;
  bytes buf_, chunk_;
  request_reader reader_;  // where in buf_ the current request has been scanned to
  std::deque<bytes> out_;
  std::size_t queued_ = 0;
  bool writing_ = false, closed_ = false, busy_ = false, closing_ = false;
  bool handshaken_ = false, authed_ = false;
  asio::steady_timer deadline_;  // the handshake deadline while pending
  std::uint64_t serial_;
  std::map<std::uint64_t, std::string> streams_;  // seq -> event filter
  std::optional<std::pair<std::uint64_t, log_level>> monitor_;
  std::uint64_t next_query_id_ = 1;
  std::map<std::uint64_t, std::uint64_t> pending_queries_;  // ID -> agent handle
};

std::string_view to_string(refusal r) {
  static constexpr std::array<std::string_view, refusal_count> names{
      "handshake_required", "auth_required", "auth_failed", "unsupported_command",
      "undecodable",        "too_large",     "table_full"};
  const auto i = static_cast<std::size_t>(r);
  return i < names.size() ? names[i] : "?";
}

server::server(asio::io_context& io, agent_api& agent, server_options opt, log_function log)
    : io_(io), agent_(agent), opt_(std::move(opt)), log_(std::move(log)), acceptor_(io), pending_log_timer_(io) {}

server::~server() {
  close();
  *alive_ = false;
}

std::string server::listen(const asio::ip::tcp::endpoint& ep) {
  // No v6_only: an IPv6 wildcard serves IPv4 too, as Go's listener does.
  if (auto ec = listen_tcp(acceptor_, ep, false)) return "Error starting RPC listener: " + ec.message();
  accept();
  return {};
}

std::uint16_t server::port() const {
  asio::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void server::close() {
  asio::error_code ec;
  acceptor_.close(ec);
  log_pending_closed();  // what the interval held back, before the agent exits
  pending_log_timer_.cancel();
  auto all = conns_;
  for (auto& c : all) c->close();
  conns_.clear();
}

void server::accept() {
  acceptor_.async_accept([this, alive = alive_](const asio::error_code& ec, asio::ip::tcp::socket s) {
    if (!*alive || !acceptor_.is_open()) return;
    if (!ec) {
      if (conns_.size() >= opt_.max_clients && !evict_oldest_pending()) {
        count(refusal::table_full);
        asio::error_code ignored;
        s.close(ignored);
      } else {
        auto c = std::make_shared<connection>(*this, std::move(s), next_serial_++);
        conns_.insert(c);
        if (log_) log_(log_level::info, "agent.ipc: Accepted client: " + c->peer());
        c->start();
      }
    }
    accept();
  });
}

bool server::evict_oldest_pending() {
  // The oldest, not the newest: a client that connected just now (a CLI)
  // is about to handshake, while one that has sat silent the longest is the
  // least likely to.
  std::shared_ptr<connection> oldest;
  for (const auto& c : conns_)
    if (c->pending() && (!oldest || c->serial() < oldest->serial())) oldest = c;
  if (!oldest) return false;
  count_pending_closed(pending_close::evicted);
  oldest->close();
  return true;
}

void server::count_pending_closed(pending_close why) {
  if (why == pending_close::timed_out) {
    ++pending_timed_out_;
    ++unlogged_timed_out_;
  } else {
    ++pending_evicted_;
    ++unlogged_evicted_;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!last_pending_log_ || now - *last_pending_log_ >= opt_.pending_log_interval) return log_pending_closed();
  if (pending_log_armed_) return;
  // Later closures are summed into one line at the end of the interval.
  pending_log_armed_ = true;
  pending_log_timer_.expires_at(*last_pending_log_ + opt_.pending_log_interval);
  pending_log_timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (!*alive) return;
    pending_log_armed_ = false;
    if (!ec) log_pending_closed();
  });
}

void server::log_pending_closed() {
  const auto n = unlogged_timed_out_ + unlogged_evicted_;
  if (n == 0) return;
  last_pending_log_ = std::chrono::steady_clock::now();
  if (log_)
    log_(log_level::warn, "agent.ipc: closed " + std::to_string(n) + " client(s) that had not completed the " +
                              (opt_.auth_key.empty() ? "handshake" : "handshake and auth") + ": " +
                              std::to_string(unlogged_timed_out_) + " at the " + duration_text(opt_.handshake_timeout) +
                              " deadline, " + std::to_string(unlogged_evicted_) +
                              " to make room in the full client table (max " + std::to_string(opt_.max_clients) + ")");
  unlogged_timed_out_ = unlogged_evicted_ = 0;
}

void server::publish(const member_event_record& r) {
  const bytes rec = encode(r);
  auto all = conns_;
  for (auto& c : all) c->event(r.event, "", rec);
}

void server::publish(const user_event_record& r) {
  const bytes rec = encode(r);
  auto all = conns_;
  for (auto& c : all) c->event("user", r.name, rec);
}

void server::publish_query(std::uint64_t handle, const query_event_record& r,
                           std::chrono::steady_clock::time_point deadline) {
  if (std::chrono::steady_clock::now() >= deadline) return;
  auto all = conns_;
  for (auto& c : all) c->query_event(handle, r);
}

void server::publish_log(log_level level, const std::string& line) {
  auto all = conns_;
  for (auto& c : all) c->log_line(level, line);
}

}  // namespace chorus::rpc
