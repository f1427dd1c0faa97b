#pragma once
// `chorus-vivaldi-bench --suite DIR...`: every matrix and schedule found in
// the folders, chorus against Serf's published baseline (or our bit-exact
// port of Serf's algorithm where no baseline JSON sits beside the schedule)
// and the offline bound, as one table with ratios and the issue-19 goals.
#include <ostream>
#include <string>
#include <vector>

#include "vivaldi/config.hpp"

namespace chorus::bench {

struct suite_options {
  std::vector<std::string> dirs;
  vivaldi::config chorus;      // the configuration under test
  double late_fraction = 0.0;  // > 0: also the late-joiner mode on every schedule
  std::uint32_t join_round = 100;
};

// Prints the table to `out`; returns 0 if every goal holds, 1 if not, 2 on
// an input error (reported on `err`).
int run_suite(const suite_options& opt, std::ostream& out, std::ostream& err);

}  // namespace chorus::bench
