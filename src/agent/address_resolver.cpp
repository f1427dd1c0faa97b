#include "agent/address_resolver.hpp"

#include <memory>

#include "agent/join_text.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::agent {

void resolve_addresses(asio::io_context& io, std::vector<lookup_item> items,
                       std::function<void(std::vector<lookup_outcome>)> done) {
  struct pending {
    std::vector<lookup_outcome> outcomes;
    std::size_t left = 0;
    std::function<void(std::vector<lookup_outcome>)> done;
  };
  auto p = std::make_shared<pending>();
  p->outcomes.resize(items.size());
  p->left = items.size();
  p->done = std::move(done);
  auto finish = [p] { p->done(std::move(p->outcomes)); };
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& item = items[i];
    asio::error_code ec;
    const auto ip = asio::ip::make_address(item.host, ec);
    if (!ec) {
      p->outcomes[i].addresses.push_back(swim::transport::to_address(ip, item.port));
      --p->left;
      continue;
    }
    auto res = std::make_shared<asio::ip::udp::resolver>(io);
    res->async_resolve(item.host, std::to_string(item.port),
                       [p, res, i, text = item.text, host = item.host, finish](
                           const asio::error_code& ec, asio::ip::udp::resolver::results_type r) {
                         const bool not_found = ec == asio::error::host_not_found || ec == asio::error::no_data;
                         if (ec)
                           p->outcomes[i].error = join_text::resolve_failure(
                               text, join_text::lookup_error(host, not_found, not_found ? "" : ec.message()));
                         else
                           for (const auto& e : r)
                             p->outcomes[i].addresses.push_back(
                                 swim::transport::to_address(e.endpoint().address(), e.endpoint().port()));
                         if (--p->left == 0) finish();
                       });
  }
  if (p->left == 0) asio::post(io, finish);
}

}  // namespace chorus::agent
