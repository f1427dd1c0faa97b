// The Prometheus text exposition writer (agent/prometheus.hpp): what
// `-metrics-addr` serves and `chorus info` flattens.
#include "agent/prometheus.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

using namespace chorus::agent::prometheus;

TEST_CASE("exposition: HELP and TYPE before the samples, labels in order", "[metrics]") {
  family members{"chorus_members", "Members by status.", metric_type::gauge, {}};
  members.add(2, {{"status", "alive"}}).add(0, {{"status", "failed"}});
  family probes{"chorus_probes_total", "Probes started.", metric_type::counter, {}};
  probes.add(17);
  CHECK(render({members, probes}) ==
        "# HELP chorus_members Members by status.\n"
        "# TYPE chorus_members gauge\n"
        "chorus_members{status=\"alive\"} 2\n"
        "chorus_members{status=\"failed\"} 0\n"
        "# HELP chorus_probes_total Probes started.\n"
        "# TYPE chorus_probes_total counter\n"
        "chorus_probes_total 17\n");
  family two{"m", "h", metric_type::gauge, {}};
  two.add(1, {{"a", "x"}, {"b", "y"}});
  CHECK(render({two}).find("m{a=\"x\",b=\"y\"} 1\n") != std::string::npos);
}

TEST_CASE("exposition: label values escape backslash, quote and newline, and HELP escapes backslash and newline",
          "[metrics]") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\\b") == "a\\\\b");
  CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(escape_label_value("two\nlines") == "two\\nlines");
  CHECK(escape_label_value("ünïcode ok") == "ünïcode ok");
  CHECK(escape_help("a\\b\nc \"quoted\"") == "a\\\\b\\nc \"quoted\"");
  family f{"chorus_x", "line one\nline two", metric_type::gauge, {}};
  f.add(1, {{"node", "n\"1\"\\\n"}});
  CHECK(render({f}) ==
        "# HELP chorus_x line one\\nline two\n"
        "# TYPE chorus_x gauge\n"
        "chorus_x{node=\"n\\\"1\\\"\\\\\\n\"} 1\n");
}

TEST_CASE("exposition: values as Go parses them", "[metrics]") {
  CHECK(format_value(0) == "0");
  CHECK(format_value(42) == "42");
  CHECK(format_value(-3) == "-3");
  CHECK(format_value(18446744073709551615.0) == "1.8446744073709552e+19");
  CHECK(format_value(9007199254740991.0) == "9007199254740991");
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(1.0 / 3) == "0.3333333333333333");
  CHECK(format_value(std::numeric_limits<double>::quiet_NaN()) == "NaN");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
  // Every value the writer prints reads back the same.
  for (double v : {0.1, 1e-9, 123456.789, 2.5e300}) CHECK(std::stod(format_value(v)) == v);
}

TEST_CASE("exposition: histograms are cumulative, end with +Inf, then _sum and _count", "[metrics]") {
  histogram_data h;
  h.bounds = {0.1, 1};
  h.counts = {2, 1, 3};  // per bucket, last = above 1
  h.sum = 9.5;
  h.count = 6;
  family f{"chorus_push_pull_duration_seconds", "Push/pull durations.", metric_type::histogram, {}};
  add_histogram(f, h);
  CHECK(render({f}) ==
        "# HELP chorus_push_pull_duration_seconds Push/pull durations.\n"
        "# TYPE chorus_push_pull_duration_seconds histogram\n"
        "chorus_push_pull_duration_seconds_bucket{le=\"0.1\"} 2\n"
        "chorus_push_pull_duration_seconds_bucket{le=\"1\"} 3\n"
        "chorus_push_pull_duration_seconds_bucket{le=\"+Inf\"} 6\n"
        "chorus_push_pull_duration_seconds_sum 9.5\n"
        "chorus_push_pull_duration_seconds_count 6\n");
  // info keeps _sum and _count, not the buckets.
  const auto flat = flatten({f});
  CHECK(flat.size() == 2);
  CHECK(flat.at("chorus_push_pull_duration_seconds_sum") == "9.5");
  CHECK(flat.at("chorus_push_pull_duration_seconds_count") == "6");
}

TEST_CASE("exposition: invalid metric or label names never reach the output", "[metrics]") {
  CHECK(valid_metric_name("chorus_members"));
  CHECK(valid_metric_name("a:b_c9"));
  CHECK_FALSE(valid_metric_name("9lives"));
  CHECK_FALSE(valid_metric_name("has-dash"));
  CHECK_FALSE(valid_metric_name(""));
  CHECK(valid_label_name("status"));
  CHECK_FALSE(valid_label_name("a:b"));
  family bad_name{"bad-name", "h", metric_type::gauge, {}};
  bad_name.add(1);
  family bad_label{"good", "h", metric_type::gauge, {}};
  bad_label.add(1, {{"bad label", "v"}}).add(2, {{"__reserved", "v"}}).add(3, {{"ok", "v"}});
  CHECK(render({bad_name, bad_label}) == "# HELP good h\n# TYPE good gauge\ngood{ok=\"v\"} 3\n");
}

TEST_CASE("flatten: sample keys as they appear in the exposition", "[metrics]") {
  family f{"chorus_members", "h", metric_type::gauge, {}};
  f.add(2, {{"status", "alive"}}).add(1, {{"status", "failed"}});
  family g{"chorus_coordinate_error", "h", metric_type::gauge, {}};
  g.add(0.5);
  const auto flat = flatten({f, g});
  CHECK(flat.at("chorus_members{status=\"alive\"}") == "2");
  CHECK(flat.at("chorus_members{status=\"failed\"}") == "1");
  CHECK(flat.at("chorus_coordinate_error") == "0.5");
}
