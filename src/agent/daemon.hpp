#pragma once
// `chorus agent`: the process that wires everything with I/O around the
// sans-I/O Serf layer (serf.hpp):
//
//   transport (UDP+TCP, timer) <-> serf (core + Serf state) -> events -> RPC streams, handler scripts
//   RPC server (-rpc-addr)      -> commands -> serf
//   signals: SIGINT leave+exit, SIGTERM exit (or leave), SIGHUP reload
//   -join / -retry-join with host names resolved on every attempt
//
// Everything but the handler worker runs on one io_context thread, so the
// Serf object needs no lock. The daemon never calls into serf from inside a
// serf_runtime callback: such work is posted to the io_context.
#include <memory>
#include <string>

#include "agent/config.hpp"

namespace chorus::agent {

class daemon_impl;

class daemon {
 public:
  explicit daemon(agent_config cfg);
  ~daemon();
  // Runs until shutdown; returns the process exit code (0 after a clean
  // leave or stop, 1 on a start-up failure such as a failed -join).
  int run();

 private:
  std::unique_ptr<daemon_impl> impl_;
};

}  // namespace chorus::agent
