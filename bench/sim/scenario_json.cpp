// File: bench/sim/scenario_json.cpp
#include "bench/sim/scenario_json.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <initializer_list>

namespace bidder::sim {
namespace json = boost::json;
namespace {

json::object weights_json(const logit_weights& w) {
  return {{"base", w.base},
          {"recent_car_visit", w.recent_car_visit},
          {"affluent_zip", w.affluent_zip},
          {"old_luxury_car", w.old_luxury_car},
          {"auto_site", w.auto_site}};
}

// Reads the fields of one JSON object into C++ values, naming the path of any bad field.
class reader {
 public:
  reader(const json::value& v, std::string path, std::string& error)
      : path_(std::move(path)), error_(error) {
    if (!v.is_object()) {
      fail("", "must be an object");
    } else {
      object_ = &v.as_object();
    }
  }
  bool ok() const { return error_.empty(); }
  // Refuses fields not in `known`.
  void only(std::initializer_list<std::string_view> known) {
    if (object_ == nullptr || !ok()) return;
    for (const auto& [key, value] : *object_) {
      bool found = false;
      for (std::string_view k : known) found = found || k == key;
      if (!found) return fail(key, "unknown field");
    }
  }
  const json::value* get(std::string_view key) const {
    return object_ == nullptr || !ok() ? nullptr : object_->if_contains(key);
  }
  void number(std::string_view key, double& out) {
    if (const json::value* v = get(key)) {
      if (!v->is_number()) return fail(key, "must be a number");
      out = v->to_number<double>();
      if (!std::isfinite(out)) fail(key, "must be finite");
    }
  }
  template <typename Int>
  void integer(std::string_view key, Int& out, std::uint64_t max) {
    if (const json::value* v = get(key)) {
      boost::system::error_code ec;
      const auto n = v->to_number<std::uint64_t>(ec);
      if (ec || n > max) return fail(key, "must be an integer from 0 to " + std::to_string(max));
      out = static_cast<Int>(n);
    }
  }
  void boolean(std::string_view key, bool& out) {
    if (const json::value* v = get(key)) {
      if (!v->is_bool()) return fail(key, "must be true or false");
      out = v->as_bool();
    }
  }
  void text(std::string_view key, std::string& out) {
    if (const json::value* v = get(key)) {
      if (!v->is_string()) return fail(key, "must be a string");
      out = std::string(v->as_string());
    }
  }
  void texts(std::string_view key, std::vector<std::string>& out) {
    if (const json::value* v = get(key)) {
      if (!v->is_array()) return fail(key, "must be an array of strings");
      out.clear();
      for (const json::value& item : v->as_array()) {
        if (!item.is_string()) return fail(key, "must be an array of strings");
        out.emplace_back(item.as_string());
      }
    }
  }
  // Calls read(element, path) for each element of an array field.
  template <typename F>
  void array(std::string_view key, F read) {
    if (const json::value* v = get(key)) {
      if (!v->is_array()) return fail(key, "must be an array");
      for (std::size_t i = 0; i < v->as_array().size() && ok(); ++i) {
        read(v->as_array()[i], path_ + std::string(key) + "[" + std::to_string(i) + "].");
      }
    }
  }
  void fail(std::string_view key, const std::string& why) {
    if (ok()) error_ = path_ + std::string(key) + ": " + why;
  }

 private:
  std::string path_;
  std::string& error_;
  const json::object* object_ = nullptr;
};

void read_weights(const json::value& v, const std::string& path, logit_weights& w,
                  std::string& error) {
  reader r(v, path, error);
  r.only({"base", "recent_car_visit", "affluent_zip", "old_luxury_car", "auto_site"});
  r.number("base", w.base);
  r.number("recent_car_visit", w.recent_car_visit);
  r.number("affluent_zip", w.affluent_zip);
  r.number("old_luxury_car", w.old_luxury_car);
  r.number("auto_site", w.auto_site);
}

void write_json(std::string& out, const json::value& v, int indent, int level) {
  // The top level and its arrays break lines; deeper values stay on one line.
  const bool break_members = indent > 0 && level < 2;
  auto newline = [&](int at) {
    out += '\n';
    out.append(static_cast<std::size_t>(indent * at), ' ');
  };
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, value] : v.as_object()) {
        if (!first) out += break_members ? "," : ", ";
        first = false;
        if (break_members) newline(level + 1);
        out += json::serialize(json::string(key));
        out += ": ";
        write_json(out, value, indent, level + 1);
      }
      if (!first && break_members) newline(level);
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      bool broke = false;
      for (const json::value& value : v.as_array()) {
        const bool brk = break_members && (value.is_object() || value.is_array());
        if (!first) out += brk ? "," : ", ";
        first = false;
        if (brk) newline(level + 1), broke = true;
        write_json(out, value, indent, level + 1);
      }
      if (broke) newline(level);
      out += ']';
      break;
    }
    case json::kind::double_: {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.10g", v.as_double());
      out += buf;
      // Keep it a JSON number that reads back as a double.
      if (std::string_view(buf).find_first_of(".en") == std::string_view::npos) out += ".0";
      break;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string json_text(const json::value& v, int indent) {
  std::string out;
  write_json(out, v, indent, 0);
  return out;
}

std::string scenario_to_json(const scenario& s) {
  json::object o;
  o["seed"] = s.seed;
  o["users"] = s.users;
  o["start_day"] = s.start_day;
  o["days"] = s.days;
  o["requests_per_day"] = s.requests_per_day;
  o["tmax_ms"] = s.tmax_ms;
  o["conversion_delay_mean_hours"] = s.conversion_delay_mean_hours;
  o["affluent_zips"] = json::value_from(s.affluent_zips);
  o["other_zips"] = json::value_from(s.other_zips);
  o["click_phone"] = s.click_phone;
  o["click_tablet"] = s.click_tablet;
  o["conversion_pc"] = s.conversion_pc;
  o["conversion_phone"] = s.conversion_phone;
  o["click_evening"] = s.click_evening;
  o["click_night"] = s.click_night;
  o["latent_sigma"] = s.latent_sigma;
  json::array sites;
  for (const site_spec& x : s.sites) {
    sites.push_back(json::object{{"domain", x.domain},
                                 {"traffic_share", x.traffic_share},
                                 {"auto_content", x.auto_content},
                                 {"click_effect", x.click_effect}});
  }
  o["sites"] = std::move(sites);
  json::array exchanges;
  for (const exchange_spec& e : s.exchanges) {
    exchanges.push_back(json::object{
        {"id", e.id},
        {"auction", e.kind == auction_kind::first_price ? "first_price" : "second_price"},
        {"count_on", e.count_on},
        {"traffic_share", e.traffic_share},
        {"floor_cpm", e.floor_cpm},
        {"floor_sigma", e.floor_sigma},
        {"competitors", e.competitors},
        {"competitor_mu", e.competitor_mu},
        {"competitor_sigma", e.competitor_sigma},
        {"shares_min_to_win", e.shares_min_to_win},
        {"shading", e.shading}});
  }
  o["exchanges"] = std::move(exchanges);
  json::array campaigns;
  for (const campaign_spec& c : s.campaigns) {
    json::array audience;
    for (const segment_requirement& a : c.audience) {
      audience.push_back(json::object{{"segment", a.segment}, {"within_days", a.within_days}});
    }
    campaigns.push_back(json::object{{"id", c.id},
                                     {"advertiser_domain", c.advertiser_domain},
                                     {"audience", std::move(audience)},
                                     {"click", weights_json(c.click)},
                                     {"conversion", weights_json(c.conversion)},
                                     {"conversion_value", c.conversion_value},
                                     {"max_cpm", c.max_cpm},
                                     {"pricing", json::parse(c.pricing_json)}});
  }
  o["campaigns"] = std::move(campaigns);
  json::array experiments;
  for (const experiment_spec& x : s.experiments) {
    json::array arms;
    for (const experiment_arm_spec& a : x.arms) {
      json::object arm{{"id", a.id}, {"share", a.share}};
      if (a.holdout) arm["holdout"] = true;
      if (!a.pricing_json.empty()) arm["pricing"] = json::parse(a.pricing_json);
      arms.push_back(std::move(arm));
    }
    experiments.push_back(json::object{
        {"id", x.id}, {"campaigns", json::value_from(x.campaigns)}, {"arms", std::move(arms)}});
  }
  o["experiments"] = std::move(experiments);
  return json_text(o, 2) + "\n";
}

std::optional<scenario> scenario_from_json(std::string_view text, std::string& error) {
  error.clear();
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  if (ec) {
    error = "not JSON: " + ec.message();
    return std::nullopt;
  }
  scenario s = default_scenario();
  reader r(doc, "", error);
  r.only({"seed",
          "users",
          "start_day",
          "days",
          "requests_per_day",
          "tmax_ms",
          "conversion_delay_mean_hours",
          "affluent_zips",
          "other_zips",
          "click_phone",
          "click_tablet",
          "conversion_pc",
          "conversion_phone",
          "click_evening",
          "click_night",
          "latent_sigma",
          "sites",
          "exchanges",
          "campaigns",
          "experiments"});
  r.integer("seed", s.seed, ~std::uint64_t{0} >> 1);
  r.integer("users", s.users, 10'000'000);
  r.integer("start_day", s.start_day, max_simulated_days - 1);
  r.integer("days", s.days, 365);
  r.integer("requests_per_day", s.requests_per_day, 100'000'000);
  r.integer("tmax_ms", s.tmax_ms, 10'000);
  r.number("conversion_delay_mean_hours", s.conversion_delay_mean_hours);
  r.texts("affluent_zips", s.affluent_zips);
  r.texts("other_zips", s.other_zips);
  r.number("click_phone", s.click_phone);
  r.number("click_tablet", s.click_tablet);
  r.number("conversion_pc", s.conversion_pc);
  r.number("conversion_phone", s.conversion_phone);
  r.number("click_evening", s.click_evening);
  r.number("click_night", s.click_night);
  r.number("latent_sigma", s.latent_sigma);
  if (r.get("sites")) s.sites.clear();
  r.array("sites", [&](const json::value& v, const std::string& path) {
    site_spec x;
    reader e(v, path, error);
    e.only({"domain", "traffic_share", "auto_content", "click_effect"});
    e.text("domain", x.domain);
    e.number("traffic_share", x.traffic_share);
    e.boolean("auto_content", x.auto_content);
    e.number("click_effect", x.click_effect);
    if (x.domain.empty()) e.fail("domain", "required");
    s.sites.push_back(std::move(x));
  });
  if (r.get("exchanges")) s.exchanges.clear();
  r.array("exchanges", [&](const json::value& v, const std::string& path) {
    exchange_spec x;
    reader e(v, path, error);
    e.only({"id", "auction", "count_on", "traffic_share", "floor_cpm", "floor_sigma", "competitors",
            "competitor_mu", "competitor_sigma", "shares_min_to_win", "shading"});
    e.text("id", x.id);
    std::string auction = "second_price";
    e.text("auction", auction);
    if (auction == "first_price") {
      x.kind = auction_kind::first_price;
    } else if (auction != "second_price") {
      e.fail("auction", "first_price or second_price");
    }
    e.text("count_on", x.count_on);
    if (x.count_on != "WIN" && x.count_on != "BILL") e.fail("count_on", "WIN or BILL");
    e.number("traffic_share", x.traffic_share);
    e.number("floor_cpm", x.floor_cpm);
    e.number("floor_sigma", x.floor_sigma);
    e.integer("competitors", x.competitors, 100);
    e.number("competitor_mu", x.competitor_mu);
    e.number("competitor_sigma", x.competitor_sigma);
    e.boolean("shares_min_to_win", x.shares_min_to_win);
    e.text("shading", x.shading);
    if (x.shading != "OFF" && x.shading != "LEARNED" && x.shading != "FACTOR") {
      e.fail("shading", "OFF, LEARNED or FACTOR");
    }
    if (x.id.empty()) e.fail("id", "required");
    s.exchanges.push_back(std::move(x));
  });
  if (r.get("campaigns")) s.campaigns.clear();
  r.array("campaigns", [&](const json::value& v, const std::string& path) {
    campaign_spec x;
    reader e(v, path, error);
    e.only({"id", "advertiser_domain", "audience", "click", "conversion", "conversion_value",
            "max_cpm", "pricing"});
    e.text("id", x.id);
    e.text("advertiser_domain", x.advertiser_domain);
    e.array("audience", [&](const json::value& a, const std::string& apath) {
      segment_requirement req;
      reader ar(a, apath, error);
      ar.only({"segment", "within_days"});
      ar.text("segment", req.segment);
      ar.integer("within_days", req.within_days, 3650);
      if (req.segment != segment_car_visitor && req.segment != segment_affluent &&
          req.segment != segment_luxury) {
        ar.fail("segment", std::string("one of the simulated segments: ") + segment_car_visitor +
                               ", " + segment_affluent + ", " + segment_luxury);
      }
      x.audience.push_back(std::move(req));
    });
    if (const json::value* w = e.get("click")) read_weights(*w, path + "click.", x.click, error);
    if (const json::value* w = e.get("conversion")) {
      read_weights(*w, path + "conversion.", x.conversion, error);
    }
    e.number("conversion_value", x.conversion_value);
    e.number("max_cpm", x.max_cpm);
    if (const json::value* p = e.get("pricing")) {
      if (!p->is_object()) e.fail("pricing", "must be an object (the bidder config's pricing)");
      x.pricing_json = json_text(*p);
    } else {
      e.fail("pricing", "required");
    }
    if (x.id.empty()) e.fail("id", "required");
    if (x.advertiser_domain.empty()) e.fail("advertiser_domain", "required");
    s.campaigns.push_back(std::move(x));
  });
  if (r.get("experiments")) s.experiments.clear();
  r.array("experiments", [&](const json::value& v, const std::string& path) {
    experiment_spec x;
    reader e(v, path, error);
    e.only({"id", "campaigns", "arms"});
    e.text("id", x.id);
    e.texts("campaigns", x.campaigns);
    e.array("arms", [&](const json::value& a, const std::string& apath) {
      experiment_arm_spec arm;
      reader ar(a, apath, error);
      ar.only({"id", "share", "holdout", "pricing"});
      ar.text("id", arm.id);
      ar.number("share", arm.share);
      ar.boolean("holdout", arm.holdout);
      if (const json::value* p = ar.get("pricing")) {
        if (!p->is_object()) {
          ar.fail("pricing", "must be an object (the bidder config's pricing)");
        } else {
          arm.pricing_json = json_text(*p);
        }
      }
      x.arms.push_back(std::move(arm));
    });
    s.experiments.push_back(std::move(x));
  });
  if (!error.empty()) return std::nullopt;
  if (const auto problem = validate(s)) {
    error = *problem;
    return std::nullopt;
  }
  return s;
}

}  // namespace bidder::sim
