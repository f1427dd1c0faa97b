#include "rpc/client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "rpc/framing.hpp"

namespace chorus::rpc {

namespace {

// Largest single reply we accept (a members list of ~100k nodes fits).
constexpr std::size_t max_object_bytes = 64u << 20;
// How often a blocked read looks at the interrupt flag.
constexpr int interrupt_poll_ms = 100;

// Go's syscall error texts are strerror() in lower case.
std::string go_errno(int e) {
  std::string s = std::strerror(e);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string numeric_endpoint(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  std::uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

// Splits "host:port" / "[v6]:port" the way Go's net.SplitHostPort does.
std::string split_host_port(const std::string& address, std::string& host, std::string& port) {
  const std::string prefix = "address " + address + ": ";
  if (!address.empty() && address[0] == '[') {
    const auto close = address.find(']');
    if (close == std::string::npos) return prefix + "missing ']' in address";
    if (close + 1 >= address.size() || address[close + 1] != ':') return prefix + "missing port in address";
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    return {};
  }
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return prefix + "missing port in address";
  if (address.find(':') != colon) return prefix + "too many colons in address";
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  return {};
}

int remaining_ms(client::clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - client::clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

}  // namespace

client::~client() { close(); }

void client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
  in_pos_ = 0;
  streams_.clear();
}

std::string client::connect(const std::string& address, const std::string& auth_key, duration timeout) {
  close();
  // Go's wording for `-rpc-addr=`; never the default address instead.
  if (address.empty()) return "dial tcp: missing address";
  std::string host, port;
  if (auto e = split_host_port(address, host, port); !e.empty()) return "dial tcp: " + e;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &res); rc != 0)
    return "dial tcp: lookup " + host + ": " + (rc == EAI_NONAME ? std::string("no such host") : gai_strerror(rc));
  const auto deadline = clock::now() + timeout;
  std::string err = "dial tcp " + address + ": no address";
  for (addrinfo* ai = res; ai && fd_ < 0; ai = ai->ai_next) {
    const std::string where = "dial tcp " + numeric_endpoint(ai->ai_addr) + ": ";
    const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = where + "socket: " + go_errno(errno);
      continue;
    }
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, remaining_ms(deadline));
      if (rc == 0) {
        ::close(fd);
        err = where + "i/o timeout";
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0) {
        ::close(fd);
        err = where + "connect: " + go_errno(so_error);
        continue;
      }
    } else if (rc != 0) {
      err = where + "connect: " + go_errno(errno);
      ::close(fd);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) return err;
  if (auto e = handshake(); !e.empty()) {
    close();
    return e;
  }
  if (!auth_key.empty()) {
    if (auto e = auth(auth_key); !e.empty()) {
      close();
      return e;
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// Transport

bool client::write_all(const bytes& data) {
  if (record_sent_) sent_log_.insert(sent_log_.end(), data.begin(), data.end());
  std::size_t off = 0;
  const auto deadline = clock::now() + call_timeout_;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

std::uint64_t client::send(command c, const bytes* body) {
  const std::uint64_t seq = next_seq_++;
  bytes out;
  encode(out, request_header{std::string(command_name(c)), seq});
  if (body) out.insert(out.end(), body->begin(), body->end());
  if (fd_ < 0 || !write_all(out)) {
    last_error_ = "client closed";
    return 0;
  }
  return seq;
}

client::read_status client::fill(clock::time_point deadline, const std::atomic<bool>* interrupt) {
  for (;;) {
    if (interrupt && interrupt->load()) return read_status::interrupted;
    int wait = remaining_ms(deadline);
    if (wait == 0 && clock::now() >= deadline) return read_status::timed_out;
    if (interrupt) wait = std::min(wait, interrupt_poll_ms);
    pollfd p{fd_, POLLIN, 0};
    const int rc = ::poll(&p, 1, wait);
    if (rc < 0 && errno != EINTR) {
      last_error_ = "poll: " + go_errno(errno);
      return read_status::failed;
    }
    if (rc <= 0) continue;
    std::uint8_t buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return read_status::closed;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      if (errno == ECONNRESET) return read_status::closed;
      last_error_ = "read: " + go_errno(errno);
      return read_status::failed;
    }
    in_.insert(in_.end(), buf, buf + n);
    return read_status::ok;
  }
}

client::read_status client::read_object(object& out, clock::time_point deadline, const std::atomic<bool>* interrupt) {
  if (fd_ < 0) return read_status::closed;
  for (;;) {
    const msgpack::byte_view pending(in_.data() + in_pos_, in_.size() - in_pos_);
    const frame f = next_object(pending);
    if (f.status == frame_status::complete) {
      out.raw.assign(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(f.size));
      in_pos_ += f.size;
      if (in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
      }
      auto r = msgpack::read(out.raw);
      if (!r.ok()) {
        last_error_ = "undecodable reply: " + r.error;
        return read_status::failed;
      }
      out.v = std::move(r.v);
      return read_status::ok;
    }
    if (f.status == frame_status::invalid) {
      last_error_ = "undecodable reply: not msgpack";
      return read_status::failed;
    }
    if (pending.size() > max_object_bytes) {
      last_error_ = "reply larger than " + std::to_string(max_object_bytes) + " bytes";
      return read_status::failed;
    }
    if (in_pos_ > 0) {  // keep the buffer from growing with consumed bytes
      in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_pos_));
      in_pos_ = 0;
    }
    if (auto s = fill(deadline, interrupt); s != read_status::ok) return s;
  }
}

std::string client::transport_error(read_status s) const {
  switch (s) {
    case read_status::ok:
      return {};
    case read_status::timed_out:
      return "i/o timeout";
    case read_status::interrupted:
      return "interrupted";
    case read_status::closed:
      return "client closed";
    case read_status::failed:
      return last_error_;
  }
  return "client closed";
}

client::read_status client::dispatch_other(const response_header& h, clock::time_point deadline,
                                           const std::atomic<bool>* interrupt) {
  auto it = streams_.find(h.seq);
  if (it == streams_.end() || !it->second.acked) {
    last_error_ = "unexpected reply with Seq " + std::to_string(h.seq);
    return read_status::failed;
  }
  object body;
  if (auto s = read_object(body, deadline, interrupt); s != read_status::ok) return s;
  if (it->second.on_record) {
    if (auto e = it->second.on_record(body.v, body.raw); !e.empty()) {
      last_error_ = "undecodable stream record: " + e;
      return read_status::failed;
    }
  }
  return read_status::ok;
}

std::string client::await_reply(std::uint64_t seq, command c, object* body) {
  const auto deadline = clock::now() + call_timeout_;
  for (;;) {
    object head;
    if (auto s = read_object(head, deadline, nullptr); s != read_status::ok) return transport_error(s);
    response_header h;
    if (auto e = decode(head.v, h); !e.empty()) {
      last_error_ = "undecodable reply header: " + e;
      close();
      return last_error_;
    }
    if (h.seq != seq) {
      if (auto s = dispatch_other(h, deadline, nullptr); s != read_status::ok) {
        const auto e = transport_error(s);
        close();
        return e;
      }
      continue;
    }
    if (response_has_body(c) && !reply_error_has_no_body(h.error)) {
      object discard;
      object& target = body ? *body : discard;
      if (auto s = read_object(target, deadline, nullptr); s != read_status::ok) return transport_error(s);
    }
    return h.error;
  }
}

std::string client::call(command c, const bytes* request_body, object* body) {
  if (fd_ < 0) return "client closed";
  const std::uint64_t seq = send(c, request_body);
  if (seq == 0) return last_error_;
  return await_reply(seq, c, body);
}

std::string client::start_stream(command c, const bytes& request_body,
                                 std::function<std::string(const msgpack::value&, msgpack::byte_view)> cb,
                                 std::uint64_t& seq) {
  if (fd_ < 0) return "client closed";
  seq = send(c, &request_body);
  if (seq == 0) return last_error_;
  streams_[seq] = stream_state{c, false, std::move(cb)};
  auto e = await_reply(seq, c, nullptr);
  if (!e.empty()) {
    streams_.erase(seq);
    return e;
  }
  streams_[seq].acked = true;
  return {};
}

// ---------------------------------------------------------------------------
// Commands

namespace {
template <class T>
bytes body_of(const T& v) {
  return encode(v);
}
}  // namespace

std::string client::handshake(std::int32_t version) {
  const auto b = body_of(handshake_request{version});
  return call(command::handshake, &b, nullptr);
}

std::string client::auth(const std::string& key) {
  const auto b = body_of(auth_request{key});
  return call(command::auth, &b, nullptr);
}

std::string client::event(const event_request& req) {
  const auto b = body_of(req);
  return call(command::event, &b, nullptr);
}

std::string client::force_leave(const force_leave_request& req) {
  const auto b = body_of(req);
  return call(command::force_leave, &b, nullptr);
}

#define CHORUS_RPC_CALL_WITH_BODY(cmd, request_ptr, out)                                   \
  do {                                                                                     \
    object body;                                                                           \
    auto err = call(cmd, request_ptr, &body);                                              \
    if (!body.raw.empty()) {                                                               \
      if (auto e = decode(body.v, out); !e.empty()) return "undecodable reply body: " + e; \
    }                                                                                      \
    return err;                                                                            \
  } while (0)

std::string client::join(const join_request& req, join_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::join, &b, out);
}

std::string client::members(members_response& out) { CHORUS_RPC_CALL_WITH_BODY(command::members, nullptr, out); }

std::string client::members_filtered(const members_filtered_request& req, members_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::members_filtered, &b, out);
}

std::string client::tags(const tags_request& req) {
  const auto b = body_of(req);
  return call(command::tags, &b, nullptr);
}

std::string client::leave() { return call(command::leave, nullptr, nullptr); }

std::string client::respond(const respond_request& req) {
  const auto b = body_of(req);
  return call(command::respond, &b, nullptr);
}

std::string client::install_key(const key_request& req, key_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::install_key, &b, out);
}

std::string client::use_key(const key_request& req, key_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::use_key, &b, out);
}

std::string client::remove_key(const key_request& req, key_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::remove_key, &b, out);
}

std::string client::list_keys(key_response& out) { CHORUS_RPC_CALL_WITH_BODY(command::list_keys, nullptr, out); }

std::string client::stats(stats_response& out) { CHORUS_RPC_CALL_WITH_BODY(command::stats, nullptr, out); }

std::string client::chorus_stats(stats_response& out) {
  CHORUS_RPC_CALL_WITH_BODY(command::chorus_stats, nullptr, out);
}

std::string client::get_coordinate(const get_coordinate_request& req, coordinate_response& out) {
  const auto b = body_of(req);
  CHORUS_RPC_CALL_WITH_BODY(command::get_coordinate, &b, out);
}

#undef CHORUS_RPC_CALL_WITH_BODY

namespace {

// A stream callback that decodes each record as R before handing it on.
template <class R>
std::function<std::string(const msgpack::value&, msgpack::byte_view)> decoding(std::function<void(const R&)> cb) {
  return [cb = std::move(cb)](const msgpack::value& v, msgpack::byte_view) {
    R r;
    auto e = decode(v, r);
    if (e.empty() && cb) cb(r);
    return e;
  };
}

}  // namespace

std::string client::stream(const stream_request& req, std::function<void(const event_record&)> on_record,
                           std::uint64_t& seq) {
  return start_stream(command::stream, body_of(req), decoding(std::move(on_record)), seq);
}

std::string client::stream_raw(const stream_request& req, std::function<void(msgpack::byte_view)> on_record,
                               std::uint64_t& seq) {
  return start_stream(
      command::stream, body_of(req),
      [cb = std::move(on_record)](const msgpack::value&, msgpack::byte_view raw) {
        if (cb) cb(raw);
        return std::string();
      },
      seq);
}

std::string client::monitor(const monitor_request& req, std::function<void(const log_record&)> on_record,
                            std::uint64_t& seq) {
  return start_stream(command::monitor, body_of(req), decoding(std::move(on_record)), seq);
}

std::string client::query(const query_request& req, std::function<void(const query_record&)> on_record,
                          std::uint64_t& seq) {
  return start_stream(command::query, body_of(req), decoding(std::move(on_record)), seq);
}

std::string client::stop(std::uint64_t seq) {
  // Records already on their way are read and dropped.
  if (auto it = streams_.find(seq); it != streams_.end()) it->second.on_record = nullptr;
  const auto b = body_of(stop_request{seq});
  return call(command::stop, &b, nullptr);
}

client::pump_result client::pump(clock::time_point deadline, const std::function<bool()>& done,
                                 const std::atomic<bool>* interrupt) {
  for (;;) {
    if (done && done()) return pump_result::done;
    object head;
    const auto s = read_object(head, deadline, interrupt);
    if (s == read_status::timed_out) return pump_result::timed_out;
    if (s == read_status::interrupted) return pump_result::interrupted;
    if (s == read_status::closed) return pump_result::closed;
    if (s == read_status::failed) return pump_result::failed;
    response_header h;
    if (auto e = decode(head.v, h); !e.empty()) {
      last_error_ = "undecodable reply header: " + e;
      return pump_result::failed;
    }
    const auto ds = dispatch_other(h, deadline, interrupt);
    if (ds == read_status::closed) return pump_result::closed;
    if (ds == read_status::timed_out) return pump_result::timed_out;
    if (ds == read_status::interrupted) return pump_result::interrupted;
    if (ds == read_status::failed) return pump_result::failed;
  }
}

}  // namespace chorus::rpc
