// first_price_dump SCENARIO.json: every first-price opportunity of the scenario's market, one a
// line: "<index> <floor CPM> <highest competing bid CPM>" then, per campaign in the scenario's
// order, "<true expected value CPM, -1 if not eligible> <true P(conversion)>". What
// bench/shading-ceiling replays a bidder's logged bids against (docs/bid-shading.md).
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/sim/market.hpp"
#include "bench/sim/scenario_json.hpp"

using namespace bidder::sim;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: first_price_dump SCENARIO.json\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  const auto s = scenario_from_json(text.str(), error);
  if (!in || !s) {
    std::fprintf(stderr, "first_price_dump: %s: %s\n", argv[1], error.c_str());
    return 1;
  }
  const population users = make_population(*s);
  const std::uint64_t first = first_request(*s);
  for (std::uint64_t i = first; i < first + total_requests(*s); ++i) {
    const opportunity o = make_opportunity(*s, users, i);
    if (s->exchanges[o.exchange].kind != auction_kind::first_price) continue;
    const user& u = users[o.user];
    std::printf("%llu %.4f %.6f", static_cast<unsigned long long>(o.index), o.floor_cpm,
                o.highest_competitor_cpm);
    for (std::size_t c = 0; c < s->campaigns.size(); ++c) {
      const campaign_spec& spec = s->campaigns[c];
      std::printf(" %.6f %.8f", eligible(spec, u) ? expected_value_cpm(*s, u, o, c) : -1.0,
                  click_probability(*s, spec, u, o) * conversion_probability(*s, spec, u, o));
    }
    std::printf("\n");
  }
  return 0;
}
