#include "swim/stream.hpp"

#include <algorithm>

#include "swim/keyring.hpp"
#include "swim/msgpack.hpp"

namespace chorus::swim {
namespace {

constexpr std::uint8_t type_byte(message_type t) { return static_cast<std::uint8_t>(t); }

bool is_truncation(const std::string& msgpack_error) {
  return msgpack_error.find("truncated") != std::string::npos ||
         msgpack_error.find("bytes left") != std::string::npos ||
         msgpack_error.find("exceeds the input") != std::string::npos;
}

struct body_result {
  stream_message msg;
  std::size_t consumed = 0;
  bool incomplete = false;
  decode_error error;
};

body_result body_fail(std::string what, std::size_t offset, bool incomplete = false) {
  body_result r;
  r.error = {std::move(what), offset};
  r.incomplete = incomplete;
  return r;
}

// Reads a small header struct at `pos`; on success advances `pos`.
bool read_header(std::span<const std::uint8_t> in, std::size_t& pos, const char* what, msgpack::read_result& out,
                 body_result& fail_out) {
  out = msgpack::read(in.subspan(pos));
  if (!out.ok()) {
    fail_out = body_fail(std::string(what) + ": " + out.error, pos + out.consumed, is_truncation(out.error));
    return false;
  }
  pos += out.consumed;
  return true;
}

body_result decode_push_pull(std::span<const std::uint8_t> in) {
  // in[0] == 6
  std::size_t pos = 1;
  msgpack::read_result h;
  body_result bad;
  if (!read_header(in, pos, "pushPull header", h, bad)) return bad;
  push_pull_header header;
  if (auto why = decode_push_pull_header(in.subspan(1, h.consumed), header); !why.empty())
    return body_fail("pushPull header: " + why, 1);
  push_pull pp;
  pp.join = header.join;
  // Every node state takes at least one byte: a count above what is left can
  // only be satisfied by more input, and is never allocated up front. The
  // reservation assumes canonical states (>= 48 bytes each), so it stays
  // bounded by the input.
  pp.nodes.reserve(std::min(header.nodes, (in.size() - pos) / 48));
  for (std::size_t i = 0; i < header.nodes; ++i) {
    if (pos >= in.size())
      return body_fail(
          "pushPull: input ends after " + std::to_string(i) + " of " + std::to_string(header.nodes) + " node states",
          pos, true);
    if (!is_map_type_byte(in[pos]))
      return body_fail("pushPull node " + std::to_string(i) + ": not a map (type byte " + std::to_string(in[pos]) + ")",
                       pos);
    std::size_t used = 0;
    auto s = decode_push_node_state(in.subspan(pos), &used);
    if (!s.ok()) {
      const bool trunc = is_truncation(s.error.what);
      return body_fail("pushPull node " + std::to_string(i) + ": " + s.error.what, pos + s.error.offset, trunc);
    }
    pp.nodes.push_back(std::move(s.value));
    pos += used;
  }
  if (header.user_state_len > in.size() - pos)
    return body_fail("pushPull: user state of " + std::to_string(header.user_state_len) + " bytes, " +
                         std::to_string(in.size() - pos) + " left",
                     pos, true);
  const auto user_end = pos + header.user_state_len;
  pp.user_state.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                       in.begin() + static_cast<std::ptrdiff_t>(user_end));
  body_result r;
  r.msg = std::move(pp);
  r.consumed = user_end;
  return r;
}

body_result decode_user_stream(std::span<const std::uint8_t> in) {
  std::size_t pos = 1;
  msgpack::read_result h;
  body_result bad;
  if (!read_header(in, pos, "userMsg header", h, bad)) return bad;
  std::size_t len = 0;
  if (auto why = decode_user_msg_header(in.subspan(1, h.consumed), len); !why.empty())
    return body_fail("userMsg header: " + why, 1);
  if (len > in.size() - pos)
    return body_fail("user message of " + std::to_string(len) + " bytes, " + std::to_string(in.size() - pos) + " left",
                     pos, true);
  user u;
  u.payload.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.begin() + static_cast<std::ptrdiff_t>(pos + len));
  body_result r;
  r.msg = std::move(u);
  r.consumed = pos + len;
  return r;
}

// One stream message: type byte + body, no layers.
body_result decode_body_any(std::span<const std::uint8_t> in) {
  if (in.empty()) return body_fail("empty stream", 0, true);
  const std::uint8_t t = in[0];
  switch (static_cast<message_type>(t)) {
    case message_type::push_pull:
      return decode_push_pull(in);
    case message_type::user:
      return decode_user_stream(in);
    case message_type::ping:
    case message_type::ack:
    case message_type::err: {
      std::size_t used = 0;
      auto m = decode_body(static_cast<message_type>(t), in.subspan(1), &used);
      if (!m.ok()) return body_fail(m.error.what, 1 + m.error.offset, is_truncation(m.error.what));
      body_result r;
      if (auto* p = std::get_if<ping>(&m.value))
        r.msg = std::move(*p);
      else if (auto* a = std::get_if<ack>(&m.value))
        r.msg = std::move(*a);
      else
        r.msg = std::get<err>(std::move(m.value));
      r.consumed = 1 + used;
      return r;
    }
    default:
      return body_fail("unexpected stream message type " + std::to_string(t) + " (" + type_name(t) + ")", 0);
  }
}

}  // namespace

std::string decode_push_pull_header(std::span<const std::uint8_t> header, push_pull_header& out) {
  if (header.size() > max_stream_header_len) return "longer than " + std::to_string(max_stream_header_len) + " bytes";
  const auto h = msgpack::read(header);
  if (!h.ok()) return h.error;
  msgpack::struct_reader sr(h.v);
  std::int64_t nodes = 0, user_len = 0;
  sr.bool_field("Join", out.join);
  sr.int_field("Nodes", nodes);
  sr.int_field("UserStateLen", user_len);
  if (!sr.ok()) return sr.error();
  if (nodes < 0 || user_len < 0) return "negative count";
  if (static_cast<std::uint64_t>(nodes) > max_push_pull_nodes)
    return std::to_string(nodes) + " nodes, more than the limit of " + std::to_string(max_push_pull_nodes);
  if (static_cast<std::uint64_t>(user_len) > max_push_pull_user_state)
    return "user state of " + std::to_string(user_len) + " bytes, more than the limit of " +
           std::to_string(max_push_pull_user_state);
  out.nodes = static_cast<std::size_t>(nodes);
  out.user_state_len = static_cast<std::size_t>(user_len);
  return {};
}

std::string decode_user_msg_header(std::span<const std::uint8_t> header, std::size_t& len) {
  if (header.size() > max_stream_header_len) return "longer than " + std::to_string(max_stream_header_len) + " bytes";
  const auto h = msgpack::read(header);
  if (!h.ok()) return h.error;
  msgpack::struct_reader sr(h.v);
  std::int64_t n = 0;
  sr.int_field("UserMsgLen", n);
  if (!sr.ok()) return sr.error();
  if (n < 0) return "negative length";
  if (static_cast<std::uint64_t>(n) > max_stream_user_msg)
    return "length " + std::to_string(n) + " is more than the limit of " + std::to_string(max_stream_user_msg);
  len = static_cast<std::size_t>(n);
  return {};
}

void encode_stream_body(const push_pull& v, bytes& out) {
  out.reserve(out.size() + 32 + 64 * v.nodes.size() + v.user_state.size());
  out.push_back(type_byte(message_type::push_pull));
  msgpack::writer w(out);
  w.map_header(3);  // Join, Nodes, UserStateLen
  w.str("Join");
  w.boolean(v.join);
  w.str("Nodes");
  w.uint(v.nodes.size());
  w.str("UserStateLen");
  w.uint(v.user_state.size());
  for (const auto& s : v.nodes) encode_push_node_state(s, out);
  out.insert(out.end(), v.user_state.begin(), v.user_state.end());
}

std::size_t stream_body_size(const push_pull& v) {
  // The header is a few bytes: encode it rather than repeat its layout.
  bytes header;
  push_pull empty;
  empty.join = v.join;
  encode_stream_body(empty, header);
  // Only the two counts differ from the empty table's header: each is a
  // msgpack uint, 1 byte while <= 0x7f.
  auto uint_size = [](std::uint64_t n) -> std::size_t {
    return n <= 0x7f ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffffULL ? 5 : 9;
  };
  std::size_t size = header.size() - 2 + uint_size(v.nodes.size()) + uint_size(v.user_state.size());
  for (const auto& s : v.nodes) size += encoded_size(s);
  return size + v.user_state.size();
}

void encode_stream_body(const stream_message& m, bytes& out) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, push_pull>) {
          encode_stream_body(v, out);
        } else if constexpr (std::is_same_v<T, user>) {
          out.push_back(type_byte(message_type::user));
          msgpack::writer w(out);
          w.map_header(1);
          w.str("UserMsgLen");
          w.uint(v.payload.size());
          out.insert(out.end(), v.payload.begin(), v.payload.end());
        } else {
          encode(message{v}, out);
        }
      },
      m);
}

sealed encode_stream(const stream_message& m, const stream_options& opt) {
  sealed out;
  if (opt.label.size() > max_label_len) {
    out.error = "label longer than " + std::to_string(max_label_len) + " bytes";
    return out;
  }
  bytes plain;
  encode_stream_body(m, plain);
  if (opt.compress) {
    bytes c;
    encode_compress(plain, c);  // unconditional on TCP (§7)
    plain = std::move(c);
  }
  encode_label(opt.label, out.data);
  if (!opt.keys) {
    out.data.insert(out.data.end(), plain.begin(), plain.end());
    return out;
  }
  const std::size_t len = plain.size() + encryption_overhead_v1;
  if (len > max_stream_encrypted_len) {
    out.error = "stream message of " + std::to_string(len) + " bytes exceeds the 20 MiB limit";
    return out;
  }
  bytes aad{type_byte(message_type::encrypt), static_cast<std::uint8_t>(len >> 24),
            static_cast<std::uint8_t>(len >> 16), static_cast<std::uint8_t>(len >> 8), static_cast<std::uint8_t>(len)};
  const bytes header = aad;
  aad.insert(aad.end(), opt.label.begin(), opt.label.end());
  auto env = seal_envelope(*opt.keys, plain, aad);
  if (!env.ok()) return env;
  out.data.insert(out.data.end(), header.begin(), header.end());
  out.data.insert(out.data.end(), env.data.begin(), env.data.end());
  return out;
}

opened_stream decode_stream(std::span<const std::uint8_t> in, const stream_open_options& opt) {
  opened_stream out;
  auto fail = [&](std::string what, std::size_t offset, bool incomplete = false) {
    out.error = {std::move(what), offset};
    out.incomplete = incomplete;
    return out;
  };
  if (in.empty()) return fail("empty stream", 0, true);
  auto lab = read_label(in);
  if (!lab.ok()) return fail(lab.error.what, lab.error.offset, lab.error.what.find("cut short") != std::string::npos);
  out.layers.label = lab.value.label;
  if (auto why = check_label(out.layers.label, opt.label, opt.skip_label_check); !why.empty()) return fail(why, 0);
  std::size_t pos = lab.value.header_len;
  if (pos >= in.size()) return fail("stream ends after the label", pos, true);

  // The buffer the inner layers read, and whether it is the input itself (so
  // offsets and `consumed` refer to the input).
  bytes owned;
  std::span<const std::uint8_t> cur = in.subspan(pos);
  bool in_input = true;

  if (in[pos] == type_byte(message_type::encrypt)) {
    if (!opt.keys) return fail(std::string(remote_encrypted_error), pos);
    if (in.size() - pos < stream_encrypt_header_len) return fail("encrypt header cut short", in.size(), true);
    const std::uint32_t len = (std::uint32_t{in[pos + 1]} << 24) | (std::uint32_t{in[pos + 2]} << 16) |
                              (std::uint32_t{in[pos + 3]} << 8) | in[pos + 4];
    out.layers.encrypted_length = len;
    if (len > max_stream_encrypted_len)
      return fail("encrypted stream length " + std::to_string(len) + " exceeds the 20 MiB limit", pos + 1);
    if (in.size() - pos - stream_encrypt_header_len < len)
      return fail("encrypted stream: " + std::to_string(len) + " bytes declared, " +
                      std::to_string(in.size() - pos - stream_encrypt_header_len) + " present",
                  in.size(), true);
    bytes aad(in.begin() + static_cast<std::ptrdiff_t>(pos),
              in.begin() + static_cast<std::ptrdiff_t>(pos + stream_encrypt_header_len));
    if (out.layers.label) aad.insert(aad.end(), out.layers.label->begin(), out.layers.label->end());
    auto env = open_envelope(*opt.keys, in.subspan(pos + stream_encrypt_header_len, len), aad);
    if (!env.ok()) return fail("decrypt: " + env.error, pos + stream_encrypt_header_len);
    out.layers.encrypted = true;
    out.layers.encryption_version = env.version;
    out.layers.key_index = env.key_index;
    out.consumed = pos + stream_encrypt_header_len + len;
    owned = std::move(env.plaintext);
    cur = owned;
    in_input = false;
  } else if (opt.keys) {
    return fail(std::string(remote_not_encrypted_error), pos);
  }

  if (!cur.empty() && cur[0] == type_byte(message_type::compress)) {
    auto d = decode_compress(cur, opt.max_decompressed);
    if (!d.ok()) {
      // A compress header cut short in the raw input just needs more bytes.
      const bool trunc = in_input && is_truncation(d.error.what);
      return fail(d.error.what, (in_input ? pos : 0) + d.error.offset, trunc);
    }
    out.layers.compressed = true;
    out.layers.compressed_len = d.value.buf_len;
    out.layers.decompressed_len = d.value.data.size();
    if (in_input) out.consumed = pos + d.value.consumed;
    owned = std::move(d.value.data);
    cur = owned;
    in_input = false;
  }

  auto b = decode_body_any(cur);
  if (!b.error.what.empty()) {
    if (opt.keep_inner) out.layers.inner.assign(cur.begin(), cur.end());
    return fail(b.error.what, (in_input ? pos : 0) + b.error.offset, in_input && b.incomplete);
  }
  out.msg = std::move(b.msg);
  if (opt.keep_inner) out.layers.inner.assign(cur.begin(), cur.begin() + static_cast<std::ptrdiff_t>(b.consumed));
  if (in_input) out.consumed = pos + b.consumed;
  return out;
}

}  // namespace chorus::swim
