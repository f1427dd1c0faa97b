#pragma once
// Prometheus text exposition format 0.0.4 (what `-metrics-addr` serves at
// GET /metrics), and the same samples flattened into `key = value` pairs for
// `chorus info`. No I/O here.
//
//   # HELP chorus_members Members known to this agent, by Serf status.
//   # TYPE chorus_members gauge
//   chorus_members{status="alive"} 2
//
// Rules of the format this writer keeps: one HELP and one TYPE line per
// family, before its samples; HELP text escapes '\' and newline; label
// values escape '\', '"' and newline; values are Go-parsable floats ("NaN",
// "+Inf", "-Inf"), integers printed without exponent; histograms expose
// cumulative `_bucket{le="..."}` samples ending with le="+Inf", then `_sum`
// and `_count`.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chorus::agent::prometheus {

enum class metric_type { counter, gauge, histogram };

using label_set = std::vector<std::pair<std::string, std::string>>;

struct sample {
  std::string suffix;  // appended to the family name: "", "_bucket", "_sum", "_count"
  label_set labels;
  double value = 0;
};

struct family {
  std::string name;
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<sample> samples;

  family& add(double value, label_set labels = {}) {
    samples.push_back(sample{"", std::move(labels), value});
    return *this;
  }
};

// Per-bucket (not cumulative) counts for `bounds` (ascending upper bounds,
// seconds or any unit), plus one overflow count: counts.size() == bounds.size() + 1.
struct histogram_data {
  std::vector<double> bounds;
  std::vector<std::uint64_t> counts;
  double sum = 0;
  std::uint64_t count = 0;
};
// Appends one histogram (its _bucket, _sum and _count samples) to `f`.
void add_histogram(family& f, const histogram_data& h, const label_set& labels = {});

// [a-zA-Z_:][a-zA-Z0-9_:]* ; label names the same without ':'.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

std::string escape_help(std::string_view text);
std::string escape_label_value(std::string_view text);
std::string format_value(double v);
// name + suffix + {k="v",...} (no braces without labels).
std::string sample_key(const family& f, const sample& s);

// The whole exposition, families in the given order. Families or labels with
// invalid names are skipped (never produce a document a scraper rejects).
std::string render(const std::vector<family>& families);

// For `info`: sample_key -> value, histogram buckets left out (their _sum and
// _count stay).
std::map<std::string, std::string> flatten(const std::vector<family>& families);

// The Content-Type of render()'s output.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace chorus::agent::prometheus
