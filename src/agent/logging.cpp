#include "agent/logging.hpp"

#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "common/enum_names.hpp"

namespace chorus::agent {

namespace {

rpc::log_level from_spdlog(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::trace:
      return rpc::log_level::trace;
    case spdlog::level::debug:
      return rpc::log_level::debug;
    case spdlog::level::info:
      return rpc::log_level::info;
    case spdlog::level::warn:
      return rpc::log_level::warn;
    default:
      return rpc::log_level::err;
  }
}

const char* level_name(rpc::log_level l) {
  return enum_name<rpc::log_level::err>(l, {"TRACE", "DEBUG", "INFO", "WARN", "ERR"}, "ERR");
}

class hub_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit hub_sink(log_hub& hub) : hub_(hub) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto lvl = from_spdlog(msg.level);
    const std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);
    std::string line =
        std::string(stamp) + " [" + level_name(lvl) + "] " + std::string(msg.payload.data(), msg.payload.size());
    hub_.line(lvl, line);
  }
  void flush_() override {}

 private:
  log_hub& hub_;
};

}  // namespace

std::size_t suspicion_accusers(const failure_report& f) {
  if (!f.suspected_at) return 0;
  std::vector<std::string> who;
  if (!f.suspected_by.empty()) who.push_back(f.suspected_by);
  for (const auto& c : f.confirmed_by)
    if (!c.empty() && std::find(who.begin(), who.end(), c) == who.end()) who.push_back(c);
  return who.size();
}

std::string member_news_line(member_news what, std::string_view name, std::string_view addr, std::string_view by,
                             const failure_report* f) {
  const std::string who = std::string(name) + " (" + std::string(addr) + ")";
  switch (what) {
    case member_news::joined:
      return "member joined: " + who;
    case member_news::left:
      return "member left: " + who;
    case member_news::suspected:
      return "member suspected: " + who + (by.empty() ? "" : " by " + std::string(by));
    case member_news::alive_again:
      return "member alive again: " + who + ", refuted the suspicion" + (by.empty() ? "" : " by " + std::string(by));
    case member_news::failed: {
      std::string line = "member failed: " + who;
      if (const std::size_t n = f ? suspicion_accusers(*f) : 0; n > 0)
        return line + " after suspicion by " + std::to_string(n) + (n == 1 ? " node" : " nodes");
      if (f && !f->failed_by.empty()) line += ", declared by " + f->failed_by;
      return line;
    }
  }
  return {};
}

log_hub::log_hub(bool stdout_enabled) : stdout_(stdout_enabled) {
  logger_ = std::make_shared<spdlog::logger>("agent", std::make_shared<hub_sink>(*this));
  // Everything reaches the hub: monitors may ask for TRACE while stdout
  // shows INFO.
  logger_->set_level(spdlog::level::trace);
}

void log_hub::set_level(rpc::log_level l) {
  std::lock_guard lk(mu_);
  level_ = l;
}

void log_hub::set_listener(listener l) {
  std::lock_guard lk(mu_);
  listener_ = std::move(l);
}

std::vector<std::pair<rpc::log_level, std::string>> log_hub::history() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<rpc::log_level, std::string>> out;
  if (ring_.size() < log_history_lines) return ring_;
  for (std::size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(next_ + i) % ring_.size()]);
  return out;
}

void log_hub::line(rpc::log_level level, const std::string& text) {
  listener l;
  {
    std::lock_guard lk(mu_);
    if (level >= level_) {
      if (stdout_) {
        std::fprintf(stdout, "    %s\n", text.c_str());
        std::fflush(stdout);
      }
      if (ring_.size() < log_history_lines) {
        ring_.emplace_back(level, text);
      } else {
        ring_[next_] = {level, text};
        next_ = (next_ + 1) % log_history_lines;
      }
    }
    l = listener_;
  }
  if (l) l(level, text);
}

}  // namespace chorus::agent
