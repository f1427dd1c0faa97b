#include "agent/join_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace chorus::agent::join_text {

namespace {

// Go's strconv.ParseUint(s, 10, 16) as memberlist reports it.
std::string parse_port(std::string_view s, std::uint16_t& out) {
  const std::string quoted = "strconv.ParseUint: parsing \"" + std::string(s) + "\": ";
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return quoted + "invalid syntax";
  std::uint64_t v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > 65535) return quoted + "value out of range";
  }
  out = static_cast<std::uint16_t>(v);
  return {};
}

std::string lower_first(std::string_view s) {
  std::string r(s);
  if (!r.empty()) r[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(r[0])));
  return r;
}

}  // namespace

target parse(std::string_view text, std::uint16_t default_port) {
  target t;
  // An optional node name before the first '/'.
  if (auto slash = text.find('/'); slash != std::string_view::npos) text = text.substr(slash + 1);
  std::string s(text);
  // A port is present when a bracketed host is followed by ':', or when there
  // is exactly one colon; otherwise the default port is added.
  bool has_port;
  if (s.rfind('[') == 0)
    has_port = s.rfind(':') != std::string::npos && (s.rfind(']') == std::string::npos || s.rfind(':') > s.rfind(']'));
  else
    has_port = std::count(s.begin(), s.end(), ':') == 1;
  if (!has_port) {
    auto b = s.find_first_not_of("[]");
    auto e = s.find_last_not_of("[]");
    std::string host = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    s = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(default_port);
  }
  // Go's net.SplitHostPort.
  const auto bad = [&](const char* why) {
    t.error = "address " + s + ": " + why;
    return t;
  };
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return bad("missing port in address");
  std::string host;
  std::size_t j = 0, k = 0;
  if (s[0] == '[') {
    const auto end = s.find(']');
    if (end == std::string::npos) return bad("missing ']' in address");
    if (end + 1 == s.size()) return bad("missing port in address");
    if (end + 1 != colon) return bad(s[end + 1] == ':' ? "too many colons in address" : "missing port in address");
    host = s.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = s.substr(0, colon);
    if (host.find(':') != std::string::npos) return bad("too many colons in address");
  }
  if (s.find('[', j) != std::string::npos) return bad("unexpected '[' in address");
  if (s.find(']', k) != std::string::npos) return bad("unexpected ']' in address");
  if (auto e = parse_port(std::string_view(s).substr(colon + 1), t.port); !e.empty()) {
    t.error = e;
    return t;
  }
  t.host = host;
  return t;
}

bool is_ip_literal(std::string_view host) {
  const std::string h(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool is_domain_name(std::string_view s) {
  if (s == ".") return true;
  if (s.empty() || s.size() > 254 || (s.size() == 254 && s.back() != '.')) return false;
  char last = '.';
  bool non_numeric = false;
  std::size_t part_len = 0;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      non_numeric = true;
      ++part_len;
    } else if (c >= '0' && c <= '9') {
      ++part_len;
    } else if (c == '-') {
      if (last == '.') return false;  // no label starts with '-'
      ++part_len;
      non_numeric = true;
    } else if (c == '.') {
      if (last == '.' || last == '-' || part_len > 63) return false;
      part_len = 0;
    } else {
      return false;
    }
    last = c;
  }
  if (last == '-' || part_len > 63) return false;
  return non_numeric;
}

std::string dns_server(const std::string& resolv_conf_path) {
  std::ifstream f(resolv_conf_path);
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string key, value;
    if (!(ls >> key >> value) || key != "nameserver") continue;
    return value.find(':') != std::string::npos ? "[" + value + "]:53" : value + ":53";
  }
  return "127.0.0.1:53";  // Go's default when resolv.conf names none
}

std::string lookup_error(std::string_view host, bool not_found, std::string_view other) {
  const std::string h(host);
  if (!is_domain_name(host)) return "lookup " + h + ": no such host";
  return "lookup " + h + " on " + dns_server() + ": " + (not_found ? std::string("no such host") : lower_first(other));
}

std::string resolve_failure(std::string_view text, std::string_view why) {
  return "Failed to resolve " + std::string(text) + ": " + std::string(why);
}

std::string ip_text(const swim::address& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (a.ip_len == 4) return inet_ntop(AF_INET, a.ip.data(), buf, sizeof buf) ? buf : a.to_string();
  if (a.ip_len == 16 && std::equal(a.ip.begin(), a.ip.begin() + 12, mapped))
    return inet_ntop(AF_INET, a.ip.data() + 12, buf, sizeof buf) ? buf : a.to_string();
  return inet_ntop(AF_INET6, a.ip.data(), buf, sizeof buf) ? buf : a.to_string();
}

std::string host_port_text(const swim::address& a) {
  const std::string ip = ip_text(a);
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(a.port);
}

std::string go_reason(const swim::address& to, const swim::exchange_error& why) {
  using swim::exchange_fault;
  const std::string hp = host_port_text(to);
  switch (why.fault) {
    case exchange_fault::connect:
      return "dial tcp " + hp + ": connect: " + lower_first(why.detail);
    case exchange_fault::timeout:
      return "dial tcp " + hp + ": i/o timeout";
    case exchange_fault::eof:
      return "EOF";
    case exchange_fault::read:
      return "read tcp " + hp + ": read: " + lower_first(why.detail);
    case exchange_fault::write:
      return "write tcp " + hp + ": write: " + lower_first(why.detail);
    case exchange_fault::reply:
      // Serf shows the keyring's words for a reply that did not decrypt,
      // and the decoder's for anything else.
      return std::string(swim::keyring_reason(why.reply));
    case exchange_fault::encode:
      return why.detail;
    case exchange_fault::unknown:
      return "push/pull failed";
    case exchange_fault::remote:
    case exchange_fault::unexpected:
    case exchange_fault::incompatible:
      return swim::to_string(why);
  }
  return swim::to_string(why);
}

std::string join_failure(const swim::address& to, const swim::exchange_error& why) {
  return "Failed to join " + ip_text(to) + ": " + go_reason(to, why);
}

std::string multierror(const std::vector<std::string>& errors) {
  if (errors.empty()) return {};
  std::string s = errors.size() == 1 ? "1 error occurred:\n" : std::to_string(errors.size()) + " errors occurred:\n";
  for (const auto& e : errors) s += "\t* " + e + "\n";
  return s + "\n";
}

}  // namespace chorus::agent::join_text
