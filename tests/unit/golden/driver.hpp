#pragma once
// One sans-I/O node under test, driven by a transcript's commands
// (datadriven.hpp). This class owns what every layer needs: the clock, the
// timers the node asked for, the TCP exchanges it started, the peers that
// answer its pings, and the output: one line per effect, stamped with the
// virtual time it happened at. A layer (core_driver.cpp, serf_driver.cpp)
// plugs in its entry points and its own commands.
//
// Commands every layer has (peers are nK = 10.0.0.K:7946):
//   recv FROM MESSAGE...      a datagram from FROM holding one message,
//                             written as the output prints it
//   learn nA nB ...           an alive (incarnation 1) from each, as gossip
//                             would bring it
//   advance DURATION          fires due timers in order, one at a time, so
//                             each effect carries its own time
//   responsive nA nB ...      these peers ack every ping at once from now on
//                             (each ack prints as "auto-ack FROM seq=N")
//   tcp-ping-done PEER ok|fail    ends the oldest pending TCP ping to PEER
//   push-pull-done PEER [fail]    ends the oldest pending push/pull with PEER; its
//                             input lines are PEER's table, one member a
//                             line: "nK alive|suspect|dead|left inc=N"
// Arguments every command takes:
//   about=nK   print only the lines that name nK or its address
//   only=W,..  print only the lines holding one of these words (whole words:
//              "query" is not in "query-response")
//   quiet      print nothing (setup whose effects the transcript is not about)
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datadriven.hpp"
#include "swim/messages.hpp"
#include "swim/runtime.hpp"

namespace golden {

using chorus::swim::address;
using chorus::swim::bytes;
using chorus::swim::duration;
using chorus::swim::exchange_id;
using chorus::swim::time_point;
using chorus::swim::timer_token;

class driver {
 public:
  virtual ~driver() = default;
  // Runs one directive, returns its output lines. Throws std::runtime_error
  // for an unknown command or bad arguments.
  std::vector<std::string> run(const directive& given);

 protected:
  // --- the layer's entry points (each may call the effect hooks below) ----
  virtual void deliver(const address& from, const bytes& packet) = 0;
  virtual void fire(timer_token t) = 0;
  // remote == nullptr: the exchange failed.
  virtual void push_pull_done(exchange_id id, const chorus::swim::push_pull* remote) = 0;
  virtual void tcp_ping_done(exchange_id id, bool ok) = 0;
  // The layer's own commands; false if `d` is none of them.
  virtual bool run_command(const directive& d) = 0;
  // How a user (type 8) message reads, and is written, in this layer.
  virtual std::string describe_user(const bytes& payload) const = 0;
  virtual bytes encode_input(const std::vector<std::string>& message_words) const;
  // The alive gossip that introduces peer `name` (learn).
  virtual chorus::swim::alive peer_alive(const std::string& name) const;

  // --- effects, for the layer's runtime --------------------------------------
  void sent(const address& to, const bytes& packet);
  void timer(time_point at, timer_token t) { timers_.emplace(at, t); }
  void push_pull_started(const address& to, exchange_id id, bool join);
  void tcp_ping_started(const address& to, exchange_id id, const chorus::swim::ping& p);
  // One output line, stamped with now_.
  void out(const std::string& text);

  time_point now_{};

 private:
  struct exchange {
    address to;
    exchange_id id;
    bool tcp_ping;
  };
  bool run_shared(const directive& d);
  void advance(duration d);
  // Acks the pings sent to responsive peers meanwhile: after the entry
  // point returned, as the runtime contract forbids re-entering the node.
  void settle();
  // The oldest exchange of that kind with `to` still open, now closed.
  exchange_id take_exchange(const address& to, bool tcp_ping);

  std::multimap<time_point, timer_token> timers_;
  std::vector<exchange> open_;  // started, not yet reported done
  std::vector<address> responsive_;
  std::vector<std::pair<address, std::uint32_t>> acks_due_;
  std::vector<std::string> lines_;
};

}  // namespace golden
