#include "bidder/app/audience_cli.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bidder/app/admin_client.hpp"
#include "bidder/app/push_files.hpp"
#include "bidder/audience/importer.hpp"
#include "bidder/core/codec.hpp"
#include "bidder/core/gzip.hpp"
#include "bidder/expression/text.hpp"
#include "bidder/http/audience_api.hpp"

namespace bidder::app {
namespace {

namespace json = boost::json;

constexpr std::string_view usage = R"(usage:
  bidder audience push FILE... --segment NAME [--mode replace|add|remove] [--ttl DAYS]
                       [--max-errors N] [--admin URL] [--token TOKEN]
  bidder audience list [--admin URL] [--token TOKEN]
  bidder audience show ID [--admin URL] [--token TOKEN]
  bidder audience forget ID... [--admin URL] [--token TOKEN]
  bidder audience compact [--admin URL] [--token TOKEN]
  bidder audience build FILE... --segment NAME --out DIR [--mode M] [--ttl DAYS] [--max-errors N]
      (offline, for a fleet: writes DIR/members.sst + DIR/manifest.txt; no bidder needed)
  bidder audience ingest DIR [--mode M] [--admin URL]... [--token TOKEN]
      (applies a built DIR, which must be on the bidder's host, atomically like a push;
      --admin given several times: into each of a fleet's bidders in turn)
  bidder audience estimate EXPR [--method auto|exact|sample] [--json] [--admin URL] [--token T]
      (stored keys matching EXPR, e.g. 'all(car-intender@10, any(affluent-zip, 3p:acme:123),
      not(recent-buyer))': exact on small stores, else from a sample with a 95% interval)
--admin defaults to http://127.0.0.1:8081; --token to $BIDDER_ADMIN_TOKEN.
)";

int bad_usage(std::string_view message) {
  std::cerr << "bidder audience: " << message << "\n\n" << usage;
  return 2;
}

// ':' is kept: user keys ("user:abc") stay readable in the admin API's logs.
std::string url_escape(std::string_view text) {
  std::string out;
  append_percent_encoded(out, text, ":");
  return out;
}

// Prints a JSON error body's message, or the raw body.
int report_failure(const admin_reply& reply) {
  std::string message = reply.body;
  try {
    auto value = json::parse(reply.body);
    if (auto* e = value.as_object().if_contains("error")) message = e->as_string().c_str();
  } catch (...) {
  }
  std::cerr << "bidder audience: HTTP " << reply.status << ": " << message << "\n";
  return 1;
}

// `bidder audience estimate EXPR`: checked here first, so a typo is shown with a caret under
// it without a round trip; the bidder checks it again.
int run_estimate(const admin_target& target, const std::vector<std::string>& positional,
                 const std::string& method, bool json_output) {
  if (positional.size() != 1) {
    return bad_usage("estimate takes one EXPR (quote it: 'all(a@7, not(b))')");
  }
  const std::string& text = positional.front();
  if (method != "auto" && method != "exact" && method != "sample") {
    return bad_usage("--method: use auto, exact or sample");
  }
  if (auto parsed = expression::parse_text(text); !parsed) {
    std::cerr << "bidder audience: EXPR: " << parsed.error().message << "\n";
    // "at N: ..." points at byte N: show it under the expression.
    const std::string& message = parsed.error().message;
    if (message.starts_with("at ") && text.size() <= 200) {
      const std::size_t column = std::strtoul(message.c_str() + 3, nullptr, 10);
      std::cerr << "  " << text << "\n  " << std::string(column > 0 ? column - 1 : 0, ' ') << "^\n";
    }
    return 2;
  }
  auto reply = admin_call(target, "POST", "/admin/audience/estimate?method=" + method, text);
  if (!reply) return std::cerr << "bidder audience: " << reply.error().message << "\n", 1;
  if (reply->status != 200) return report_failure(*reply);
  if (json_output) {
    std::cout << reply->body;
    return 0;
  }
  try {
    const auto answer = json::parse(reply->body).as_object();
    const auto count = [&](const char* name) { return answer.at(name).to_number<std::uint64_t>(); };
    std::cout << answer.at("expression").as_string().c_str() << "\n";
    if (answer.at("exact").as_bool()) {
      std::cout << "matching keys: " << count("matched") << " of " << count("stored_keys")
                << " stored (exact count, " << answer.at("seconds").to_number<double>() << " s)\n";
    } else {
      std::cout << "matching keys: ~" << count("matched") << " (95% interval " << count("low")
                << " to " << count("high") << ") of ~" << count("stored_keys")
                << " stored; from a 1/" << count("sample_rate")
                << " sample: " << count("sampled_matched") << " of " << count("sampled_keys")
                << " keys, " << answer.at("seconds").to_number<double>() << " s\n";
    }
    std::cout << "(" << answer.at("counts").as_string().c_str() << ")\n";
    if (const auto& unknown = answer.at("unknown_segments").as_array(); !unknown.empty()) {
      std::cout << "not a pushed segment:";
      for (const auto& n : unknown) std::cout << " " << n.as_string().c_str();
      std::cout << " (check the spelling; segments written another way are listed too)\n";
    }
    if (const auto* traffic = answer.if_contains("bid_traffic")) {
      const auto& t = traffic->as_object();
      std::printf(
          "bid traffic since start: %llu requests, %llu audience look-ups, %.1f%% found a stored "
          "key; expected to match: %.2f%% of look-ups (an estimate, see docs/audience.md)\n",
          static_cast<unsigned long long>(t.at("requests").to_number<std::uint64_t>()),
          static_cast<unsigned long long>(t.at("lookups").to_number<std::uint64_t>()),
          100 * t.at("found_share").to_number<double>(),
          100 * t.at("expected_matching_share").to_number<double>());
    }
  } catch (const std::exception&) {
    std::cout << reply->body;
  }
  return 0;
}

}  // namespace

int run_audience_cli(const std::vector<std::string_view>& args) {
  if (args.empty()) return bad_usage("no subcommand given");
  const std::string_view command = args.front();
  std::vector<std::string> positional;
  std::string segment, mode = "replace", ttl, max_errors, out_dir, method = "auto";
  bool json_output = false;
  bool mode_given = false;
  std::string admin_url = "http://127.0.0.1:8081";
  std::vector<std::string> admin_urls;  // every --admin, for ingest into a fleet
  const char* env_token = std::getenv("BIDDER_ADMIN_TOKEN");
  std::string token = env_token != nullptr ? env_token : "";
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 == args.size()) return false;
      out = std::string(args[++i]);
      return true;
    };
    bool ok = true;
    if (arg == "--segment") {
      ok = value(segment);
    } else if (arg == "--mode") {
      ok = value(mode);
      mode_given = true;
    } else if (arg == "--out") {
      ok = value(out_dir);
    } else if (arg == "--ttl") {
      ok = value(ttl);
    } else if (arg == "--max-errors") {
      ok = value(max_errors);
    } else if (arg == "--method") {
      ok = value(method);
    } else if (arg == "--json") {
      json_output = true;
    } else if (arg == "--admin") {
      ok = value(admin_url);
      if (ok) admin_urls.push_back(admin_url);
    } else if (arg == "--token") {
      ok = value(token);
    } else if (arg.starts_with("--")) {
      return bad_usage("unknown option " + std::string(arg));
    } else {
      positional.emplace_back(arg);
    }
    if (!ok) return bad_usage(std::string(arg) + " needs a value");
  }
  auto target = parse_admin_url(admin_url);
  if (!target) return bad_usage(target.error().message);
  target->token = token;

  if (command == "push") {
    if (segment.empty()) return bad_usage("push needs --segment NAME");
    if (positional.empty()) return bad_usage("push needs at least one FILE");
    // Streamed from disk (bounded memory): see push_files.hpp for how several files join.
    const auto start = std::chrono::steady_clock::now();
    const bool on_terminal = ::isatty(STDERR_FILENO) == 1;
    push_files files(positional, /*count_gzip_lines=*/on_terminal);
    if (auto r = files.open(); !r) {
      std::cerr << "bidder audience: " << r.error().message << "\n";
      return 1;
    }
    std::string path = "/admin/audiences/" + url_escape(segment) + "?mode=" + url_escape(mode);
    if (!ttl.empty()) path += "&ttl_days=" + url_escape(ttl);
    if (!max_errors.empty()) path += "&max_errors=" + url_escape(max_errors);
    std::cerr << "bidder audience: pushing "
              << human_bytes(static_cast<double>(files.total_bytes())) << " from "
              << positional.size() << " file(s) to segment " << segment << " (" << mode << ")\n";
    progress_meter meter(files.total_bytes(), on_terminal);
    auto reply = admin_upload(*target, "PUT", path, [&](std::string& chunk) -> result<bool> {
      auto more = files.next(chunk);
      if (more && *more) meter.update(files.bytes_read(), files.lines());
      if (more && !*more) meter.finish(files.bytes_read(), files.lines());
      return more;
    });
    if (!reply) {
      std::cerr << (on_terminal ? "\n" : "") << "bidder audience: " << reply.error().message
                << "\n";
      return 1;
    }
    json::object summary;
    try {
      summary = json::parse(reply->body).as_object();
    } catch (...) {
      return report_failure(*reply);
    }
    if (!summary.contains("applied")) return report_failure(*reply);
    if (auto* errors = summary.if_contains("errors")) {
      for (const auto& e : errors->as_array()) {
        std::cerr << positional.front() << (positional.size() > 1 ? " (joined)" : "") << ":"
                  << e.at("line").as_int64() << ": " << e.at("reason").as_string().c_str() << "\n";
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // written: members added or refreshed (removed, in remove mode); dropped: former members
    // a replace took out.
    const auto lines = summary.at("lines").as_int64();
    const bool removing = mode == "remove";
    std::cout << (summary.at("applied").as_bool() ? "applied" : "REFUSED") << ": segment "
              << segment << " (" << mode << "): " << lines << " lines read, "
              << summary.at("members").as_int64() << " members, "
              << (removing ? 0 : summary.at("written").as_int64()) << " added or refreshed, "
              << (removing ? summary.at("written").as_int64() : summary.at("dropped").as_int64())
              << " removed, " << summary.at("rejected").as_int64() << " lines rejected, "
              << summary.at("duplicates").as_int64() << " duplicates, " << seconds << " s ("
              << static_cast<std::uint64_t>(seconds > 0 ? static_cast<double>(lines) / seconds : 0)
              << " lines/s)\n";
    if (auto* refusal = summary.if_contains("refusal")) {
      std::cerr << "bidder audience: " << refusal->as_string().c_str() << "\n";
    }
    return summary.at("applied").as_bool() ? 0 : 1;
  }
  if (command == "build") {
    if (segment.empty() || out_dir.empty()) return bad_usage("build needs --segment and --out");
    if (positional.empty()) return bad_usage("build needs at least one FILE");
    audience::import_options options;
    options.segment = segment;
    auto parsed_mode = audience::parse_update_mode(mode);
    if (!parsed_mode) return bad_usage("--mode: use replace, add or remove");
    options.mode = *parsed_mode;
    try {
      if (!ttl.empty()) options.ttl_days = static_cast<std::uint32_t>(std::stoul(ttl));
      if (!max_errors.empty()) options.max_errors = std::stoull(max_errors);
    } catch (...) {
      return bad_usage("--ttl and --max-errors take numbers");
    }
    auto report = audience::build_segment(positional, options, out_dir, wall_now());
    if (!report) {
      std::cerr << "bidder audience: " << report.error().message << "\n";
      return 1;
    }
    for (const auto& e : report->errors) std::cerr << e.line << ": " << e.reason << "\n";
    if (!report->applied) {
      std::cerr << "bidder audience: REFUSED: " << report->refusal << "\n";
      return 1;
    }
    std::cout << "built: " << out_dir << " (segment " << segment << ", " << mode
              << "): " << report->lines << " lines read, " << report->members << " members, "
              << report->rejected << " lines rejected, " << report->duplicates << " duplicates, "
              << report->seconds << " s\n";
    return 0;
  }
  if (command == "ingest") {
    if (positional.size() != 1) return bad_usage("ingest takes one DIR");
    std::error_code ec;
    const std::string dir = std::filesystem::absolute(positional.front(), ec).string();
    std::string path = "/admin/audiences/ingest?dir=" + url_escape(dir);
    if (mode_given) path += "&mode=" + url_escape(mode);
    if (admin_urls.size() <= 1) {
      auto reply = admin_call(*target, "POST", path, "");
      if (!reply) return std::cerr << "bidder audience: " << reply.error().message << "\n", 1;
      if (reply->status != 200) return report_failure(*reply);
      std::cout << reply->body;
      return 0;
    }
    // A fleet (docs/fleet.md "Distribution"): each bidder in turn; one that fails does not stop
    // the others, and the exit status says whether all took it.
    int status = 0;
    for (const std::string& url : admin_urls) {
      auto each = parse_admin_url(url);
      if (!each) return bad_usage(each.error().message);
      each->token = token;
      std::cout << url << ": " << std::flush;
      auto reply = admin_call(*each, "POST", path, "");
      if (!reply) {
        std::cout << "FAILED\n";
        std::cerr << "bidder audience: " << url << ": " << reply.error().message << "\n";
        status = 1;
      } else if (reply->status != 200) {
        std::cout << "FAILED\n";
        std::cerr << url << ": ";
        status = report_failure(*reply);
      } else {
        std::cout << reply->body;
        if (!reply->body.ends_with('\n')) std::cout << "\n";
      }
    }
    return status;
  }
  if (command == "list") {
    auto reply = admin_call(*target, "GET", "/admin/audiences", "");
    if (!reply) return std::cerr << "bidder audience: " << reply.error().message << "\n", 1;
    if (reply->status != 200) return report_failure(*reply);
    auto segments = json::parse(reply->body).at("segments").as_array();
    std::cout << "segment                          members  ttl_days  updated (UTC)\n";
    for (const auto& s : segments) {
      const auto& o = s.as_object();
      const std::time_t updated = o.at("updated_at").as_int64();
      char when[32];
      std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::gmtime(&updated));
      std::printf("%-30s %9lld%s %9lld  %s\n", o.at("name").as_string().c_str(),
                  static_cast<long long>(o.at("members").as_int64()),
                  o.at("exact").as_bool() ? " " : "~",
                  static_cast<long long>(o.at("ttl_days").as_int64()), when);
    }
    return 0;
  }
  if (command == "show" || command == "forget") {
    if (positional.empty()) return bad_usage(std::string(command) + " needs an ID");
    if (command == "show" && positional.size() != 1) return bad_usage("show takes one ID");
    for (const std::string& id : positional) {
      auto reply = admin_call(*target, command == "show" ? "GET" : "DELETE",
                              "/admin/users/" + url_escape(id), "");
      if (!reply) return std::cerr << "bidder audience: " << reply.error().message << "\n", 1;
      if (reply->status != 200) return report_failure(*reply);
      std::cout << reply->body;
    }
    return 0;
  }
  if (command == "estimate") return run_estimate(*target, positional, method, json_output);
  if (command == "compact") {
    auto reply = admin_call(*target, "POST", "/admin/audiences/compact", "");
    if (!reply) return std::cerr << "bidder audience: " << reply.error().message << "\n", 1;
    if (reply->status != 200) return report_failure(*reply);
    std::cout << "compacted\n";
    return 0;
  }
  return bad_usage("unknown subcommand " + std::string(command));
}

}  // namespace bidder::app
