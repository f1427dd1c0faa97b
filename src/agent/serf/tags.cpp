#include "agent/serf/tags.hpp"

#include "agent/serf/codec.hpp"
#include "swim/msgpack.hpp"

namespace chorus::agent {

encoded_tags encode_tags(const tag_map& tags, std::uint8_t serf_protocol) {
  encoded_tags r;
  if (serf_protocol < 3) {
    // Old peers only knew a role string.
    if (auto it = tags.find("role"); it != tags.end()) r.meta.assign(it->second.begin(), it->second.end());
  } else {
    r.meta.push_back(tag_magic_byte);
    msgpack::writer w(r.meta);
    write_string_map(w, tags);
  }
  if (r.meta.size() > meta_max_size) {
    r.meta.clear();
    r.error = std::string(tags_too_long_error);
  }
  return r;
}

swim::decoded<tag_map> decode_tags(std::span<const std::uint8_t> meta) {
  swim::decoded<tag_map> d;
  if (meta.empty() || meta[0] != tag_magic_byte) {
    d.value["role"] = std::string(meta.begin(), meta.end());
    return d;
  }
  const auto r = msgpack::read(meta.subspan(1));
  std::string error;
  if (!r.ok()) {
    d.error = swim::decode_error{"tags: " + r.error, 1 + r.consumed};
  } else if (!read_string_map(r.v, d.value, error)) {
    d.error = swim::decode_error{"tags: " + error, 1};
  }
  if (!d.ok()) d.value.clear();
  return d;
}

}  // namespace chorus::agent
