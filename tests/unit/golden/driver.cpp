// The commands every layer shares and the effect lines (driver.hpp).
#include "driver.hpp"

#include <algorithm>
#include <stdexcept>

#include "message_text.hpp"
#include "swim/codec.hpp"
#include "swim/config.hpp"
#include "unit/core/harness.hpp"

namespace golden {

namespace s = chorus::swim;

namespace {

// Whether `line` names `who` as a whole word ("n1" is not in "n10").
bool names(const std::string& line, const std::string& who) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; };
  for (auto at = line.find(who); at != std::string::npos; at = line.find(who, at + 1)) {
    const bool starts = at == 0 || !word(line[at - 1]);
    const bool ends = at + who.size() == line.size() || !word(line[at + who.size()]);
    if (starts && ends) return true;
  }
  return false;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from < s.size()) {
    const auto comma = std::min(s.find(',', from), s.size());
    out.push_back(s.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

s::node_state parse_state(const std::string& w) {
  if (w == "alive") return s::node_state::alive;
  if (w == "suspect") return s::node_state::suspect;
  if (w == "dead") return s::node_state::dead;
  if (w == "left") return s::node_state::left;
  throw std::runtime_error("not a member state: '" + w + "'");
}

// One push/pull entry: "nK STATE inc=N [addr=A] [meta=M] [vsn=V]".
s::push_node_state parse_node_state(const std::string& line) {
  const auto w = split_words(line);
  if (w.size() < 2) throw std::runtime_error("push/pull entry: '" + line + "'");
  // The alive parser fills name, address, meta and vsn the same way.
  std::vector<std::string> as_alive{"alive", "node=" + w[0]};
  as_alive.insert(as_alive.end(), w.begin() + 2, w.end());
  const auto a = std::get<s::alive>(parse_message(as_alive));
  return {a.node, a.addr, a.port, a.meta, a.incarnation, parse_state(w[1]), a.vsn};
}

}  // namespace

std::vector<std::string> driver::run(const directive& given) {
  // `quiet` is the runner's word, not the command's.
  directive d = given;
  const bool quiet = std::erase(d.positional, "quiet") + std::erase(d.words, "quiet") > 0;
  lines_.clear();
  if (!run_shared(d) && !run_command(d)) throw std::runtime_error("unknown command '" + d.command + "'");
  settle();
  std::vector<std::string> shown;
  if (quiet) return shown;
  const std::string who = d.arg("about");
  const std::string where = who.empty() ? std::string() : parse_address(who).to_string();
  std::vector<std::string> words;
  for (const auto& w : split_list(d.arg("only"))) words.push_back(w);
  for (auto& l : lines_) {
    const bool about = who.empty() || names(l, who) || l.find(where) != std::string::npos;
    const bool only = words.empty() || std::any_of(words.begin(), words.end(), [&](auto& w) { return names(l, w); });
    if (about && only) shown.push_back(std::move(l));
  }
  return shown;
}

bool driver::run_shared(const directive& d) {
  if (d.command == "recv") {
    if (d.words.size() < 2) throw std::runtime_error("recv FROM MESSAGE...");
    deliver(parse_address(d.words[0]), encode_input({d.words.begin() + 1, d.words.end()}));
  } else if (d.command == "learn") {
    for (const auto& peer : d.positional) {
      deliver(parse_address(peer), s::encode(peer_alive(peer)));
      settle();
    }
  } else if (d.command == "advance") {
    if (d.positional.empty()) throw std::runtime_error("advance DURATION");
    advance(parse_duration(d.positional[0]));
  } else if (d.command == "responsive") {
    for (const auto& peer : d.positional) responsive_.push_back(parse_address(peer));
  } else if (d.command == "tcp-ping-done") {
    if (d.positional.size() < 2) throw std::runtime_error("tcp-ping-done PEER ok|fail");
    tcp_ping_done(take_exchange(parse_address(d.positional[0]), true), d.positional[1] == "ok");
  } else if (d.command == "push-pull-done") {
    if (d.positional.empty()) throw std::runtime_error("push-pull-done PEER [fail]");
    const exchange_id id = take_exchange(parse_address(d.positional[0]), false);
    s::push_pull remote;
    for (const auto& l : d.input) remote.nodes.push_back(parse_node_state(l));
    const bool failed = d.positional.size() > 1 && d.positional[1] == "fail";
    push_pull_done(id, failed ? nullptr : &remote);
  } else {
    return false;
  }
  return true;
}

void driver::advance(duration d) {
  const time_point end = now_ + d;
  while (!timers_.empty() && timers_.begin()->first <= end) {
    const auto [at, token] = *timers_.begin();
    timers_.erase(timers_.begin());
    now_ = std::max(now_, at);
    fire(token);
    settle();
  }
  now_ = end;
}

void driver::settle() {
  while (!acks_due_.empty()) {
    const auto [from, seq] = acks_due_.front();
    acks_due_.erase(acks_due_.begin());
    out("auto-ack " + from.to_string() + " seq=" + std::to_string(seq));
    deliver(from, s::encode(s::ack{seq, {}}));
  }
}

exchange_id driver::take_exchange(const address& to, bool tcp_ping) {
  const auto it =
      std::find_if(open_.begin(), open_.end(), [&](const exchange& e) { return e.to == to && e.tcp_ping == tcp_ping; });
  if (it == open_.end())
    throw std::runtime_error(std::string("no pending ") + (tcp_ping ? "TCP ping" : "push/pull") + " with " +
                             to.to_string());
  const exchange_id id = it->id;
  open_.erase(it);
  return id;
}

bytes driver::encode_input(const std::vector<std::string>& message_words) const {
  return s::encode(parse_message(message_words));
}

s::alive driver::peer_alive(const std::string& name) const {
  return std::get<s::alive>(parse_message({"alive", "node=" + name, "inc=1"}));
}

void driver::sent(const address& to, const bytes& packet) {
  for (const auto& m : s::testing::unpack(packet)) {
    const auto* u = std::get_if<s::user>(&m);
    out("send " + to.to_string() + " " + (u ? "user " + describe_user(u->payload) : s::testing::describe(m)));
    const auto* p = std::get_if<s::ping>(&m);
    if (p && std::find(responsive_.begin(), responsive_.end(), to) != responsive_.end())
      acks_due_.emplace_back(to, p->seq_no);
  }
}

void driver::push_pull_started(const address& to, exchange_id id, bool join) {
  out("push-pull " + to.to_string() + " join=" + std::to_string(join));
  open_.push_back({to, id, false});
}

void driver::tcp_ping_started(const address& to, exchange_id id, const s::ping& p) {
  out("tcp-ping " + to.to_string() + " " + s::testing::describe(p));
  open_.push_back({to, id, true});
}

void driver::out(const std::string& text) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now_.time_since_epoch()).count();
  lines_.push_back("t=" + std::to_string(ms) + "ms " + text);
}

}  // namespace golden
