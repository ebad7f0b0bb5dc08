#include "bidder/fleet/agent.hpp"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <csignal>

#include "bidder/core/deadline.hpp"

namespace bidder::fleet {
namespace {

using clock = std::chrono::steady_clock;

// Settles one charge, once per bid id fleet-wide. KEYS: the settled marker of the bid, the
// campaign's lifetime and daily spend, the issuing bidder's lease, the late amount and count,
// the issuer's inbox. ARGV: the cost, the marker's TTL in seconds, the inbox entry (empty when
// the issuer settles it itself), the inbox's TTL in ms. Returns 0 (already settled), 1 (covered
// by the issuer's lease), 2 (a late win: the lease no longer covered all of it).
constexpr std::string_view settle_script = R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', '100000', '*', 'e', ARGV[3])
  redis.call('PEXPIRE', KEYS[7], ARGV[4])
end
local c = tonumber(ARGV[1])
redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('INCRBY', KEYS[3], ARGV[1])
redis.call('EXPIRE', KEYS[3], 259200)
local v = redis.call('GET', KEYS[4])
local covered = 0
if v then
  covered = math.min(tonumber(v), c)
  redis.call('SET', KEYS[4], string.format('%d', tonumber(v) - covered), 'KEEPTTL')
end
if covered < c then
  redis.call('INCRBY', KEYS[5], string.format('%d', c - covered))
  redis.call('INCR', KEYS[6])
  return 2
end
return 1
)lua";

// Renews this bidder's lease of one campaign. KEYS: lifetime spend, daily spend, the set of
// bidders holding leases, this bidder's lease. ARGV: instance, TTL ms, slice, smallest useful
// free room (the largest bid), what this bidder's reservations hold, lifetime and daily limits
// (0: none), the prefix of the leases' keys, what the bidder gives back. The lease only shrinks
// by what the bidder gives back (it stopped using that before asking) and by settled charges:
// until the answer arrives the bidder may still commit all of its previous lease. It grows to
// cover the reservations plus up to `slice` of free room, taken from what the budget has left
// after the spend and the other live leases, and only when that reaches one useful bid (a
// remainder too small for a bid stays free for a bidder that can add it to its own).
// Returns the lease.
constexpr std::string_view lease_script = R"lua(
local held = tonumber(redis.call('GET', KEYS[4]) or '0')
held = math.max(held - tonumber(ARGV[9]), 0)
local others = 0
for _, m in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if m ~= ARGV[1] then
    local v = redis.call('GET', ARGV[8] .. m)
    if v then others = others + tonumber(v) else redis.call('SREM', KEYS[3], m) end
  end
end
local free = nil
local life = tonumber(ARGV[6])
if life > 0 then free = life - tonumber(redis.call('GET', KEYS[1]) or '0') end
local day = tonumber(ARGV[7])
if day > 0 then
  local f = day - tonumber(redis.call('GET', KEYS[2]) or '0')
  if free == nil or f < free then free = f end
end
free = free - others - held
local unreserved = held - tonumber(ARGV[5])
local slice = tonumber(ARGV[3])
if unreserved < slice and free > 0 then
  local give = math.min(slice - unreserved, free)
  if unreserved + give >= tonumber(ARGV[4]) then held = held + give end
end
if held > 0 then
  redis.call('SET', KEYS[4], string.format('%d', held), 'PX', ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[1])
else
  redis.call('DEL', KEYS[4])
end
return held
)lua";

constexpr std::int64_t week_ms = 7LL * 86400 * 1000;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string units_text(spend::amount a) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, spend::units_of(a));
  return ec == std::errc() ? std::string(buf, end) : "0";
}

// The issuer's instance id: the bid id up to its first '-'.
std::string_view issuer_of(std::string_view bid_id) {
  const auto dash = bid_id.find('-');
  return dash == std::string_view::npos ? bid_id : bid_id.substr(0, dash);
}

}  // namespace

agent::agent(spend::ledger& ledger, agent_options options)
    : ledger_(ledger),
      options_(std::move(options)),
      redis_(options_.redis, options_.timeout),
      bid_prefix_(options_.instance + "-") {
  stream_from_ = std::to_string(wall_ms() - week_ms) + "-0";  // the caps' longest window
}

agent::~agent() { stop(); }

void agent::start() {
  thread_ = std::thread([this] { run(); });
}

void agent::stop() {
  {
    std::lock_guard lock(run_mutex_);
    if (stopping_ || !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void agent::run() {
  // hiredis writes with write(2): a Redis gone away must not SIGPIPE the process. A blocked
  // SIGPIPE raised by this thread's write stays pending on this thread, and write returns EPIPE.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);
  auto next_sync = clock::now();
  std::unique_lock lock(run_mutex_);
  while (!stopping_) {
    const bool full = clock::now() >= next_sync;
    if (full) next_sync = clock::now() + options_.sync_interval;
    lock.unlock();
    round(full);
    lock.lock();
    // Charges are settled as soon as they arrive (a bidder killed loses only those accepted
    // since the last pipeline left); leases and impressions every sync interval.
    wake_.wait_until(lock, next_sync, [this] {
      return stopping_ || (!failing_ && charges_waiting_.load(std::memory_order_acquire));
    });
  }
  lock.unlock();
  round(true);  // settle what the last notices left
}

void agent::sync_once_for_test() { round(true); }

bool agent::issued_here(std::string_view bid_id) const noexcept {
  return bid_id.starts_with(bid_prefix_);
}

void agent::on_charge(spend::account& payer, std::string_view bid_id, unix_seconds issued,
                      spend::amount cost, spend::amount bid_cost, unix_seconds now) {
  const bool here = issued_here(bid_id);
  {
    std::lock_guard lock(pending_mutex_);
    if (charges_.size() >= options_.max_pending) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    charges_.push_back({&payer, std::string(bid_id), cost, bid_cost, issued, now, here});
  }
  if (!charges_waiting_.exchange(true, std::memory_order_acq_rel)) {
    std::lock_guard lock(run_mutex_);  // the fleet thread cannot miss the wake-up
    wake_.notify_one();
  }
  // Its reservation was released by the notice; the spend stays out of the lease's room until
  // the round that settles it returns the lease it came out of.
  if (here) payer.add_fleet_room(-cost);
}

void agent::on_impressions(std::string_view bid_id, unix_seconds issued,
                           std::span<const std::uint64_t> keys, unix_seconds now) {
  std::string text;
  for (std::uint64_t k : keys) {
    if (!text.empty()) text += ',';
    text += std::to_string(k);
  }
  std::lock_guard lock(pending_mutex_);
  if (impressions_.size() >= options_.max_pending) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  impressions_.push_back({std::string(bid_id), issued, std::move(text), now});
}

std::string agent::campaign_key(const spend::account& a) const {
  return options_.key_prefix + "c:" + a.id() + ":";
}

void agent::round(bool full) {
  const auto started = clock::now();
  const unix_seconds now = wall_now();
  std::vector<charge> charges;
  std::vector<impression> impressions;
  {
    std::lock_guard lock(pending_mutex_);
    charges.swap(charges_);
    impressions.swap(impressions_);
    charges_waiting_.store(false, std::memory_order_release);
  }
  std::vector<std::pair<spend::account*, spend::budget>> limited;
  if (full) {
    for (auto& [a, b] : ledger_.budgets()) {
      if (b.limited()) limited.emplace_back(a, b);
    }
  }
  std::vector<std::vector<std::string>> commands;
  commands.reserve(charges.size() + impressions.size() + limited.size() + 1);
  for (const charge& c : charges) {
    const std::string ck = campaign_key(*c.payer);
    // The issuer learns that its bid was charged elsewhere, to release its reservation now
    // rather than at its TTL: "payer issued bid_cost bid_id".
    const std::string inbox_entry = c.here ? std::string()
                                           : c.payer->id() + " " + std::to_string(c.issued) + " " +
                                                 std::to_string(c.bid_cost) + " " + c.bid_id;
    commands.push_back(
        {"EVAL", std::string(settle_script), "7", options_.key_prefix + "settled:" + c.bid_id,
         ck + "spent:life", ck + "spent:d" + std::to_string(spend::day_of(c.at)),
         ck + "lease:" + std::string(issuer_of(c.bid_id)), ck + "late:amount", ck + "late:count",
         options_.key_prefix + "inbox:" + std::string(issuer_of(c.bid_id)), std::to_string(c.cost),
         std::to_string(options_.settle_ttl), inbox_entry,
         std::to_string(std::max<std::int64_t>(options_.lease_ttl.count() * 10, 60'000))});
  }
  const std::string stream = options_.key_prefix + "freq";
  for (const impression& i : impressions) {
    commands.push_back({"XADD", stream, "MAXLEN", "~", "1000000", "*", "i", options_.instance, "b",
                        i.bid_id, "s", std::to_string(i.issued), "k", i.keys, "t",
                        std::to_string(i.at)});
  }
  std::string from;
  {
    std::lock_guard lock(state_mutex_);
    from = stream_from_;
  }
  if (full) {
    commands.push_back({"XREAD", "COUNT", "10000", "STREAMS", stream, from});
    // Read, not popped: a reply lost with the connection is read again (releases are once).
    commands.push_back({"XREAD", "COUNT", "10000", "STREAMS",
                        options_.key_prefix + "inbox:" + options_.instance, inbox_from_});
  }
  std::vector<spend::amount> largest(limited.size(), 0);
  {
    std::lock_guard lock(state_mutex_);
    for (const charge& c : charges) {
      lease_state& s = leases_[c.payer];
      s.largest_bid = std::max(s.largest_bid, c.bid_cost);
    }
    for (std::size_t i = 0; i < limited.size(); ++i)
      largest[i] = leases_[limited[i].first].largest_bid;
  }
  const std::int64_t day = spend::day_of(now);
  // Give-backs happen here first: the room goes before Redis is asked to take it back, so no
  // bid commits what another bidder may be granted. What is given back: free room beyond the
  // slice, or a remainder too small for one bid.
  std::vector<spend::amount> give_back(limited.size(), 0);
  {
    std::lock_guard lock(state_mutex_);
    for (std::size_t i = 0; i < limited.size(); ++i) {
      spend::account* a = limited[i].first;
      lease_state& s = leases_[a];
      const spend::amount unreserved = a->fleet_room() - std::max<spend::amount>(a->reserved(), 0);
      if (s.applied <= 0 || unreserved <= 0) continue;
      spend::amount r = 0;
      if (unreserved > options_.slice) r = unreserved - options_.slice;
      if (unreserved < largest[i]) r = unreserved;
      r = std::min(r, s.applied);
      if (r <= 0) continue;
      a->add_fleet_room(-r);
      s.applied -= r;
      give_back[i] = r;
    }
  }
  for (std::size_t i = 0; i < limited.size(); ++i) {
    const auto& [a, b] = limited[i];
    const std::string ck = campaign_key(*a);
    commands.push_back(
        {"EVAL", std::string(lease_script), "4", ck + "spent:life",
         ck + "spent:d" + std::to_string(day), ck + "bidders", ck + "lease:" + options_.instance,
         options_.instance, std::to_string(options_.lease_ttl.count()),
         std::to_string(options_.slice), std::to_string(largest[i]),
         std::to_string(std::max<spend::amount>(a->reserved(), 0)), std::to_string(b.lifetime),
         std::to_string(b.daily), ck + "lease:", std::to_string(give_back[i])});
  }

  auto replies = redis_.pipeline(commands);
  const bool ok =
      replies &&
      std::none_of(replies->end() - static_cast<std::ptrdiff_t>(limited.size()), replies->end(),
                   [](const redis_value& v) { return v.kind != redis_value::type::integer; });
  failing_ = !ok;  // while Redis fails, retry once per sync interval, not per notice
  if (!ok) {
    // Nothing was applied, or only part: settling again is harmless (SET NX), so every charge
    // goes back to the queue; impressions may repeat (caps count early, the safe side).
    sync_errors_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(pending_mutex_);
      charges.insert(charges.end(), std::make_move_iterator(charges_.begin()),
                     std::make_move_iterator(charges_.end()));
      charges_.swap(charges);
      if (impressions_.size() + impressions.size() <= options_.max_pending) {
        impressions_.insert(impressions_.begin(), impressions.begin(), impressions.end());
      } else {
        dropped_.fetch_add(impressions.size(), std::memory_order_relaxed);
      }
    }
    std::lock_guard lock(state_mutex_);
    last_error_ = replies ? std::string("a lease script failed: ") +
                                (replies->back().is_error() ? replies->back().text : "bad reply")
                          : replies.error().message;
    drop_stale_leases(clock::now());
    return;
  }
  if (full) syncs_.fetch_add(1, std::memory_order_relaxed);
  // What each account's own settled charges took out of its room: the next lease read has them
  // (until then the room stays without them).
  std::unordered_map<spend::account*, spend::amount>& settled_here = settled_unapplied_;
  for (std::size_t i = 0; i < charges.size(); ++i) {
    const redis_value& r = (*replies)[i];
    if (r.kind == redis_value::type::integer) {
      if (r.integer == 0)
        replays_.fetch_add(1, std::memory_order_relaxed);
      else
        settles_.fetch_add(1, std::memory_order_relaxed);
      if (r.integer == 2) late_wins_.fetch_add(1, std::memory_order_relaxed);
    }
    if (charges[i].here) settled_here[charges[i].payer] += charges[i].cost;
  }
  impressions_sent_.fetch_add(impressions.size(), std::memory_order_relaxed);
  if (!full) return;
  // The others' impressions.
  const redis_value& read = (*replies)[charges.size() + impressions.size()];
  std::string last_id = from;
  if (read.kind == redis_value::type::array) {
    for (const redis_value& s : read.elements) {
      if (s.elements.size() < 2) continue;
      for (const redis_value& entry : s.elements[1].elements) {
        if (entry.elements.size() < 2) continue;
        last_id = entry.elements[0].text;
        const auto& fields = entry.elements[1].elements;
        std::string_view who, bid_id, keys;
        unix_seconds at = 0, issued = 0;
        for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
          const std::string& v = fields[f + 1].text;
          if (fields[f].text == "i") who = v;
          if (fields[f].text == "b") bid_id = v;
          if (fields[f].text == "k") keys = v;
          if (fields[f].text == "t") std::from_chars(v.data(), v.data() + v.size(), at);
          if (fields[f].text == "s") std::from_chars(v.data(), v.data() + v.size(), issued);
        }
        if (who == options_.instance || bid_id.empty()) continue;
        // Counted once per bidder: not when a win notice of the same bid came here too.
        const auto update =
            ledger_.bids().update(spend::bid_key(bid_id), issued, now, [](std::uint64_t state) {
              namespace flags = spend::bid_flags;
              if ((spend::flags_of(state) & (flags::win | flags::impressions_shared)) != 0) {
                return std::optional<std::uint64_t>();
              }
              return std::optional<std::uint64_t>(state | flags::impressions_shared);
            });
        if (update.before == update.after) continue;
        if (update.remembered) {
          ledger_.changes().add(spend::journal::bid_record{spend::bid_key(bid_id), update.after});
        }
        while (!keys.empty()) {
          const auto comma = keys.find(',');
          const std::string_view one = keys.substr(0, comma);
          std::uint64_t key = 0;
          std::from_chars(one.data(), one.data() + one.size(), key);
          if (key != 0) ledger_.changes().add(ledger_.frequency().increment(key, at));
          keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
        }
        impressions_received_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  // This bidder's bids charged elsewhere: their reservations are released here now (once: the
  // bid's flags say whether a notice here released it already).
  const redis_value& inbox = (*replies)[charges.size() + impressions.size() + 1];
  for (const redis_value& stream_reply : inbox.elements) {
    if (stream_reply.elements.size() < 2) continue;
    for (const redis_value& entry : stream_reply.elements[1].elements) {
      if (entry.elements.size() < 2 || entry.elements[1].elements.size() < 2) continue;
      inbox_from_ = entry.elements[0].text;
      release_settled_elsewhere(entry.elements[1].elements[1].text, now);
    }
  }
  std::lock_guard lock(state_mutex_);
  stream_from_ = last_id;
  last_error_.clear();
  redis_ok_until_ = started + options_.lease_ttl;
  const std::size_t first_lease = replies->size() - limited.size();
  for (std::size_t i = 0; i < limited.size(); ++i) {
    spend::account* a = limited[i].first;
    lease_state& s = leases_[a];
    const spend::amount lease = (*replies)[first_lease + i].integer;
    // Redis set the TTL after `started`: the local expiry comes first.
    a->add_fleet_room(lease - s.applied + settled_here[a]);
    settled_here.erase(a);
    s.applied = lease;
    s.fresh_until = started + options_.lease_ttl;
  }
  // Settled charges of campaigns no longer limited: give their room back all the same.
  for (auto& [a, amount] : settled_here) a->add_fleet_room(amount);
  settled_here.clear();
  drop_stale_leases(clock::now());
}

void agent::release_settled_elsewhere(std::string_view entry, unix_seconds now) {
  // "payer issued bid_cost bid_id"
  std::string_view parts[4];
  for (auto& p : parts) {
    const auto space = entry.find(' ');
    p = entry.substr(0, space);
    entry = space == std::string_view::npos ? std::string_view() : entry.substr(space + 1);
  }
  unix_seconds issued = 0;
  spend::amount bid_cost = 0;
  std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), issued);
  std::from_chars(parts[2].data(), parts[2].data() + parts[2].size(), bid_cost);
  spend::account* payer = ledger_.find(parts[0]);
  if (payer == nullptr || bid_cost <= 0 || !issued_here(parts[3])) return;
  const std::string_view bid_id = parts[3];
  namespace flags = spend::bid_flags;
  const auto update =
      ledger_.bids().update(spend::bid_key(bid_id), issued, now, [](std::uint64_t state) {
        if ((spend::flags_of(state) & (flags::released | flags::won_reserved)) != 0) {
          return std::optional<std::uint64_t>();
        }
        return std::optional<std::uint64_t>(state | flags::released);
      });
  if (update.before == update.after) return;
  if (update.remembered) {
    ledger_.changes().add(spend::journal::bid_record{spend::bid_key(bid_id), update.after});
  }
  payer->release(bid_cost, issued);
  released_elsewhere_.fetch_add(1, std::memory_order_relaxed);
}

void agent::drop_stale_leases(clock::time_point now) {
  for (auto& [a, s] : leases_) {
    if (s.applied != 0 && now >= s.fresh_until) {
      a->add_fleet_room(-s.applied);  // expired in Redis soon: commit nothing more
      s.applied = 0;
    }
  }
}

std::string agent::not_ready_reason() const {
  std::lock_guard lock(state_mutex_);
  const auto now = clock::now();
  const std::string why = last_error_.empty() ? std::string() : " (" + last_error_ + ")";
  if (now >= redis_ok_until_) return "fleet: no answer from Redis within the lease TTL" + why;
  for (const auto& [a, b] : ledger_.budgets()) {
    if (!b.limited()) continue;
    const auto it = leases_.find(a);
    if (it == leases_.end() || now >= it->second.fresh_until) {
      return "fleet: no fresh budget lease for campaign " + a->id() + why;
    }
  }
  return {};
}

void agent::write_metrics(std::string& out) const {
  auto counter = [&](const char* name, const char* help, const std::atomic<std::uint64_t>& v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v.load(std::memory_order_relaxed)) + "\n";
  };
  counter("bidder_fleet_syncs_total", "Rounds that synced with Redis.", syncs_);
  counter("bidder_fleet_sync_errors_total", "Rounds that failed to reach Redis.", sync_errors_);
  counter("bidder_fleet_settles_total", "Charges settled fleet-wide by this bidder.", settles_);
  counter("bidder_fleet_settle_replays_total",
          "Charges already settled by another notice of the same bid.", replays_);
  counter("bidder_fleet_late_wins_total",
          "Charges their issuer's lease no longer covered (spend beyond the leases).", late_wins_);
  counter("bidder_fleet_released_elsewhere_total",
          "Reservations released here because another bidder settled their bid.",
          released_elsewhere_);
  counter("bidder_fleet_dropped_total", "Charges or impressions dropped: the queue was full.",
          dropped_);
  counter("bidder_fleet_impressions_sent_total", "Frequency-cap impressions shared.",
          impressions_sent_);
  counter("bidder_fleet_impressions_received_total", "Other bidders' impressions applied here.",
          impressions_received_);
  std::lock_guard lock(state_mutex_);
  const auto now = clock::now();
  out +=
      "# HELP bidder_fleet_redis_up Whether Redis answered within the lease TTL.\n"
      "# TYPE bidder_fleet_redis_up gauge\nbidder_fleet_redis_up " +
      std::string(now < redis_ok_until_ ? "1" : "0") + "\n";
  out +=
      "# HELP bidder_fleet_lease_held Budget lease this bidder holds (currency units).\n"
      "# TYPE bidder_fleet_lease_held gauge\n";
  for (const auto& [a, s] : leases_) {
    out += "bidder_fleet_lease_held{campaign=\"" + a->id() + "\"} " + units_text(s.applied) + "\n";
  }
  out +=
      "# HELP bidder_fleet_lease_fresh Whether the campaign's lease was renewed within its TTL.\n"
      "# TYPE bidder_fleet_lease_fresh gauge\n";
  for (const auto& [a, s] : leases_) {
    out += "bidder_fleet_lease_fresh{campaign=\"" + a->id() + "\"} " +
           std::string(now < s.fresh_until ? "1" : "0") + "\n";
  }
}

}  // namespace bidder::fleet
