#pragma once
// A synchronous client for Serf's agent RPC (serf-rpc.md), as the CLI needs
// it: one TCP connection, blocking calls with deadlines, no threads.
//
// Replies and stream records share the connection (section 2): while a call
// waits for its reply, records of streams opened earlier on this connection
// are decoded and handed to their callbacks. Callbacks therefore run on the
// caller's thread, inside call() or pump(); they must not call the client.
//
// Every failure is reported as text in Serf's wording where the CLI prints
// it ("client closed", "dial tcp ADDR: connect: connection refused", the
// agent's Error strings); nothing here throws for bad input from the agent.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "rpc/protocol.hpp"

namespace chorus::rpc {

inline constexpr const char* default_rpc_address = "127.0.0.1:7373";

class client {
 public:
  using duration = std::chrono::milliseconds;
  using clock = std::chrono::steady_clock;

  client() = default;
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Resolves `address` ("host:port", "[v6]:port"), connects (trying every
  // resolved address), then sends `handshake` and, if `auth_key` is not
  // empty, `auth`. Returns "" or the reason.
  std::string connect(const std::string& address, const std::string& auth_key = {},
                      duration timeout = std::chrono::seconds(10));
  void close();
  bool connected() const { return fd_ >= 0; }

  // How long one call waits for its reply (join and leave can take seconds;
  // key commands run a cluster query).
  void set_call_timeout(duration d) { call_timeout_ = d; }

  // One-shot commands. Each returns the reply's Error ("" on success) or a
  // transport error; bodies are filled when the agent sent one.
  std::string handshake(std::int32_t version = ipc_version);
  std::string auth(const std::string& key);
  std::string event(const event_request& req);
  std::string force_leave(const force_leave_request& req);
  std::string join(const join_request& req, join_response& out);
  std::string members(members_response& out);
  std::string members_filtered(const members_filtered_request& req, members_response& out);
  std::string tags(const tags_request& req);
  std::string leave();
  std::string respond(const respond_request& req);
  std::string install_key(const key_request& req, key_response& out);
  std::string use_key(const key_request& req, key_response& out);
  std::string remove_key(const key_request& req, key_response& out);
  std::string list_keys(key_response& out);
  std::string stats(stats_response& out);
  // chorus agents only; a Serf agent answers "Unsupported command" and
  // closes the connection, so call it last.
  std::string chorus_stats(stats_response& out);
  std::string get_coordinate(const get_coordinate_request& req, coordinate_response& out);

  // Streaming commands: on success (ack without Error) `seq` identifies the
  // stream and every later record goes to `on_record`.
  std::string stream(const stream_request& req, std::function<void(const event_record&)> on_record, std::uint64_t& seq);
  std::string monitor(const monitor_request& req, std::function<void(const log_record&)> on_record, std::uint64_t& seq);
  std::string query(const query_request& req, std::function<void(const query_record&)> on_record, std::uint64_t& seq);
  // A stream whose records are handed over undecoded (the monitor command
  // prints them in Go syntax, which depends on the msgpack formats used).
  std::string stream_raw(const stream_request& req, std::function<void(msgpack::byte_view)> on_record,
                         std::uint64_t& seq);
  // Ends a stream or monitor opened on this connection.
  std::string stop(std::uint64_t seq);

  enum class pump_result {
    done,         // `done()` returned true
    timed_out,    // the deadline passed
    interrupted,  // *interrupt became true
    closed,       // the agent closed the connection
    failed,       // undecodable data or a socket error (see last_error())
  };
  // Reads and dispatches stream records until `done()` is true (checked
  // after every record), `deadline` passes or `*interrupt` is set.
  pump_result pump(clock::time_point deadline, const std::function<bool()>& done,
                   const std::atomic<bool>* interrupt = nullptr);
  const std::string& last_error() const { return last_error_; }

  // Bytes exchanged so far (for tests and diagnostics).
  const bytes& sent_bytes() const { return sent_log_; }
  void record_sent_bytes(bool on) { record_sent_ = on; }

 private:
  struct stream_state {
    command kind;
    bool acked = false;
    // Decodes and delivers one record; returns "" or why it was undecodable.
    // Empty after stop(): late records are read and dropped.
    std::function<std::string(const msgpack::value&, msgpack::byte_view raw)> on_record;
  };
  struct object {
    bytes raw;
    msgpack::value v;
    object() = default;
    object(const object&) = delete;
    object& operator=(const object&) = delete;
  };
  enum class read_status { ok, timed_out, interrupted, closed, failed };

  std::uint64_t send(command c, const bytes* body);
  // Waits for the reply header of `seq`; reads its body into `body` when the
  // command has one (and the error does not preclude it).
  std::string await_reply(std::uint64_t seq, command c, object* body);
  std::string call(command c, const bytes* request_body, object* body);
  std::string start_stream(command c, const bytes& request_body,
                           std::function<std::string(const msgpack::value&, msgpack::byte_view)> cb,
                           std::uint64_t& seq);
  // Handles a header that is not the one awaited: a stream ack or record.
  read_status dispatch_other(const response_header& h, clock::time_point deadline, const std::atomic<bool>* interrupt);
  read_status read_object(object& out, clock::time_point deadline, const std::atomic<bool>* interrupt);
  read_status fill(clock::time_point deadline, const std::atomic<bool>* interrupt);
  bool write_all(const bytes& data);
  std::string transport_error(read_status s) const;

  int fd_ = -1;
  std::uint64_t next_seq_ = 1;
  duration call_timeout_ = std::chrono::seconds(60);
  bytes in_;
  std::size_t in_pos_ = 0;
  std::map<std::uint64_t, stream_state> streams_;
  std::string last_error_;
  bool record_sent_ = false;
  bytes sent_log_;
};

}  // namespace chorus::rpc
