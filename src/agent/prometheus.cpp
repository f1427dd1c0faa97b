#include "agent/prometheus.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/enum_names.hpp"

namespace chorus::agent::prometheus {

namespace {

bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view n, bool colon) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i)
    if (!name_char(n[i], i == 0, colon)) return false;
  return true;
}

const char* type_name(metric_type t) {
  return enum_name<metric_type::histogram>(t, {"counter", "gauge", "histogram"}, "gauge");
}

bool valid_sample(const family& f, const sample& s) {
  if (!valid_metric_name(f.name + s.suffix)) return false;
  for (const auto& [k, v] : s.labels)
    if (!valid_label_name(k) || k.rfind("__", 0) == 0) return false;
  return true;
}

}  // namespace

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }
bool valid_label_name(std::string_view name) { return valid_name(name, false); }

namespace {

// HELP text escapes backslash and newline; label values also the double quote.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string escape_help(std::string_view text) { return escape(text, false); }
std::string escape_label_value(std::string_view text) { return escape(text, true); }

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integral values (every counter) exactly, without an exponent.
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);  // shortest round-trip form, Go's ParseFloat reads it
}

std::string sample_key(const family& f, const sample& s) {
  std::string out = f.name + s.suffix;
  if (s.labels.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    if (i) out += ',';
    out += s.labels[i].first + "=\"" + escape_label_value(s.labels[i].second) + '"';
  }
  out += '}';
  return out;
}

void add_histogram(family& f, const histogram_data& h, const label_set& labels) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    label_set l = labels;
    l.emplace_back("le", format_value(h.bounds[i]));
    f.samples.push_back(sample{"_bucket", std::move(l), static_cast<double>(cumulative)});
  }
  label_set inf = labels;
  inf.emplace_back("le", "+Inf");
  f.samples.push_back(sample{"_bucket", std::move(inf), static_cast<double>(h.count)});
  f.samples.push_back(sample{"_sum", labels, h.sum});
  f.samples.push_back(sample{"_count", labels, static_cast<double>(h.count)});
}

std::string render(const std::vector<family>& families) {
  std::string out;
  for (const auto& f : families) {
    if (!valid_metric_name(f.name)) continue;
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + type_name(f.type) + "\n";
    for (const auto& s : f.samples)
      if (valid_sample(f, s)) out += sample_key(f, s) + " " + format_value(s.value) + "\n";
  }
  return out;
}

std::map<std::string, std::string> flatten(const std::vector<family>& families) {
  std::map<std::string, std::string> out;
  for (const auto& f : families) {
    if (!valid_metric_name(f.name)) continue;
    for (const auto& s : f.samples)
      if (s.suffix != "_bucket" && valid_sample(f, s)) out[sample_key(f, s)] = format_value(s.value);
  }
  return out;
}

}  // namespace chorus::agent::prometheus
