#include "swim/stream.hpp"

#include <algorithm>

#include "swim/keyring.hpp"
#include "swim/msgpack.hpp"

namespace chorus::swim {
namespace {

// The body of one stream message (after the layers). A truncated body is
// incomplete: more input completes it, when the body is the raw input.
struct body_result {
  stream_message msg;
  std::size_t consumed = 0;
  decode_error error;
};

body_result body_fail(decode_fault f, std::string what, std::size_t offset) {
  body_result r;
  r.error = {f, offset, std::move(what)};
  return r;
}
body_result body_fail(const decode_error& e, std::string prefix, std::size_t base) {
  return body_fail(e.fault, std::move(prefix) + e.what, base + e.offset);
}

// The msgpack header after the type byte of a push/pull or user message,
// read and checked by `check` (decode_push_pull_header, decode_user_msg_header);
// `pos` ends past it. Empty error on success.
template <class Check>
decode_error read_header(std::span<const std::uint8_t> in, std::size_t& pos, const std::string& what, Check check) {
  const auto h = msgpack::read(in.subspan(1));
  if (!h.ok())
    return {h.truncated ? decode_fault::truncated : decode_fault::malformed, 1 + h.consumed,
            what + " header: " + h.error};
  if (auto e = check(in.subspan(1, h.consumed)); e.failed()) return {e.fault, 1, what + " header: " + e.what};
  pos = 1 + h.consumed;
  return {};
}

body_result decode_push_pull(std::span<const std::uint8_t> in) {
  // in[0] == 6
  std::size_t pos = 0;
  push_pull_header header;
  if (auto e = read_header(in, pos, "pushPull",
                           [&](std::span<const std::uint8_t> h) { return decode_push_pull_header(h, header); });
      e.failed())
    return body_fail(e, "", 0);
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
          decode_fault::truncated,
          "pushPull: input ends after " + std::to_string(i) + " of " + std::to_string(header.nodes) + " node states",
          pos);
    if (!is_map_type_byte(in[pos]))
      return body_fail(decode_fault::malformed,
                       "pushPull node " + std::to_string(i) + ": not a map (type byte " + std::to_string(in[pos]) + ")",
                       pos);
    std::size_t used = 0;
    auto s = decode_push_node_state(in.subspan(pos), &used);
    if (!s.ok()) return body_fail(s.error, "pushPull node " + std::to_string(i) + ": ", pos);
    pp.nodes.push_back(std::move(s.value));
    pos += used;
  }
  if (header.user_state_len > in.size() - pos)
    return body_fail(decode_fault::truncated,
                     "pushPull: user state of " + std::to_string(header.user_state_len) + " bytes, " +
                         std::to_string(in.size() - pos) + " left",
                     pos);
  const auto user_end = pos + header.user_state_len;
  pp.user_state.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                       in.begin() + static_cast<std::ptrdiff_t>(user_end));
  body_result r;
  r.msg = std::move(pp);
  r.consumed = user_end;
  return r;
}

body_result decode_user_stream(std::span<const std::uint8_t> in) {
  std::size_t pos = 0, len = 0;
  if (auto e = read_header(in, pos, "userMsg",
                           [&](std::span<const std::uint8_t> h) { return decode_user_msg_header(h, len); });
      e.failed())
    return body_fail(e, "", 0);
  if (len > in.size() - pos)
    return body_fail(decode_fault::truncated,
                     "user message of " + std::to_string(len) + " bytes, " + std::to_string(in.size() - pos) + " left",
                     pos);
  user u;
  u.payload.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.begin() + static_cast<std::ptrdiff_t>(pos + len));
  body_result r;
  r.msg = std::move(u);
  r.consumed = pos + len;
  return r;
}

// One stream message: type byte + body, no layers.
body_result decode_body_any(std::span<const std::uint8_t> in) {
  if (in.empty()) return body_fail(decode_fault::truncated, "empty stream", 0);
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
      if (!m.ok()) return body_fail(m.error, "", 1);
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
      return body_fail(decode_fault::unknown_type,
                       "unexpected stream message type " + std::to_string(t) + " (" + type_name(t) + ")", 0);
  }
}

}  // namespace

namespace {
decode_error header_fault(decode_fault f, std::string what) { return {f, 0, std::move(what)}; }
// The msgpack of a header (at most max_stream_header_len bytes), or why not.
decode_error read_small_header(std::span<const std::uint8_t> header, msgpack::read_result& out) {
  if (header.size() > max_stream_header_len)
    return header_fault(decode_fault::over_limit, "longer than " + std::to_string(max_stream_header_len) + " bytes");
  out = msgpack::read(header);
  if (!out.ok()) return header_fault(out.truncated ? decode_fault::truncated : decode_fault::malformed, out.error);
  return {};
}
}  // namespace

decode_error decode_push_pull_header(std::span<const std::uint8_t> header, push_pull_header& out) {
  msgpack::read_result h;
  if (auto e = read_small_header(header, h); e.failed()) return e;
  msgpack::struct_reader sr(h.v);
  std::int64_t nodes = 0, user_len = 0;
  sr.bool_field("Join", out.join);
  sr.int_field("Nodes", nodes);
  sr.int_field("UserStateLen", user_len);
  if (!sr.ok()) return header_fault(decode_fault::malformed, sr.error());
  if (nodes < 0 || user_len < 0) return header_fault(decode_fault::malformed, "negative count");
  if (static_cast<std::uint64_t>(nodes) > max_push_pull_nodes)
    return header_fault(decode_fault::over_limit, std::to_string(nodes) + " nodes, more than the limit of " +
                                                      std::to_string(max_push_pull_nodes));
  if (static_cast<std::uint64_t>(user_len) > max_push_pull_user_state)
    return header_fault(decode_fault::over_limit, "user state of " + std::to_string(user_len) +
                                                      " bytes, more than the limit of " +
                                                      std::to_string(max_push_pull_user_state));
  out.nodes = static_cast<std::size_t>(nodes);
  out.user_state_len = static_cast<std::size_t>(user_len);
  return {};
}

decode_error decode_user_msg_header(std::span<const std::uint8_t> header, std::size_t& len) {
  msgpack::read_result h;
  if (auto e = read_small_header(header, h); e.failed()) return e;
  msgpack::struct_reader sr(h.v);
  std::int64_t n = 0;
  sr.int_field("UserMsgLen", n);
  if (!sr.ok()) return header_fault(decode_fault::malformed, sr.error());
  if (n < 0) return header_fault(decode_fault::malformed, "negative length");
  if (static_cast<std::uint64_t>(n) > max_stream_user_msg)
    return header_fault(decode_fault::over_limit, "length " + std::to_string(n) + " is more than the limit of " +
                                                      std::to_string(max_stream_user_msg));
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
  auto uint_size = [](std::uint64_t n) { return 1 + static_cast<std::size_t>(msgpack::uint_form_of(n).len); };
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
  // Only a cut in the raw input is worth waiting for: a truncated
  // decrypted or decompressed body stays truncated.
  auto fail_error = [&](decode_error e, bool raw_input) {
    out.incomplete = raw_input && e.fault == decode_fault::truncated;
    out.error = std::move(e);
    return out;
  };
  auto fail = [&](decode_fault f, std::string what, std::size_t offset) {
    return fail_error({f, offset, std::move(what)}, true);
  };
  if (in.empty()) return fail(decode_fault::truncated, "empty stream", 0);
  auto lab = read_label(in);
  if (!lab.ok()) return fail_error(std::move(lab.error), true);
  out.layers.label = lab.value.label;
  if (auto why = check_label(out.layers.label, opt.label, opt.skip_label_check); !why.empty())
    return fail(decode_fault::label, why, 0);
  std::size_t pos = lab.value.header_len;
  if (pos >= in.size()) return fail(decode_fault::truncated, "stream ends after the label", pos);

  // The buffer the inner layers read, and whether it is the input itself (so
  // offsets and `consumed` refer to the input).
  bytes owned;
  std::span<const std::uint8_t> cur = in.subspan(pos);
  bool in_input = true;

  if (in[pos] == type_byte(message_type::encrypt)) {
    if (!opt.keys) return fail(decode_fault::encryption, std::string(remote_encrypted_error), pos);
    if (in.size() - pos < stream_encrypt_header_len)
      return fail(decode_fault::truncated, "encrypt header cut short", in.size());
    const std::uint32_t len = (std::uint32_t{in[pos + 1]} << 24) | (std::uint32_t{in[pos + 2]} << 16) |
                              (std::uint32_t{in[pos + 3]} << 8) | in[pos + 4];
    out.layers.encrypted_length = len;
    if (len > max_stream_encrypted_len)
      return fail(decode_fault::over_limit,
                  "encrypted stream length " + std::to_string(len) + " exceeds the 20 MiB limit", pos + 1);
    if (in.size() - pos - stream_encrypt_header_len < len)
      return fail(decode_fault::truncated,
                  "encrypted stream: " + std::to_string(len) + " bytes declared, " +
                      std::to_string(in.size() - pos - stream_encrypt_header_len) + " present",
                  in.size());
    bytes aad(in.begin() + static_cast<std::ptrdiff_t>(pos),
              in.begin() + static_cast<std::ptrdiff_t>(pos + stream_encrypt_header_len));
    if (out.layers.label) aad.insert(aad.end(), out.layers.label->begin(), out.layers.label->end());
    auto env = open_envelope(*opt.keys, in.subspan(pos + stream_encrypt_header_len, len), aad);
    if (!env.ok()) return fail_error(decrypt_error(env.error, pos + stream_encrypt_header_len), true);
    out.layers.encrypted = true;
    out.layers.encryption_version = env.version;
    out.layers.key_index = env.key_index;
    out.consumed = pos + stream_encrypt_header_len + len;
    owned = std::move(env.plaintext);
    cur = owned;
    in_input = false;
  } else if (opt.keys) {
    return fail(decode_fault::encryption, std::string(remote_not_encrypted_error), pos);
  }

  if (!cur.empty() && cur[0] == type_byte(message_type::compress)) {
    auto d = decode_compress(cur, opt.max_decompressed);
    if (!d.ok()) {
      // A compress header cut short in the raw input just needs more bytes.
      d.error.offset += in_input ? pos : 0;
      return fail_error(std::move(d.error), in_input);
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
  if (b.error.failed()) {
    if (opt.keep_inner) out.layers.inner.assign(cur.begin(), cur.end());
    b.error.offset += in_input ? pos : 0;
    return fail_error(std::move(b.error), in_input);
  }
  out.msg = std::move(b.msg);
  if (opt.keep_inner) out.layers.inner.assign(cur.begin(), cur.begin() + static_cast<std::ptrdiff_t>(b.consumed));
  if (in_input) out.consumed = pos + b.consumed;
  return out;
}

}  // namespace chorus::swim
