#pragma once
// The simulated network (STYLE #5): per-pair latency (constant or from an RTT
// matrix), uniform random loss, one-way link loss, per-node inbound and
// outbound loss (a lossy, deaf or mute node), partitions, and a TCP
// model. UDP datagrams are dropped; TCP never drops, it retransmits: each
// lost segment costs a retransmission timeout, and an exchange that cannot
// finish before its deadline fails, as a real connection would time out.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/random.hpp"
#include "swim/time.hpp"

namespace chorus::sim {

using swim::duration;
using swim::time_point;
using namespace std::chrono_literals;

class network {
 public:
  // --- latency ------------------------------------------------------------
  void set_latency(duration one_way) { one_way_ = one_way; }
  // Whitespace-separated square matrix of RTTs in ms (seattle99 format);
  // node i sits at row i % size. Returns false (and an error) if unreadable.
  bool load_rtt_matrix(const std::string& path, std::string& error);
  duration one_way(std::uint32_t a, std::uint32_t b) const;
  // A scenario's latency: the matrix at `matrix_path` when one is given,
  // else `one_way` everywhere. Throws std::runtime_error when the matrix is
  // unreadable (bad input to a scenario, not a network event).
  void use_latency(const std::string& matrix_path, duration one_way);

  // --- loss and partitions ------------------------------------------------
  void set_loss(double p) { loss_ = p; }
  double loss() const { return loss_; }
  // Extra loss on the directed link a -> b only.
  void set_link_loss(std::uint32_t a, std::uint32_t b, double p) { link_loss_[key(a, b)] = p; }
  // Loss on what `node` receives (`in`) and sends (`out`) over UDP, and over
  // TCP too when `tcp`: 1.0 in = a deaf node, 1.0 out = a mute one. Like an
  // iptables rule on the node's address, it stays until cleared (heal()
  // does not touch it: it is the node's fault, not the network's).
  void set_node_loss(std::uint32_t node, double in, double out, bool tcp);
  void clear_node_loss(std::uint32_t node) { set_node_loss(node, 0, 0, false); }
  // Nodes in different groups cannot reach each other; group 0 everywhere heals.
  void set_group(std::uint32_t node, std::uint32_t group);
  void heal() {
    groups_.clear();
    link_loss_.clear();
  }
  bool blocked(std::uint32_t a, std::uint32_t b) const;

  // Decides the fate of one UDP datagram a -> b.
  bool drop_datagram(std::uint32_t a, std::uint32_t b, chorus::random_source& rng) const;
  // Time to carry `size` bytes a -> b over an established TCP connection,
  // retransmissions included.
  duration tcp_transfer(std::uint32_t a, std::uint32_t b, std::size_t size, chorus::random_source& rng) const;
  // Time to open a TCP connection (SYN retransmits at 1 s, 2 s, 4 s ...).
  duration tcp_connect(std::uint32_t a, std::uint32_t b, chorus::random_source& rng) const;

 private:
  static std::uint64_t key(std::uint32_t a, std::uint32_t b) { return (std::uint64_t{a} << 32) | b; }
  double link_loss(std::uint32_t a, std::uint32_t b) const;
  // Probability that one datagram (or, with `tcp`, one segment) a -> b is lost.
  double loss_between(std::uint32_t a, std::uint32_t b, bool tcp) const;

  struct node_loss {
    double in = 0, out = 0;
    bool tcp = false;
  };

  duration one_way_ = 500us;
  std::vector<std::uint16_t> rtt_ms_;  // row-major matrix_n_ x matrix_n_
  std::size_t matrix_n_ = 0;
  double loss_ = 0;
  std::unordered_map<std::uint64_t, double> link_loss_;
  std::vector<std::uint32_t> groups_;  // empty = no partition
  std::vector<node_loss> node_loss_;   // empty = no faulty node
};

}  // namespace chorus::sim
