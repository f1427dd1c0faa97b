#pragma once
// The thin Asio layer under the sans-I/O layers (STYLE #15): one UDP socket
// and one TCP listener on the same address and port (memberlist.md section
// 1), one steady_timer armed for the earliest timer asked for, everything on
// the caller's io_context (one thread). The transport is a swim::io (io.hpp):
// the core and the Serf layer send through it directly. What comes in goes
// one way, decoded once, to a `driver` (the daemon, which hands it to the
// Serf layer and so to the core):
//
//   UDP in:   datagram -> swim::open (label policy, keyring, CRC, LZW, every message decoded)
//             -> driver.on_message per message
//   UDP out:  io::send_packet -> swim::seal -> non-blocking send_to (dropped if the kernel queue is full)
//   TCP in:   accept (fair share, see options) -> frame one stream message as it
//             arrives (stream_framer: each byte looked at once; deadline, first-byte
//             deadline, minimum rate, 20 MiB cap) -> decode it once
//             -> push/pull reply | TCP ping ack | user message (on_message) | err reply (memberlist.md 10.1)
//   TCP out:  push/pull and TCP ping exchanges with deadlines, reported back through the
//             driver; a failure says why as an exchange_error (errors.hpp)
//
// Untrusted input never throws: malformed datagrams and streams are counted
// (transport_stats) and dropped. Memory is bounded: one 64 KiB receive buffer,
// at most max_inbound_tcp connections each holding at most the stream cap.
//
// Threading: every method runs on the io_context's thread; none is thread-safe.
#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "swim/cidr.hpp"
#include "swim/errors.hpp"
#include "swim/io.hpp"
#include "swim/keyring.hpp"
#include "swim/stream.hpp"

namespace chorus::swim::transport {

// The core's timeline on the steady clock.
time_point now();

// What the transport feeds incoming traffic and results into: messages
// already decoded, exchange results with their reasons. All calls on the io
// thread, in the order things happened; a driver may call the transport (as
// an io) from inside them.
class driver {
 public:
  virtual ~driver() = default;
  // One message of a datagram (in the order of the packet), or a reliable
  // user message (10.4) that came over TCP.
  virtual void on_message(time_point now, const address& from, const message& m) = 0;
  virtual void on_timer(time_point now, timer_token token) = 0;
  // A peer's push/pull request; returns our reply.
  virtual push_pull on_push_pull(time_point now, const address& from, const push_pull& remote) = 0;
  virtual std::optional<ack> on_stream_ping(const ping& p) = 0;
  // Our push/pull `id` got its reply, or failed (`why`).
  virtual void on_push_pull_done(time_point now, exchange_id id, const push_pull& reply) = 0;
  virtual void on_push_pull_failed(time_point now, exchange_id id, const exchange_error& why) = 0;
  virtual void on_tcp_ping_done(time_point now, exchange_id id, bool ok) = 0;
  // Whether `ip` (port ignored) is the address of a known member. Inbound
  // TCP from members may use the slots reserved for them
  // (options::inbound_tcp_member_reserve) and is not held to the
  // per-source share. Asked once per accepted connection: keep it cheap.
  virtual bool is_member_ip(const address& ip) {
    (void)ip;
    return false;
  }
};

struct options {
  asio::ip::address bind_ip = asio::ip::address_v4::any();
  std::uint16_t port = 7946;
  bool compress = true;           // Serf's default (EnableCompression)
  const keyring* keys = nullptr;  // encryption on when set and non-empty
  std::string label;              // 0.3+ label: sent and required when non-empty
  bool skip_label_check = false;
  duration tcp_timeout = std::chrono::seconds(10);

  // Inbound TCP admission (issue 18 item 4: 128 idle connections from one
  // address, reopened as they were closed, used to lock every join,
  // push/pull and TCP fallback ping out of a node). A connection over a
  // limit is closed at once; our outgoing exchanges never count here.
  //
  // Concurrent inbound TCP exchanges, all sources together. memberlist
  // refuses the 129th concurrent push/pull.
  std::size_t max_inbound_tcp = 128;
  // Of those, the last ones only known members may take: sources that are
  // not members hold at most max_inbound_tcp - inbound_tcp_member_reserve
  // together. A quarter: members' exchanges are short (a push/pull is one
  // request and one reply), so 32 slots carry the anti-entropy and fallback
  // pings of a large cluster while strangers hold the other 96.
  std::size_t inbound_tcp_member_reserve = 32;
  // Connections one source address that is not a member may hold at once.
  // A joining node opens one at a time (its join push/pull), a node starting
  // with several seeds that resolve to one address a few; 8 is generous for
  // that, and twelve such addresses are needed to fill the strangers' share.
  std::size_t max_inbound_tcp_per_source = 8;
  // A connection that has not sent its first byte by then is closed: a
  // memberlist peer writes its request right after connecting, so this only
  // has to cover one round trip plus a retransmission (Linux's minimum RTO
  // is 200 ms) on a slow link. 0 = off.
  duration tcp_first_byte_timeout = std::chrono::seconds(2);
  // After that grace, a stream must keep up an average of this many bytes
  // per second since it was accepted (each byte buys 1/rate s on top of the
  // grace), so a trickle of a byte now and then is closed after about the
  // grace instead of holding a slot for the whole tcp_timeout. Far below any
  // real peer: a 10,000-node push/pull (~700 KB) has to come at 70 KB/s to
  // fit into tcp_timeout at all. 0 = off (also off when
  // tcp_first_byte_timeout is: the rate is owed from the end of that grace).
  std::size_t tcp_min_bytes_per_second = 1024;
  // Incoming stream cap: the 20 MiB encrypted-length limit plus headers.
  std::size_t max_stream_bytes = max_stream_encrypted_len + 1024;
  // memberlist's CIDRsAllowed (`-allowed-cidrs`): datagrams and TCP
  // connections from a source outside every range are dropped before
  // anything is read from them, and counted. Empty = every source (Serf).
  std::vector<cidr> allowed_cidrs;
};

// Messages (and their bytes, type byte included) per memberlist message
// type, after unwrapping the packet layers (label, encryption, CRC,
// compression, compound). Slot = type for 0..13; every other type byte
// shares the last slot ("other").
struct message_counts {
  static constexpr std::size_t slots = 15;
  std::array<std::uint64_t, slots> messages{}, bytes{};
  static std::size_t slot(std::uint8_t type) { return type < slots - 1 ? type : slots - 1; }
  // "ping", "indirect_ping", ..., "other".
  static const char* label(std::size_t slot);
  void add(std::uint8_t type, std::size_t size) {
    ++messages[slot(type)];
    bytes[slot(type)] += size;
  }
  // A TCP stream message: its whole stream's bytes under its type.
  void add(const stream_message& m, std::size_t size);
};

// Durations of our outbound push/pull exchanges that completed (seconds),
// per bucket (not cumulative); counts.back() is the overflow.
struct duration_histogram {
  static constexpr std::array<double, 11> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  std::array<std::uint64_t, bounds.size() + 1> counts{};
  double sum = 0;
  std::uint64_t count = 0;
  void observe(double seconds);
};

// How many decode_fault values there are (none .. decrypt): the size of the
// per-fault counters below.
inline constexpr std::size_t decode_fault_kinds = static_cast<std::size_t>(decode_fault::decrypt) + 1;

struct transport_stats {
  std::uint64_t udp_received = 0, udp_bytes_received = 0;
  std::uint64_t udp_malformed = 0;  // failed open(): label, decryption, CRC, decode
  // What each rejection was, by decode_fault: a datagram that failed open()
  // and each bad part of one that opened; a TCP stream counted in
  // tcp_malformed. Which cap or check refused the input (the hostile-input
  // suite asserts the one it aimed at moved).
  std::array<std::uint64_t, decode_fault_kinds> udp_faults{}, tcp_faults{};
  // Datagrams read before firing due timers (drain_before_timers): they
  // were waiting while we were starved of CPU.
  std::uint64_t udp_read_before_timers = 0;
  // Times the transport's timer woke it up (cancelled timers do not).
  std::uint64_t timer_wakeups = 0;
  std::uint64_t udp_sent = 0, udp_bytes_sent = 0, udp_send_dropped = 0, udp_seal_errors = 0;
  // Of udp_send_dropped: refused for the destination (no route, firewall),
  // reported to the core as send_result::unreachable.
  std::uint64_t udp_send_unreachable = 0;
  std::uint64_t tcp_accepted = 0;
  std::uint64_t tcp_refused = 0;          // over max_inbound_tcp, or the strangers' share of it
  std::uint64_t tcp_refused_source = 0;   // over max_inbound_tcp_per_source
  std::uint64_t tcp_idle_closed = 0;      // no first byte within tcp_first_byte_timeout
  std::uint64_t tcp_slow_closed = 0;      // below tcp_min_bytes_per_second
  std::uint64_t tcp_evicted = 0;          // idle strangers closed to make room for a newcomer
  std::uint64_t tcp_member_accepted = 0;  // accepted as a known member's connection
  // From a source outside options::allowed_cidrs: dropped unread.
  std::uint64_t udp_not_allowed = 0, tcp_not_allowed = 0;
  std::uint64_t tcp_malformed = 0, tcp_timeouts = 0, tcp_err_replies = 0;
  std::uint64_t push_pulls_served = 0, tcp_pings_served = 0, stream_user_messages = 0;
  std::uint64_t exchanges_started = 0, exchanges_failed = 0;
  // Our outbound exchanges by kind (exchanges_* counts both).
  std::uint64_t push_pulls_started = 0, push_pulls_failed = 0;
  std::uint64_t tcp_pings_started = 0, tcp_pings_failed = 0;
  duration_histogram push_pull_seconds;
  // UDP and TCP stream messages, in and out (a TCP exchange counts its
  // whole stream's bytes under the message's type).
  message_counts in, out;
};

// Whether a timer due at `due` must first read the datagrams waiting in the
// socket (and let a datagram the async receive read ahead be handled), so
// that one that arrived before the deadline is handled before the timer (an
// ack before its probe's timeout). `last_rx`: when the async receive last
// handed one over. Only if that was at or after `due`: otherwise the socket
// was empty when the deadline was seen, and the read (one syscall per
// wake-up) is skipped.
bool needs_drain_before_timers(time_point due, std::optional<time_point> last_rx);

// Logging hook (the daemon plugs spdlog in); level 0 debug, 1 info, 2 warn.
using log_function = std::function<void(int level, const std::string& text)>;

class transport final : public io {
 public:
  transport(asio::io_context& io, options opt, driver& d, log_function log = {});
  ~transport() override;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  // Binds UDP and TCP. Empty on success, else the error (e.g. "address in use").
  std::string open();
  void close();

  // The bound endpoint (the port is resolved when options.port was 0).
  std::uint16_t port() const { return port_; }
  const transport_stats& stats() const { return stats_; }
  std::size_t inbound_tcp() const { return inbound_; }
  // Inbound connections held by sources that are not members, and by one
  // source address.
  std::size_t inbound_tcp_strangers() const { return strangers_; }
  std::size_t inbound_tcp_from(const asio::ip::address& ip) const;
  // Changes apply to later packets (keyring swaps, SIGHUP).
  options& opts() { return opt_; }

  // --- io -------------------------------------------------------------------
  send_result send_packet(const address& to, bytes packet, bool crc) override;
  void set_timer(time_point at, timer_token token) override;
  void cancel_timer(timer_token token) override;
  void start_push_pull(const address& to, exchange_id id, const push_pull& request, time_point deadline) override;
  void start_tcp_ping(const address& to, exchange_id id, const ping& request, time_point deadline) override;

 private:
  struct inbound;
  struct outbound;
  friend struct inbound;
  friend struct outbound;

  void receive();
  void on_datagram(std::span<const std::uint8_t> data, const asio::ip::udp::endpoint& sender);
  // Reads (at most a bounded number of) datagrams already waiting in the
  // socket, so that an ack that arrived before its probe's deadline is seen
  // before the timer that would call the probe failed.
  void drain_before_timers();
  // Starts an outbound exchange with an encoded request (or the reason it
  // could not be encoded).
  void start_exchange(const address& to, exchange_id id, bool is_ping, std::uint32_t seq, sealed request,
                      time_point deadline);
  void accept();
  void admit(asio::ip::tcp::socket s);
  // Closes the oldest inbound connection from a non-member that has not sent
  // a byte; false if there is none.
  bool evict_idle_stranger();
  void arm_timer();
  void on_timer_fired();
  void fire_due_timers();
  stream_options out_stream_opts() const;
  stream_open_options in_stream_opts() const;
  void log(int level, const std::string& text) const;
  std::string fmt_endpoint() const;

  asio::io_context& io_;
  options opt_;
  driver& driver_;
  log_function log_;
  asio::ip::udp::socket udp_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::udp::endpoint sender_;
  std::vector<std::uint8_t> rx_;
  std::vector<std::uint8_t> drain_rx_;  // drain_before_timers's buffer
  asio::steady_timer timer_;
  // Pending timers by deadline, and each one's deadline by token (for
  // cancel_timer). One steady_timer is armed for the earliest.
  std::set<std::pair<time_point, timer_token>> timers_;
  std::unordered_map<timer_token, time_point> timer_due_;
  std::optional<time_point> armed_at_;
  bool firing_ = false;                // on_timer_fired is running due timers
  std::optional<time_point> last_rx_;  // when the async receive last handed a datagram over
  std::uint16_t port_ = 0;
  std::size_t inbound_ = 0;
  std::size_t strangers_ = 0;  // inbound connections admitted as non-members
  std::map<asio::ip::address, std::size_t> per_source_;
  std::list<inbound*> open_inbound_;  // each inbound adds and removes itself
  asio::steady_timer accept_retry_;
  transport_stats stats_;
  // Outstanding async handlers check this before touching the transport.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Conversions between Asio endpoints and memberlist addresses. IPv4-mapped
// IPv6 is reported as 4-byte IPv4, as peers advertise it.
address to_address(const asio::ip::address& ip, std::uint16_t port);
asio::ip::address to_ip(const address& a);

}  // namespace chorus::swim::transport
