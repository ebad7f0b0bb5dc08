#include "bidder/http/campaign_diff.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <map>
#include <set>
#include <string>

#include "bidder/config/campaign_json.hpp"

namespace bidder::http {
namespace {

void diff_objects(const boost::json::object& before, const boost::json::object& after,
                  const std::string& prefix, boost::json::array& out) {
  std::set<std::string> keys;
  for (const auto& kv : before) keys.insert(std::string(kv.key()));
  for (const auto& kv : after) keys.insert(std::string(kv.key()));
  for (const std::string& key : keys) {
    const boost::json::value* b = before.if_contains(key);
    const boost::json::value* a = after.if_contains(key);
    if (b != nullptr && a != nullptr && *b == *a) continue;
    if (b != nullptr && a != nullptr && b->is_object() && a->is_object()) {
      diff_objects(b->as_object(), a->as_object(), prefix + key + ".", out);
      continue;
    }
    out.push_back(boost::json::object{{"field", prefix + key},
                                      {"before", b != nullptr ? *b : boost::json::value()},
                                      {"after", a != nullptr ? *a : boost::json::value()}});
  }
}

std::map<std::string, boost::json::object> by_id(const std::vector<config::v1::Campaign>& set) {
  std::map<std::string, boost::json::object> out;
  for (const auto& c : set) out[c.id()] = boost::json::parse(config::campaign_json(c)).as_object();
  return out;
}

}  // namespace

boost::json::array campaign_diff(const std::vector<config::v1::Campaign>& before,
                                 const std::vector<config::v1::Campaign>& after) {
  const auto old_set = by_id(before);
  const auto new_set = by_id(after);
  boost::json::array out;
  for (const auto& [id, campaign] : old_set) {
    auto it = new_set.find(id);
    if (it == new_set.end()) {
      out.push_back(boost::json::object{{"id", id}, {"change", "removed"}, {"campaign", campaign}});
      continue;
    }
    boost::json::array fields;
    diff_objects(campaign, it->second, "", fields);
    if (!fields.empty()) {
      out.push_back(boost::json::object{{"id", id}, {"change", "changed"}, {"fields", fields}});
    }
  }
  for (const auto& [id, campaign] : new_set) {
    if (!old_set.contains(id)) {
      out.push_back(boost::json::object{{"id", id}, {"change", "added"}, {"campaign", campaign}});
    }
  }
  return out;
}

}  // namespace bidder::http
