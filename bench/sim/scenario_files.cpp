// File: bench/sim/scenario_files.cpp
#include "bench/sim/scenario_files.hpp"

#include <boost/json/parse.hpp>
#include <cstdio>
#include <fstream>

#include "bench/sim/scenario_json.hpp"
#include "bidder/core/json_text.hpp"

namespace bidder::sim {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The scenario's experiments as the config's "experiments" array (docs/experiments.md).
std::string experiments_json(const scenario& s) {
  std::string out = "[\n";
  for (std::size_t i = 0; i < s.experiments.size(); ++i) {
    const experiment_spec& x = s.experiments[i];
    out += "    {\"id\": ";
    append_json_string(out, x.id);
    out += ", \"campaigns\": [";
    for (std::size_t c = 0; c < x.campaigns.size(); ++c) {
      if (c != 0) out += ", ";
      append_json_string(out, x.campaigns[c]);
    }
    out += "],\n     \"arms\": [";
    for (std::size_t a = 0; a < x.arms.size(); ++a) {
      const experiment_arm_spec& arm = x.arms[a];
      out += a == 0 ? "\n       {\"id\": " : ",\n       {\"id\": ";
      append_json_string(out, arm.id);
      out += ", \"share\": " + json_text(boost::json::value(arm.share));
      if (arm.holdout) out += ", \"holdout\": true";
      if (!arm.pricing_json.empty()) {
        out += ", \"pricing\": " + json_text(boost::json::parse(arm.pricing_json));
      }
      out += "}";
    }
    out += "]}";
    out += i + 1 < s.experiments.size() ? ",\n" : "\n";
  }
  return out + "  ]";
}

}  // namespace

std::string config_json(const scenario& s, const std::string& notice_base_url) {
  std::string out;
  out += "// Written by bidsim (bench/sim): the market scenario's exchanges and campaigns.\n";
  out += "// Run: bidder serve --config <this file>; push the audiences; then bidsim.\n";
  out += "{\n  \"seat\": \"bidsim-seat\",\n";
  out += "  \"default_tmax_ms\": " + std::to_string(s.tmax_ms) + ",\n";
  out += "  \"network_allowance_ms\": 10,\n  \"notice_base_url\": ";
  append_json_string(out, notice_base_url);
  out += ",\n  \"notice_max_age_seconds\": 3600,\n  \"reservation_ttl_seconds\": 60,\n";
  out += "  \"exchanges\": [\n";
  for (std::size_t i = 0; i < s.exchanges.size(); ++i) {
    const exchange_spec& e = s.exchanges[i];
    out += "    {\"id\": ";
    append_json_string(out, e.id);
    out += ", \"name\": ";
    append_json_string(out, std::string(e.kind == auction_kind::first_price ? "first" : "second") +
                                "-price auction (bidsim)");
    out += ", \"count_on\": ";
    append_json_string(out, e.count_on);
    if (e.shading != "OFF") {
      out += ", \"shading\": {\"mode\": ";
      append_json_string(out, e.shading);
      out += "}";
    }
    out += i + 1 < s.exchanges.size() ? "},\n" : "}\n";
  }
  out += "  ],\n  \"campaigns\": [\n";
  for (std::size_t i = 0; i < s.campaigns.size(); ++i) {
    const campaign_spec& c = s.campaigns[i];
    out += "    {\"id\": ";
    append_json_string(out, c.id);
    out += ", \"status\": \"ACTIVE\", \"currency\": \"USD\",\n     \"advertiser_domains\": [";
    append_json_string(out, c.advertiser_domain);
    out += "], \"max_cpm\": " + number(c.max_cpm) + ",\n";
    if (!c.audience.empty()) {
      out += "     \"targeting\": {\"audience\": {\"all_of\": [";
      for (std::size_t a = 0; a < c.audience.size(); ++a) {
        out += a ? ", {\"segment\": " : "{\"segment\": ";
        append_json_string(out, c.audience[a].segment);
        if (c.audience[a].within_days > 0) {
          out += ", \"within_days\": " + std::to_string(c.audience[a].within_days);
        }
        out += "}";
      }
      out += "]}},\n";
    }
    out += "     \"creatives\": [{\"id\": ";
    append_json_string(out, c.id + "-300x250");
    out += ", \"banner\": {\"sizes\": [{\"w\": 300, \"h\": 250}]},\n       \"markup\": ";
    append_json_string(out, "<a href=\"{{CLICK_URL}}\"><img src=\"https://cdn." +
                                c.advertiser_domain + "/300x250.png\" alt=\"" + c.id + "\"></a>");
    out += ",\n       \"landing_url\": ";
    append_json_string(out, "https://" + c.advertiser_domain + "/?src=bidsim");
    out += "}],\n     \"pricing\": " + json_text(boost::json::parse(c.pricing_json));
    out += i + 1 < s.campaigns.size() ? "},\n" : "}\n";
  }
  out += "  ]";
  if (!s.experiments.empty()) out += ",\n  \"experiments\": " + experiments_json(s);
  out += "\n}\n";
  return out;
}

std::vector<audience_file> audience_files(const population& users, std::int64_t now) {
  std::vector<audience_file> files{
      {segment_car_visitor, {}, 0}, {segment_affluent, {}, 0}, {segment_luxury, {}, 0}};
  for (audience_file& f : files) {
    f.text = "# bidsim population: segment " + f.segment + " (buyeruid, last seen)\n";
  }
  auto add = [](audience_file& f, const user& u, std::int64_t seen) {
    f.text += "buyeruid:" + u.id + "\t" + std::to_string(seen) + "\n";
    ++f.members;
  };
  constexpr std::int64_t day = 86'400;
  for (const user& u : users) {
    if (u.car_visit_days_ago >= 0) {
      add(files[0], u, now - u.car_visit_days_ago * day - day / 2);
    }
    if (u.affluent) add(files[1], u, now - day / 2);
    if (u.old_luxury_car) add(files[2], u, now - 30 * day);
  }
  return files;
}

bool write_text_file(const std::string& path, const std::string& text, std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error = "cannot open " + path;
    return false;
  }
  out << text;
  out.close();
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace bidder::sim
