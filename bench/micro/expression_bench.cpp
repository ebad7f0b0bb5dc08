// The audience expression on the bid path (issue 20): the flat program that evaluates a
// campaign's targeting.audience, against the hand-written all_of / any_of / none_of loops it
// replaced (copied here as they were in engine/auction.cpp), for a user with six segments.
//   build/bench/bench_expression [--benchmark_repetitions=5 --benchmark_report_aggregates_only]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <vector>

#include "bidder/expression/program.hpp"
#include "bidder/expression/text.hpp"

namespace {

using namespace bidder;
constexpr unix_seconds now = 1'795'000'000;
constexpr unix_seconds day = 86'400;

// Segment names are single letters a..z, ids 0..25.
segment_id id_of(std::string_view name) { return static_cast<segment_id>(name[0] - 'a'); }

// The user: segments b, d, f, h, k, m, seen 1 to 6 days ago.
std::vector<segment_membership> user() {
  std::vector<segment_membership> out;
  unix_seconds days = 1;
  for (char c : std::string_view("bdfhkm"))
    out.push_back({id_of(std::string(1, c)), now - days++ * day});
  return out;
}

// Before: engine/auction.cpp's audience_matches over compiled_campaign's three lists.
struct condition {
  segment_id segment = 0;
  std::uint32_t within_days = 0;
};
struct flat_lists {
  std::vector<condition> all_of, any_of, none_of;
};

const segment_membership* find_segment(std::span<const segment_membership> segments,
                                       segment_id segment) noexcept {
  for (const segment_membership& m : segments) {
    if (m.segment == segment) return &m;
    if (m.segment > segment) break;
  }
  return nullptr;
}
bool seen_within(const segment_membership* m, std::uint32_t within_days, unix_seconds t) noexcept {
  if (m == nullptr) return false;
  if (within_days == 0) return true;
  return t - m->last_seen <= static_cast<unix_seconds>(within_days) * 86400;
}
bool loops_match(const flat_lists& c, std::span<const segment_membership> segments,
                 unix_seconds t) {
  auto seen = [&](const condition& cond) {
    return seen_within(find_segment(segments, cond.segment), cond.within_days, t);
  };
  for (const condition& cond : c.all_of) {
    if (!seen(cond)) return false;
  }
  if (!c.any_of.empty() && std::none_of(c.any_of.begin(), c.any_of.end(), seen)) return false;
  return std::none_of(c.none_of.begin(), c.none_of.end(), seen);
}

// The three lists of a flat expression as the text syntax reads it: all(a, any(b, c), not(d))
// is a group whose nested groups each hold one list.
void add_lists(const expression::group& g, flat_lists& out) {
  for (auto [from, to] :
       {std::pair{&g.all_of, &out.all_of}, {&g.any_of, &out.any_of}, {&g.none_of, &out.none_of}}) {
    for (const auto& c : *from) {
      if (c.nested) {
        add_lists(*c.nested, out);
      } else {
        to->push_back({id_of(c.segment), c.within_days});
      }
    }
  }
}
flat_lists lists_of(const expression::group& g) {
  flat_lists out;
  add_lists(g, out);
  return out;
}

// The flat cases (all of them expressible before): arg 0 matches (every condition reached),
// arg 1 fails on its first condition.
const char* flat_cases[] = {
    "all(d@10, not(a))",                     // the demo's shape: a segment, an exclusion
    "all(b@7, f, any(c, h, z), not(a, y))",  // all three lists
    "all(q@7, f, any(c, h, z), not(a, y))",  // the same, failing at once
};

void BM_flat_loops(benchmark::State& state) {
  auto g = expression::parse_text(flat_cases[state.range(0)]);
  const flat_lists lists = lists_of(*g);
  const auto segments = user();
  // The program must agree with the loops, or the comparison means nothing.
  if (expression::matches(*expression::compile(*g, id_of), segments, now) !=
      loops_match(lists, segments, now)) {
    state.SkipWithError("the program and the loops disagree");
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(loops_match(lists, segments, now));
  }
}
BENCHMARK(BM_flat_loops)->ArgName("case")->Arg(0)->Arg(1)->Arg(2);

void BM_flat_program(benchmark::State& state) {
  auto g = expression::parse_text(flat_cases[state.range(0)]);
  const auto program = expression::compile(*g, id_of);
  const auto segments = user();
  for (auto _ : state) {
    benchmark::DoNotOptimize(expression::matches(*program, segments, now));
  }
}
BENCHMARK(BM_flat_program)->ArgName("case")->Arg(0)->Arg(1)->Arg(2);

// Nested: three and four levels, 9 and 14 conditions, nearly all reached.
const char* nested_cases[] = {
    "all(b@7, any(c, all(f, not(a))), not(all(h, y)))",
    "all(b, any(c, all(f@10, h, not(m@2), any(z, k@30))), not(a, d))",
};

void BM_nested_program(benchmark::State& state) {
  auto g = expression::parse_text(nested_cases[state.range(0)]);
  const auto program = expression::compile(*g, id_of);
  const auto segments = user();
  for (auto _ : state) {
    benchmark::DoNotOptimize(expression::matches(*program, segments, now));
  }
}
BENCHMARK(BM_nested_program)->ArgName("case")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
