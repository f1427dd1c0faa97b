#pragma once
// Serf's agent decodes the keys of install-key/use-key/remove-key with Go's
// base64.StdEncoding before anything else and passes its error through to
// the client ("illegal base64 data at input byte N"). This reproduces that
// check, offsets included, so `serf keys -install=bad` prints the same line
// against chorus. Written from the behaviour of Go's decoder: standard
// alphabet, '=' padding required, '\r' and '\n' skipped anywhere.
#include <string>
#include <string_view>

namespace chorus::rpc {

// "" when Go would decode `text`, else Go's error text.
std::string go_base64_error(std::string_view text);

}  // namespace chorus::rpc
