// chorus-vivaldi-bench: runs the Vivaldi client on an RTT matrix and a sample
// schedule exactly as ../shared/data/seattle99/PROTOCOL.md prescribes and
// prints the result JSON of its section 4. Also generates extra schedules
// and synthetic matrices (see bench/README.md).
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "data.hpp"
#include "generate.hpp"
#include "metrics.hpp"
#include "replay.hpp"
#include "suite.hpp"
#include "vivaldi/client.hpp"

using namespace chorus;
using json = nlohmann::json;
using bench::make_clients;
using bench::predictions;

namespace {

std::string base_name(const std::string& p) { return std::filesystem::path(p).filename().string(); }

// Every tunable reachable from the command line (--set key=value), for sweeps.
std::map<std::string, double*> tunables(vivaldi::config& c) {
  return {
      {"cc", &c.vivaldi_cc},
      {"ce", &c.vivaldi_ce},
      {"error_max", &c.vivaldi_error_max},
      {"height_min", &c.height_min},
      {"gravity_rho", &c.gravity_rho},
      {"chorus.cc_start", &c.chorus.cc_start},
      {"chorus.anneal_tau", &c.chorus.anneal_tau},
      {"chorus.cc_floor", &c.chorus.cc_floor},
      {"chorus.rel_p", &c.chorus.rel_p},
      {"chorus.rel_max", &c.chorus.rel_max},
      {"chorus.ref_alpha", &c.chorus.ref_alpha},
      {"chorus.adj_gain", &c.chorus.adj_gain},
      {"chorus.height_share", &c.chorus.height_share},
      {"chorus.push_cap", &c.chorus.push_cap},
      {"chorus.push_floor", &c.chorus.push_floor},
      {"chorus.push_after", &c.chorus.push_after},
      {"chorus.fit_gain", &c.chorus.fit_gain},
      {"chorus.fit_height_gain", &c.chorus.fit_height_gain},
      {"chorus.fit_huber", &c.chorus.fit_huber},
      {"chorus.fit_after", &c.chorus.fit_after},
      {"chorus.fit_error_floor", &c.chorus.fit_error_floor},
  };
}
std::map<std::string, std::size_t*> size_tunables(vivaldi::config& c) {
  return {
      {"dimensionality", &c.dimensionality},       {"adjustment_window", &c.adjustment_window_size},
      {"latency_filter", &c.latency_filter_size},  {"chorus.filter_window", &c.chorus.filter_window},
      {"chorus.neighbours", &c.chorus.neighbours}, {"chorus.fit_rtt_average", &c.chorus.fit_rtt_average},
  };
}

json config_json(const vivaldi::config& c) {
  json j = {{"Algorithm", c.algo == vivaldi::algorithm::serf ? "serf" : "chorus"},
            {"Dimensionality", c.dimensionality},
            {"VivaldiErrorMax", c.vivaldi_error_max},
            {"VivaldiCE", c.vivaldi_ce},
            {"VivaldiCC", c.vivaldi_cc},
            {"AdjustmentWindowSize", c.adjustment_window_size},
            {"HeightMin", c.height_min},
            {"LatencyFilterSize", c.latency_filter_size},
            {"GravityRho", c.gravity_rho}};
  if (c.algo == vivaldi::algorithm::chorus) {
    json t;
    vivaldi::config copy = c;
    for (auto& [k, p] : tunables(copy))
      if (k.rfind("chorus.", 0) == 0) t[k.substr(7)] = *p;
    for (auto& [k, p] : size_tunables(copy))
      if (k.rfind("chorus.", 0) == 0) t[k.substr(7)] = *p;
    j["Chorus"] = t;
  }
  return j;
}

json scores_json(std::uint32_t rounds, const bench::scores& s) {
  return {{"rounds", rounds},
          {"pairs", s.pairs},
          {"median_rel_err", s.median_rel_err},
          {"p90_rel_err", s.p90_rel_err},
          {"p99_rel_err", s.p99_rel_err},
          {"mean_rel_err", s.mean_rel_err},
          {"median_abs_err_ms", s.median_abs_err_ms},
          {"node_median_rel_err_median", s.node_median_rel_err_median}};
}

// Time spent on this thread's CPU: the benchmark machine may be shared, and
// "updates per second on one core" is about our work, not the scheduler's.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The configuration of --algorithm with the --set overrides applied.
std::optional<std::string> build_config(const std::string& algo, std::uint64_t seed,
                                        const std::vector<std::string>& settings, vivaldi::config& cfg) {
  cfg = algo == "serf" ? vivaldi::config::serf() : vivaldi::config::chorus_defaults();
  cfg.seed = seed;
  for (const auto& s : settings) {
    const auto eq = s.find('=');
    if (eq == std::string::npos) return "--set wants key=value, got " + s;
    const std::string key = s.substr(0, eq);
    double value = 0;
    try {
      value = std::stod(s.substr(eq + 1));
    } catch (const std::exception&) {
      return "--set " + key + ": not a number";
    }
    auto d = tunables(cfg);
    auto z = size_tunables(cfg);
    if (auto it = d.find(key); it != d.end())
      *it->second = value;
    else if (auto it2 = z.find(key); it2 != z.end())
      *it2->second = static_cast<std::size_t>(value);
    else
      return "unknown tunable " + key;
  }
  if (!cfg.is_valid()) return std::string("invalid configuration");
  return std::nullopt;
}

int fail(const std::string& msg) {
  std::cerr << "chorus-vivaldi-bench: " << msg << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vivaldi accuracy benchmark (seattle99 PROTOCOL.md v1)"};
  std::string matrix_path, schedule_path, algo = "chorus", checkpoints_arg = "10,50,200", csv_path, dump_dir;
  std::string gen_schedule, make_matrix_path, shape = "clustered";
  std::vector<std::string> settings;
  std::string coords_path;
  std::uint64_t seed = 1;
  std::uint32_t rounds = 200;
  std::size_t nodes = 300;
  double jitter = 0.0;
  int timing_repeats = 20;
  std::vector<std::string> suite_dirs;
  double late_fraction = 0.0;
  std::uint32_t join_round = 100;
  app.add_option("--matrix", matrix_path, "RTT matrix (ms, N x N)");
  app.add_option("--schedule", schedule_path, "sample schedule (round node peer rtt_ms)");
  app.add_option("--algorithm", algo, "serf or chorus")->check(CLI::IsMember({"serf", "chorus"}));
  app.add_option("--checkpoints", checkpoints_arg, "rounds at which to score, comma-separated");
  app.add_option("--csv", csv_path, "write the per-round convergence CSV here");
  app.add_option("--dump-predictions", dump_dir, "write pred.r<R>.rtt at each checkpoint into this directory");
  app.add_option("--dump-coordinates", coords_path, "write the final coordinates (one JSON object per node)");
  app.add_option("--set", settings, "override a tunable: key=value (repeatable)");
  app.add_option("--seed", seed, "seed: client PRNGs, or the generators");
  app.add_option("--timing-repeats", timing_repeats, "extra timed replays of the schedule for updates/s");
  app.add_option("--generate-schedule", gen_schedule, "write a schedule for --matrix (--rounds, --seed, --jitter)");
  app.add_option("--rounds", rounds, "rounds for --generate-schedule");
  app.add_option("--jitter", jitter, "log-normal sigma for --generate-schedule (0 = clean, 0.1 = jitter10)");
  app.add_option("--make-matrix", make_matrix_path, "write a synthetic matrix (--shape, --nodes, --seed)");
  app.add_option("--shape", shape, "plane or clustered");
  app.add_option("--nodes", nodes, "nodes for --make-matrix");
  app.add_option("--suite", suite_dirs,
                 "run every <matrix>.rtt and its schedules found in these folders; print the table with ratios");
  app.add_option("--late-join", late_fraction,
                 "fraction of nodes that join after --join-round; report rounds to reach the cluster's median error")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--join-round", join_round, "round after which the late joiners start (default 100)");
  CLI11_PARSE(app, argc, argv);

  if (!make_matrix_path.empty()) {
    bench::matrix m;
    if (auto e = bench::make_matrix(shape, nodes, seed, m)) return fail(*e);
    if (auto e = bench::write_matrix(make_matrix_path, m, 1)) return fail(*e);
    return 0;
  }
  if (!suite_dirs.empty()) {
    vivaldi::config cfg;
    if (auto e = build_config(algo, seed, settings, cfg)) return fail(*e);
    return bench::run_suite({suite_dirs, cfg, late_fraction, join_round}, std::cout, std::cerr);
  }
  if (matrix_path.empty()) return fail("--matrix is required");
  bench::matrix truth;
  if (auto e = bench::read_matrix(matrix_path, truth)) return fail(*e);
  if (!gen_schedule.empty()) {
    if (auto e = bench::write_schedule(gen_schedule, truth, base_name(matrix_path), rounds, seed, jitter))
      return fail(*e);
    return 0;
  }
  if (schedule_path.empty()) return fail("--schedule is required");
  bench::schedule sched;
  if (auto e = bench::read_schedule(schedule_path, truth.n, sched)) return fail(*e);

  vivaldi::config cfg;
  if (auto e = build_config(algo, seed, settings, cfg)) return fail(*e);

  std::vector<std::uint32_t> checkpoints;
  {
    std::stringstream ss(checkpoints_arg);
    for (std::string t; std::getline(ss, t, ',');)
      if (!t.empty()) checkpoints.push_back(static_cast<std::uint32_t>(std::stoul(t)));
  }
  for (auto c : checkpoints)
    if (c > sched.rounds)
      std::cerr << "chorus-vivaldi-bench: checkpoint " << c << " is beyond the schedule's " << sched.rounds
                << " rounds, skipped\n";
  if (!dump_dir.empty()) std::filesystem::create_directories(dump_dir);
  std::FILE* csv = nullptr;
  if (!csv_path.empty()) {
    csv = std::fopen(csv_path.c_str(), "w");
    if (!csv) return fail("cannot write " + csv_path);
    std::fprintf(csv, "round,median_rel_err,p90_rel_err,p99_rel_err,mean_rel_err\n");
  }

  const auto wall_start = std::chrono::steady_clock::now();
  auto clients = make_clients(cfg, truth.n);
  std::vector<double> pred;
  json out_checkpoints = json::array();
  std::uint64_t rejected = 0;
  double update_time = 0.0;  // thread CPU seconds inside the update loop

  auto finish_round = [&](std::uint32_t r) {
    const bool is_checkpoint = std::find(checkpoints.begin(), checkpoints.end(), r) != checkpoints.end();
    if (!is_checkpoint && !csv) return;
    predictions(clients, pred);
    const auto s = bench::score(truth, pred);
    if (csv)
      std::fprintf(csv, "%u,%.6f,%.6f,%.6f,%.6f\n", r, s.median_rel_err, s.p90_rel_err, s.p99_rel_err, s.mean_rel_err);
    if (!is_checkpoint) return;
    out_checkpoints.push_back(scores_json(r, s));
    if (!dump_dir.empty()) {
      bench::matrix m{truth.n, pred};
      if (auto e = bench::write_matrix(dump_dir + "/pred.r" + std::to_string(r) + ".rtt", m, 6))
        std::cerr << "chorus-vivaldi-bench: " << *e << "\n";
    }
  };

  // The measured run: update loop timed per round, scoring outside the timer.
  finish_round(0);
  std::uint32_t round = 0;
  std::size_t k = 0;
  const auto& samples = sched.samples;
  while (round < sched.rounds) {
    ++round;
    const double t0 = thread_cpu_seconds();
    for (; k < samples.size() && samples[k].round == round; ++k) {
      const auto& s = samples[k];
      if (clients[s.node].update(vivaldi::peer_id{s.peer}, clients[s.peer].get_coordinate(),
                                 std::chrono::nanoseconds(s.rtt_ns)) != vivaldi::error::none)
        ++rejected;
    }
    update_time += thread_cpu_seconds() - t0;
    finish_round(round);
  }
  if (csv) std::fclose(csv);
  const double runtime = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // Extra replays of the whole schedule on fresh clients, timed as one loop
  // each; the best is reported (the first run is short and noisy).
  double best = update_time;
  for (int rep = 0; rep < timing_repeats; ++rep) {
    auto fresh = make_clients(cfg, truth.n);
    const double t0 = thread_cpu_seconds();
    for (const auto& s : samples)
      (void)fresh[s.node].update(vivaldi::peer_id{s.peer}, fresh[s.peer].get_coordinate(),
                                 std::chrono::nanoseconds(s.rtt_ns));
    best = std::min(best, thread_cpu_seconds() - t0);
  }

  if (!coords_path.empty()) {
    std::ofstream f(coords_path);
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const auto& c = clients[i].get_coordinate();
      f << json{{"node", i}, {"Vec", c.vec}, {"Error", c.error}, {"Adjustment", c.adjustment}, {"Height", c.height}}
               .dump()
        << "\n";
    }
  }
  std::uint64_t resets = 0;
  for (const auto& c : clients) resets += c.resets();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  json out = {{"tool", "chorus-vivaldi-bench"},
              {"library", std::string("chorus vivaldi (algorithm=") + algo + ")"},
              {"matrix", base_name(matrix_path)},
              {"schedule", base_name(schedule_path)},
              {"schedule_header", sched.header},
              {"nodes", truth.n},
              {"samples", samples.size()},
              {"rejected_samples", rejected},
              {"coordinate_resets", resets},
              {"config", config_json(cfg)},
              {"checkpoints", out_checkpoints},
              {"runtime_s", runtime},
              {"update_loop_s", best},
              {"updates_per_s", best > 0 ? static_cast<double>(samples.size()) / best : 0.0},
              {"max_rss_kb", ru.ru_maxrss}};
  if (late_fraction > 0) {
    vivaldi::config serf_cfg = vivaldi::config::serf();
    serf_cfg.seed = seed;
    auto late_json = [&](const vivaldi::config& c) {
      const auto r = bench::late_join(c, truth, sched, late_fraction, join_round, 1);
      return json{
          {"late_nodes", r.late_nodes},
          {"rounds_to_cluster_median", r.rounds_to_cluster_median ? json(*r.rounds_to_cluster_median) : json()},
          {"rounds_to_within_10pct", r.rounds_to_within_10pct ? json(*r.rounds_to_within_10pct) : json()},
          {"late_median_rel_err_at_end", r.late_median_at_end},
          {"rounds_to_match_from_start", r.rounds_to_match_from_start ? json(*r.rounds_to_match_from_start) : json()},
          {"same_pairs_all_from_start_at_end", r.same_pairs_from_start_at_end},
          {"curve_late_cluster", r.curve},
          {"cluster_median_rel_err_at_end", r.cluster_median_at_end}};
    };
    out["late_join"] = {{"fraction", late_fraction},
                        {"join_round", join_round},
                        {"this_algorithm", late_json(cfg)},
                        {"serf_algorithm", late_json(serf_cfg)}};
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}
