#include "bidder/http/campaign_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "bidder/config/campaign_json.hpp"
#include "bidder/http/campaign_diff.hpp"

namespace bidder::http {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using config::v1::Campaign;
constexpr std::string_view campaigns_path = "/admin/campaigns";
constexpr std::string_view revisions_path = "/admin/revisions";

void reply(response& res, bhttp::status status, const json::value& body) {
  res.result(status);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json::serialize(body) + "\n";
}

void error(response& res, bhttp::status status, std::string message) {
  reply(res, status, json::object{{"error", std::move(message)}});
}

void etag(response& res, std::uint64_t revision) {
  std::string tag = "\"";  // built in steps: "\"" + std::string trips GCC 12's -Wrestrict
  tag += std::to_string(revision);
  tag += '"';
  res.set(bhttp::field::etag, tag);
}

void not_allowed(response& res, std::string_view allow) {
  res.set(bhttp::field::allow, allow);
  error(res, bhttp::status::method_not_allowed, "use " + std::string(allow));
}

json::value campaign_value(const Campaign& c) { return json::parse(config::campaign_json(c)); }

json::object info_value(const config::revision_info& info) {
  return {{"revision", info.revision},
          {"time", info.time},
          {"who", info.who},
          {"what", info.what},
          {"source", info.source}};
}

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

const Campaign* find(const std::vector<Campaign>& set, std::string_view id) {
  for (const auto& c : set) {
    if (c.id() == id) return &c;
  }
  return nullptr;
}

// Everything a change needs: the caller, the request, the answer.
struct call {
  campaign_backend& backend;
  const request& req;
  response& res;
  std::string who;

  // The If-Match revision; with `required` a missing one is answered 428 (nullopt returned).
  std::optional<std::uint64_t> expected(std::uint64_t current, bool required) {
    const auto header = req[bhttp::field::if_match];
    if (header.empty() && !required) return current;
    auto n = if_match_revision(header, current);
    if (!n) {
      error(res, bhttp::status::precondition_required,
            "send If-Match: \"<revision>\" with the revision you read (the ETag of GET "
            "/admin/campaigns), so a concurrent change is not overwritten");
    }
    return n;
  }

  // Applies the set; answers 200/201 with `campaign_id`'s campaign, 409, 422 or 500.
  void commit(std::uint64_t expected, std::vector<Campaign> set, std::string what,
              std::string source, bhttp::status ok, std::string_view campaign_id) {
    config::revision_info info;
    info.who = who;
    info.what = std::move(what);
    info.source = std::move(source);
    auto r = backend.commit(expected, std::move(set), std::move(info));
    switch (r.result) {
      case campaign_backend::outcome::applied: {
        json::object body{{"revision", r.revision}};
        // As stored (with the defaults the loader fills in).
        const config::revision now = backend.current();
        if (const Campaign* c = find(now.campaigns, campaign_id)) {
          body["campaign"] = campaign_value(*c);
        }
        etag(res, r.revision);
        return reply(res, ok, body);
      }
      case campaign_backend::outcome::stale:
        etag(res, r.revision);
        return reply(res, bhttp::status::conflict,
                     json::object{{"error", "stale: the campaigns changed since revision " +
                                                std::to_string(expected) +
                                                "; read them again and redo the change"},
                                  {"revision", r.revision}});
      case campaign_backend::outcome::invalid: {
        auto field = config::field_of(r.message);
        return invalid_field(std::move(field.field), std::move(field.message));
      }
      case campaign_backend::outcome::failed:
        return error(res, bhttp::status::internal_server_error, r.message);
    }
  }

  // The body as a campaign, or a 422 answered.
  std::optional<Campaign> body_campaign() {
    auto c = config::campaign_from_json(req.body());
    if (!c) {
      invalid_field("campaign", c.error().message);
      return std::nullopt;
    }
    return std::move(*c);
  }

  void invalid_field(std::string field, std::string message) {
    reply(res, bhttp::status::unprocessable_entity,
          json::object{{"errors", json::array{json::object{{"field", std::move(field)},
                                                           {"message", std::move(message)}}}}});
  }
};

json::object live_value(const campaign_live& live) {
  json::object left;
  if (live.budget_left_day) left["day"] = *live.budget_left_day;
  if (live.budget_left_lifetime) left["lifetime"] = *live.budget_left_lifetime;
  return {{"spend", json::object{{"day", live.spend_day}, {"lifetime", live.spend_lifetime}}},
          {"budget_left", std::move(left)},
          {"pacing", live.pacing}};
}

void list_campaigns(call& c) {
  const config::revision now = c.backend.current();
  json::array list;
  for (const Campaign& campaign : now.campaigns) {
    json::object entry{{"campaign", campaign_value(campaign)},
                       {"status", campaign.status() == Campaign::PAUSED ? "PAUSED" : "ACTIVE"}};
    const campaign_live live = c.backend.live(campaign.id());
    for (auto& kv : live_value(live)) entry[kv.key()] = kv.value();
    list.push_back(std::move(entry));
  }
  etag(c.res, now.info.revision);
  reply(c.res, bhttp::status::ok,
        json::object{{"revision", now.info.revision}, {"campaigns", std::move(list)}});
}

void create_campaign(call& c) {
  const config::revision now = c.backend.current();
  auto expected = c.expected(now.info.revision, false);
  if (!expected) return;
  auto campaign = c.body_campaign();
  if (!campaign) return;
  if (campaign->id().empty()) return c.invalid_field("campaign.id", "missing");
  if (find(now.campaigns, campaign->id()) != nullptr) {
    etag(c.res, now.info.revision);
    return reply(
        c.res, bhttp::status::conflict,
        json::object{{"error", "campaign \"" + campaign->id() + "\" exists: PUT /admin/campaigns/" +
                                   campaign->id() + " changes it"},
                     {"revision", now.info.revision}});
  }
  std::vector<Campaign> set = now.campaigns;
  set.push_back(*campaign);
  c.commit(*expected, std::move(set), "create campaign " + campaign->id(), "api",
           bhttp::status::created, campaign->id());
}

void one_campaign(call& c, std::string_view id) {
  const config::revision now = c.backend.current();
  const Campaign* existing = find(now.campaigns, id);
  const auto method = c.req.method();
  if (method != bhttp::verb::get && method != bhttp::verb::put && method != bhttp::verb::delete_) {
    return not_allowed(c.res, "GET, PUT, DELETE");
  }
  if (existing == nullptr) {
    return error(c.res, bhttp::status::not_found, "no campaign \"" + std::string(id) + "\"");
  }
  if (method == bhttp::verb::get) {
    etag(c.res, now.info.revision);
    return reply(
        c.res, bhttp::status::ok,
        json::object{{"revision", now.info.revision}, {"campaign", campaign_value(*existing)}});
  }
  auto expected = c.expected(now.info.revision, true);
  if (!expected) return;
  std::vector<Campaign> set;
  for (const Campaign& other : now.campaigns) {
    if (other.id() != id) set.push_back(other);
  }
  if (method == bhttp::verb::delete_) {
    return c.commit(*expected, std::move(set), "delete campaign " + std::string(id), "api",
                    bhttp::status::ok, id);
  }
  auto campaign = c.body_campaign();
  if (!campaign) return;
  if (campaign->id().empty()) campaign->set_id(std::string(id));
  if (campaign->id() != id) {
    return c.invalid_field("campaign.id", "is \"" + campaign->id() + "\" but the path says \"" +
                                              std::string(id) + "\" (ids do not change)");
  }
  set = now.campaigns;  // in place, so the order stays
  for (Campaign& other : set) {
    if (other.id() == id) other = *campaign;
  }
  c.commit(*expected, std::move(set), "update campaign " + std::string(id), "api",
           bhttp::status::ok, id);
}

void set_status(call& c, std::string_view id, bool pause) {
  if (c.req.method() != bhttp::verb::post) return not_allowed(c.res, "POST");
  const config::revision now = c.backend.current();
  if (find(now.campaigns, id) == nullptr) {
    return error(c.res, bhttp::status::not_found, "no campaign \"" + std::string(id) + "\"");
  }
  auto expected = c.expected(now.info.revision, false);
  if (!expected) return;
  std::vector<Campaign> set = now.campaigns;
  for (Campaign& other : set) {
    if (other.id() == id) other.set_status(pause ? Campaign::PAUSED : Campaign::ACTIVE);
  }
  c.commit(*expected, std::move(set),
           (pause ? "pause campaign " : "resume campaign ") + std::string(id), "api",
           bhttp::status::ok, id);
}

void revisions(call& c, std::string_view rest) {
  const auto method = c.req.method();
  if (rest.empty()) {
    if (method != bhttp::verb::get) return not_allowed(c.res, "GET");
    json::array list;
    for (const auto& info : c.backend.history()) list.push_back(info_value(info));
    etag(c.res, c.backend.current().info.revision);
    return reply(c.res, bhttp::status::ok, json::object{{"revisions", std::move(list)}});
  }
  const std::size_t slash = rest.find('/');
  const auto n = number(rest.substr(0, slash));
  const std::string_view action =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (!n) return error(c.res, bhttp::status::not_found, "not a revision number");
  auto wanted = c.backend.revision(*n);
  if (!wanted) {
    return error(c.res,
                 wanted.error().code == errc::not_found ? bhttp::status::not_found
                                                        : bhttp::status::internal_server_error,
                 wanted.error().message);
  }
  if (action.empty() || action == "diff") {
    if (method != bhttp::verb::get) return not_allowed(c.res, "GET");
    json::object body = info_value(wanted->info);
    if (action.empty()) {
      json::array list;
      for (const Campaign& campaign : wanted->campaigns) list.push_back(campaign_value(campaign));
      body["campaigns"] = std::move(list);
      return reply(c.res, bhttp::status::ok, body);
    }
    std::vector<Campaign> before;
    if (*n > 1) {
      auto previous = c.backend.revision(*n - 1);
      if (!previous)
        return error(c.res, bhttp::status::internal_server_error, previous.error().message);
      before = std::move(previous->campaigns);
    }
    body["base"] = *n - 1;
    body["changes"] = campaign_diff(before, wanted->campaigns);
    return reply(c.res, bhttp::status::ok, body);
  }
  if (action != "rollback") return error(c.res, bhttp::status::not_found, "try diff or rollback");
  if (method != bhttp::verb::post) return not_allowed(c.res, "POST");
  auto expected = c.expected(c.backend.current().info.revision, true);
  if (!expected) return;
  c.commit(*expected, std::move(wanted->campaigns), "roll back to revision " + std::to_string(*n),
           "rollback", bhttp::status::ok, {});
}

}  // namespace

std::optional<std::uint64_t> if_match_revision(std::string_view header, std::uint64_t current) {
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  if (header == "*") return current;
  if (header.starts_with("W/")) header.remove_prefix(2);
  if (header.size() >= 2 && header.front() == '"' && header.back() == '"') {
    header = header.substr(1, header.size() - 2);
  }
  return number(header);
}

bool serve_campaign_api(campaign_backend& backend, const request& req, response& res,
                        std::string_view who) {
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  call c{backend, req, res, std::string(who)};
  const auto method = req.method();
  if (target == campaigns_path) {
    if (method == bhttp::verb::get) {
      list_campaigns(c);
    } else if (method == bhttp::verb::post) {
      create_campaign(c);
    } else {
      not_allowed(res, "GET, POST");
    }
    return true;
  }
  if (target.starts_with(campaigns_path) && target[campaigns_path.size()] == '/') {
    std::string_view rest = target.substr(campaigns_path.size() + 1);
    const std::size_t slash = rest.find('/');
    const std::string_view id = rest.substr(0, slash);
    if (slash == std::string_view::npos) {
      one_campaign(c, id);
    } else if (rest.substr(slash + 1) == "pause" || rest.substr(slash + 1) == "resume") {
      set_status(c, id, rest.substr(slash + 1) == "pause");
    } else {
      error(res, bhttp::status::not_found, "try /admin/campaigns/{id}[/pause|/resume]");
    }
    return true;
  }
  if (target == revisions_path ||
      (target.starts_with(revisions_path) && target[revisions_path.size()] == '/')) {
    revisions(c, target.size() > revisions_path.size() ? target.substr(revisions_path.size() + 1)
                                                       : std::string_view());
    return true;
  }
  if (target == "/admin/audit") {
    if (method != bhttp::verb::get) return not_allowed(res, "GET"), true;
    auto entries = backend.audit();
    if (!entries)
      return error(res, bhttp::status::internal_server_error, entries.error().message), true;
    json::array list;
    for (const std::string& line : *entries) list.push_back(json::parse(line));
    reply(res, bhttp::status::ok, json::object{{"entries", std::move(list)}});
    return true;
  }
  if (target == "/admin/config/export") {
    if (method != bhttp::verb::get) return not_allowed(res, "GET"), true;
    auto text = backend.export_config();
    if (!text) return error(res, bhttp::status::unprocessable_entity, text.error().message), true;
    etag(res, backend.current().info.revision);
    res.result(bhttp::status::ok);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = std::move(*text);
    return true;
  }
  return false;
}

}  // namespace bidder::http
