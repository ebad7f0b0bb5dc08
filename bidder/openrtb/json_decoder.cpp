#include "bidder/openrtb/json_decoder.hpp"

#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "bidder/openrtb/normalize.hpp"

namespace bidder::openrtb {
namespace {

namespace od = simdjson::ondemand;
using status = result<void>;

// Errors are built leaf first ("w: expected an integer") and each enclosing object prefixes its
// own name as the error unwinds, so the happy path never formats a path.
error wrong_type(std::string_view what) {
  return make_error(errc::invalid_field, std::string(": expected ") + std::string(what));
}
error syntax(simdjson::error_code code) {
  if (code == simdjson::DEPTH_ERROR) {
    return make_error(errc::malformed_request, ": JSON nested too deeply");
  }
  return make_error(errc::malformed_request,
                    std::string(": malformed JSON (") + simdjson::error_message(code) + ")");
}
error type_or_syntax(simdjson::error_code code, std::string_view expected) {
  return code == simdjson::INCORRECT_TYPE ? wrong_type(expected) : syntax(code);
}
error nest(std::string_view name, error e) {
  std::string message(name);
  if (!e.message.empty() && e.message.front() != ':' && e.message.front() != '[') {
    message += '.';
  }
  message += e.message;
  return make_error(e.code, std::move(message));
}
std::string finish(error e) {
  // A leaf error at the root has no name before its ':'.
  if (!e.message.empty() && e.message.front() == ':') return "request" + e.message;
  return std::move(e.message);
}

// type() looks at the first byte only; is_null() checks the whole atom, so "nul" or "nullx"
// is a syntax error rather than a null.
result<bool> is_null(od::value& v) {
  od::json_type type;
  if (auto code = v.type().get(type)) return syntax(code);
  if (type != od::json_type::null) return false;
  bool null = false;
  if (v.is_null().get(null) || !null) return syntax(simdjson::N_ATOM_ERROR);
  return true;
}

status read_string(od::value& v, std::string_view& out) {
  auto null = is_null(v);
  if (!null) return null.error();
  if (*null) return {};
  if (auto code = v.get_string().get(out)) return type_or_syntax(code, "a string");
  return {};
}

// Integers: also accept 300.0 (some encoders write every number as a double) and true/false
// for OpenRTB's 0/1 flags. Anything else is a type error.
status read_int(od::value& v, std::int32_t& out) {
  od::json_type type;
  if (auto code = v.type().get(type)) return syntax(code);
  switch (type) {
    case od::json_type::null: {
      auto null = is_null(v);
      return null ? status() : status(null.error());
    }
    case od::json_type::boolean: {
      bool b = false;
      if (v.get_bool().get(b)) return syntax(simdjson::T_ATOM_ERROR);
      out = b ? 1 : 0;
      return {};
    }
    case od::json_type::number: {
      // Most are plain integers: parse them as such (a double's parse is dearer); a failed
      // get_int64 leaves the value unread, so 300.0, 3e2 and integers beyond int64 go on to
      // the double path, which decides them as before.
      std::int64_t i = 0;
      if (const auto code = v.get_int64().get(i); code == simdjson::SUCCESS) {
        if (i < std::numeric_limits<std::int32_t>::min() ||
            i > std::numeric_limits<std::int32_t>::max()) {
          return wrong_type("an integer");
        }
        out = static_cast<std::int32_t>(i);
        return {};
      } else if (code != simdjson::INCORRECT_TYPE) {
        return syntax(code);
      }
      double d = 0;
      if (auto code = v.get_double().get(d)) return syntax(code);
      if (!(std::isfinite(d) && d == std::floor(d) &&
            d >= std::numeric_limits<std::int32_t>::min() &&
            d <= std::numeric_limits<std::int32_t>::max())) {
        return wrong_type("an integer");
      }
      out = static_cast<std::int32_t>(d);
      return {};
    }
    default:
      return wrong_type("an integer");
  }
}

status read_flag(od::value& v, bool& out) {
  std::int32_t i = out ? 1 : 0;
  if (auto r = read_int(v, i); !r) return r;
  out = i != 0;
  return {};
}

status read_price(od::value& v, double& out) {
  auto null = is_null(v);
  if (!null) return null.error();
  if (*null) return {};
  double d = 0;
  if (auto code = v.get_double().get(d)) return type_or_syntax(code, "a number");
  if (!std::isfinite(d) || d < 0) return wrong_type("a non-negative number");
  out = d;
  return {};
}

template <class Fn>
status for_each_element(od::value& v, std::size_t max_items, Fn&& fn) {
  auto null = is_null(v);
  if (!null) return null.error();
  if (*null) return {};
  od::array array;
  if (auto code = v.get_array().get(array)) return type_or_syntax(code, "an array");
  std::size_t index = 0;
  for (auto element_result : array) {
    od::value element;
    if (auto code = std::move(element_result).get(element)) return syntax(code);
    if (index == max_items) {
      return make_error(errc::invalid_field, ": more than " + std::to_string(max_items) + " items");
    }
    if (auto r = fn(element, index); !r) {
      const std::string& inner = r.error().message;
      std::string message = "[" + std::to_string(index) + "]";
      if (!inner.empty() && inner.front() != ':' && inner.front() != '[' && inner.front() != '.') {
        message += '.';
      }
      return make_error(r.error().code, message + inner);
    }
    ++index;
  }
  return {};
}

template <class Fn>
status for_each_field(od::value& v, Fn&& fn) {
  auto null = is_null(v);
  if (!null) return null.error();
  if (*null) return {};
  od::object object;
  if (auto code = v.get_object().get(object)) return type_or_syntax(code, "an object");
  for (auto field_result : object) {
    od::field field;
    if (auto code = std::move(field_result).get(field)) return syntax(code);
    // Keys are compared as written: unescaping each one (a copy into the string buffer) was a
    // tenth of a request's decoding. A key holding an escape is unescaped, so "\u0069d" still
    // reads as "id".
    // (Stage 1 has checked that every string is closed, so the scan stops in the buffer.)
    const char* const start = field.key().raw();
    const char* end = start;
    while (*end != '"' && *end != '\\') ++end;
    std::string_view key(start, static_cast<std::size_t>(end - start));
    if (*end == '\\') {
      if (auto code = field.unescaped_key().get(key)) return syntax(code);
    }
    od::value value = field.value();
    if (auto r = fn(key, value); !r) return nest(key, std::move(r.error()));
  }
  return {};
}

// List limits count what is already in `out`, so repeated keys cannot add up past them.
error too_many(std::size_t max_items) {
  return make_error(errc::invalid_field, ": more than " + std::to_string(max_items) + " items");
}

status read_string_list(od::value& v, reuse_vector<std::string_view>& out, std::size_t max_items) {
  return for_each_element(v, max_items, [&](od::value& e, std::size_t) -> status {
    if (out.size() == max_items) return too_many(max_items);
    std::string_view s;
    if (auto r = read_string(e, s); !r) return r;
    if (!s.empty()) out.push_back(s);
    return {};
  });
}

status read_int_list(od::value& v, reuse_vector<std::int32_t>& out, std::size_t max_items) {
  return for_each_element(v, max_items, [&](od::value& e, std::size_t) -> status {
    if (out.size() == max_items) return too_many(max_items);
    std::int32_t i = 0;
    if (auto r = read_int(e, i); !r) return r;
    out.push_back(i);
    return {};
  });
}

struct geo_fields {
  std::string_view country, region, zip;
  std::optional<std::int32_t> utcoffset;
};

// Validates a value the engine does not need, so that malformed or absurdly nested JSON is
// rejected even inside unknown fields (simdjson's on-demand skip would not look inside).
status skip(od::value& v, std::size_t max_depth) {
  od::json_type type;
  if (auto code = v.type().get(type)) return syntax(code);
  switch (type) {
    case od::json_type::object: {
      if (static_cast<std::size_t>(v.current_depth()) > max_depth) {
        return syntax(simdjson::DEPTH_ERROR);
      }
      od::object object;
      if (auto code = v.get_object().get(object)) return syntax(code);
      for (auto field_result : object) {
        od::field field;
        if (auto code = std::move(field_result).get(field)) return syntax(code);
        od::value value = field.value();
        if (auto r = skip(value, max_depth); !r) return r;
      }
      return {};
    }
    case od::json_type::array: {
      if (static_cast<std::size_t>(v.current_depth()) > max_depth) {
        return syntax(simdjson::DEPTH_ERROR);
      }
      od::array array;
      if (auto code = v.get_array().get(array)) return syntax(code);
      for (auto element_result : array) {
        od::value element;
        if (auto code = std::move(element_result).get(element)) return syntax(code);
        if (auto r = skip(element, max_depth); !r) return r;
      }
      return {};
    }
    case od::json_type::string: {
      // Stage 1 has already checked the whole document's UTF-8 and that no control character
      // sits unescaped in a string; only an escape can still be bad ("\\x"). Most skipped
      // strings have none, so the raw token (up to the next structural character) is scanned
      // for a backslash, and only a string with one is unescaped to check it
      // (docs/performance.md: about 5 % of a large request's decode).
      const std::string_view raw = v.raw_json_token();
      if (raw.find('\\') == std::string_view::npos) return {};
      std::string_view text;  // unescaped, so a bad escape is caught
      if (auto code = v.get_string().get(text)) return syntax(code);
      return {};
    }
    case od::json_type::number: {
      od::number number;
      if (auto code = v.get_number().get(number)) return syntax(code);
      return {};
    }
    case od::json_type::boolean: {
      bool b = false;
      if (v.get_bool().get(b)) return syntax(simdjson::T_ATOM_ERROR);  // e.g. "tru"
      return {};
    }
    case od::json_type::null: {
      auto null = is_null(v);
      return null ? status() : status(null.error());
    }
  }
  return syntax(simdjson::TAPE_ERROR);
}

class request_reader {
 public:
  request_reader(const decode_limits& limits, bid_request& out) : limits_(limits), out_(out) {}

  status read_root(od::value& root) {
    bool saw_imp = false;
    auto r = for_each_field(root, [&](std::string_view key, od::value& v) -> status {
      if (key == "id") return read_string(v, out_.id);
      if (key == "imp") {
        saw_imp = true;
        return read_imps(v);
      }
      if (key == "site") return read_site_or_app(v, inventory_kind::site);
      if (key == "app") return read_site_or_app(v, inventory_kind::app);
      if (key == "dooh") return read_site_or_app(v, inventory_kind::dooh);
      if (key == "device") return read_device(v);
      if (key == "user") return read_user(v);
      if (key == "regs") return read_regs(v);
      if (key == "test") return read_flag(v, out_.test);
      if (key == "allimps") return read_flag(v, out_.allimps);
      if (key == "at") return read_int(v, out_.auction_type);
      if (key == "tmax") return read_int(v, out_.tmax_ms);
      if (key == "cattax") return read_int(v, out_.cattax);
      if (key == "cur") return read_string_list(v, out_.cur, limits_.max_top_list);
      if (key == "bcat") return read_string_list(v, out_.bcat, limits_.max_top_list);
      if (key == "badv") return read_string_list(v, out_.badv, limits_.max_top_list);
      if (key == "bapp") return read_string_list(v, out_.bapp, limits_.max_top_list);
      if (key == "wseat") return read_string_list(v, out_.wseat, limits_.max_top_list);
      if (key == "bseat") return read_string_list(v, out_.bseat, limits_.max_top_list);
      return skip(v,
                  limits_.max_depth);  // unknown or unused field: skipped (OpenRTB 2.6 section 2.6)
    });
    if (!r) return r;
    if (out_.id.empty()) return make_error(errc::missing_field, "id: missing");
    if (!saw_imp || out_.imps.empty())
      return make_error(errc::missing_field, "imp: missing or empty");
    if (out_.tmax_ms < 0) return make_error(errc::invalid_field, "tmax: must not be negative");
    if (auto i = repeated_imp_id(out_)) {
      return make_error(errc::invalid_field,
                        "imp[" + std::to_string(*i) + "].id: repeats an earlier imp's id");
    }
    // The 2.6 field wins; the 2.5 ext location fills in when the 2.6 one is absent.
    if (out_.consent.empty()) out_.consent = ext_consent_;
    if (!out_.gdpr && ext_gdpr_) out_.gdpr = ext_gdpr_;
    if (out_.us_privacy.empty()) out_.us_privacy = ext_us_privacy_;
    if (!device_geo_seen_) {
      out_.country = user_geo_.country;
      out_.region = user_geo_.region;
      out_.zip = user_geo_.zip;
    }
    if (!out_.utcoffset_minutes) out_.utcoffset_minutes = user_geo_.utcoffset;
    return {};
  }

 private:
  status read_imps(od::value& v) {
    return for_each_element(v, limits_.max_imps, [&](od::value& e, std::size_t) -> status {
      // Counted over the request: a repeated "imp" key must not add up past the limit.
      if (out_.imps.size() == limits_.max_imps) {
        return make_error(errc::invalid_field,
                          ": more than " + std::to_string(limits_.max_imps) + " impressions");
      }
      imp& item = out_.imps.emplace();
      if (auto r = read_imp(e, item); !r) return r;
      if (item.id.empty()) return make_error(errc::missing_field, ".id: missing");
      if (!(item.banner.present || item.video.present || item.audio.present ||
            item.native.present)) {
        return make_error(errc::missing_field, ": no banner, video, audio or native object");
      }
      return {};
    });
  }

  status read_imp(od::value& v, imp& item) {
    return for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "id") return read_string(f, item.id);
      if (key == "banner") return read_banner(f, item.banner);
      if (key == "video") return read_video(f, item.video);
      if (key == "audio") return read_audio(f, item.audio);
      if (key == "native") return read_native(f, item.native);
      if (key == "pmp") return read_pmp(f, item);
      if (key == "tagid") return read_string(f, item.tagid);
      if (key == "bidfloor") return read_price(f, item.bidfloor);
      if (key == "bidfloorcur") return read_string(f, item.bidfloorcur);
      if (key == "instl") return read_flag(f, item.instl);
      return skip(f, limits_.max_depth);
    });
  }

  status read_banner(od::value& v, banner_spec& banner) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    std::int32_t w = 0, h = 0;
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "w") return read_int(f, w);
      if (key == "h") return read_int(f, h);
      if (key == "battr") return read_int_list(f, banner.battr, limits_.max_imp_list);
      if (key == "format") {
        return for_each_element(f, limits_.max_formats, [&](od::value& e, std::size_t) {
          if (banner.formats.size() >= limits_.max_formats)
            return status(too_many(limits_.max_formats));
          std::int32_t fw = 0, fh = 0;
          auto fr = for_each_field(e, [&](std::string_view k, od::value& x) -> status {
            if (k == "w") return read_int(x, fw);
            if (k == "h") return read_int(x, fh);
            return skip(x, limits_.max_depth);
          });
          if (fr && fw > 0 && fh > 0) banner.formats.push_back({fw, fh});
          return fr;
        });
      }
      return skip(f, limits_.max_depth);
    });
    if (!r) return r;
    banner.present = true;
    // banner.w/h is the primary size; put it first so it wins ties.
    if (w > 0 && h > 0) {
      banner.formats.push_back({w, h});
      std::size_t last = banner.formats.size() - 1;
      for (std::size_t i = last; i > 0; --i) std::swap(banner.formats[i], banner.formats[i - 1]);
    }
    return {};
  }

  status read_video(od::value& v, video_spec& video) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "w") return read_int(f, video.w);
      if (key == "h") return read_int(f, video.h);
      if (key == "minduration") return read_int(f, video.minduration);
      if (key == "maxduration") return read_int(f, video.maxduration);
      if (key == "mimes") return read_string_list(f, video.mimes, limits_.max_imp_list);
      if (key == "battr") return read_int_list(f, video.battr, limits_.max_imp_list);
      if (key == "protocols") return read_int_list(f, video.protocols, limits_.max_imp_list);
      if (key == "rqddurs") return read_int_list(f, video.rqddurs, limits_.max_imp_list);
      return skip(f, limits_.max_depth);
    });
    if (r) video.present = true;
    return r;
  }

  status read_audio(od::value& v, audio_spec& audio) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "minduration") return read_int(f, audio.minduration);
      if (key == "maxduration") return read_int(f, audio.maxduration);
      if (key == "mimes") return read_string_list(f, audio.mimes, limits_.max_imp_list);
      if (key == "battr") return read_int_list(f, audio.battr, limits_.max_imp_list);
      if (key == "protocols") return read_int_list(f, audio.protocols, limits_.max_imp_list);
      if (key == "rqddurs") return read_int_list(f, audio.rqddurs, limits_.max_imp_list);
      return skip(f, limits_.max_depth);
    });
    if (r) audio.present = true;
    return r;
  }

  status read_native(od::value& v, native_spec& native) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    // native.request is a string of Native JSON per the spec; several libraries send an object.
    // The engine only needs to know a native slot exists, so its content is not read.
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "battr") return read_int_list(f, native.battr, limits_.max_imp_list);
      return skip(f, limits_.max_depth);
    });
    if (r) native.present = true;
    return r;
  }

  status read_pmp(od::value& v, imp& item) {
    return for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "private_auction") return read_flag(f, item.private_auction);
      if (key == "deals") {
        return for_each_element(f, limits_.max_deals, [&](od::value& e, std::size_t) {
          if (item.deals.size() == limits_.max_deals) return status(too_many(limits_.max_deals));
          deal& d = item.deals.emplace();
          auto dr = for_each_field(e, [&](std::string_view k, od::value& x) -> status {
            if (k == "id") return read_string(x, d.id);
            if (k == "bidfloor") return read_price(x, d.bidfloor);
            if (k == "bidfloorcur") return read_string(x, d.bidfloorcur);
            if (k == "wseat") return read_string_list(x, d.wseat, limits_.max_deal_seats);
            return skip(x, limits_.max_depth);
          });
          if (dr && d.id.empty()) return status(make_error(errc::missing_field, ".id: missing"));
          return dr;
        });
      }
      return skip(f, limits_.max_depth);
    });
  }

  status read_site_or_app(od::value& v, inventory_kind kind) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    // A request should carry only one of site/app/dooh; if several come, the first one wins.
    const bool take = out_.inventory == inventory_kind::unknown;
    if (take) out_.inventory = kind;
    std::string_view domain, page, bundle, storeurl, publisher;
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "domain") return read_string(f, domain);
      if (key == "page") return read_string(f, page);
      if (key == "bundle") return read_string(f, bundle);
      if (key == "storeurl") return read_string(f, storeurl);
      if (key == "cat" || key == "sectioncat" || key == "pagecat") {
        if (!take) return read_string_list(f, scratch_, limits_.max_categories);
        return read_string_list(f, out_.content_cat, limits_.max_categories);
      }
      if (key == "publisher") {
        return for_each_field(f, [&](std::string_view k, od::value& x) -> status {
          if (k == "id") return read_string(x, publisher);
          return skip(x, limits_.max_depth);
        });
      }
      if (key == "content" && take) {
        return for_each_field(f, [&](std::string_view k, od::value& x) -> status {
          if (k == "data") return read_data(x, data_origin::content);
          return skip(x, limits_.max_depth);
        });
      }
      return skip(f, limits_.max_depth);
    });
    if (r && take) {
      out_.domain = domain;
      out_.page = page;
      out_.bundle = bundle;
      out_.storeurl = storeurl;
      out_.publisher_id = publisher;
    }
    scratch_.clear();
    return r;
  }

  status read_geo(od::value& v, geo_fields& geo) {
    return for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "country") return read_string(f, geo.country);
      if (key == "region") return read_string(f, geo.region);
      if (key == "zip") return read_string(f, geo.zip);
      if (key == "utcoffset") {
        std::int32_t minutes = INT32_MIN;  // stays so for null: absent
        if (auto r = read_int(f, minutes); !r) return r;
        if (plausible_utcoffset(minutes)) geo.utcoffset = minutes;
        return {};
      }
      return skip(f, limits_.max_depth);
    });
  }

  status read_device(od::value& v) {
    std::string_view ipv6;
    auto r = for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "devicetype") return read_int(f, out_.devicetype);
      if (key == "os") return read_string(f, out_.os);
      if (key == "ifa") return read_string(f, out_.ifa);
      if (key == "lmt") return read_flag(f, out_.lmt);
      if (key == "dnt") return read_flag(f, out_.dnt);
      if (key == "ip") return read_string(f, out_.ip);
      if (key == "ipv6") return read_string(f, ipv6);
      if (key == "ua") return read_string(f, out_.ua);
      if (key == "geo") {
        geo_fields geo;
        auto gr = read_geo(f, geo);
        if (gr && (!geo.country.empty() || !geo.region.empty() || !geo.zip.empty())) {
          device_geo_seen_ = true;
          out_.country = geo.country;
          out_.region = geo.region;
          out_.zip = geo.zip;
        }
        if (gr && geo.utcoffset) out_.utcoffset_minutes = geo.utcoffset;
        return gr;
      }
      return skip(f, limits_.max_depth);
    });
    if (out_.ip.empty()) out_.ip = ipv6;
    return r;
  }

  status read_eids(od::value& v) {
    return for_each_element(v, limits_.max_user_ids, [&](od::value& e, std::size_t) {
      std::string_view source;
      std::size_t first = out_.eids.size();
      auto er = for_each_field(e, [&](std::string_view key, od::value& f) -> status {
        if (key == "source") return read_string(f, source);
        if (key == "uids") {
          return for_each_element(f, limits_.max_user_ids, [&](od::value& u, std::size_t) {
            std::string_view id;
            auto ur = for_each_field(u, [&](std::string_view k, od::value& x) -> status {
              if (k == "id") return read_string(x, id);
              return skip(x, limits_.max_depth);
            });
            if (ur && !id.empty()) {
              if (out_.eids.size() == limits_.max_user_ids) {
                return status(make_error(errc::invalid_field, ": too many user ids"));
              }
              out_.eids.push_back({user_id_kind::eid, {}, id});
            }
            return ur;
          });
        }
        return skip(f, limits_.max_depth);
      });
      // `source` may come after `uids` in the object, so it is applied afterwards.
      for (std::size_t i = first; i < out_.eids.size(); ++i) out_.eids[i].source = source;
      return er;
    });
  }

  // A Data array (user.data or content.data). Segments past max_data_segments are skipped, not
  // refused. A provider's id, name and ext may come after its segments, so they are copied into
  // the segments once the object is read.
  status read_data(od::value& v, data_origin origin) {
    constexpr std::size_t any_count = std::numeric_limits<std::size_t>::max();
    return for_each_element(v, any_count, [&](od::value& e, std::size_t) {
      std::string_view provider_id, provider_name;
      std::int32_t segtax = 0;
      bool segtax_invalid = false;
      const std::size_t first = out_.data_segments.size();
      auto dr = for_each_field(e, [&](std::string_view key, od::value& f) -> status {
        if (key == "id") return read_string(f, provider_id);
        if (key == "name") return read_string(f, provider_name);
        if (key == "ext") {
          return for_each_field(f, [&](std::string_view k, od::value& x) -> status {
            // ext is not the spec's to police: real exchanges send "4", "someValue" or
            // arrays here. Such an object's taxonomy is unknown, so its segments are dropped
            // (they could be read as another taxonomy's ids) but the request stands.
            if (k == "segtax") {
              od::json_type type;
              if (auto code = x.type().get(type)) return syntax(code);
              if ((type == od::json_type::number || type == od::json_type::null) &&
                  read_int(x, segtax) && segtax >= 0) {
                return {};
              }
              segtax_invalid = true;
              return skip(x, limits_.max_depth);
            }
            return skip(x, limits_.max_depth);
          });
        }
        if (key == "segment") {
          return for_each_element(f, any_count, [&](od::value& s, std::size_t) -> status {
            if (out_.data_segments.size() == limits_.max_data_segments) {
              return skip(s, limits_.max_depth);
            }
            std::string_view id, name;
            auto sr = for_each_field(s, [&](std::string_view k, od::value& x) -> status {
              if (k == "id") return read_string(x, id);
              if (k == "name") return read_string(x, name);
              return skip(x, limits_.max_depth);
            });
            if (sr && !(id.empty() && name.empty())) {
              out_.data_segments.push_back({.provider_id = {},
                                            .provider_name = {},
                                            .segtax = 0,
                                            .origin = origin,
                                            .id = id.empty() ? name : id});
            }
            return sr;
          });
        }
        return skip(f, limits_.max_depth);
      });
      if (segtax_invalid) out_.data_segments.truncate(first);
      for (std::size_t i = first; i < out_.data_segments.size(); ++i) {
        data_segment& segment = out_.data_segments[i];
        segment.provider_id = provider_id;
        segment.provider_name = provider_name;
        segment.segtax = segtax;
      }
      return dr;
    });
  }

  status read_user(od::value& v) {
    return for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "id") return read_string(f, out_.user_id);
      if (key == "buyeruid") return read_string(f, out_.buyeruid);
      if (key == "consent") return read_string(f, out_.consent);
      if (key == "eids") return read_eids(f);
      if (key == "data") return read_data(f, data_origin::user);
      if (key == "geo") return read_geo(f, user_geo_);
      if (key == "ext") {
        return for_each_field(f, [&](std::string_view k, od::value& x) -> status {
          if (k == "consent") return read_string(x, ext_consent_);
          if (k == "eids") return read_eids(x);
          return skip(x, limits_.max_depth);
        });
      }
      return skip(f, limits_.max_depth);
    });
  }

  status read_regs(od::value& v) {
    return for_each_field(v, [&](std::string_view key, od::value& f) -> status {
      if (key == "coppa") return read_flag(f, out_.coppa);
      if (key == "gdpr") return read_optional_flag(f, out_.gdpr);
      if (key == "us_privacy") return read_string(f, out_.us_privacy);
      if (key == "gpp") return read_string(f, out_.gpp);
      if (key == "gpp_sid") return read_int_list(f, out_.gpp_sid, limits_.max_imp_list);
      if (key == "ext") {
        return for_each_field(f, [&](std::string_view k, od::value& x) -> status {
          if (k == "gdpr") return read_optional_flag(x, ext_gdpr_);
          if (k == "us_privacy") return read_string(x, ext_us_privacy_);
          return skip(x, limits_.max_depth);
        });
      }
      return skip(f, limits_.max_depth);
    });
  }

  static status read_optional_flag(od::value& v, std::optional<bool>& out) {
    auto null = is_null(v);
    if (!null) return null.error();
    if (*null) return {};
    bool flag = false;
    if (auto r = read_flag(v, flag); !r) return r;
    out = flag;
    return {};
  }

  const decode_limits& limits_;
  bid_request& out_;
  geo_fields user_geo_;
  bool device_geo_seen_ = false;
  std::string_view ext_consent_;
  std::optional<bool> ext_gdpr_;
  std::string_view ext_us_privacy_;
  reuse_vector<std::string_view> scratch_;
};

}  // namespace

struct json_decoder::impl {
  decode_limits limits;
  od::parser parser;
  std::string padded;      // simdjson reads up to SIMDJSON_PADDING bytes past the end
  std::string normalized;  // normalize_request's rewritten values
};

json_decoder::json_decoder(decode_limits limits) : impl_(std::make_unique<impl>()) {
  impl_->limits = limits;
}
json_decoder::~json_decoder() = default;

result<void> json_decoder::decode(std::string_view json, bid_request& out) {
  out.reset();
  impl& self = *impl_;
  if (json.size() + simdjson::SIMDJSON_PADDING > self.padded.capacity()) {
    self.padded.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  }
  self.padded.assign(json);
  // The parser gets headroom over the limit that skip() enforces, so our check always fires
  // first (on-demand does not check depth itself in release builds).
  const std::size_t parser_depth = self.limits.max_depth + 8;
  if (self.parser.capacity() < json.size() || self.parser.max_depth() != parser_depth) {
    if (auto code = self.parser.allocate(std::max<std::size_t>(json.size(), 4096), parser_depth)) {
      return make_error(code == simdjson::MEMALLOC ? errc::out_of_memory : errc::too_large,
                        std::string("request: ") + simdjson::error_message(code));
    }
  }
  od::document doc;
  if (auto code = self.parser
                      .iterate(simdjson::padded_string_view(self.padded.data(), json.size(),
                                                            self.padded.capacity()))
                      .get(doc)) {
    return make_error(errc::malformed_request, finish(syntax(code)));
  }
  od::value root;
  if (auto code = doc.get_value().get(root)) {
    return make_error(errc::malformed_request, finish(syntax(code)));
  }
  request_reader reader(self.limits, out);
  if (auto r = reader.read_root(root); !r) {
    return make_error(r.error().code, finish(std::move(r.error())));
  }
  // Anything after the request object ("{...} garbage") is an error, not ignorable.
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return make_error(errc::malformed_request, "request: unexpected bytes after the JSON object");
  }
  normalize_request(out, self.normalized);
  return {};
}

}  // namespace bidder::openrtb
