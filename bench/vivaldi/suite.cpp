#include "suite.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "replay.hpp"

namespace chorus::bench {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::uint32_t checkpoint_rounds[] = {10, 50, 200};

struct figures {  // median and p99 relative error at rounds 10, 50, 200
  double median[3] = {0, 0, 0}, p99[3] = {0, 0, 0};
};

struct run_key {
  std::string matrix, kind;
  bool operator<(const run_key& o) const { return std::tie(matrix, kind) < std::tie(o.matrix, o.kind); }
};

struct group {  // one matrix and schedule kind, over its seeds
  std::vector<figures> chorus, serf;
  bool serf_ported = false;  // some Serf figures come from our port, not a baseline JSON
  std::optional<double> offline;
  std::vector<std::optional<std::uint32_t>> late_chorus, late_serf;    // rounds to the cluster's median
  std::vector<std::optional<std::uint32_t>> match_chorus, match_serf;  // rounds to the from-start run's error
};

std::optional<figures> from_baseline(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("checkpoints")) return std::nullopt;
  figures f;
  int found = 0;
  for (const auto& c : j["checkpoints"])
    for (int k = 0; k < 3; ++k)
      if (c.value("rounds", 0u) == checkpoint_rounds[k]) {
        f.median[k] = c.at("median_rel_err").get<double>();
        f.p99[k] = c.at("p99_rel_err").get<double>();
        ++found;
      }
  return found == 3 ? std::optional(f) : std::nullopt;
}

std::optional<double> offline_bound(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  const json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  const json* r = j.contains("results") ? &j["results"] : nullptr;
  if (!r || !r->contains("gd_8d+height")) return std::nullopt;
  return (*r)["gd_8d+height"].value("median_rel_err", 0.0);
}

figures from_scores(const std::map<std::uint32_t, scores>& s) {
  figures f;
  for (int k = 0; k < 3; ++k)
    if (auto it = s.find(checkpoint_rounds[k]); it != s.end()) {
      f.median[k] = it->second.median_rel_err;
      f.p99[k] = it->second.p99_rel_err;
    }
  return f;
}

figures mean(const std::vector<figures>& v) {
  figures m;
  for (const auto& f : v)
    for (int k = 0; k < 3; ++k) {
      m.median[k] += f.median[k] / static_cast<double>(v.size());
      m.p99[k] += f.p99[k] / static_cast<double>(v.size());
    }
  return m;
}

std::string late_text(const std::vector<std::optional<std::uint32_t>>& v) {
  std::string s;
  for (const auto& r : v) s += (s.empty() ? "" : ",") + (r ? std::to_string(*r) : std::string("never"));
  return s;
}

// Schedules named <matrix>.<kind>.r<rounds>.s<seed>.sched in dir or dir/schedules.
std::vector<std::pair<fs::path, std::string>> schedules_of(const fs::path& dir, const std::string& matrix) {
  std::vector<std::pair<fs::path, std::string>> out;
  const std::regex name(std::regex_replace(matrix, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                        R"(\.([A-Za-z0-9_-]+)\.r\d+\.s\d+\.sched)");
  for (const fs::path& d : {dir, dir / "schedules"}) {
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      std::smatch m;
      const std::string f = e.path().filename().string();
      if (std::regex_match(f, m, name)) out.emplace_back(e.path(), m[1].str());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void print_table(const std::map<run_key, group>& groups, bool late, std::ostream& out, bool& all_ok) {
  char buf[512];
  out << "| matrix | schedule | seeds | r10 chorus / Serf | r50 chorus / Serf | r200 chorus / Serf / offline (goal) | "
         "p99 r50 chorus / Serf | p99 r200 chorus / Serf | goals |"
      << (late ? " late joiners, rounds to the cluster's median: chorus / Serf | to their from-start error: chorus / "
                 "Serf |"
               : "")
      << "\n";
  out << "|---|---|---:|---|---|---|---|---|---|" << (late ? "---|---|" : "") << "\n";
  for (const auto& [key, g] : groups) {
    const figures c = mean(g.chorus), s = mean(g.serf);
    const double goal = g.offline ? s.median[2] - 0.5 * (s.median[2] - *g.offline) : 0.0;
    const bool ok[5] = {c.median[0] <= 1.05 * s.median[0], c.median[1] <= 0.75 * s.median[1],
                        g.offline && c.median[2] <= goal, c.p99[1] <= s.p99[1], c.p99[2] <= s.p99[2]};
    std::string goals;
    const char* names[5] = {"r10", "r50", "r200", "p99r50", "p99r200"};
    for (int i = 0; i < 5; ++i)
      if (!ok[i]) goals += std::string(goals.empty() ? "MISSED " : ",") + names[i];
    if (goals.empty()) goals = "all";
    all_ok = all_ok && goals == "all";
    std::snprintf(buf, sizeof buf,
                  "| %s | %s | %zu | %.4f / %.4f (%.2f) | %.4f / %.4f (%.2f) | %.4f / %.4f%s / %s (%s) | %.3f / %.3f | "
                  "%.3f / %.3f | %s |",
                  key.matrix.c_str(), key.kind.c_str(), g.chorus.size(), c.median[0], s.median[0],
                  c.median[0] / s.median[0], c.median[1], s.median[1], c.median[1] / s.median[1], c.median[2],
                  s.median[2], g.serf_ported ? "*" : "",
                  g.offline ? std::to_string(*g.offline).substr(0, 6).c_str() : "n/a",
                  g.offline ? std::to_string(goal).substr(0, 6).c_str() : "n/a", c.p99[1], s.p99[1], c.p99[2], s.p99[2],
                  goals.c_str());
    out << buf;
    if (late)
      out << " " << late_text(g.late_chorus) << " / " << late_text(g.late_serf) << " | " << late_text(g.match_chorus)
          << " / " << late_text(g.match_serf) << " |";
    out << "\n";
  }
}

}  // namespace

int run_suite(const suite_options& opt, std::ostream& out, std::ostream& err) {
  std::map<run_key, group> groups;
  const std::vector<std::uint32_t> cps(std::begin(checkpoint_rounds), std::end(checkpoint_rounds));
  vivaldi::config serf_cfg = vivaldi::config::serf();
  serf_cfg.seed = opt.chorus.seed;
  for (const auto& d : opt.dirs) {
    if (!fs::is_directory(d)) {
      err << "chorus-vivaldi-bench: --suite: " << d << " is not a directory\n";
      return 2;
    }
    std::vector<fs::path> matrices;
    for (const auto& e : fs::directory_iterator(d))
      if (e.path().extension() == ".rtt") matrices.push_back(e.path());
    std::sort(matrices.begin(), matrices.end());
    for (const auto& mp : matrices) {
      const std::string name = mp.stem().string();
      matrix truth;
      if (auto e = read_matrix(mp.string(), truth)) {
        err << "chorus-vivaldi-bench: " << *e << "\n";
        return 2;
      }
      for (const auto& [sp, kind] : schedules_of(d, name)) {
        schedule sched;
        if (auto e = read_schedule(sp.string(), truth.n, sched)) {
          err << "chorus-vivaldi-bench: " << *e << "\n";
          return 2;
        }
        group& g = groups[{name, kind}];
        if (auto b = offline_bound(fs::path(d) / "serf-baseline" / ("reference-bounds." + name + ".json")))
          g.offline = b;
        g.chorus.push_back(from_scores(replay(opt.chorus, truth, sched, cps)));
        auto base = from_baseline(fs::path(d) / "serf-baseline" / (sp.stem().string() + ".json"));
        if (!base) {
          base = from_scores(replay(serf_cfg, truth, sched, cps));
          g.serf_ported = true;
        }
        g.serf.push_back(*base);
        if (opt.late_fraction > 0) {
          const auto c = late_join(opt.chorus, truth, sched, opt.late_fraction, opt.join_round, 1);
          const auto s = late_join(serf_cfg, truth, sched, opt.late_fraction, opt.join_round, 1);
          g.late_chorus.push_back(c.rounds_to_cluster_median);
          g.late_serf.push_back(s.rounds_to_cluster_median);
          g.match_chorus.push_back(c.rounds_to_match_from_start);
          g.match_serf.push_back(s.rounds_to_match_from_start);
        }
      }
    }
  }
  if (groups.empty()) {
    err << "chorus-vivaldi-bench: --suite: no <matrix>.rtt with <matrix>.<kind>.r<R>.s<seed>.sched schedules found\n";
    return 2;
  }
  bool all_ok = true;
  print_table(groups, opt.late_fraction > 0, out, all_ok);
  out << "\nMedian / p99 relative error, mean over the seeds; (ratio) = chorus / Serf. Serf = its published baseline "
         "JSON beside the schedule; * = some seeds had none, our bit-exact port of Serf's algorithm ran instead. "
         "Goals: r10 <= 1.05 x Serf, r50 <= 0.75 x Serf, r200 <= Serf - (Serf - offline) / 2, p99 <= Serf at r50 "
         "and r200. Late joiners (--late-join): per seed, rounds after --join-round until the median error of "
         "their pairs is at most the cluster's, and at most what the same pairs have at that round in a run where "
         "every node starts at round 1.\n"
      << (all_ok ? "All goals met.\n" : "Some goals missed.\n");
  return all_ok ? 0 : 1;
}

}  // namespace chorus::bench
