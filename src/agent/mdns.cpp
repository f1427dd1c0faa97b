#include "agent/mdns.hpp"

#include <algorithm>
#include <asio/ip/multicast.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>

#include "agent/ip_port_text.hpp"

namespace chorus::agent::mdns {

namespace {

// At most this many addresses wait for one join batch: a flood of fake
// announcements cannot grow the batch (or the joins it causes) without bound.
constexpr std::size_t max_batch = 64;
constexpr auto quiet_period = std::chrono::milliseconds(100);
constexpr std::chrono::seconds poll_interval{60};
// RFC 6762 6: a multicast answer to the same question at most once a second.
constexpr auto multicast_answer_gap = std::chrono::seconds(1);

dns::name with_prefix(const std::string& label, const dns::name& rest) {
  dns::name n{label};
  n.insert(n.end(), rest.begin(), rest.end());
  return n;
}

// The records describing `self` beyond the PTR: SRV, TXT, address.
std::vector<dns::record> instance_records(const identity& self) {
  const auto inst = instance_name(self);
  std::vector<dns::record> out;
  dns::record srv;
  srv.rname = inst;
  srv.rtype = dns::type_srv;
  srv.rclass = dns::class_in | dns::class_top_bit;  // unique record: cache flush
  srv.ttl = ttl_seconds;
  srv.port = self.gossip_port;
  srv.target = inst;
  out.push_back(srv);
  dns::record txt;
  txt.rname = inst;
  txt.rtype = dns::type_txt;
  txt.rclass = dns::class_in | dns::class_top_bit;
  txt.ttl = ttl_seconds;
  txt.txt = {"Serf '" + self.cluster + "' cluster"};
  out.push_back(txt);
  dns::record addr;
  addr.rname = inst;
  addr.rtype = self.address.size() == 4 ? dns::type_a : dns::type_aaaa;
  addr.rclass = dns::class_in | dns::class_top_bit;
  addr.ttl = ttl_seconds;
  addr.address = self.address;
  out.push_back(addr);
  return out;
}

}  // namespace

dns::name service_name(const std::string& cluster) { return {"_serf_" + cluster, "_tcp", "local"}; }

dns::name instance_name(const identity& self) {
  std::string label = self.node.substr(0, dns::max_label);
  if (label.empty()) label = "chorus";
  return with_prefix(label, service_name(self.cluster));
}

dns::message browse_query(const std::string& cluster) {
  dns::message m;
  m.questions.push_back({service_name(cluster), dns::type_ptr, dns::class_in});
  return m;
}

dns::message instance_query(const dns::name& instance) {
  dns::message m;
  m.questions.push_back({instance, dns::type_any, dns::class_in});
  return m;
}

std::optional<answer> answer_query(const identity& self, const dns::message& query) {
  // Standard queries only (opcode 0), never responses.
  if (query.is_response() || ((query.flags >> 11) & 0xF) != 0) return std::nullopt;
  const auto service = service_name(self.cluster);
  const auto inst = instance_name(self);
  answer a;
  a.msg.flags = dns::flag_response | dns::flag_authoritative;
  bool describe = false;
  for (const auto& q : query.questions) {
    if ((q.qclass & ~dns::class_top_bit) != dns::class_in && (q.qclass & ~dns::class_top_bit) != 255) continue;
    const bool ptr = q.qtype == dns::type_ptr || q.qtype == dns::type_any;
    if (ptr && dns::same_name(q.qname, service)) {
      dns::record r;
      r.rname = service;
      r.rtype = dns::type_ptr;
      r.ttl = ttl_seconds;
      r.target = inst;
      a.msg.answers.push_back(r);
      describe = true;
    } else if (dns::same_name(q.qname, inst)) {
      describe = true;
    } else {
      continue;
    }
    a.unicast = a.unicast || (q.qclass & dns::class_top_bit);
  }
  if (!describe) return std::nullopt;
  // Answers to a browse carry the rest as additional records; a direct
  // question about the instance gets them as answers.
  auto& where = a.msg.answers.empty() ? a.msg.answers : a.msg.additional;
  for (auto& r : instance_records(self)) where.push_back(std::move(r));
  return a;
}

browse_result read_response(const std::string& cluster, const dns::message& response) {
  browse_result out;
  if (!response.is_response()) return out;
  const auto service = service_name(cluster);
  std::vector<const dns::record*> all;
  for (const auto& r : response.answers) all.push_back(&r);
  for (const auto& r : response.additional) all.push_back(&r);
  auto is_instance = [&](const dns::name& n) {
    return n.size() == service.size() + 1 && dns::same_name(dns::name(n.begin() + 1, n.end()), service);
  };
  std::vector<dns::name> seen_instances;
  for (const auto* r : all) {
    if (r->rtype != dns::type_srv || !is_instance(r->rname)) continue;
    seen_instances.push_back(r->rname);
    if (r->port == 0) continue;
    // The address record of the SRV target, in this same response.
    for (const auto* a : all) {
      if ((a->rtype == dns::type_a || a->rtype == dns::type_aaaa) && dns::same_name(a->rname, r->target)) {
        out.endpoints.push_back(ip_port_text(a->address, r->port));
        break;
      }
    }
  }
  for (const auto* r : all) {
    if (r->rtype != dns::type_ptr || !dns::same_name(r->rname, service) || !is_instance(r->target)) continue;
    bool described = false;
    for (const auto& n : seen_instances) described = described || dns::same_name(n, r->target);
    if (!described) out.incomplete.push_back(r->target);
  }
  return out;
}

// --- discovery ---------------------------------------------------------------

discovery::discovery(asio::io_context& io, options opt, join_fn join, log_fn log)
    : io_(io), opt_(std::move(opt)), join_(std::move(join)), log_(std::move(log)), browse_timer_(io), quiet_timer_(io) {
  self_endpoint_ = ip_port_text(opt_.self.address, opt_.self.gossip_port);
}

discovery::~discovery() {
  *alive_ = false;
  stop();
}

std::string discovery::open_v4(channel& c) {
  using asio::ip::udp;
  asio::error_code ec;
  c.sock.open(udp::v4(), ec);
  // Other responders (avahi, other agents in this network namespace) share the port.
  if (!ec) c.sock.set_option(udp::socket::reuse_address(true), ec);
  if (!ec) c.sock.bind(udp::endpoint(asio::ip::address_v4::any(), port), ec);
  if (ec) return "cannot bind 0.0.0.0:5353: " + ec.message();
  const auto group = asio::ip::make_address_v4(group_v4);
  if (opt_.interface_ip.is_unspecified())
    c.sock.set_option(asio::ip::multicast::join_group(group), ec);
  else
    c.sock.set_option(asio::ip::multicast::join_group(group, opt_.interface_ip), ec);
  if (ec) return std::string("cannot join group ") + group_v4 + ": " + ec.message();
  if (!opt_.interface_ip.is_unspecified()) {
    c.sock.set_option(asio::ip::multicast::outbound_interface(opt_.interface_ip), ec);
    if (ec) return "cannot send on " + opt_.interface_ip.to_string() + ": " + ec.message();
  }
  c.sock.set_option(asio::ip::multicast::hops(255), ec);  // RFC 6762 11
  c.sock.set_option(asio::ip::multicast::enable_loopback(true), ec);
  return {};
}

std::string discovery::open_v6(channel& c) {
  using asio::ip::udp;
  asio::error_code ec;
  c.sock.open(udp::v6(), ec);
  // IPv6 only: IPv4 has its own socket on the same port.
  if (!ec) c.sock.set_option(asio::ip::v6_only(true), ec);
  if (!ec) c.sock.set_option(udp::socket::reuse_address(true), ec);
  if (!ec) c.sock.bind(udp::endpoint(asio::ip::address_v6::any(), port), ec);
  if (ec) return "cannot bind [::]:5353: " + ec.message();
  c.sock.set_option(asio::ip::multicast::join_group(asio::ip::make_address_v6(group_v6), opt_.ipv6_index), ec);
  if (ec) return std::string("cannot join group ") + group_v6 + ": " + ec.message();
  if (opt_.ipv6_index != 0) {
    c.sock.set_option(asio::ip::multicast::outbound_interface(opt_.ipv6_index), ec);
    if (ec) return "cannot send on interface " + std::to_string(opt_.ipv6_index) + ": " + ec.message();
  }
  c.sock.set_option(asio::ip::multicast::hops(255), ec);
  c.sock.set_option(asio::ip::multicast::enable_loopback(true), ec);
  return {};
}

std::string discovery::start() {
  const std::string on = opt_.iface.empty() ? "" : " on " + opt_.iface;
  std::string why[2];
  for (const bool v6 : {false, true}) {
    if (!(v6 ? opt_.ipv6 : opt_.ipv4)) continue;
    auto c = std::make_unique<channel>(io_, v6);
    why[v6] = v6 ? open_v6(*c) : open_v4(*c);
    if (why[v6].empty()) channels_.push_back(std::move(c));
  }
  if (channels_.empty()) {
    std::string e = "mDNS: no usable family" + on;
    for (const auto& w : why)
      if (!w.empty()) e += "; " + w;
    return e;
  }
  // Once, at start: the other family carries on.
  if (!why[0].empty()) log_(2, "agent.mdns: IPv4 mDNS off" + on + ": " + why[0] + " (IPv6 only)");
  if (!why[1].empty()) log_(2, "agent.mdns: IPv6 mDNS off" + on + ": " + why[1] + " (IPv4 only)");
  std::string families;
  for (const auto& c : channels_)
    families += (families.empty() ? "" : " and ") + std::string(c->v6 ? group_v6 : group_v4);
  log_(1, "agent.mdns: advertising " + dns::to_text(instance_name(opt_.self)) + " at " + self_endpoint_ + " via " +
              families + on);
  for (auto& c : channels_) receive(*c);
  asio::post(io_, [this, alive = alive_] {
    if (*alive) schedule_browse();
  });
  return {};
}

void discovery::stop() {
  asio::error_code ec;
  browse_timer_.cancel();
  quiet_timer_.cancel();
  for (auto& c : channels_) c->sock.close(ec);
}

asio::ip::udp::endpoint discovery::group_of(const channel& c) const {
  if (!c.v6) return {asio::ip::make_address_v4(group_v4), port};
  auto g = asio::ip::make_address_v6(group_v6);
  g.scope_id(opt_.ipv6_index);  // 0: IPV6_MULTICAST_IF or the route decides
  return {g, port};
}

void discovery::receive(channel& c) {
  c.sock.async_receive_from(asio::buffer(c.rx), c.from,
                            [this, &c, alive = alive_](const asio::error_code& ec, std::size_t n) {
                              if (!*alive || !c.sock.is_open()) return;
                              if (!ec) handle(c, n);
                              receive(c);
                            });
}

void discovery::handle(channel& c, std::size_t n) {
  ++stats_.received;
  auto parsed = dns::parse(std::span<const std::uint8_t>(c.rx.data(), n));
  if (!parsed.msg) {
    ++stats_.malformed;
    log_(0, "agent.mdns: dropped a malformed message from " + c.from.address().to_string() + ": " + parsed.error);
    return;
  }
  const auto& m = *parsed.msg;
  auto group = group_of(c);
  // Answer on the link the query came from (a link-local source carries it).
  if (c.v6 && c.from.address().is_v6() && c.from.address().to_v6().scope_id() != 0) {
    auto g = group.address().to_v6();
    g.scope_id(c.from.address().to_v6().scope_id());
    group.address(g);
  }
  if (!m.is_response()) {
    auto a = answer_query(opt_.self, m);
    if (!a) return;
    ++stats_.queries_answered;
    // A querier not on port 5353 is a "legacy" one-shot resolver (RFC 6762
    // 6.7): it hears only unicast. Otherwise multicast, rate limited.
    if (a->unicast || c.from.port() != port) {
      a->msg.id = m.id;
      a->msg.questions = m.questions;
      return send(c, a->msg, c.from);
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - c.last_multicast_answer < multicast_answer_gap) return;
    c.last_multicast_answer = now;
    return send(c, a->msg, group);
  }
  ++stats_.responses_read;
  auto r = read_response(opt_.self.cluster, m);
  for (const auto& e : r.endpoints) found(e);
  for (std::size_t i = 0; i < r.incomplete.size() && i < 8; ++i) send(c, instance_query(r.incomplete[i]), group);
}

void discovery::send(channel& c, const dns::message& m, const asio::ip::udp::endpoint& to) {
  auto wire = std::make_shared<std::vector<std::uint8_t>>(dns::encode(m));
  if (wire->empty()) return;
  c.sock.async_send_to(asio::buffer(*wire), to,
                       [this, wire, to, alive = alive_](const asio::error_code& ec, std::size_t) {
                         if (ec && *alive)
                           log_(0, "agent.mdns: send to " + to.address().to_string() + " failed: " + ec.message());
                       });
}

void discovery::schedule_browse() {
  for (auto& c : channels_) send(*c, browse_query(opt_.self.cluster), group_of(*c));
  browse_timer_.expires_after(next_interval_);
  next_interval_ = std::min(next_interval_ * 2, poll_interval);
  browse_timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (!ec && *alive) schedule_browse();
  });
}

void discovery::found(const std::string& endpoint) {
  if (endpoint == self_endpoint_ || joined_.count(endpoint)) return;
  if (std::find(batch_.begin(), batch_.end(), endpoint) != batch_.end() || batch_.size() >= max_batch) return;
  log_(0, "agent.mdns: found " + endpoint);
  batch_.push_back(endpoint);
  quiet_timer_.expires_after(quiet_period);
  quiet_timer_.async_wait([this, alive = alive_](const asio::error_code& ec) {
    if (!ec && *alive) join_batch();
  });
}

void discovery::join_batch() {
  if (batch_.empty()) return;
  auto addrs = std::move(batch_);
  batch_.clear();
  ++stats_.joins;
  join_(addrs, [this, addrs, alive = alive_](int joined) {
    if (!*alive) return;
    if (joined > 0) {
      log_(1, "agent.mdns: Joined " + std::to_string(joined) + " hosts");
      // The join reports a count, not which address answered: all of the
      // batch count as done; a failed batch is tried again next time.
      if (joined_.size() > 1024) joined_.clear();  // bounded; at worst a member is joined again
      joined_.insert(addrs.begin(), addrs.end());
    } else {
      log_(2, "agent.mdns: Failed to join " + std::to_string(addrs.size()) + " discovered hosts");
    }
  });
}

}  // namespace chorus::agent::mdns
