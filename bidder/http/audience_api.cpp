#include "bidder/http/audience_api.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <charconv>
#include <map>

#include "bidder/audience/importer.hpp"
#include "bidder/core/codec.hpp"
#include "bidder/core/json_text.hpp"

namespace bidder::http {
namespace {

namespace bhttp = boost::beast::http;

void reply(response& res, bhttp::status status, std::string body) {
  res.result(status);
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.body() += '\n';
}

void reply_error(response& res, bhttp::status status, std::string_view message) {
  std::string body = "{\"error\":";
  append_json_string(body, message);
  body += '}';
  reply(res, status, std::move(body));
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string key, value;
    if (!percent_decode(pair.substr(0, eq), key, true)) continue;
    if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true)) continue;
    out[key] = value;
  }
  return out;
}

bool parse_count(const std::string& text, std::uint64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

void field(std::string& out, std::string_view name, std::uint64_t value, bool comma = true) {
  if (comma) out += ',';
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(value);
}

// The JSON summary of a push or an ingest (or its error).
void write_report(response& res, std::string_view what, audience::update_mode mode,
                  const result<audience::import_report>& report) {
  if (!report) {
    const auto status = report.error().code == errc::not_found  ? bhttp::status::not_found
                        : report.error().code == errc::io_error ? bhttp::status::service_unavailable
                        : report.error().code == errc::too_large ? bhttp::status::payload_too_large
                                                                 : bhttp::status::bad_request;
    return reply_error(res, status, report.error().message);
  }
  std::string body = "{\"segment\":";
  append_json_string(body, what);
  body += ",\"mode\":";
  append_json_string(body, audience::to_string(mode));
  body += ",\"applied\":";
  body += report->applied ? "true" : "false";
  if (!report->applied) {
    body += ",\"refusal\":";
    append_json_string(body, report->refusal);
  }
  field(body, "lines", report->lines);
  field(body, "members", report->members);
  field(body, "duplicates", report->duplicates);
  field(body, "rejected", report->rejected);
  field(body, "written", report->update.written);
  field(body, "dropped", report->update.dropped);
  field(body, "segment_members", report->update.members);
  body += ",\"seconds\":" + std::to_string(report->seconds);
  body += ",\"errors\":[";
  for (std::size_t i = 0; i < report->errors.size(); ++i) {
    if (i > 0) body += ',';
    body += "{\"line\":" + std::to_string(report->errors[i].line) + ",\"reason\":";
    append_json_string(body, report->errors[i].reason);
    body += '}';
  }
  body += "]}";
  reply(res, report->applied ? bhttp::status::ok : bhttp::status::unprocessable_entity,
        std::move(body));
}

// The options of a push from its segment and query; false with `res` filled when bad.
bool push_options(audience::segment_store& store, std::string_view segment, std::string_view query,
                  audience::import_options& options, response& res) {
  auto params = parse_query(query);
  options.segment = std::string(segment);
  if (auto it = params.find("mode"); it != params.end()) {
    auto mode = audience::parse_update_mode(it->second);
    if (!mode) {
      reply_error(res, bhttp::status::bad_request, "mode: use replace, add or remove");
      return false;
    }
    options.mode = *mode;
  }
  std::uint64_t number = 0;
  if (auto it = params.find("ttl_days"); it != params.end()) {
    if (!parse_count(it->second, number) || number > 36500) {
      reply_error(res, bhttp::status::bad_request, "ttl_days: a number of days, 0 to 36500");
      return false;
    }
    options.ttl_days = static_cast<std::uint32_t>(number);
  }
  if (auto it = params.find("max_errors"); it != params.end()) {
    if (!parse_count(it->second, number)) {
      reply_error(res, bhttp::status::bad_request, "max_errors: a number");
      return false;
    }
    options.max_errors = number;
  }
  options.temp_dir = store.path();  // sort runs share the store's disk, not /tmp
  return true;
}

void serve_push(audience::segment_store& store, std::string_view segment, std::string_view query,
                request& req, response& res) {
  audience::import_options options;
  if (!push_options(store, segment, query, options, res)) return;
  auto report = audience::import_segment(store, options, req.body(), wall_now());
  write_report(res, options.segment, options.mode, report);
}

// One push's upload: each chunk is parsed and sorted as it arrives; finish() applies it.
class push_body final : public body_stream {
 public:
  push_body(std::unique_ptr<audience::push_stream> push, audience::import_options options,
            push_counters* counters)
      : push_(std::move(push)), options_(std::move(options)), counters_(counters) {
    if (counters_ != nullptr) ++counters_->open;
  }
  ~push_body() override {
    if (counters_ == nullptr) return;
    --counters_->open;
    if (!finished_) ++counters_->aborted;
  }

  void on_chunk(std::string_view bytes) noexcept override {
    if (failure_.empty()) {
      try {
        push_->feed(bytes);
      } catch (const std::exception& e) {  // std::bad_alloc: refuse the push, keep serving
        failure_ = e.what();
      }
    }
  }

  // A refused push (too many bad lines, unreadable gzip, too large) is answered at once: a
  // campaign manager whose 10M-line file is wrong from line 1 should not wait for its upload.
  bool stop_reading() noexcept override {
    stopped_ = !failure_.empty() || push_->refused();
    return stopped_;
  }

  void finish(response& res) noexcept override {
    finished_ = true;
    bool applied = false;
    try {
      if (!failure_.empty()) {
        reply_error(res, bhttp::status::service_unavailable, "push failed: " + failure_);
      } else {
        auto report = push_->finish(stopped_ ? audience::push_stream::ending::stopped
                                             : audience::push_stream::ending::whole_file);
        applied = report && report->applied;
        write_report(res, options_.segment, options_.mode, report);
      }
    } catch (const std::exception& e) {
      reply_error(res, bhttp::status::service_unavailable, std::string("push failed: ") + e.what());
    }
    push_.reset();  // removes the sort's files before the answer goes out
    if (counters_ != nullptr) ++(applied ? counters_->applied : counters_->refused);
  }

 private:
  std::unique_ptr<audience::push_stream> push_;
  audience::import_options options_;
  push_counters* counters_;
  std::string failure_;
  bool finished_ = false;
  bool stopped_ = false;  // the server stopped reading the body after a refusal
};

void serve_ingest(audience::segment_store& store, std::string_view query, response& res) {
  auto params = parse_query(query);
  const auto dir = params.find("dir");
  if (dir == params.end() || dir->second.empty() || dir->second.front() != '/') {
    return reply_error(res, bhttp::status::bad_request,
                       "dir: the absolute path of a folder made by `bidder audience build`");
  }
  std::optional<audience::update_mode> mode;
  if (auto it = params.find("mode"); it != params.end()) {
    mode = audience::parse_update_mode(it->second);
    if (!mode)
      return reply_error(res, bhttp::status::bad_request, "mode: use replace, add or remove");
  }
  auto report = audience::ingest_segment(store, dir->second, mode, wall_now());
  write_report(res, dir->second, mode.value_or(audience::update_mode::replace), report);
}

void serve_segments(audience::segment_store& store, response& res) {
  auto segments = store.segments();
  if (!segments)
    return reply_error(res, bhttp::status::service_unavailable, segments.error().message);
  std::string body = "{\"segments\":[";
  for (std::size_t i = 0; i < segments->size(); ++i) {
    const auto& s = (*segments)[i];
    if (i > 0) body += ',';
    body += "{\"name\":";
    append_json_string(body, s.name);
    field(body, "members", s.members);
    body += std::string(",\"exact\":") + (s.exact ? "true" : "false");
    field(body, "updated_at", static_cast<std::uint64_t>(s.updated_at));
    field(body, "ttl_days", s.ttl_days);
    body += '}';
  }
  body += "]}";
  reply(res, bhttp::status::ok, std::move(body));
}

void serve_user(audience::segment_store& store, std::string_view raw_id, bhttp::verb method,
                response& res, const forget_hook& forget_more) {
  std::string id;
  if (!percent_decode(raw_id, id)) {
    return reply_error(res, bhttp::status::bad_request, "malformed %-escape in the id");
  }
  auto key = audience::id_to_key(id);
  if (!key) return reply_error(res, bhttp::status::bad_request, "id: " + key.error().message);
  std::string body = "{\"id\":";
  append_json_string(body, id);
  body += ",\"key\":";
  append_json_string(body, *key);
  if (method == bhttp::verb::delete_) {
    auto forgotten = store.forget_user(*key);
    if (!forgotten) {
      return reply_error(res, bhttp::status::service_unavailable, forgotten.error().message);
    }
    body += std::string(",\"forgotten\":") + (*forgotten ? "true" : "false");
    if (forget_more) {
      auto more = forget_more(*key);
      if (!more) {
        return reply_error(res, bhttp::status::service_unavailable,
                           "segments forgotten, touches not: " + more.error().message);
      }
      body += std::string(",\"touches_forgotten\":") + (*more ? "true" : "false");
    }
    body += "}";
    return reply(res, bhttp::status::ok, std::move(body));
  }
  auto memberships = store.user_memberships(*key, wall_now());
  if (!memberships) {
    return reply_error(res, bhttp::status::service_unavailable, memberships.error().message);
  }
  body += ",\"segments\":[";
  for (std::size_t i = 0; i < memberships->size(); ++i) {
    const auto& m = (*memberships)[i];
    if (i > 0) body += ',';
    body += "{\"segment\":";
    append_json_string(body, m.segment);
    field(body, "last_seen", static_cast<std::uint64_t>(m.last_seen));
    field(body, "expires_at", static_cast<std::uint64_t>(m.expires_at));
    body += '}';
  }
  body += "]}";
  reply(res, bhttp::status::ok, std::move(body));
}

// An admin request whose work is long (a full compaction, an ingest): its small body is
// gathered as it arrives, and serve_audience_api() runs in finish(), on the offload thread.
class deferred_call final : public body_stream {
 public:
  deferred_call(audience::segment_store& store, const request_header& header) : store_(store) {
    req_.method(header.method());
    req_.target(header.target());
    req_.version(header.version());
  }
  void on_chunk(std::string_view bytes) noexcept override {
    if (req_.body().size() + bytes.size() > max_admin_body_bytes) {
      too_large_ = true;
      return;
    }
    try {
      req_.body().append(bytes);
    } catch (const std::exception&) {
      too_large_ = true;
    }
  }
  bool stop_reading() noexcept override { return too_large_; }
  void finish(response& res) noexcept override {
    try {
      if (too_large_) {
        return reply_error(res, bhttp::status::payload_too_large,
                           "request body over " + std::to_string(max_admin_body_bytes) + " bytes");
      }
      serve_audience_api(store_, req_, res);
    } catch (const std::exception& e) {
      reply_error(res, bhttp::status::service_unavailable, std::string("error: ") + e.what());
    }
  }

 private:
  audience::segment_store& store_;
  request req_;
  bool too_large_ = false;
};

}  // namespace

stream_decision open_audience_push(audience::segment_store& store, const request_header& header,
                                   response& res, std::unique_ptr<body_stream>& out,
                                   push_counters* counters) {
  std::string_view target = header.target();
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  constexpr std::string_view audiences = "/admin/audiences/";
  const auto method = header.method();
  if (method == bhttp::verb::post &&
      (path == "/admin/audiences/compact" || path == "/admin/audiences/ingest")) {
    // Seconds of work behind the store's update lock: done on the offload thread, in order
    // with the pushes' ends, so the admin thread keeps answering /healthz meanwhile.
    out = std::make_unique<deferred_call>(store, header);
    return stream_decision::stream;
  }
  if (!path.starts_with(audiences) || path.size() == audiences.size() ||
      (method != bhttp::verb::put && method != bhttp::verb::post)) {
    return stream_decision::read_whole;
  }
  auto refuse = [&] {
    if (counters != nullptr) ++counters->refused;
    return stream_decision::answered;
  };
  // Each open push holds up to two sort runs in memory (a few hundred MB at the default size).
  if (counters != nullptr && counters->open >= max_concurrent_pushes) {
    res.set(bhttp::field::retry_after, "10");
    reply_error(res, bhttp::status::too_many_requests,
                "another push is in progress (at most " + std::to_string(max_concurrent_pushes) +
                    " at a time); retry when it is done");
    return refuse();
  }
  std::string segment;
  if (!percent_decode(path.substr(audiences.size()), segment)) {
    reply_error(res, bhttp::status::bad_request, "malformed %-escape in the segment name");
    return refuse();
  }
  audience::import_options options;
  if (!push_options(store, segment, query, options, res)) return refuse();
  auto push = audience::push_stream::open(store, options, wall_now());
  if (!push) {
    write_report(res, options.segment, options.mode, push.error());
    return refuse();
  }
  out = std::make_unique<push_body>(std::move(*push), std::move(options), counters);
  return stream_decision::stream;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  return append_percent_decoded(out, in, plus_is_space, bad_escape::fail);
}

bool serve_audience_api(audience::segment_store& store, request& req, response& res,
                        const forget_hook& forget_more) {
  std::string_view target = req.target();
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  const auto method = req.method();
  constexpr std::string_view audiences = "/admin/audiences";
  constexpr std::string_view users = "/admin/users/";
  if (path == audiences) {
    if (method != bhttp::verb::get) {
      res.set(bhttp::field::allow, "GET");
      reply_error(res, bhttp::status::method_not_allowed, "use GET");
    } else {
      serve_segments(store, res);
    }
    return true;
  }
  if (path == "/admin/audiences/compact") {
    if (method != bhttp::verb::post) {
      res.set(bhttp::field::allow, "POST");
      reply_error(res, bhttp::status::method_not_allowed, "use POST");
    } else if (auto r = store.compact(); !r) {
      reply_error(res, bhttp::status::service_unavailable, r.error().message);
    } else {
      reply(res, bhttp::status::ok, "{\"compacted\":true}");
    }
    return true;
  }
  if (path == "/admin/audiences/ingest") {
    if (method != bhttp::verb::post) {
      res.set(bhttp::field::allow, "POST");
      reply_error(res, bhttp::status::method_not_allowed, "use POST");
    } else {
      serve_ingest(store, query, res);
    }
    return true;
  }
  if (path.starts_with(audiences) && path.size() > audiences.size() + 1 &&
      path[audiences.size()] == '/') {
    if (method != bhttp::verb::put && method != bhttp::verb::post) {
      res.set(bhttp::field::allow, "PUT");
      reply_error(res, bhttp::status::method_not_allowed, "use PUT with the audience file as body");
    } else {
      std::string segment;
      if (!percent_decode(path.substr(audiences.size() + 1), segment)) {
        reply_error(res, bhttp::status::bad_request, "malformed %-escape in the segment name");
      } else {
        serve_push(store, segment, query, req, res);
      }
    }
    return true;
  }
  if (path.starts_with(users) && path.size() > users.size()) {
    if (method != bhttp::verb::get && method != bhttp::verb::delete_) {
      res.set(bhttp::field::allow, "GET, DELETE");
      reply_error(res, bhttp::status::method_not_allowed, "use GET or DELETE");
    } else {
      serve_user(store, path.substr(users.size()), method, res, forget_more);
    }
    return true;
  }
  return false;
}

}  // namespace bidder::http
