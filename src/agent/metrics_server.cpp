#include "agent/metrics_server.hpp"

#include <nlohmann/json.hpp>

#include "agent/prometheus.hpp"

namespace chorus::agent {

http_reply route_metrics_request(const http_request& r, const std::function<std::string()>& render) {
  const std::string json = "application/json";
  if (r.path != "/metrics")
    return {404,
            json,
            R"({"error":"not found"})"
            "\n",
            {}};
  if (r.method != "GET" && r.method != "HEAD")
    return {405,
            json,
            R"({"error":"method not allowed"})"
            "\n",
            {"Allow: GET, HEAD"}};
  return {200, std::string(prometheus::content_type), render ? render() : std::string(), {}};
}

http_server::handler metrics_handler(std::function<std::string()> render) {
  return [render = std::move(render)](const http_request& r, std::shared_ptr<http_exchange> x) {
    const auto reply = route_metrics_request(r, render);
    x->reply(reply.code, reply.content_type, reply.body, reply.headers);
  };
}

}  // namespace chorus::agent
