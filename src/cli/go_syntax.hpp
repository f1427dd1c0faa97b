#pragma once
// `serf monitor` prints each stream event as "Event Info:" followed by
// "\tKEY: VALUE" lines where VALUE is Go's %#v of the generically decoded
// msgpack value. The Go type of such a value depends on the msgpack *format*
// (fixint -> int64 printed in decimal, uint8..64 -> uint64 printed 0x..,
// bin -> []byte, map -> map[interface {}]interface {}), so this works on the
// raw bytes rather than on a decoded tree. Keys are printed sorted (Go's fmt
// sorts nested maps; Serf's top-level order is random).
#include <string>

#include "swim/msgpack.hpp"

namespace chorus::cli {

// The "\tKey: value\n" lines for one record (a msgpack map); "" if the bytes
// are not a map.
std::string go_event_info_lines(msgpack::byte_view record);

// Go's strconv.Quote of a string.
std::string go_quote(std::string_view s);

}  // namespace chorus::cli
