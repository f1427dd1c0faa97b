#include "swim/stream_framer.hpp"

#include <algorithm>

#include "swim/packet.hpp"

namespace chorus::swim {
stream_framer::stream_framer(const stream_open_options& opt)
    : expected_label_(opt.label), skip_label_check_(opt.skip_label_check), keys_(opt.keys != nullptr) {}

stream_framer::status stream_framer::ready() {
  stage_ = stage::finished;
  return status_ = status::ready;
}

stream_framer::status stream_framer::fail(std::string why, decode_fault f) {
  stage_ = stage::finished;
  error_ = std::move(why);
  fault_ = f;
  return status_ = status::bad;
}

stream_framer::status stream_framer::feed(std::span<const std::uint8_t> chunk) {
  std::size_t pos = 0;
  while (status_ == status::more && pos < chunk.size()) {
    switch (stage_) {
      case stage::first: {
        const std::uint8_t b = take(chunk, pos);
        if (b == type_byte(message_type::has_label)) {
          stage_ = stage::label_len;
        } else if (label_known(false) == status::more) {
          on_type(b);
        }
        break;
      }
      case stage::label_len:
        label_left_ = take(chunk, pos);
        // A zero-length label is invalid: decode_stream says so.
        if (label_left_ == 0)
          ready();
        else
          stage_ = stage::label;
        break;
      case stage::label:
        label_bytes(chunk, pos);
        break;
      case stage::type:
        on_type(take(chunk, pos));
        break;
      case stage::encrypt_len:
        encrypt_length_byte(take(chunk, pos));
        break;
      case stage::skip_to_end:
        skip_bytes(chunk, pos);
        break;
      case stage::value_to_end: {
        const auto st = scan(chunk, pos, chunk.size());
        if (st == msgpack::scanner::status::done) ready();
        if (st == msgpack::scanner::status::bad) fail(type_name(message_type_) + ": " + values_.error());
        break;
      }
      case stage::header:
        header_bytes(chunk, pos);
        break;
      case stage::node:
        node_bytes(chunk, pos);
        break;
      case stage::finished:
        return status_;
    }
  }
  return status_;
}

std::uint8_t stream_framer::take(std::span<const std::uint8_t> chunk, std::size_t& pos) {
  ++examined_;
  ++taken_;
  return chunk[pos++];
}

std::uint64_t stream_framer::pass(std::span<const std::uint8_t> chunk, std::size_t& pos, std::uint64_t most) {
  const std::uint64_t n = std::min<std::uint64_t>(most, chunk.size() - pos);
  pos += static_cast<std::size_t>(n);
  examined_ += n;
  taken_ += n;
  return n;
}

msgpack::scanner::status stream_framer::scan(std::span<const std::uint8_t> chunk, std::size_t& pos, std::size_t limit) {
  const std::size_t from = pos;
  const auto st = values_.scan(chunk.first(std::min(chunk.size(), pos + limit)), pos);
  taken_ += pos - from;  // the scanner counts these as examined itself
  return st;
}

void stream_framer::label_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos) {
  const std::size_t from = pos;
  label_left_ -= static_cast<std::size_t>(pass(chunk, pos, label_left_));
  label_.append(reinterpret_cast<const char*>(chunk.data() + from), pos - from);
  if (label_left_ == 0 && label_known(true) == status::more) stage_ = stage::type;
}

void stream_framer::encrypt_length_byte(std::uint8_t b) {
  length_ = (length_ << 8) | b;
  if (--length_bytes_ > 0) return;
  // Over the 20 MiB limit (or empty): decode_stream refuses it from the
  // header alone, with its own text.
  if (length_ == 0 || length_ > max_stream_encrypted_len) {
    ready();
  } else {
    skip_ = length_;
    stage_ = stage::skip_to_end;
  }
}

void stream_framer::skip_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos) {
  skip_ -= pass(chunk, pos, skip_);
  if (skip_ == 0) ready();
}

void stream_framer::header_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos) {
  // Never buffer more than one byte past the limit.
  const std::size_t from = pos;
  const auto st = scan(chunk, pos, max_stream_header_len + 1 - header_.size());
  header_.insert(header_.end(), chunk.begin() + static_cast<std::ptrdiff_t>(from),
                 chunk.begin() + static_cast<std::ptrdiff_t>(pos));
  const std::string what = message_type_ == type_byte(message_type::push_pull) ? "pushPull" : "userMsg";
  if (st == msgpack::scanner::status::bad) {
    fail(what + " header: " + values_.error());
  } else if (header_.size() > max_stream_header_len) {
    fail(what + " header: longer than " + std::to_string(max_stream_header_len) + " bytes", decode_fault::over_limit);
  } else if (st == msgpack::scanner::status::done) {
    header_done();
  }
}

void stream_framer::node_bytes(std::span<const std::uint8_t> chunk, std::size_t& pos) {
  // The first byte of a node state decides: only a map can be one.
  if (values_.bytes_examined() == node_start_ && !is_map_type_byte(chunk[pos])) {
    const std::uint8_t b = take(chunk, pos);
    fail("pushPull node " + std::to_string(node_index_) + ": not a map (type byte " + std::to_string(b) + ")");
    return;
  }
  const auto st = scan(chunk, pos, chunk.size());
  if (st == msgpack::scanner::status::bad) {
    fail("pushPull node " + std::to_string(node_index_) + ": " + values_.error());
  } else if (st == msgpack::scanner::status::done) {
    --nodes_left_;
    ++node_index_;
    next_node_or_tail();
  }
}

stream_framer::status stream_framer::label_known(bool present) {
  const std::optional<std::string> got = present ? std::optional<std::string>(label_) : std::nullopt;
  // A label the receive policy refuses: decode_stream gives the error text
  // that goes back to the peer.
  if (!check_label(got, expected_label_, skip_label_check_).empty()) return ready();
  return status_;
}

stream_framer::status stream_framer::on_type(std::uint8_t t) {
  message_type_ = t;
  if (t == type_byte(message_type::encrypt)) {
    if (!keys_) return ready();  // "Remote state is encrypted ..."
    stage_ = stage::encrypt_len;
    length_bytes_ = 4;
    length_ = 0;
    return status_;
  }
  if (keys_) return ready();  // "Encryption is configured but ..."
  values_.reset();
  switch (static_cast<message_type>(t)) {
    case message_type::compress:
    case message_type::ping:
    case message_type::ack:
    case message_type::err:
      stage_ = stage::value_to_end;
      return status_;
    case message_type::push_pull:
    case message_type::user:
      header_.clear();
      stage_ = stage::header;
      return status_;
    default:
      return fail("unexpected stream message type " + std::to_string(t) + " (" + type_name(t) + ")",
                  decode_fault::unknown_type);
  }
}

stream_framer::status stream_framer::header_done() {
  if (message_type_ == type_byte(message_type::user)) {
    std::size_t len = 0;
    if (auto e = decode_user_msg_header(header_, len); e.failed()) return fail("userMsg header: " + e.what, e.fault);
    return finish_at_tail(len);
  }
  push_pull_header h;
  if (auto e = decode_push_pull_header(header_, h); e.failed()) return fail("pushPull header: " + e.what, e.fault);
  nodes_left_ = h.nodes;
  user_state_len_ = h.user_state_len;
  node_index_ = 0;
  return next_node_or_tail();
}

stream_framer::status stream_framer::next_node_or_tail() {
  if (nodes_left_ == 0) return finish_at_tail(user_state_len_);
  values_.reset();
  node_start_ = values_.bytes_examined();
  stage_ = stage::node;
  return status_;
}

stream_framer::status stream_framer::finish_at_tail(std::uint64_t raw_bytes) {
  if (raw_bytes == 0) return ready();
  skip_ = raw_bytes;
  stage_ = stage::skip_to_end;
  return status_;
}

}  // namespace chorus::swim
