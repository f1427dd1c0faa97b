#include "agent/srv_reply.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

namespace chorus::agent::srv {

namespace {

constexpr std::uint16_t flag_truncated = 0x0200;
constexpr std::uint16_t flag_recursion_desired = 0x0100;
constexpr std::uint16_t opcode_mask = 0x7800;

// RFC 1035 4.1.1 and RFC 2136 response codes, in words.
std::string rcode_text(unsigned rcode) {
  switch (rcode) {
    case 1:
      return "the server could not read the query (FORMERR)";
    case 2:
      return "server failure (SERVFAIL)";
    case 3:
      return "no such host (NXDOMAIN)";
    case 4:
      return "the server does not do this kind of query (NOTIMP)";
    case 5:
      return "query refused (REFUSED)";
    default:
      return "error code " + std::to_string(rcode) + " from the server";
  }
}

int option_value(const std::string& word, std::string_view key, int lo, int hi, int fallback) {
  if (word.rfind(key, 0) != 0) return fallback;
  const std::string v = word.substr(key.size());
  if (v.empty() || v.size() > 3 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return fallback;
  return std::clamp(std::stoi(v), lo, hi);
}

std::string host_text(const dns::name& n) {
  std::string s;
  for (const auto& l : n) s += (s.empty() ? "" : ".") + l;
  return s;
}

}  // namespace

constexpr std::string_view srv_prefix = "srv:";

bool is_srv_argument(std::string_view arg) {
  if (arg.substr(0, srv_prefix.size()) != srv_prefix) return false;
  // "srv:7946" stays what it is to Serf: the host "srv" at port 7946.
  const auto rest = arg.substr(srv_prefix.size());
  return rest.empty() || !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string_view srv_name(std::string_view arg) {
  return is_srv_argument(arg) ? arg.substr(srv_prefix.size()) : std::string_view{};
}

dns::name parse_name(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  dns::name n;
  std::size_t encoded = 1;
  while (!text.empty()) {
    const auto dot = text.find('.');
    const auto label = text.substr(0, dot);
    if (label.empty() || label.size() > dns::max_label) return {};
    encoded += 1 + label.size();
    n.emplace_back(label);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return {};  // "a..": an empty last label
  }
  if (encoded > dns::max_name) return {};
  return n;
}

resolver_config parse_resolv_conf(std::string_view text) {
  resolver_config c;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key;
    if (!(words >> key) || key[0] == '#' || key[0] == ';') continue;
    if (key == "nameserver") {
      std::string ip;
      if (c.nameserver.empty() && words >> ip) c.nameserver = ip;
    } else if (key == "options") {
      // glibc's bounds: timeout at most 30 s, attempts at most 5.
      for (std::string w; words >> w;) {
        c.timeout = std::chrono::seconds(option_value(w, "timeout:", 1, 30, int(c.timeout.count())));
        c.attempts = option_value(w, "attempts:", 1, 5, c.attempts);
      }
    }
  }
  return c;
}

resolver_config read_resolv_conf(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return parse_resolv_conf(s.str());
}

std::vector<std::uint8_t> query(const dns::name& qname, std::uint16_t id) {
  dns::message m;
  m.id = id;
  m.flags = flag_recursion_desired;
  m.questions.push_back({qname, dns::type_srv, dns::class_in});
  return dns::encode(m);
}

reply read_reply(std::span<const std::uint8_t> bytes, std::uint16_t id, const dns::name& qname) {
  reply r;
  auto parsed = dns::parse(bytes);
  if (!parsed.msg) {
    r.error = "malformed reply: " + parsed.error;
    return r;
  }
  const auto& m = *parsed.msg;
  if (!m.is_response() || m.id != id || (m.flags & opcode_mask) != 0) {
    r.error = "not a reply to our query (ID or flags)";
    return r;
  }
  if (m.questions.size() != 1 || !dns::same_name(m.questions[0].qname, qname) ||
      m.questions[0].qtype != dns::type_srv) {
    r.error = "reply to a different question";
    return r;
  }
  if (const unsigned rcode = m.flags & 0x000F; rcode != 0) {
    r.verdict = reply::kind::failed;
    r.error = rcode_text(rcode);
    return r;
  }
  auto glue = [&m](const dns::name& host) {
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto* section : {&m.answers, &m.additional})
      for (const auto& rec : *section)
        if ((rec.rtype == dns::type_a || rec.rtype == dns::type_aaaa) && (rec.rclass & 0x7FFF) == dns::class_in &&
            dns::same_name(rec.rname, host) && std::find(out.begin(), out.end(), rec.address) == out.end())
          out.push_back(rec.address);
    return out;
  };
  for (const auto& rec : m.answers) {
    // A target of "." means "no service here" (RFC 2782).
    if (rec.rtype != dns::type_srv || (rec.rclass & 0x7FFF) != dns::class_in || rec.target.empty()) continue;
    r.targets.push_back({host_text(rec.target), rec.port, rec.priority, rec.weight, glue(rec.target)});
  }
  std::sort(r.targets.begin(), r.targets.end(), [](const target& a, const target& b) {
    return std::tie(a.priority, b.weight, a.host, a.port) < std::tie(b.priority, a.weight, b.host, b.port);
  });
  r.verdict = reply::kind::failed;
  if (r.targets.empty())
    r.error =
        (m.flags & flag_truncated) ? "reply truncated before its SRV records (TCP is not supported)" : "no SRV records";
  else
    r.verdict = reply::kind::answered;
  return r;
}

}  // namespace chorus::agent::srv
