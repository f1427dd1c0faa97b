#include "agent/http_message.hpp"

#include <http_parser.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace chorus::agent {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> http_request::param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return v;
  return std::nullopt;
}

std::vector<std::string> http_request::params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

std::optional<std::string> http_request::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return std::nullopt;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto k = percent_decode(part.substr(0, eq), true);
    auto v = percent_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
    if (!k || !v) return std::nullopt;
    out.emplace_back(std::move(*k), std::move(*v));
  }
  return out;
}

// ---------------------------------------------------------------------------

struct http_request_parser::state {
  http_parser parser{};
  http_parser_settings settings{};
  http_request_parser* owner = nullptr;
  std::size_t max_head, max_body;
  std::size_t head_bytes = 0;
  std::size_t head_text = 0;  // request target, header names and values, as they arrive
  bool headers_done = false, message_done = false, body_too_large = false, head_too_large = false;
  std::string field, value;
  bool in_value = false;

  void flush_header() {
    if (!field.empty() || in_value) owner->req_.headers.emplace_back(lower(field), value);
    field.clear();
    value.clear();
    in_value = false;
  }
};

http_request_parser::http_request_parser(std::size_t max_head, std::size_t max_body) : st_(std::make_unique<state>()) {
  st_->owner = this;
  st_->max_head = max_head;
  st_->max_body = max_body;
  http_parser_init(&st_->parser, HTTP_REQUEST);
  st_->parser.data = st_.get();
  auto& s = st_->settings;
  s.on_url = [](http_parser* p, const char* at, size_t n) {
    auto* st = static_cast<state*>(p->data);
    st->head_text += n;
    st->owner->req_.target.append(at, n);
    return 0;
  };
  s.on_header_field = [](http_parser* p, const char* at, size_t n) {
    auto* st = static_cast<state*>(p->data);
    if (st->in_value) st->flush_header();
    st->head_text += n + 4;  // ": " and CRLF
    st->field.append(at, n);
    return 0;
  };
  s.on_header_value = [](http_parser* p, const char* at, size_t n) {
    auto* st = static_cast<state*>(p->data);
    st->in_value = true;
    st->head_text += n;
    st->value.append(at, n);
    return 0;
  };
  s.on_headers_complete = [](http_parser* p) {
    auto* st = static_cast<state*>(p->data);
    st->flush_header();
    st->headers_done = true;
    // A head that arrived whole in one read: its size from its parts.
    if (st->head_text > st->max_head) {
      st->head_too_large = true;
      return -1;
    }
    // A declared length over the limit is refused before any of it arrives.
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > st->max_body) {
      st->body_too_large = true;
      return -1;
    }
    return 0;
  };
  s.on_body = [](http_parser* p, const char* at, size_t n) {
    auto* st = static_cast<state*>(p->data);
    auto& body = st->owner->req_.body;
    if (body.size() + n > st->max_body) {
      st->body_too_large = true;
      return -1;
    }
    body.append(at, n);
    return 0;
  };
  s.on_message_complete = [](http_parser* p) {
    auto* st = static_cast<state*>(p->data);
    st->message_done = true;
    http_parser_pause(p, 1);  // one request per connection
    return 0;
  };
}

http_request_parser::~http_request_parser() = default;

http_parse_status http_request_parser::feed(std::string_view data) {
  if (status_ != http_parse_status::incomplete) return status_;
  auto& st = *st_;
  const auto n = http_parser_execute(&st.parser, &st.settings, data.data(), data.size());
  if (!st.headers_done) {
    st.head_bytes += n;
    if (st.head_bytes > st.max_head) return status_ = http_parse_status::head_too_large;
  }
  if (st.head_too_large) return status_ = http_parse_status::head_too_large;
  if (st.body_too_large) return status_ = http_parse_status::body_too_large;
  const auto err = HTTP_PARSER_ERRNO(&st.parser);
  if (err != HPE_OK && err != HPE_PAUSED) {
    // http_parser's own header limit (80 KiB) also ends up here.
    return status_ = err == HPE_HEADER_OVERFLOW ? http_parse_status::head_too_large : http_parse_status::malformed;
  }
  if (!st.message_done) return status_;

  req_.method = http_method_str(static_cast<http_method>(st.parser.method));
  req_.version = "HTTP/" + std::to_string(st.parser.http_major) + "." + std::to_string(st.parser.http_minor);
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(req_.target.data(), req_.target.size(), req_.method == "CONNECT", &u) != 0)
    return status_ = http_parse_status::malformed;
  auto field = [&](int f) -> std::string_view {
    if (!(u.field_set & (1 << f))) return {};
    return std::string_view(req_.target).substr(u.field_data[f].off, u.field_data[f].len);
  };
  auto path = percent_decode(field(UF_PATH), false);
  auto query = parse_query(field(UF_QUERY));
  if (!path || !query) return status_ = http_parse_status::malformed;
  req_.path = std::move(*path);
  req_.query = std::move(*query);
  return status_ = http_parse_status::complete;
}

// ---------------------------------------------------------------------------

const char* http_reason(int code) { return http_status_str(static_cast<http_status>(code)); }

std::string http_response(int code, std::string_view content_type, std::string_view body, bool head_only,
                          const std::vector<std::string>& extra) {
  std::string out = "HTTP/1.1 " + std::to_string(code) + " " + http_reason(code) + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : extra) out += h + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string http_stream_head(int code, std::string_view content_type) {
  return "HTTP/1.1 " + std::to_string(code) + " " + http_reason(code) +
         "\r\nContent-Type: " + std::string(content_type) +
         "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
}

std::string http_chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

}  // namespace chorus::agent
