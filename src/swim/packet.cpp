#include "swim/packet.hpp"

#include <algorithm>

#include "swim/crc32.hpp"
#include "swim/keyring.hpp"
#include "swim/lzw.hpp"
#include "swim/msgpack.hpp"

namespace chorus::swim {
namespace {

decode_error err_at(decode_fault f, std::string what, std::size_t offset) { return {f, offset, std::move(what)}; }

// A compress layer's fault: LZW output over its budget is a limit, any other
// LZW error a malformed buffer.
decode_fault lzw_fault(const lzw::result& r) {
  return r.too_large ? decode_fault::over_limit : decode_fault::malformed;
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "/" + name;
}

// Peels compress/compound recursively and decodes messages (§5, §7). `crc_allowed`
// is true only for the first layer after decryption (§6: the receiver checks a
// CRC header only there).
void dispatch(std::span<const std::uint8_t> in, const std::string& path, std::size_t depth, bool top,
              const open_options& opt, opened_packet& out) {
  auto part_error = [&](decode_error e) {
    if (top)
      out.error = std::move(e);
    else
      out.part_errors.push_back({path, std::move(e)});
  };
  if (in.empty()) return part_error(err_at(decode_fault::truncated, "empty message", 0));
  if (depth > max_nesting)
    return part_error(err_at(decode_fault::over_limit, "layers nested deeper than " + std::to_string(max_nesting), 0));
  const std::uint8_t t = in[0];
  if (t == type_byte(message_type::compound)) {
    auto c = split_compound(in);
    const std::string here = join(path, "compound");
    if (!c.ok()) return part_error(err_at(c.error.fault, "compound: " + c.error.what, c.error.offset));
    packet_layer l;
    l.path = here;
    l.type = message_type::compound;
    l.count = c.value.declared;
    for (std::size_t i = 0; i < c.value.declared; ++i)
      l.lengths.push_back((std::size_t{in[2 + 2 * i]} << 8) | in[3 + 2 * i]);
    l.truncated = c.value.truncated;
    out.layers.push_back(std::move(l));
    if (c.value.truncated)
      out.part_errors.push_back({here, err_at(decode_fault::truncated,
                                              "compound truncated: " + std::to_string(c.value.truncated) + " of " +
                                                  std::to_string(c.value.declared) + " parts dropped",
                                              in.size())});
    for (std::size_t i = 0; i < c.value.parts.size(); ++i)
      dispatch(c.value.parts[i], here + "[" + std::to_string(i) + "]", depth + 1, false, opt, out);
    return;
  }
  if (t == type_byte(message_type::compress)) {
    const std::string here = join(path, "compress");
    auto d = decode_compress(in, opt.max_decompressed - std::min(opt.max_decompressed, out.decompressed));
    if (!d.ok()) return part_error(std::move(d.error));
    out.decompressed += d.value.data.size();
    packet_layer l;
    l.path = here;
    l.type = message_type::compress;
    l.compressed_len = d.value.buf_len;
    l.decompressed_len = d.value.data.size();
    out.layers.push_back(std::move(l));
    // The content is handled like a fresh packet, minus the CRC check.
    dispatch(d.value.data, here, depth + 1, top, opt, out);
    return;
  }
  std::size_t used = 0;
  auto m = decode(in, &used);
  const std::string here = join(path, type_name(t));
  if (!m.ok()) {
    if (top) return part_error(std::move(m.error));
    out.part_errors.push_back({here, std::move(m.error)});
    return;
  }
  out.messages.push_back({here, std::move(m.value), bytes(in.begin(), in.begin() + used)});
}

}  // namespace

// ---------------------------------------------------------------------------

void encode_compress(std::span<const std::uint8_t> plain, bytes& out) {
  const bytes buf = lzw::compress(plain);
  out.push_back(type_byte(message_type::compress));
  msgpack::writer w(out);
  w.map_header(2);  // keys sorted: Algo, Buf
  w.str("Algo");
  w.uint(0);
  w.str("Buf");
  w.bin(buf);
}

decoded<decompressed> decode_compress(std::span<const std::uint8_t> in, std::size_t max_output) {
  decoded<decompressed> d;
  if (in.empty() || in[0] != type_byte(message_type::compress)) {
    d.error = err_at(decode_fault::unknown_type, "not a compress message", 0);
    return d;
  }
  auto r = msgpack::read(in.subspan(1));
  if (!r.ok()) {
    d.error =
        err_at(r.truncated ? decode_fault::truncated : decode_fault::malformed, "compress: " + r.error, 1 + r.consumed);
    return d;
  }
  msgpack::struct_reader sr(r.v);
  std::uint8_t algo = 0;
  sr.unsigned_field("Algo", algo);
  const msgpack::value* buf = sr.lookup("Buf");
  if (!sr.ok()) {
    d.error = err_at(decode_fault::malformed, "compress: " + sr.error(), 1);
    return d;
  }
  if (algo != 0) {
    d.error = err_at(decode_fault::malformed, "compress: unknown algorithm " + std::to_string(algo), 1);
    return d;
  }
  if (buf && !buf->is_nil() && buf->k != msgpack::kind::str && buf->k != msgpack::kind::bin) {
    d.error = err_at(decode_fault::malformed, "compress: Buf is not a byte string", 1);
    return d;
  }
  std::span<const std::uint8_t> lzw_bytes = buf ? buf->raw : std::span<const std::uint8_t>{};
  auto plain = lzw::decompress(lzw_bytes, max_output);
  if (!plain.ok()) {
    d.error = err_at(lzw_fault(plain), "compress: LZW " + plain.error, 1);
    return d;
  }
  d.value.data = std::move(plain.data);
  d.value.buf_len = lzw_bytes.size();
  d.value.consumed = 1 + r.consumed;
  return d;
}

void encode_label(const std::string& label, bytes& out) {
  if (label.empty()) return;
  out.push_back(type_byte(message_type::has_label));
  out.push_back(static_cast<std::uint8_t>(label.size()));
  out.insert(out.end(), label.begin(), label.end());
}

decoded<label_view> read_label(std::span<const std::uint8_t> in) {
  decoded<label_view> d;
  if (in.empty() || in[0] != type_byte(message_type::has_label)) return d;
  if (in.size() < 2) {
    d.error = err_at(decode_fault::label, "label header: missing length", 1);
    return d;
  }
  const std::size_t n = in[1];
  if (n == 0) {
    d.error = err_at(decode_fault::label, "label header: zero-length label", 1);
    return d;
  }
  if (in.size() < 2 + n) {
    d.error = err_at(decode_fault::truncated, "label header: label cut short", in.size());
    return d;
  }
  d.value.label = std::string(reinterpret_cast<const char*>(in.data() + 2), n);
  d.value.header_len = 2 + n;
  return d;
}

std::string check_label(const std::optional<std::string>& got, const std::string& expected, bool skip_check) {
  if (skip_check) return {};
  const std::string have = got.value_or("");
  if (have == expected) return {};
  if (!got) return "packet has no label, expected \"" + expected + "\"";
  if (expected.empty()) return "packet has label \"" + have + "\" but none is configured";
  return "packet has label \"" + have + "\", expected \"" + expected + "\"";
}

sealed seal_envelope(const keyring& keys, std::span<const std::uint8_t> plaintext, std::span<const std::uint8_t> aad) {
  auto r = keys.encrypt(plaintext, aad, 1);
  sealed s;
  if (!r.ok())
    s.error = "encrypt: " + r.error;
  else
    s.data = std::move(r.data);
  return s;
}

opened_envelope open_envelope(const keyring& keys, std::span<const std::uint8_t> envelope,
                              std::span<const std::uint8_t> aad) {
  opened_envelope o;
  if (keys.empty()) {
    o.error = "no keys installed";
    return o;
  }
  auto r = keys.decrypt(envelope, aad);
  if (!r.ok()) {
    o.error = r.error;
    return o;
  }
  o.plaintext = std::move(r.data);
  o.version = envelope[0];
  o.key_index = r.key_index;
  return o;
}

sealed seal(std::span<const std::uint8_t> payload, const seal_options& opt) {
  bytes inner(payload.begin(), payload.end());
  if (opt.compress) {
    bytes c;
    encode_compress(payload, c);
    if (c.size() < inner.size()) inner = std::move(c);  // only if strictly shorter (§7)
  }
  if (opt.crc) {
    const std::uint32_t crc = crc32(inner);
    bytes h{type_byte(message_type::has_crc), static_cast<std::uint8_t>(crc >> 24),
            static_cast<std::uint8_t>(crc >> 16), static_cast<std::uint8_t>(crc >> 8), static_cast<std::uint8_t>(crc)};
    inner.insert(inner.begin(), h.begin(), h.end());
  }
  sealed out;
  if (opt.label.size() > max_label_len) {
    out.error = "label longer than " + std::to_string(max_label_len) + " bytes";
    return out;
  }
  encode_label(opt.label, out.data);
  if (opt.keys) {
    const auto* aad = reinterpret_cast<const std::uint8_t*>(opt.label.data());
    auto env = seal_envelope(*opt.keys, inner, {aad, opt.label.size()});
    if (!env.ok()) return env;
    out.data.insert(out.data.end(), env.data.begin(), env.data.end());
  } else {
    out.data.insert(out.data.end(), inner.begin(), inner.end());
  }
  return out;
}

sealed seal_messages(std::span<const message> msgs, const seal_options& opt) {
  if (msgs.size() == 1) return seal(encode(msgs[0]), opt);
  std::vector<bytes> parts;
  parts.reserve(msgs.size());
  for (const auto& m : msgs) parts.push_back(encode(m));
  bytes c;
  encode_compound(parts, c);
  return seal(c, opt);
}

opened_packet open(std::span<const std::uint8_t> datagram, const open_options& opt) {
  opened_packet out;
  if (datagram.empty()) {
    out.error = err_at(decode_fault::truncated, "empty packet", 0);
    return out;
  }
  auto lab = read_label(datagram);
  if (!lab.ok()) {
    out.error = lab.error;
    return out;
  }
  out.label = lab.value.label;
  if (auto why = check_label(out.label, opt.label, opt.skip_label_check); !why.empty()) {
    out.error = err_at(decode_fault::label, why, 0);
    return out;
  }
  const std::size_t base = lab.value.header_len;
  std::span<const std::uint8_t> rest = datagram.subspan(base);
  if (opt.keys) {
    const std::string aad = out.label.value_or("");
    auto env = open_envelope(*opt.keys, rest, {reinterpret_cast<const std::uint8_t*>(aad.data()), aad.size()});
    if (!env.ok()) {
      out.error = decrypt_error(env.error, base);
      return out;
    }
    out.encrypted = true;
    out.encryption_version = env.version;
    out.key_index = env.key_index;
    out.plaintext = std::move(env.plaintext);
  } else {
    out.plaintext.assign(rest.begin(), rest.end());
  }
  std::span<const std::uint8_t> inner = out.plaintext;
  std::string path;
  if (inner.size() >= crc_header_len && inner[0] == type_byte(message_type::has_crc)) {
    packet_layer l;
    l.path = "hasCrc";
    l.type = message_type::has_crc;
    l.crc =
        (std::uint32_t{inner[1]} << 24) | (std::uint32_t{inner[2]} << 16) | (std::uint32_t{inner[3]} << 8) | inner[4];
    const auto payload = inner.subspan(crc_header_len);
    l.crc_ok = crc32(payload) == l.crc;
    out.layers.push_back(l);
    if (!l.crc_ok) {
      out.error = err_at(decode_fault::crc, "CRC mismatch", 1);
      return out;
    }
    inner = payload;
    path = "hasCrc";
  }
  dispatch(inner, path, 0, true, opt, out);
  return out;
}

}  // namespace chorus::swim
