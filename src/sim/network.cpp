#include "sim/network.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace chorus::sim {

namespace {
// Linux: minimum RTO 200 ms for data, 1 s initial RTO for a SYN.
constexpr duration data_rto = 200ms;
constexpr duration syn_rto = 1s;
// A typical Ethernet TCP segment payload.
constexpr std::size_t segment_size = 1448;
}  // namespace

bool network::load_rtt_matrix(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open " + path;
    return false;
  }
  std::vector<std::vector<double>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<double> row;
    double v;
    while (ls >> v) row.push_back(v);
    if (!row.empty()) rows.push_back(std::move(row));
  }
  const std::size_t n = rows.size();
  for (const auto& r : rows)
    if (r.size() != n) {
      error = path + ": not a square matrix";
      return false;
    }
  if (n == 0) {
    error = path + ": empty";
    return false;
  }
  rtt_ms_.assign(n * n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      rtt_ms_[i * n + j] = static_cast<std::uint16_t>(rows[i][j] < 0 ? 0 : rows[i][j]);
  matrix_n_ = n;
  return true;
}

void network::use_latency(const std::string& matrix_path, duration one_way) {
  if (matrix_path.empty()) {
    set_latency(one_way);
    return;
  }
  std::string err;
  if (!load_rtt_matrix(matrix_path, err)) throw std::runtime_error(err);
}

duration network::one_way(std::uint32_t a, std::uint32_t b) const {
  if (matrix_n_ == 0) return one_way_;
  const std::uint16_t rtt = rtt_ms_[(a % matrix_n_) * matrix_n_ + (b % matrix_n_)];
  if (rtt == 0) return 250us;  // two nodes on the same matrix host
  return duration{std::int64_t{rtt} * 1000 / 2};
}

void network::set_group(std::uint32_t node, std::uint32_t group) {
  if (groups_.size() <= node) groups_.resize(node + 1, 0);
  groups_[node] = group;
}

bool network::blocked(std::uint32_t a, std::uint32_t b) const {
  if (groups_.empty()) return link_loss(a, b) >= 1.0;
  const std::uint32_t ga = a < groups_.size() ? groups_[a] : 0;
  const std::uint32_t gb = b < groups_.size() ? groups_[b] : 0;
  return ga != gb || link_loss(a, b) >= 1.0;
}

double network::link_loss(std::uint32_t a, std::uint32_t b) const {
  if (link_loss_.empty()) return 0;
  auto it = link_loss_.find(key(a, b));
  return it == link_loss_.end() ? 0 : it->second;
}

void network::set_node_loss(std::uint32_t node, double in, double out, bool tcp) {
  if (node_loss_.size() <= node) node_loss_.resize(node + 1);
  node_loss_[node] = {in, out, tcp};
}

double network::loss_between(std::uint32_t a, std::uint32_t b, bool tcp) const {
  double keep = (1.0 - loss_) * (1.0 - link_loss(a, b));
  if (a < node_loss_.size() && (!tcp || node_loss_[a].tcp)) keep *= 1.0 - node_loss_[a].out;
  if (b < node_loss_.size() && (!tcp || node_loss_[b].tcp)) keep *= 1.0 - node_loss_[b].in;
  return 1.0 - keep;
}

bool network::drop_datagram(std::uint32_t a, std::uint32_t b, chorus::random_source& rng) const {
  if (blocked(a, b)) return true;
  const double p = loss_between(a, b, false);
  if (p >= 1.0) return true;
  return p > 0 && rng.unit() < p;
}

duration network::tcp_transfer(std::uint32_t a, std::uint32_t b, std::size_t size, chorus::random_source& rng) const {
  duration t = one_way(a, b);
  const double p = loss_between(a, b, true);
  if (p <= 0) return t;
  const std::size_t segments = size / segment_size + 1;
  for (std::size_t s = 0; s < segments; ++s) {
    duration rto = std::max(data_rto, 2 * one_way(a, b));
    while (rng.unit() < p) {  // this segment (or its ack) was lost: wait, resend
      t += rto;
      rto *= 2;
      if (t > 120s) return t;
    }
  }
  return t;
}

duration network::tcp_connect(std::uint32_t a, std::uint32_t b, chorus::random_source& rng) const {
  duration t = one_way(a, b) + one_way(b, a);
  const double p_ab = loss_between(a, b, true);
  const double p_ba = loss_between(b, a, true);
  duration rto = syn_rto;
  // SYN or SYN-ACK lost: the client resends after the SYN timeout.
  while (rng.unit() < 1.0 - (1.0 - p_ab) * (1.0 - p_ba)) {
    t += rto;
    rto *= 2;
    if (t > 120s) break;
  }
  return t;
}

}  // namespace chorus::sim
