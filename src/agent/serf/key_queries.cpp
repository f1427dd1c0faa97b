#include "agent/serf/key_queries.hpp"

#include "agent/serf/codec.hpp"
#include "swim/keyring.hpp"

namespace chorus::agent {

std::string_view key_query_name(key_op op) {
  switch (op) {
    case key_op::install:
      return install_key_query;
    case key_op::use:
      return use_key_query;
    case key_op::remove:
      return remove_key_query;
    case key_op::list:
      return list_keys_query;
  }
  return list_keys_query;
}

key_query_outcome handle_key_query(std::string_view name, std::span<const std::uint8_t> payload, swim::keyring* ring,
                                   const std::function<bool(const bytes&)>& fits) {
  key_query_outcome out;
  auto& resp = out.response;
  const bool list = name == list_keys_query;
  if (ring == nullptr || ring->empty()) {
    resp.message = std::string(list ? empty_keyring_error : no_keyring_error);
    return out;
  }
  if (list) {
    for (const auto& k : ring->keys()) resp.keys.push_back(swim::key_to_base64(k));
    const auto all = ring->keys();
    resp.primary_key = swim::key_to_base64(all.front());
    resp.result = true;
    const std::size_t actual = resp.keys.size();
    // Serf tries the full list, then at most limit/25 keys, then fewer.
    std::size_t i = 1024 / min_encoded_key_length;
    for (;;) {
      if (fits(encode(serf_message{resp}))) break;
      if (i > resp.keys.size()) i = resp.keys.size();
      resp.keys.resize(i);
      resp.message =
          "truncated key list response, showing first " + std::to_string(i) + " of " + std::to_string(actual) + " keys";
      if (i == 0) break;
      --i;
    }
    return out;
  }
  auto decoded = decode_serf_message(payload);
  const auto* req = decoded.ok() ? std::get_if<key_request>(&decoded.value) : nullptr;
  if (req == nullptr) {
    resp.message =
        "Failed to decode key request: " + (decoded.ok() ? std::string("wrong message type") : decoded.error.what);
    return out;
  }
  std::string err;
  if (name == install_key_query)
    err = ring->install(req->key);
  else if (name == use_key_query)
    err = ring->use(req->key);
  else
    err = ring->remove(req->key);
  if (!err.empty()) {
    resp.message = err;
    return out;
  }
  resp.result = true;
  out.keyring_changed = true;
  return out;
}

void tally_key_response(key_result& r, const std::string& from, std::span<const std::uint8_t> payload) {
  ++r.num_resp;
  if (payload.empty() || payload[0] != static_cast<std::uint8_t>(serf_message_type::key_response)) {
    r.messages[from] = "Invalid key query response type: " + std::to_string(payload.empty() ? 0 : payload[0]);
    ++r.num_err;
    return;
  }
  auto decoded = decode_serf_message(payload);
  const auto* kr = decoded.ok() ? std::get_if<key_response>(&decoded.value) : nullptr;
  if (kr == nullptr) {
    r.messages[from] = "Failed to decode key query response: " + decoded.error.what;
    ++r.num_err;
    return;
  }
  if (!kr->result) {
    r.messages[from] = kr->message;
    ++r.num_err;
  } else if (!kr->message.empty()) {
    r.messages[from] = kr->message;  // a warning (e.g. truncated list)
  }
  for (const auto& k : kr->keys) ++r.keys[k];
  if (!kr->primary_key.empty()) ++r.primary_keys[kr->primary_key];
}

void finish_key_result(key_result& r) {
  if (r.num_err != 0)
    r.error = std::to_string(r.num_err) + "/" + std::to_string(r.num_nodes) + " nodes reported failure";
  else if (r.num_resp != r.num_nodes)
    r.error = std::to_string(r.num_resp) + "/" + std::to_string(r.num_nodes) + " nodes reported success";
}

}  // namespace chorus::agent
