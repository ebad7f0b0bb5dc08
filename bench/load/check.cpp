#include "bench/load/check.hpp"

#include <array>
#include <cmath>
#include <cstdio>

#include "bench/load/units.hpp"

namespace bidder::bench {
namespace {

struct metric_info {
  std::string_view name;
  metric_kind kind;
};

constexpr std::array<metric_info, 29> catalogue{{
    {"p50", metric_kind::latency},
    {"p90", metric_kind::latency},
    {"p99", metric_kind::latency},
    {"p99.9", metric_kind::latency},
    {"p99.99", metric_kind::latency},
    {"max", metric_kind::latency},
    {"mean", metric_kind::latency},
    {"sent", metric_kind::count},
    {"bids", metric_kind::count},
    {"nobids", metric_kind::count},
    {"4xx", metric_kind::count},
    {"5xx", metric_kind::count},
    {"other", metric_kind::count},
    {"errors", metric_kind::count},
    {"timeouts", metric_kind::count},
    {"miss", metric_kind::count},
    {"late", metric_kind::count},
    {"unsent", metric_kind::count},
    {"rps", metric_kind::rate},
    {"slo_rps", metric_kind::rate},
    {"full_rps", metric_kind::rate},
    {"bid_share", metric_kind::share},
    {"nobid_share", metric_kind::share},
    {"error_share", metric_kind::share},
    {"miss_share", metric_kind::share},
    // Aliases, spelled without the dot.
    {"p999", metric_kind::latency},
    {"p9999", metric_kind::latency},
    {"p50.0", metric_kind::latency},
    {"misses", metric_kind::count},
}};

std::string_view canonical(std::string_view name) {
  if (name == "p999") return "p99.9";
  if (name == "p9999") return "p99.99";
  if (name == "p50.0") return "p50";
  if (name == "misses") return "miss";
  return name;
}

std::string known_names() {
  std::string out;
  for (std::size_t i = 0; i < catalogue.size() - 4; ++i) {
    if (i > 0) out += ' ';
    out += catalogue[i].name;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

std::string_view to_string(check_op op) noexcept {
  switch (op) {
    case check_op::less:
      return "<";
    case check_op::less_equal:
      return "<=";
    case check_op::greater:
      return ">";
    case check_op::greater_equal:
      return ">=";
    case check_op::equal:
      return "=";
    case check_op::not_equal:
      return "!=";
  }
  return "?";
}

result<std::vector<check>> parse_checks(std::string_view spec) {
  std::vector<check> checks;
  auto fail = [](std::string_view term, const std::string& why) {
    return make_error(errc::invalid_field, "--check term '" + std::string(term) + "': " + why);
  };
  if (trim(spec).empty()) return make_error(errc::invalid_field, "--check: empty spec");
  while (true) {
    const std::size_t comma = spec.find(',');
    const std::string_view term = trim(spec.substr(0, comma));
    if (term.empty()) return make_error(errc::invalid_field, "--check: empty term in the list");
    const std::size_t op_at = term.find_first_of("<>=!");
    if (op_at == std::string_view::npos) {
      return fail(term, "expected <metric><op><value>, e.g. p99<5ms (ops: < <= > >= = !=)");
    }
    check c;
    c.text = std::string(term);
    const std::string_view name = trim(term.substr(0, op_at));
    std::string_view rest = term.substr(op_at);
    if (rest.starts_with("<=")) {
      c.op = check_op::less_equal;
      rest.remove_prefix(2);
    } else if (rest.starts_with(">=")) {
      c.op = check_op::greater_equal;
      rest.remove_prefix(2);
    } else if (rest.starts_with("==")) {
      c.op = check_op::equal;
      rest.remove_prefix(2);
    } else if (rest.starts_with("!=")) {
      c.op = check_op::not_equal;
      rest.remove_prefix(2);
    } else if (rest.starts_with("<")) {
      c.op = check_op::less;
      rest.remove_prefix(1);
    } else if (rest.starts_with(">")) {
      c.op = check_op::greater;
      rest.remove_prefix(1);
    } else if (rest.starts_with("=")) {
      c.op = check_op::equal;
      rest.remove_prefix(1);
    } else {
      return fail(term, "unknown operator (use < <= > >= = !=)");
    }
    const std::string_view value = trim(rest);
    const metric_info* info = nullptr;
    for (const metric_info& m : catalogue) {
      if (m.name == name) info = &m;
    }
    if (info == nullptr) {
      return fail(term,
                  "unknown metric '" + std::string(name) + "' (known: " + known_names() + ")");
    }
    c.metric = std::string(canonical(info->name));
    c.kind = info->kind;
    if (value.empty()) return fail(term, "missing value after the operator");
    switch (c.kind) {
      case metric_kind::latency: {
        const bool bare = value.find_first_not_of("0123456789.") == std::string_view::npos;
        const auto d = bare ? std::nullopt : parse_duration(value);
        if (!d) {
          return fail(term, c.metric + " is a latency and needs a unit (ns, us, ms, s), e.g. " +
                                c.metric + "<5ms");
        }
        c.bound = static_cast<double>(d->count());
        break;
      }
      case metric_kind::count: {
        const auto n = parse_scaled(value);
        if (!n || *n != std::floor(*n)) {
          return fail(term, c.metric + " is a count: use a whole number, e.g. " + c.metric + "=0");
        }
        c.bound = *n;
        break;
      }
      case metric_kind::rate: {
        std::string_view v = value;
        if (v.ends_with("/s")) v.remove_suffix(2);
        const auto n = parse_scaled(v);
        if (!n) return fail(term, c.metric + " is a rate: use e.g. " + c.metric + ">=50k");
        c.bound = *n;
        break;
      }
      case metric_kind::share: {
        std::string_view v = value;
        const bool percent = v.ends_with("%");
        if (percent) v.remove_suffix(1);
        const auto n = parse_scaled(v);
        if (!n || (percent ? *n > 100 : *n > 1)) {
          return fail(term, c.metric + " is a share: use 0 to 1 or a percentage, e.g. " + c.metric +
                                "<0.5 or " + c.metric + "<50%");
        }
        c.bound = percent ? *n / 100.0 : *n;
        break;
      }
    }
    checks.push_back(std::move(c));
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return checks;
}

std::vector<check_outcome> evaluate_checks(const std::vector<check>& checks,
                                           const metric_values& values) {
  std::vector<check_outcome> out;
  for (const check& c : checks) {
    check_outcome o{c, 0, true, false};
    const auto it = values.find(c.metric);
    if (it == values.end()) {
      o.known = false;
    } else {
      o.actual = it->second;
      switch (c.op) {
        case check_op::less:
          o.passed = o.actual < c.bound;
          break;
        case check_op::less_equal:
          o.passed = o.actual <= c.bound;
          break;
        case check_op::greater:
          o.passed = o.actual > c.bound;
          break;
        case check_op::greater_equal:
          o.passed = o.actual >= c.bound;
          break;
        case check_op::equal:
          o.passed = o.actual == c.bound;
          break;
        case check_op::not_equal:
          o.passed = o.actual != c.bound;
          break;
      }
    }
    out.push_back(std::move(o));
  }
  return out;
}

metric_values metrics_of(const load_result& r) {
  const load_counts& n = r.counts;
  auto ns = [](std::chrono::nanoseconds d) { return static_cast<double>(d.count()); };
  metric_values v;
  // Without any answer there is no latency to bound: 'p99<5ms' fails (n/a) rather than pass
  // on an empty histogram's zeros. (Timed-out requests count in the histogram.)
  if (r.latency.count() > 0) {
    v["p50"] = ns(r.latency.percentile(50));
    v["p90"] = ns(r.latency.percentile(90));
    v["p99"] = ns(r.latency.percentile(99));
    v["p99.9"] = ns(r.latency.percentile(99.9));
    v["p99.99"] = ns(r.latency.percentile(99.99));
    v["max"] = ns(r.latency.max());
    v["mean"] = ns(r.latency.mean());
  }
  v["sent"] = static_cast<double>(n.sent);
  v["bids"] = static_cast<double>(n.bids);
  v["nobids"] = static_cast<double>(n.no_bids);
  v["4xx"] = static_cast<double>(n.client_errors);
  v["5xx"] = static_cast<double>(n.server_errors);
  v["other"] = static_cast<double>(n.other_status);
  v["errors"] = static_cast<double>(n.connection_errors);
  v["timeouts"] = static_cast<double>(n.timeouts);
  v["miss"] = static_cast<double>(n.deadline_misses);
  v["late"] = static_cast<double>(n.schedule_misses);
  v["unsent"] = static_cast<double>(n.unsent);
  v["rps"] = r.achieved_rate;
  v["bid_share"] = share(n.bids, n.answered());
  v["nobid_share"] = share(n.no_bids, n.answered());
  v["error_share"] = share(n.connection_errors + n.timeouts + n.server_errors, n.sent);
  v["miss_share"] = share(n.deadline_misses, n.answered());
  return v;
}

std::string format_metric(metric_kind kind, double value) {
  char buffer[48];
  switch (kind) {
    case metric_kind::latency:
      return format_duration(std::chrono::nanoseconds(static_cast<std::int64_t>(value)));
    case metric_kind::count:
      return format_count(static_cast<std::uint64_t>(value < 0 ? 0 : value));
    case metric_kind::rate:
      return format_rate(value);
    case metric_kind::share:
      std::snprintf(buffer, sizeof buffer, "%.2f %%", value * 100.0);
      return buffer;
  }
  return {};
}

}  // namespace bidder::bench
