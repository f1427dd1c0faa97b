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
      {"chorus.join_error_ratio", &c.chorus.join_error_ratio},
      {"chorus.join_window", &c.chorus.join_window},
  };
}
std::map<std::string, std::size_t*> size_tunables(vivaldi::config& c) {
  return {
      {"dimensionality", &c.dimensionality},
      {"adjustment_window", &c.adjustment_window_size},
      {"latency_filter", &c.latency_filter_size},
      {"chorus.filter_window", &c.chorus.filter_window},
      {"chorus.neighbours", &c.chorus.neighbours},
      {"chorus.fit_rtt_average", &c.chorus.fit_rtt_average},
      {"chorus.join_fit_after", &c.chorus.join_fit_after},
      {"chorus.join_fit_steps", &c.chorus.join_fit_steps},
      {"chorus.join_settled_steps", &c.chorus.join_settled_steps},
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

// Everything the command line sets.
struct cli_options {
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
};

void add_options(CLI::App& app, cli_options& o) {
  app.add_option("--matrix", o.matrix_path, "RTT matrix (ms, N x N)");
  app.add_option("--schedule", o.schedule_path, "sample schedule (round node peer rtt_ms)");
  app.add_option("--algorithm", o.algo, "serf or chorus")->check(CLI::IsMember({"serf", "chorus"}));
  app.add_option("--checkpoints", o.checkpoints_arg, "rounds at which to score, comma-separated");
  app.add_option("--csv", o.csv_path, "write the per-round convergence CSV here");
  app.add_option("--dump-predictions", o.dump_dir, "write pred.r<R>.rtt at each checkpoint into this directory");
  app.add_option("--dump-coordinates", o.coords_path, "write the final coordinates (one JSON object per node)");
  app.add_option("--set", o.settings, "override a tunable: key=value (repeatable)");
  app.add_option("--seed", o.seed, "seed: client PRNGs, or the generators");
  app.add_option("--timing-repeats", o.timing_repeats, "extra timed replays of the schedule for updates/s");
  app.add_option("--generate-schedule", o.gen_schedule, "write a schedule for --matrix (--rounds, --seed, --jitter)");
  app.add_option("--rounds", o.rounds, "rounds for --generate-schedule");
  app.add_option("--jitter", o.jitter, "log-normal sigma for --generate-schedule (0 = clean, 0.1 = jitter10)");
  app.add_option("--make-matrix", o.make_matrix_path, "write a synthetic matrix (--shape, --nodes, --seed)");
  app.add_option("--shape", o.shape, "plane or clustered");
  app.add_option("--nodes", o.nodes, "nodes for --make-matrix");
  app.add_option("--suite", o.suite_dirs,
                 "run every <matrix>.rtt and its schedules found in these folders; print the table with ratios");
  app.add_option(
         "--late-join", o.late_fraction,
         "fraction of o.nodes that join after --join-round; report o.rounds to reach the cluster's median error")
      ->check(CLI::Range(0.0, 0.9));
  app.add_option("--join-round", o.join_round, "round after which the late joiners start (default 100)");
}

// "10,50,200" -> rounds; those beyond the schedule are reported and skipped.
std::vector<std::uint32_t> parse_checkpoints(const std::string& arg, std::uint32_t rounds) {
  std::vector<std::uint32_t> checkpoints;
  std::stringstream ss(arg);
  for (std::string t; std::getline(ss, t, ',');)
    if (!t.empty()) checkpoints.push_back(static_cast<std::uint32_t>(std::stoul(t)));
  for (auto c : checkpoints)
    if (c > rounds)
      std::cerr << "chorus-vivaldi-bench: checkpoint " << c << " is beyond the schedule's " << rounds
                << " rounds, skipped\n";
  return checkpoints;
}

// The late joiners' figures for this configuration and Serf's (--late-join).
json late_join_json(const vivaldi::config& cfg, const cli_options& o, const bench::matrix& truth,
                    const bench::schedule& sched) {
  vivaldi::config serf_cfg = vivaldi::config::serf();
  serf_cfg.seed = o.seed;
  auto one = [&](const vivaldi::config& c) {
    const auto r = bench::late_join(c, truth, sched, o.late_fraction, o.join_round, 1);
    auto opt = [](const std::optional<std::uint32_t>& v) { return v ? json(*v) : json(); };
    return json{{"late_nodes", r.late_nodes},
                {"rounds_to_cluster_median", opt(r.rounds_to_cluster_median)},
                {"rounds_to_within_10pct", opt(r.rounds_to_within_10pct)},
                {"rounds_to_match_from_start", opt(r.rounds_to_match_from_start)},
                {"late_median_rel_err_at_end", r.late_median_at_end},
                {"cluster_median_rel_err_at_end", r.cluster_median_at_end},
                {"same_pairs_all_from_start_at_end", r.same_pairs_from_start_at_end},
                {"curve_late_cluster_from_start", r.curve}};
  };
  return {{"fraction", o.late_fraction},
          {"join_round", o.join_round},
          {"this_algorithm", one(cfg)},
          {"serf_algorithm", one(serf_cfg)}};
}

// Extra replays of the whole schedule on fresh clients, timed as one loop
// each; returns the best (the measured run is short and noisy).
double best_replay_seconds(const vivaldi::config& cfg, std::size_t n, const std::vector<bench::sample>& samples,
                           int repeats, double best) {
  for (int rep = 0; rep < repeats; ++rep) {
    auto fresh = make_clients(cfg, n);
    const double t0 = thread_cpu_seconds();
    for (const auto& s : samples)
      (void)fresh[s.node].update(vivaldi::peer_id{s.peer}, fresh[s.peer].get_coordinate(),
                                 std::chrono::nanoseconds(s.rtt_ns));
    best = std::min(best, thread_cpu_seconds() - t0);
  }
  return best;
}

void write_coordinates(const std::string& path, const std::vector<vivaldi::client>& clients) {
  std::ofstream f(path);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto& c = clients[i].get_coordinate();
    f << json{{"node", i}, {"Vec", c.vec}, {"Error", c.error}, {"Adjustment", c.adjustment}, {"Height", c.height}}
             .dump()
      << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Vivaldi accuracy benchmark (seattle99 PROTOCOL.md v1)"};
  cli_options o;
  add_options(app, o);
  CLI11_PARSE(app, argc, argv);

  if (!o.make_matrix_path.empty()) {
    bench::matrix m;
    if (auto e = bench::make_matrix(o.shape, o.nodes, o.seed, m)) return fail(*e);
    if (auto e = bench::write_matrix(o.make_matrix_path, m, 1)) return fail(*e);
    return 0;
  }
  if (!o.suite_dirs.empty()) {
    vivaldi::config cfg;
    if (auto e = build_config(o.algo, o.seed, o.settings, cfg)) return fail(*e);
    return bench::run_suite({o.suite_dirs, cfg, o.late_fraction, o.join_round}, std::cout, std::cerr);
  }
  if (o.matrix_path.empty()) return fail("--matrix is required");
  bench::matrix truth;
  if (auto e = bench::read_matrix(o.matrix_path, truth)) return fail(*e);
  if (!o.gen_schedule.empty()) {
    if (auto e = bench::write_schedule(o.gen_schedule, truth, base_name(o.matrix_path), o.rounds, o.seed, o.jitter))
      return fail(*e);
    return 0;
  }
  if (o.schedule_path.empty()) return fail("--schedule is required");
  bench::schedule sched;
  if (auto e = bench::read_schedule(o.schedule_path, truth.n, sched)) return fail(*e);

  vivaldi::config cfg;
  if (auto e = build_config(o.algo, o.seed, o.settings, cfg)) return fail(*e);

  const auto checkpoints = parse_checkpoints(o.checkpoints_arg, sched.rounds);
  if (!o.dump_dir.empty()) std::filesystem::create_directories(o.dump_dir);
  std::FILE* csv = nullptr;
  if (!o.csv_path.empty()) {
    csv = std::fopen(o.csv_path.c_str(), "w");
    if (!csv) return fail("cannot write " + o.csv_path);
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
    if (!o.dump_dir.empty()) {
      bench::matrix m{truth.n, pred};
      if (auto e = bench::write_matrix(o.dump_dir + "/pred.r" + std::to_string(r) + ".rtt", m, 6))
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

  const double best = best_replay_seconds(cfg, truth.n, samples, o.timing_repeats, update_time);

  if (!o.coords_path.empty()) write_coordinates(o.coords_path, clients);
  std::uint64_t resets = 0;
  for (const auto& c : clients) resets += c.resets();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  json out = {{"tool", "chorus-vivaldi-bench"},
              {"library", std::string("chorus vivaldi (algorithm=") + o.algo + ")"},
              {"matrix", base_name(o.matrix_path)},
              {"schedule", base_name(o.schedule_path)},
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
  if (o.late_fraction > 0) out["late_join"] = late_join_json(cfg, o, truth, sched);
  std::cout << out.dump(2) << "\n";
  return 0;
}
