#pragma once
// HTTP/1.1 requests and responses for the agent's two HTTP listeners
// (`-http-addr`, `-metrics-addr`, see http_server.hpp). Requests are parsed
// by Debian's http_parser (libhttp-parser-dev): the request line, headers,
// Content-Length or chunked bodies, and its URL splitter for path and query.
// This file adds only the limits (head and body size) and the decoded view
// the routes read: percent-decoded path and query parameters, lower-case
// header names.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::agent {

struct http_request {
  std::string method;   // "GET", "POST", ...
  std::string target;   // as sent: "/v1/members?status=alive"
  std::string path;     // percent-decoded: "/v1/members"
  std::string version;  // "HTTP/1.1"
  // Decoded query parameters in order; a name may repeat (tag=a=1&tag=b=2).
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;

  // The first value of a query parameter / header, if present.
  std::optional<std::string> param(std::string_view name) const;
  std::vector<std::string> params(std::string_view name) const;
  std::optional<std::string> header(std::string_view lower_name) const;
};

enum class http_parse_status { incomplete, complete, malformed, head_too_large, body_too_large };

// Feeds bytes as they arrive; one request per parser (bytes after the first
// complete request are ignored: every response closes the connection).
class http_request_parser {
 public:
  http_request_parser(std::size_t max_head, std::size_t max_body);
  ~http_request_parser();
  http_request_parser(const http_request_parser&) = delete;
  http_request_parser& operator=(const http_request_parser&) = delete;

  http_parse_status feed(std::string_view data);
  http_parse_status status() const { return status_; }
  const http_request& request() const { return req_; }

 private:
  struct state;
  std::unique_ptr<state> st_;
  http_request req_;
  http_parse_status status_ = http_parse_status::incomplete;
};

// "%41b+c" -> "Ab c" (`plus_is_space` for query strings); nullopt on a bad
// escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// "a=1&b=x%20y" -> {{a,1},{b,x y}}; nullopt on a bad escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q);

// "Not Found" for 404: http_parser's status table ("<unknown>" outside it).
const char* http_reason(int code);

// A complete response with Content-Length and Connection: close; `extra`
// headers are whole lines without the CRLF. `head_only`: no body (HEAD).
std::string http_response(int code, std::string_view content_type, std::string_view body, bool head_only = false,
                          const std::vector<std::string>& extra = {});
// The head of a streamed response: chunked, no length, Connection: close.
std::string http_stream_head(int code, std::string_view content_type);
// One chunk of a chunked body; "" gives the terminating chunk.
std::string http_chunk(std::string_view data);

}  // namespace chorus::agent
