#pragma once
// `-metrics-addr`: the agent's HTTP listener (http_server.hpp) answering GET
// (or HEAD) /metrics with the Prometheus text exposition (prometheus.hpp)
// and nothing else. The HTTP API (`-http-addr`) serves the same route.
// Other paths get 404, other methods 405; the render callback runs on the
// io thread between two gossip events and only reads counters.
#include <functional>
#include <string>
#include <vector>

#include "agent/http_server.hpp"

namespace chorus::agent {

// What a request gets: status code, content type, body and extra headers.
struct http_reply {
  int code = 200;
  std::string content_type;
  std::string body;
  std::vector<std::string> headers;
};
http_reply route_metrics_request(const http_request& r, const std::function<std::string()>& render);

// An http_server handler serving route_metrics_request.
http_server::handler metrics_handler(std::function<std::string()> render);

}  // namespace chorus::agent
