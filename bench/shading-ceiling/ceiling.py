#!/usr/bin/env python3
"""What shading can reach with the learned values (docs/bid-shading.md, "With learned values").

  bench/shading-ceiling/ceiling.py OUT_DIR     # OUT_DIR: a bench/learn-sim run

Replays the unshaded run's first-price bids (test-learned-1: every bid is the model's value,
after max_cpm) against the held-out market's true values and competing bids (from
first_price_dump), pricing each bid by a rule that uses the exchange's TRUE win curve:
  - the value shaded to the best expected surplus, and to the highest bid within a surplus
    tolerance (what LEARNED does, with a perfectly learned curve);
  - the ceiling: the value first replaced by the true mean worth of the bids like it (same
    campaign, same twentieth of that campaign's values), then shaded; no rule that sees only
    the campaign and the value does better, and it needs the truth.
Figures are fp-exchange's, like learn-sim's summary; the oracle's surplus is from baselines.json.
"""
import functools, glob, json, math, os, subprocess, sys

out = sys.argv[1]
root = os.path.dirname(os.path.abspath(__file__)) + "/../.."
dump_bin = os.environ.get("DUMP", root + "/build/bench/first_price_dump")
scenario = json.load(open(out + "/test-learned-1.json"))
fp = next(x for x in scenario["exchanges"] if x["auction"] == "first_price")
camps = [c["id"] for c in scenario["campaigns"]]
cap = {i: c["max_cpm"] for i, c in enumerate(scenario["campaigns"])}

market = {}
for line in subprocess.run([dump_bin, out + "/test-learned-1.json"], check=True,
                           capture_output=True, text=True).stdout.splitlines():
    p = line.split()
    q = [float(x) for x in p[3:]]
    market[int(p[0])] = (float(p[1]), float(p[2]), q[0::2], q[1::2])
bids = []  # (index, campaign, value, floor, highest competing, true value, true P(conversion))
for name in sorted(glob.glob(out + "/test-learned-1/data/events/*.jsonl")):
    for line in open(name):
        if '"kind":"BID"' not in line or fp["id"] not in line:
            continue
        e = json.loads(line)
        if e["exchange"] != fp["id"]:
            continue
        i, c = int(e["auction_id"].rsplit("-", 1)[1]), camps.index(e["campaign_id"])
        floor, h, worth, conv = market[i]
        bids.append((i, c, e["bid_price_micros"] / 1e6, floor, h, worth[c], conv[c]))

def win_probability(b):  # the exchange's true curve: the best of n log-normal bids below b
    z = (math.log(b) - fp["competitor_mu"]) / fp["competitor_sigma"]
    return (0.5 * math.erfc(-z / math.sqrt(2))) ** fp["competitors"]

@functools.lru_cache(maxsize=None)
def shade(value, floor, limit, tolerance):  # value and floor in cents: cached
    value, floor = value / 100, floor / 100
    candidates = [max(value * k / 200, floor) for k in range(1, 201)]
    scored = [(b, (value - b) * win_probability(b)) for b in candidates if b <= min(value, limit)]
    best = max((s for _, s in scored), default=0)
    if best <= 0:
        return None
    return max(b for b, s in scored if s >= (1 - tolerance) * best)

def replay(price):
    wins = spend = worth = conv = 0
    for bid in bids:
        b = price(bid)
        if b is None or b < bid[3] or b <= bid[4]:
            continue
        wins, spend, worth, conv = wins + 1, spend + b / 1000, worth + bid[5] / 1000, conv + bid[6]
    return wins, spend, conv, worth - spend

runs = json.load(open(out + "/baselines.json"))["runs"]
oracle = next(r for r in runs if r["bidder"] == "oracle")["exchanges"][fp["id"]]["expected_surplus"]
off = replay(lambda b: b[2])
print(f"{len(bids)} first-price bids replayed; fp-exchange, true win curve:\n")
print("| rule | wins | spend | cost/imp. vs OFF | exp. conv. vs OFF | exp. surplus | vs oracle |")
print("|---|---|---|---|---|---|---|")
def row(name, r):
    w, s, c, x = r
    print(f"| {name} | {w} | {s:.2f} | {s / w / (off[1] / off[0]):.0%} | {c / off[2]:.0%} | "
          f"{x:.2f} | {x / oracle:.0%} |")
row("OFF (the run, replayed)", off)
for t in (0, 0.05, 0.1, 0.15):
    row(f"value shaded, tolerance {t}",
        replay(lambda b, t=t: shade(round(b[2] * 100), round(b[3] * 100), cap[b[1]], t)))
mean_worth = {}
for c in cap:
    mine = sorted((b for b in bids if b[1] == c), key=lambda b: b[2])
    for k in range(20):
        part = mine[k * len(mine) // 20:(k + 1) * len(mine) // 20]
        for b in part:
            mean_worth[b[0]] = sum(x[5] for x in part) / len(part)
row("ceiling: true mean worth per campaign and value, shaded",
    replay(lambda b: shade(round(mean_worth[b[0]] * 100), round(b[3] * 100), cap[b[1]], 0)))
