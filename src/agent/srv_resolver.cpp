#include "agent/srv_resolver.hpp"

#include <asio/post.hpp>
#include <memory>
#include <random>

#include "agent/address_resolver.hpp"
#include "agent/join_text.hpp"
#include "swim/transport/transport.hpp"

namespace chorus::agent::srv {

namespace {

using asio::ip::udp;

class udp_lookup : public std::enable_shared_from_this<udp_lookup> {
 public:
  udp_lookup(asio::io_context& io, const dns::name& qname, const lookup_options& o,
             std::function<void(lookup_result)> done)
      : io_(io), socket_(io), timer_(io), qname_(qname), options_(o), done_(std::move(done)) {
    // Not the protocol core: a fresh random ID per lookup, so a forged reply
    // has to guess it (RFC 5452).
    std::random_device rd;
    id_ = static_cast<std::uint16_t>(rd());
    query_ = query(qname_, id_);
    buffer_.resize(65535);
  }

  void start() {
    asio::error_code ec;
    socket_.open(options_.server.protocol(), ec);
    // Connected: the kernel drops datagrams from any other address and port.
    if (!ec) socket_.connect(options_.server, ec);
    if (ec) return fail(ec.message());
    send();
    receive();
  }

 private:
  void send() {
    ++attempt_;
    socket_.async_send(asio::buffer(query_), [self = shared_from_this()](const asio::error_code&, std::size_t) {});
    timer_.expires_after(options_.timeout);
    timer_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->finished_) return;
      if (self->attempt_ < std::max(1, self->options_.attempts)) return self->send();
      self->fail("i/o timeout (no reply after " + std::to_string(self->attempt_) + " attempts)");
    });
  }

  void receive() {
    socket_.async_receive(
        asio::buffer(buffer_), [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
          if (self->finished_ || ec == asio::error::operation_aborted) return;
          if (ec == asio::error::connection_refused)
            return self->fail("connection refused (no DNS server on that port)");
          if (ec) return self->fail(ec.message());
          auto r = read_reply(std::span<const std::uint8_t>(self->buffer_.data(), n), self->id_, self->qname_);
          if (r.verdict == reply::kind::ignored) {
            ++self->ignored_;
            return self->receive();
          }
          self->finish(std::move(r));
        });
  }

  void fail(std::string why) {
    reply r;
    r.verdict = reply::kind::failed;
    r.error = std::move(why);
    finish(std::move(r));
  }

  void finish(reply r) {
    if (finished_) return;
    finished_ = true;
    timer_.cancel();
    asio::error_code ignore;
    socket_.close(ignore);
    asio::post(io_, [done = std::move(done_), res = lookup_result{std::move(r), ignored_}]() mutable {
      done(std::move(res));
    });
  }

  asio::io_context& io_;
  udp::socket socket_;
  asio::steady_timer timer_;
  dns::name qname_;
  lookup_options options_;
  std::function<void(lookup_result)> done_;
  std::uint16_t id_ = 0;
  std::vector<std::uint8_t> query_;
  std::vector<std::uint8_t> buffer_;
  int attempt_ = 0;
  std::size_t ignored_ = 0;
  bool finished_ = false;
};

std::string endpoint_text(const udp::endpoint& e) {
  const auto ip = e.address().to_string();
  return (e.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(e.port());
}

swim::address glue_address(const std::vector<std::uint8_t>& b, std::uint16_t port) {
  if (b.size() == 4) return swim::transport::to_address(asio::ip::address_v4({b[0], b[1], b[2], b[3]}), port);
  asio::ip::address_v6::bytes_type v6{};
  std::copy(b.begin(), b.end(), v6.begin());
  return swim::transport::to_address(asio::ip::address_v6(v6), port);
}

// The targets without glue are looked up like a join host name; the seeds
// keep the order of the targets.
void resolve_targets(asio::io_context& io, const std::string& arg, std::vector<target> targets, std::size_t ignored,
                     std::function<void(join_seeds)> done) {
  std::vector<std::vector<swim::address>> glued(targets.size());
  std::vector<lookup_item> items;
  std::vector<std::size_t> target_of;  // per item
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    for (const auto& a : t.addresses) glued[i].push_back(glue_address(a, t.port));
    if (!t.addresses.empty()) continue;
    items.push_back({arg, t.host, t.port});
    target_of.push_back(i);
  }
  resolve_addresses(io, std::move(items),
                    [glued = std::move(glued), target_of, ignored, done](std::vector<lookup_outcome> outcomes) {
                      auto found = glued;
                      std::vector<std::string> errors(found.size());
                      for (std::size_t k = 0; k < outcomes.size(); ++k) {
                        found[target_of[k]] = std::move(outcomes[k].addresses);
                        errors[target_of[k]] = std::move(outcomes[k].error);
                      }
                      join_seeds s;
                      s.ignored_replies = ignored;
                      for (std::size_t i = 0; i < found.size(); ++i) {
                        s.addresses.insert(s.addresses.end(), found[i].begin(), found[i].end());
                        if (!errors[i].empty()) s.errors.push_back(errors[i]);
                      }
                      done(std::move(s));
                    });
}

}  // namespace

void lookup(asio::io_context& io, const dns::name& qname, const lookup_options& options,
            std::function<void(lookup_result)> done) {
  std::make_shared<udp_lookup>(io, qname, options, std::move(done))->start();
}

void resolve_join_argument(asio::io_context& io, const std::string& arg, std::function<void(join_seeds)> done,
                           const std::string& resolv_conf) {
  const std::string text(srv_name(arg));
  auto fail = [&io, &done, &arg](const std::string& why) {
    join_seeds s;
    s.errors.push_back(join_text::resolve_failure(arg, why));
    asio::post(io, [done, s] { done(s); });
  };
  const auto qname = parse_name(text);
  if (qname.empty()) return fail("not a DNS name: \"" + text + "\"");
  const auto conf = read_resolv_conf(resolv_conf);
  asio::error_code ec;
  // Go's and glibc's fallback when resolv.conf names no server.
  const auto ip = asio::ip::make_address(conf.nameserver.empty() ? "127.0.0.1" : conf.nameserver, ec);
  if (ec) return fail("bad nameserver \"" + conf.nameserver + "\" in " + resolv_conf);
  lookup_options o{udp::endpoint(ip, 53), conf.timeout, conf.attempts};
  const std::string prefix = "lookup " + text + " on " + endpoint_text(o.server) + ": ";
  lookup(io, qname, o, [&io, arg, prefix, done](lookup_result r) {
    if (r.answer.verdict != reply::kind::answered) {
      join_seeds s;
      s.ignored_replies = r.ignored;
      s.errors.push_back(join_text::resolve_failure(arg, prefix + r.answer.error));
      return done(std::move(s));
    }
    resolve_targets(io, arg, std::move(r.answer.targets), r.ignored, done);
  });
}

}  // namespace chorus::agent::srv
