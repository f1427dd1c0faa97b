// The agent's RPC request decoding, as src/rpc/server.cpp runs it on every
// byte a client sends: requests are cut from the front of the stream
// (next_request: header, command, body extent) and each body is decoded for
// its command (decode_request_body); members-filtered expressions are
// compiled and matched (filter_members), keys checked as Go's base64 would.
// Properties: no crash, UB, leak or hang; every cut request makes progress
// and stays inside the input; a body that decodes re-encodes to bytes that
// decode to the same value. The reply-side decoders the CLI runs on an
// agent's bytes get the same input too.
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "rpc/framing.hpp"
#include "rpc/go_base64.hpp"
#include "rpc/member_filter.hpp"
#include "rpc/protocol.hpp"
#include "rpc_round_trip.hpp"

using namespace chorus::rpc;
namespace mp = chorus::msgpack;

namespace {

// What the server does with the decoded body beyond decoding it.
void use(const request_body& body) {
  if (const auto* f = std::get_if<members_filtered_request>(&body)) {
    std::vector<member> ms(2);
    ms[0].name = "web-1";
    ms[0].status = "alive";
    ms[0].tags = string_map{{"role", "web"}, {"dc", "sin"}};
    ms[1].name = std::string(64, 'a');
    ms[1].status = "failed";
    (void)filter_members(*f, ms);
  }
  if (const auto* k = std::get_if<key_request>(&body)) (void)go_base64_error(k->key);
}

template <class T>
void decode_reply(mp::byte_view in) {
  T v;
  (void)decode_bytes(in, v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mp::byte_view in(data, size);
  while (!in.empty()) {
    const request_frame f = next_request(in);
    if (f.status != frame_status::complete) break;
    if (f.header_size == 0 || f.size() > in.size()) std::abort();
    if (f.cmd) {
      request_body body;
      if (decode_request_body(*f.cmd, f.body(in), body).empty()) {
        chorus_fuzz::check_round_trip(body);
        use(body);
      }
    }
    in = in.subspan(f.size());
  }

  const mp::byte_view all(data, size);
  decode_reply<response_header>(all);
  decode_reply<members_response>(all);
  decode_reply<key_response>(all);
  decode_reply<stats_response>(all);
  decode_reply<coordinate_response>(all);
  decode_reply<event_record>(all);
  decode_reply<query_record>(all);
  decode_reply<log_record>(all);
  return 0;
}
