// Each RPC command's request body on its own (rpc::decode_request_body),
// which fuzz_rpc_request reaches only behind a well-formed header. Input:
// the command's wire name, a line break, then the body bytes (the seeds are
// the captured requests cut that way), so every command's decoder is a
// target the fuzzer can reach in one mutation. Properties: no crash, UB or
// hang; a decoded body re-encodes to bytes that decode to the same value.
#include <cstdint>
#include <string_view>

#include "rpc/protocol.hpp"
#include "rpc_round_trip.hpp"

using namespace chorus::rpc;
namespace mp = chorus::msgpack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const auto nl = all.find('\n');
  if (nl == std::string_view::npos) return 0;
  const auto cmd = parse_command(all.substr(0, nl));
  if (!cmd) return 0;
  const mp::byte_view body(data + nl + 1, size - nl - 1);
  request_body out;
  if (!decode_request_body(*cmd, body, out).empty()) return 0;
  chorus_fuzz::check_round_trip(out);
  return 0;
}
