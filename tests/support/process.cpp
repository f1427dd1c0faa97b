// Child processes for the integration and interop tests (process.hpp).
#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/files.hpp"

namespace test_support {

namespace {

int exit_code_of(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// In the child, after fork: only exec or _exit from here. The argument
// vector is built before fork, so nothing here allocates.
[[noreturn]] void exec_child(char* const* args, const std::vector<std::string>& env) {
  for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
  execv(args[0], args);
  _exit(127);
}

std::vector<char*> c_args(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

}  // namespace

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

process::process(const std::vector<std::string>& argv, std::string log, const spawn_options& options)
    : log_(std::move(log)) {
  if (argv.empty()) throw std::runtime_error("process: empty argv");
  const auto args = c_args(argv);
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.truncate_log ? O_TRUNC : O_APPEND);
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork");
  if (pid_ == 0) {
    if (options.before_exec && !options.before_exec()) _exit(126);
    const int fd = open(log_.c_str(), flags, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    exec_child(args.data(), options.env);
  }
}

process::process(process&& o) noexcept : pid_(o.pid_), exit_code_(o.exit_code_), log_(std::move(o.log_)) {
  o.pid_ = -1;
}

process& process::operator=(process&& o) noexcept {
  if (this != &o) {
    kill_now();
    pid_ = o.pid_;
    exit_code_ = o.exit_code_;
    log_ = std::move(o.log_);
    o.pid_ = -1;
  }
  return *this;
}

void process::reaped(int status) {
  exit_code_ = exit_code_of(status);
  pid_ = -1;
}

bool process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  reaped(status);
  return false;
}

void process::signal(int sig) {
  if (running()) kill(pid_, sig);
}

int process::kill_now() {
  if (pid_ > 0) {  // never kill(-1, ...)
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped(status);
  }
  return exit_code_.value_or(-1);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds limit) {
  if (!eventually([&] { return !running(); }, limit)) return std::nullopt;
  return exit_code_;
}

int process::stop(int sig, std::chrono::milliseconds grace) {
  signal(sig);
  if (auto code = wait_exit(grace)) return *code;
  return kill_now();
}

bool process::wait_ready(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
  bool exited = false;
  const bool done = eventually(
      [&] {
        exited = !running();
        return exited || ready();
      },
      limit);
  return done && !exited;
}

bool process::wait_for_output(std::string_view text, std::chrono::milliseconds limit) {
  return wait_ready([&] { return output().find(text) != std::string::npos; }, limit);
}

std::string process::output() const { return read_file(log_); }

run_result run(const std::vector<std::string>& argv, std::chrono::milliseconds limit,
               const std::vector<std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  const auto args = c_args(argv);
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    exec_child(args.data(), env);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  run_result r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool killed = false;
  while (open_fds > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = killed ? -1 : exit_code_of(status);
  return r;
}

}  // namespace test_support
