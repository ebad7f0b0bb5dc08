#include "bench/load/traffic_generator.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include "bidder/core/codec.hpp"

namespace bidder::bench {
namespace {

struct size {
  int w;
  int h;
};

// The common IAB display sizes, most frequent first (requests pick the first ones more often).
constexpr std::array<size, 10> banner_sizes{{{300, 250},
                                             {728, 90},
                                             {320, 50},
                                             {300, 600},
                                             {160, 600},
                                             {970, 250},
                                             {336, 280},
                                             {320, 100},
                                             {468, 60},
                                             {300, 50}}};
constexpr std::array<std::string_view, 10> countries{"USA", "GBR", "DEU", "FRA", "CAN",
                                                     "ESP", "ITA", "JPN", "BRA", "AUS"};
constexpr std::array<std::string_view, 5> regions{"CA", "NY", "TX", "FL", "WA"};
constexpr std::array<std::string_view, 6> zips{"90210", "10021", "94027",
                                               "33109", "73301", "98101"};
constexpr std::array<std::string_view, 5> operating_systems{"iOS", "Android", "Windows", "macOS",
                                                            "Linux"};
constexpr std::array<int, 5> device_types{1, 2, 4, 5, 3};
constexpr std::array<std::string_view, 3> user_agents{
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36"};
constexpr std::array<std::string_view, 3> video_mimes{"video/mp4", "video/webm",
                                                      "application/javascript"};

// Publishers and advertisers are drawn from fixed pools so that campaign block lists, request
// badv and site/app lists meet each other.
constexpr std::uint64_t publisher_pool = 200;
constexpr std::int64_t seconds_per_day = 86400;

std::uint64_t pick_skewed(split_mix& rng, std::uint64_t n) {
  // Roughly Zipf-like: the square of a uniform draw favours low indices.
  const double u = rng.unit();
  return std::min<std::uint64_t>(n - 1, static_cast<std::uint64_t>(u * u * static_cast<double>(n)));
}

void append_hex16(std::string& out, std::uint64_t value) { append_hex(out, value, 16); }

void append_int(std::string& out, std::int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, end);
}

// Prices with two decimals, as exchanges send them.
void append_price(std::string& out, double value) {
  char buffer[32];
  auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 2);
  out.append(buffer, end);
}

void append_quoted(std::string& out, std::string_view text) {
  // Every generated string is ASCII without quotes or backslashes, except markup, which is
  // escaped here.
  out += '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void key(std::string& out, std::string_view name) {
  if (!out.empty() && out.back() != '{' && out.back() != '[') out += ',';
  append_quoted(out, name);
  out += ':';
}

void comma(std::string& out) {
  if (!out.empty() && out.back() != '{' && out.back() != '[') out += ',';
}

std::string site_domain(std::uint64_t publisher) {
  std::string out = "news";
  append_int(out, static_cast<std::int64_t>(publisher));
  out += ".example";
  return out;
}

std::string app_bundle(std::uint64_t publisher) {
  std::string out = "com.example.app";
  append_int(out, static_cast<std::int64_t>(publisher));
  return out;
}

std::string category(split_mix& rng) {
  // Appended piecewise: g++ 12 warns falsely (-Wrestrict) on "literal" + std::to_string().
  std::string cat = "IAB";
  cat += std::to_string(1 + rng.below(26));
  if (rng.chance(0.3)) {
    cat += '-';
    cat += std::to_string(1 + rng.below(10));
  }
  return cat;
}

}  // namespace

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t split_mix::next() noexcept {
  const std::uint64_t out = mix64(state_);
  state_ += 0x9e3779b97f4a7c15ULL;
  return out;
}

std::uint64_t split_mix::below(std::uint64_t n) noexcept {
  // Lemire's multiply-shift; the bias (n / 2^64) is far below anything a load test can see.
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

std::int64_t split_mix::between(std::int64_t lo, std::int64_t hi) noexcept {
  return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
}

double split_mix::unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

bool split_mix::chance(double p) noexcept { return unit() < p; }

traffic_generator::traffic_generator(traffic_options options)
    : options_(std::move(options)),
      rng_(mix64(options_.seed ^ 0x5eed5eed5eed5eedULL)),
      id_key_(mix64(options_.seed * 0x2545f4914f6cdd1dULL + 1)) {
  if (options_.segment_count == 0) options_.segment_count = 1;
  if (options_.deal_count == 0) options_.deal_count = 1;
}

std::string traffic_generator::known_user_id(std::uint64_t index) const {
  std::string id;
  append_hex16(id, mix64(index ^ id_key_));
  return id;
}

std::string traffic_generator::segment_name(std::size_t index) const {
  return "seg-" + std::to_string(index);
}

std::string traffic_generator::deal_id(std::size_t index) const {
  return "deal-" + std::to_string(index);
}

audience_member traffic_generator::member(std::uint64_t index, std::int64_t now) const {
  audience_member m;
  m.key = "user:" + known_user_id(index);
  split_mix rng(mix64(index ^ id_key_ ^ 0xa0d1e2c3b4f5a6b7ULL));
  const std::uint64_t count = 1 + rng.below(3);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string segment = segment_name(pick_skewed(rng, options_.segment_count));
    bool duplicate = false;
    for (const auto& s : m.segments) duplicate = duplicate || s.segment == segment;
    if (duplicate) continue;
    m.segments.push_back({std::move(segment), now - rng.between(0, 45) * seconds_per_day -
                                                  rng.between(0, seconds_per_day - 1)});
  }
  return m;
}

void traffic_generator::for_each_member(
    std::int64_t now, const std::function<void(const audience_member&)>& fn) const {
  for (std::uint64_t i = 0; i < options_.users; ++i) fn(member(i, now));
}

result<std::uint64_t> traffic_generator::write_audience(const std::string& dir,
                                                        std::int64_t now) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(errc::io_error, "cannot create " + dir + ": " + ec.message());
  std::vector<std::unique_ptr<std::ofstream>> files;
  for (std::size_t s = 0; s < options_.segment_count; ++s) {
    const std::string path = dir + "/" + segment_name(s) + ".txt";
    files.push_back(std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc));
    if (!*files.back()) return make_error(errc::io_error, path + ": cannot open for writing");
    *files.back() << "# bidbench audience, seed " << options_.seed << ", segment "
                  << segment_name(s) << ": store key <TAB> last seen (UNIX seconds)\n";
  }
  std::uint64_t lines = 0;
  std::string line;
  for_each_member(now, [&](const audience_member& m) {
    for (const auto& s : m.segments) {
      const std::size_t index = static_cast<std::size_t>(std::stoul(s.segment.substr(4)));
      line.assign(m.key);
      line += '\t';
      append_int(line, s.last_seen);
      line += '\n';
      files[index]->write(line.data(), static_cast<std::streamsize>(line.size()));
      ++lines;
    }
  });
  for (std::size_t s = 0; s < files.size(); ++s) {
    files[s]->flush();
    if (!*files[s]) {
      return make_error(errc::io_error, dir + "/" + segment_name(s) + ".txt: write failed");
    }
  }
  return lines;
}

void traffic_generator::append_imp(std::string& out, split_mix& rng, int index) const {
  out += '{';
  key(out, "id");
  append_quoted(out, std::to_string(index + 1));
  key(out, "tagid");
  append_quoted(out, "slot-" + std::to_string(rng.below(50)));
  const double kind = rng.unit();
  if (kind < 0.70) {
    key(out, "banner");
    const size primary = banner_sizes[pick_skewed(rng, banner_sizes.size())];
    out += "{\"w\":";
    append_int(out, primary.w);
    out += ",\"h\":";
    append_int(out, primary.h);
    if (rng.chance(0.5)) {
      out += ",\"format\":[";
      const std::uint64_t extra = 1 + rng.below(3);
      for (std::uint64_t i = 0; i < extra; ++i) {
        const size s = banner_sizes[rng.below(banner_sizes.size())];
        comma(out);
        out += "{\"w\":";
        append_int(out, s.w);
        out += ",\"h\":";
        append_int(out, s.h);
        out += '}';
      }
      out += ']';
    }
    out += ",\"pos\":";
    append_int(out, static_cast<std::int64_t>(rng.below(4)));
    if (rng.chance(0.3)) out += ",\"battr\":[1,3,8]";
    out += '}';
  } else if (kind < 0.88) {
    key(out, "video");
    out += "{\"mimes\":[";
    const std::uint64_t mimes = 1 + rng.below(video_mimes.size());
    for (std::uint64_t i = 0; i < mimes; ++i) {
      comma(out);
      append_quoted(out, video_mimes[i]);
    }
    out += "],\"minduration\":5,\"maxduration\":";
    append_int(out, rng.chance(0.5) ? 30 : 15);
    out += ",\"protocols\":[2,3,5,6],\"w\":";
    const bool large = rng.chance(0.4);
    append_int(out, large ? 1280 : 640);
    out += ",\"h\":";
    append_int(out, large ? 720 : 360);
    out += ",\"linearity\":1,\"placement\":1}";
  } else {
    key(out, "native");
    out +=
        "{\"request\":\"{\\\"ver\\\":\\\"1.2\\\",\\\"assets\\\":[{\\\"id\\\":1,\\\"required\\\":1,"
        "\\\"title\\\":{\\\"len\\\":90}},{\\\"id\\\":2,\\\"required\\\":1,\\\"img\\\":{\\\"type\\\""
        ":3,\\\"w\\\":1200,\\\"h\\\":627}}]}\",\"ver\":\"1.2\"}";
  }
  if (rng.chance(0.8)) {
    // Mostly low floors with a long premium tail (median ~2.6, 10 % above 14).
    key(out, "bidfloor");
    const double u = rng.unit();
    append_price(out, 0.1 + u * u * u * 20.0);
    key(out, "bidfloorcur");
    append_quoted(out, rng.chance(0.1) ? "EUR" : "USD");
  }
  key(out, "secure");
  out += '1';
  if (rng.chance(0.12)) {
    key(out, "pmp");
    out += "{\"private_auction\":";
    out += rng.chance(0.3) ? '1' : '0';
    out += ",\"deals\":[";
    const std::uint64_t deals = 1 + rng.below(2);
    for (std::uint64_t i = 0; i < deals; ++i) {
      comma(out);
      out += "{\"id\":";
      append_quoted(out, deal_id(rng.below(options_.deal_count)));
      out += ",\"bidfloor\":";
      append_price(out, 1.0 + rng.unit() * 5.0);
      out += ",\"bidfloorcur\":\"USD\",\"at\":1";
      if (rng.chance(0.8)) {
        out += ",\"wseat\":[";
        append_quoted(out, rng.chance(0.85) ? std::string_view(options_.seat) : "other-seat");
        out += ']';
      }
      out += '}';
    }
    out += "]}";
  }
  out += '}';
}

void traffic_generator::append_user_and_privacy(std::string& out, split_mix& rng, bool& known) {
  known = rng.chance(options_.audience_hit) && options_.users > 0;
  std::string user_id;
  if (known) {
    user_id = known_user_id(rng.below(options_.users));
  } else {
    // Outside the known population: keyed differently, so it never collides with a member.
    append_hex16(user_id, mix64(rng.next() ^ ~id_key_));
  }
  const double privacy = rng.unit();
  const bool gdpr = privacy < 0.23;
  const bool consent = privacy < 0.20;
  key(out, "user");
  out += "{\"id\":";
  append_quoted(out, user_id);
  if (rng.chance(0.2)) {
    out += ",\"buyeruid\":";
    std::string buyer;
    append_hex16(buyer, rng.next());
    append_quoted(out, buyer);
  }
  if (rng.chance(0.3)) {
    out += ",\"yob\":";
    append_int(out, rng.between(1950, 2006));
    out += ",\"gender\":";
    append_quoted(out, rng.chance(0.5) ? "F" : "M");
  }
  // A TCF v2 core string granting purposes 1-10 and vendors 1-42 among others (built with
  // tests/support/tcf_string.hpp; the bidder checks it, bidder/privacy/tcf_consent.hpp).
  if (consent) out += ",\"consent\":\"CO5rKAAO5rKAAAHABBENCWEIAP_AAEPAAAqIAVMUQQoAIQAqBAAAAAAgAA\"";
  out += '}';
  key(out, "regs");
  out += "{\"coppa\":";
  out += rng.chance(0.01) ? '1' : '0';
  out += ",\"gdpr\":";
  out += gdpr ? '1' : '0';
  const double us = rng.unit();
  if (us < 0.35) {
    out += ",\"us_privacy\":";
    append_quoted(out, us < 0.05 ? "1YYN" : "1YNN");
  }
  out += '}';
}

std::string traffic_generator::next_request(bool* known_user) {
  split_mix& rng = rng_;
  std::string out;
  out.reserve(2048);
  out += '{';
  key(out, "id");
  std::string id;
  append_hex16(id, mix64(options_.seed ^ (++serial_ * 0x9e3779b97f4a7c15ULL)));
  append_quoted(out, id);
  key(out, "at");
  out += '1';
  key(out, "tmax");
  append_int(out, options_.tmax.count());
  const double cur = rng.unit();
  if (cur < 0.10) {
    key(out, "cur");
    out += "[\"EUR\",\"USD\"]";
  } else if (cur < 0.6) {
    key(out, "cur");
    out += "[\"USD\"]";
  }
  key(out, "imp");
  out += '[';
  const double imps = rng.unit();
  const int imp_count = imps < 0.6 ? 1 : imps < 0.85 ? 2 : 3;
  for (int i = 0; i < imp_count; ++i) {
    comma(out);
    append_imp(out, rng, i);
  }
  out += ']';

  const std::uint64_t publisher = pick_skewed(rng, publisher_pool);
  const bool app = rng.chance(0.4);
  const std::string content_cat = category(rng);
  if (app) {
    key(out, "app");
    out += "{\"id\":\"app-";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += "\",\"name\":\"Example App ";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += "\",\"bundle\":\"com.example.app";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += "\",\"storeurl\":\"https://apps.example/app";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += "\",\"cat\":[";
    append_quoted(out, content_cat);
    out += "],\"publisher\":{\"id\":\"pub-";
    append_int(out, static_cast<std::int64_t>(publisher % 60));
    out += "\"}}";
  } else {
    key(out, "site");
    out += "{\"id\":\"site-";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += "\",\"domain\":\"news";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += ".example\",\"page\":\"https://news";
    append_int(out, static_cast<std::int64_t>(publisher));
    out += ".example/article/";
    append_int(out, static_cast<std::int64_t>(rng.below(100000)));
    out += ".html\",\"cat\":[";
    append_quoted(out, content_cat);
    out += "],\"publisher\":{\"id\":\"pub-";
    append_int(out, static_cast<std::int64_t>(publisher % 60));
    out += "\"}}";
  }

  key(out, "device");
  const std::size_t ua = rng.below(user_agents.size());
  out += "{\"ua\":";
  append_quoted(out, user_agents[ua]);
  out += ",\"ip\":\"203.0.";
  append_int(out, static_cast<std::int64_t>(rng.below(256)));
  out += '.';
  append_int(out, static_cast<std::int64_t>(rng.below(256)));
  out += "\",\"devicetype\":";
  append_int(out, device_types[ua == 2 ? 1 : pick_skewed(rng, device_types.size())]);
  out += ",\"os\":";
  append_quoted(out, operating_systems[ua == 2 ? 2 : ua]);
  if (app) {
    out += ",\"ifa\":";
    std::string ifa;
    append_hex16(ifa, rng.next());
    append_hex16(ifa, rng.next());
    append_quoted(out, ifa);
  }
  out += ",\"geo\":{\"country\":";
  const std::size_t country = pick_skewed(rng, countries.size());
  append_quoted(out, countries[country]);
  if (country == 0) {
    out += ",\"region\":";
    append_quoted(out, regions[rng.below(regions.size())]);
    out += ",\"zip\":";
    append_quoted(out, zips[rng.below(zips.size())]);
  }
  out += "}}";

  bool known = false;
  append_user_and_privacy(out, rng, known);
  if (known_user != nullptr) *known_user = known;

  if (rng.chance(0.3)) {
    key(out, "bcat");
    out += "[\"IAB25\",\"IAB26\"";
    if (rng.chance(0.5)) out += ",\"IAB7-39\",\"IAB8-18\"";
    out += ']';
  }
  if (rng.chance(0.2)) {
    key(out, "badv");
    out += '[';
    append_quoted(out, "brand" + std::to_string(rng.below(options_.campaigns + 1)) + ".example");
    out += ']';
  }
  key(out, "source");
  out += "{\"fd\":0,\"tid\":";
  append_quoted(out, id);
  out += '}';
  out += '}';
  return out;
}

std::string traffic_generator::config_json() const {
  std::string out;
  out.reserve(options_.campaigns * 700 + 1024);
  out += "{\n";
  out += "\"seat\":";
  append_quoted(out, options_.seat);
  out += ",\n\"default_tmax_ms\":100,\"network_allowance_ms\":15,\"max_body_bytes\":262144,";
  out += "\n\"notice_base_url\":\"http://127.0.0.1:8080\",";
  out += "\n\"currency_rates\":{\"EUR\":0.92,\"GBP\":0.79},";
  out += "\n\"campaigns\":[";
  for (std::size_t j = 0; j < options_.campaigns; ++j) {
    split_mix rng(mix64(options_.seed ^ mix64(j + 0xc0ffee)));
    const std::string id = "gen-" + std::to_string(j);
    const std::string brand = "brand" + std::to_string(j) + ".example";
    const double kind = rng.unit();
    // display 55 %, video 15 %, native 10 %, audience display 15 %, deal-only display 5 %
    const bool video = kind >= 0.55 && kind < 0.70;
    const bool native = kind >= 0.70 && kind < 0.80;
    const bool audience = kind >= 0.80 && kind < 0.95;
    const bool deal_only = kind >= 0.95;
    out += j == 0 ? "\n" : ",\n";
    out += "{\"id\":";
    append_quoted(out, id);
    out += ",\"status\":";
    append_quoted(out, rng.chance(0.03) ? "PAUSED" : "ACTIVE");
    out += ",\"advertiser_domains\":[";
    append_quoted(out, brand);
    out += "],\"categories\":[";
    append_quoted(out, category(rng));
    out += "],\"currency\":";
    append_quoted(out, rng.chance(0.1) ? "EUR" : "USD");
    const double max_cpm = 2.0 + rng.unit() * 18.0;
    out += ",\"max_cpm\":";
    append_price(out, max_cpm);

    out += ",\"targeting\":{";
    std::string targeting;
    if (deal_only) {
      key(targeting, "deal_ids");
      targeting += '[';
      const std::uint64_t deals = 1 + rng.below(2);
      for (std::uint64_t i = 0; i < deals; ++i) {
        comma(targeting);
        append_quoted(targeting, deal_id(rng.below(options_.deal_count)));
      }
      targeting += ']';
    } else {
      // Most campaigns run in one or two countries, many on a curated publisher list.
      if (rng.chance(0.8)) {
        key(targeting, "countries");
        targeting += '[';
        const std::uint64_t n = 1 + rng.below(2);
        const std::uint64_t first = pick_skewed(rng, countries.size());
        for (std::uint64_t i = 0; i < n; ++i) {
          comma(targeting);
          append_quoted(targeting, countries[(first + i) % countries.size()]);
        }
        targeting += ']';
      }
      if (rng.chance(0.3)) {
        key(targeting, "device_types");
        targeting += '[';
        append_int(targeting, device_types[rng.below(device_types.size())]);
        targeting += ",2]";
      }
      if (rng.chance(0.25)) {
        key(targeting, "os");
        targeting += '[';
        append_quoted(targeting, operating_systems[rng.below(2)]);
        targeting += ']';
      }
      if (rng.chance(0.5)) {
        key(targeting, "site_domains_allow");
        targeting += '[';
        for (int i = 0; i < 10; ++i) {
          comma(targeting);
          append_quoted(targeting, site_domain(rng.below(publisher_pool)));
        }
        targeting += ']';
        key(targeting, "app_bundles_allow");
        targeting += '[';
        for (int i = 0; i < 10; ++i) {
          comma(targeting);
          append_quoted(targeting, app_bundle(rng.below(publisher_pool)));
        }
        targeting += ']';
      } else if (rng.chance(0.2)) {
        key(targeting, "site_domains_block");
        targeting += '[';
        for (int i = 0; i < 3; ++i) {
          comma(targeting);
          append_quoted(targeting, site_domain(rng.below(publisher_pool)));
        }
        targeting += ']';
      }
      if (audience) {
        key(targeting, "audience");
        targeting += "{\"all_of\":[{\"segment\":";
        append_quoted(targeting, segment_name(pick_skewed(rng, options_.segment_count)));
        targeting += ",\"within_days\":30}]";
        if (rng.chance(0.3)) {
          targeting += ",\"none_of\":[{\"segment\":";
          append_quoted(targeting, segment_name(rng.below(options_.segment_count)));
          targeting += "}]";
        }
        targeting += '}';
      }
    }
    out += targeting;
    out += '}';

    out += ",\"creatives\":[";
    const std::uint64_t creatives = 1 + rng.below(2);
    for (std::uint64_t c = 0; c < creatives; ++c) {
      comma(out);
      const std::string creative = id + "-c" + std::to_string(c);
      out += "{\"id\":";
      append_quoted(out, creative);
      if (video) {
        const bool short_ad = rng.chance(0.5);
        out += ",\"video\":{\"mimes\":[\"video/mp4\"],\"duration_seconds\":";
        append_int(out, short_ad ? 15 : 30);
        out += ",\"w\":640,\"h\":360},\"markup\":";
        append_quoted(out, "<VAST version=\"3.0\"><Ad id=\"" + creative +
                               "\"><InLine><AdSystem>bidbench</AdSystem><AdTitle>" + brand +
                               "</AdTitle><Creatives><Creative><Linear><Duration>00:00:" +
                               (short_ad ? "15" : "30") +
                               "</Duration><MediaFiles><MediaFile delivery=\"progressive\" "
                               "type=\"video/mp4\" width=\"640\" height=\"360\">https://cdn." +
                               brand + "/" + creative +
                               ".mp4</MediaFile></MediaFiles></Linear></Creative></Creatives>"
                               "</InLine></Ad></VAST>");
      } else if (native) {
        out += ",\"native\":{},\"markup\":";
        append_quoted(out,
                      "{\"native\":{\"ver\":\"1.2\",\"assets\":[{\"id\":1,\"title\":{\"text\":\"" +
                          brand + "\"}}],\"link\":{\"url\":\"https://" + brand + "/\"}}}");
      } else {
        out += ",\"banner\":{\"sizes\":[";
        const std::uint64_t sizes = 1 + rng.below(3);
        for (std::uint64_t s = 0; s < sizes; ++s) {
          const size z = banner_sizes[pick_skewed(rng, banner_sizes.size())];
          comma(out);
          out += "{\"w\":";
          append_int(out, z.w);
          out += ",\"h\":";
          append_int(out, z.h);
          out += '}';
        }
        out += "]},\"markup\":";
        append_quoted(out, "<a href=\"https://" + brand + "/?src=" + creative +
                               "\"><img src=\"https://cdn." + brand + "/" + creative +
                               ".png\"></a><img src=\"https://" + brand +
                               "/px?p=${AUCTION_PRICE}\" width=\"1\" height=\"1\">");
      }
      if (rng.chance(0.2)) out += ",\"attributes\":[3]";
      out += '}';
    }
    out += ']';

    out += ",\"pricing\":";
    if (audience || rng.chance(0.35)) {
      out +=
          "{\"name\":\"rules\",\"config\":{\"@type\":\"type.googleapis.com/"
          "bidder.models.rules.v1.RulesConfig\",\"base_cpm\":";
      append_price(out, 0.3 + rng.unit() * 3.0);
      out += ",\"rules\":[{\"multiplier\":1.5,\"device_type_in\":{\"values\":[2]}}";
      out += ",{\"multiplier\":1.3,\"segment\":{\"segment\":";
      append_quoted(out, segment_name(rng.below(options_.segment_count)));
      out += ",\"within_days\":7}}";
      out += ",{\"multiplier\":1.2,\"zip_in\":{\"values\":[\"90210\",\"94027\"]}}]}}";
    } else {
      out +=
          "{\"name\":\"fixed\",\"config\":{\"@type\":\"type.googleapis.com/"
          "bidder.models.fixed.v1.FixedConfig\",\"cpm\":";
      append_price(out, 0.3 + rng.unit() * (max_cpm * 0.8 - 0.3));
      out += "}}";
    }
    out += '}';
  }
  out += "\n]\n}\n";
  return out;
}

result<void> traffic_generator::write_config(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(errc::io_error, path + ": cannot open for writing");
  const std::string text = config_json();
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.flush();
  if (!out) return make_error(errc::io_error, path + ": write failed");
  return {};
}

}  // namespace bidder::bench
