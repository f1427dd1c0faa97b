#include "agent/handlers.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/text_escape.hpp"

extern char** environ;

namespace chorus::agent {

namespace {
const char* const member_events[] = {"member-join", "member-leave", "member-failed", "member-update", "member-reap"};
}

bool parse_event_filters(const std::string& list, std::vector<event_filter>& out) {
  out.clear();
  std::string rest = list.empty() ? "*" : list;
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    const auto comma = rest.find(',', pos);
    const std::string item = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    event_filter f;
    if (item.rfind("user:", 0) == 0) {
      f = {"user", item.substr(5)};
    } else if (item.rfind("query:", 0) == 0) {
      f = {"query", item.substr(6)};
    } else {
      const bool known = item == "*" || item == "user" || item == "query" ||
                         std::find(std::begin(member_events), std::end(member_events), item) != std::end(member_events);
      if (!known) return false;
      f = {item, ""};
    }
    out.push_back(f);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return true;
}

bool filters_match(const std::vector<event_filter>& filters, const std::string& event, const std::string& name) {
  for (const auto& f : filters) {
    if (f.event == "*") return true;
    if (f.event != event) continue;
    if (f.name.empty() || f.name == name) return true;
  }
  return false;
}

std::string parse_handler_spec(const std::string& spec, handler_spec& out) {
  out = {};
  std::string filter, script = spec;
  // Serf splits at the first '=' (so a filter-less script must not contain one).
  if (const auto eq = spec.find('='); eq != std::string::npos) {
    filter = spec.substr(0, eq);
    script = spec.substr(eq + 1);
  }
  if (script.empty()) return "Invalid event handler '" + spec + "': empty script";
  if (!parse_event_filters(filter, out.filters)) return "Invalid event filter: '" + filter + "' in -event-handler";
  out.script = script;
  out.filter_text = filter;
  return {};
}

std::string tag_env_name(const std::string& key) {
  std::string n = "SERF_TAG_";
  for (char ch : key) {
    const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    n += ((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_') ? u : '_';
  }
  return n;
}

// Serf escapes only tab and newline; a carriage return (a line break to
// Python's universal newlines), an escape sequence or a literal backslash
// would still let a gossiped name forge or disguise a line, so chorus
// escapes every control character, and the backslash, Go-style.
std::string escape_field(const std::string& s) { return escape_text(s); }

std::string handler_stdin(const handler_event& e) {
  if (e.event == "user" || e.event == "query") {
    std::string s = e.payload;
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s;
  }
  std::string s;
  for (const auto& m : e.members) {
    std::string tags;
    for (const auto& [k, v] : m.tags) tags += (tags.empty() ? "" : ",") + k + "=" + v;
    s += escape_field(m.name) + "\t" + m.ip + "\t" + escape_field(m.role) + "\t" + escape_field(tags) + "\n";
  }
  return s;
}

handler_result run_handler(const std::string& script, const handler_event& e,
                           const std::vector<std::string>& extra_env) {
  handler_result r;
  r.script = script;
  r.event = e;
  const auto start = std::chrono::steady_clock::now();

  std::vector<std::string> env_store;
  for (char** p = environ; p && *p; ++p) env_store.emplace_back(*p);
  env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
  env_store.push_back("SERF_EVENT=" + e.event);
  if (e.event == "user") {
    env_store.push_back("SERF_USER_EVENT=" + e.name);
    env_store.push_back("SERF_USER_LTIME=" + std::to_string(e.ltime));
  } else if (e.event == "query") {
    env_store.push_back("SERF_QUERY_NAME=" + e.name);
    env_store.push_back("SERF_QUERY_LTIME=" + std::to_string(e.ltime));
  }
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0) return r;
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    close(in_pipe[0]);
    close(in_pipe[1]);
    return r;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1]}) close(fd);
    r.output = "fork failed";
    return r;
  }
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(out_pipe[1], 2);
    signal(SIGPIPE, SIG_DFL);
    const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  const std::string input = handler_stdin(e);
  std::size_t written = 0;
  int in_fd = in_pipe[1];
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int out_fd = out_pipe[0];
  while (out_fd >= 0) {
    pollfd fds[2];
    int n = 0;
    fds[n++] = {out_fd, POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (poll(fds, n, 1000) < 0 && errno != EINTR) break;
    if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();  // reader gone (EPIPE)
      if (written >= input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[4096];
      const ssize_t got = read(out_fd, buf, sizeof buf);
      if (got <= 0) {
        close(out_fd);
        out_fd = -1;
      } else {
        r.output.append(buf, static_cast<std::size_t>(got));
        // Keep the last 8 KiB only.
        if (r.output.size() > 2 * handler_output_limit) r.output.erase(0, r.output.size() - handler_output_limit);
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (r.output.size() > handler_output_limit) r.output.erase(0, r.output.size() - handler_output_limit);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  return r;
}

handler_runner::handler_runner(done_fn done) : done_(std::move(done)) {
  // Writing to a script that closed its stdin must not kill the agent.
  signal(SIGPIPE, SIG_IGN);
  worker_ = std::thread([this] { work(); });
}

handler_runner::~handler_runner() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void handler_runner::configure(std::vector<handler_spec> specs, std::string self_name,
                               std::map<std::string, std::string> tags) {
  std::vector<std::string> env;
  env.push_back("SERF_SELF_NAME=" + self_name);
  env.push_back("SERF_SELF_ROLE=" + (tags.count("role") ? tags["role"] : std::string()));
  for (const auto& [k, v] : tags) env.push_back(tag_env_name(k) + "=" + v);
  std::lock_guard lk(mu_);
  specs_ = std::move(specs);
  env_ = std::move(env);
}

bool handler_runner::submit(const handler_event& e) {
  std::lock_guard lk(mu_);
  bool any = false;
  for (const auto& s : specs_) {
    if (!filters_match(s.filters, e.event, e.name)) continue;
    if (queue_.size() >= handler_queue_limit) return false;
    queue_.emplace_back(s.script, e);
    any = true;
  }
  if (any) cv_.notify_one();
  return true;
}

std::size_t handler_runner::queued() const {
  std::lock_guard lk(mu_);
  return queue_.size();
}

std::vector<handler_spec> handler_runner::specs() const {
  std::lock_guard lk(mu_);
  return specs_;
}

void handler_runner::work() {
  for (;;) {
    std::pair<std::string, handler_event> job;
    std::vector<std::string> env;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      env = env_;
    }
    auto r = run_handler(job.first, job.second, env);
    if (done_) done_(r);
  }
}

}  // namespace chorus::agent
