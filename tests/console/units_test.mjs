// The console's pure functions under node's test runner: the Prometheus text parser and the
// latency quantiles the health screen shows, and the mapping of the API's error paths to the
// form's fields. The TypeScript is compiled on the fly with esbuild (from the console's npm
// packages).
//   node --test tests/console/units_test.mjs   (BIDDER_CONSOLE_WEB: the web dir, default beside)
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const web = resolve(process.env.BIDDER_CONSOLE_WEB ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../bidder/console/web"));
const { buildSync } = createRequire(resolve(web, "package.json"))("esbuild");

function load(file) {
  const out = buildSync({ entryPoints: [resolve(web, "src", file)], bundle: true, format: "esm", write: false, platform: "neutral" });
  return import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString("base64")}`);
}
const metrics = await load("metrics.ts");
const names = await load("proto_json.ts");

const scrape = `# HELP bidder_requests_total Requests received on POST /bid.
# TYPE bidder_requests_total counter
bidder_requests_total 1000
bidder_no_bids_total{reason="below_floor"} 30
bidder_no_bids_total{reason="no_campaign"} 12
bidder_shed_total{signal="queued"} 2
bidder_request_duration_seconds_bucket{le="0.0001"} 100
bidder_request_duration_seconds_bucket{le="0.001"} 900
bidder_request_duration_seconds_bucket{le="0.01"} 990
bidder_request_duration_seconds_bucket{le="+Inf"} 1000
bidder_request_duration_seconds_sum 1.5
bidder_request_duration_seconds_count 1000
weird_metric{path="a\\"b",x="1"} 7
`;

test("the Prometheus text is read with its labels", () => {
  const s = metrics.parseMetrics(scrape);
  assert.equal(metrics.sum(s, "bidder_requests_total"), 1000);
  assert.deepEqual([...metrics.byLabel(s, "bidder_no_bids_total", "reason")], [["below_floor", 30], ["no_campaign", 12]]);
  assert.equal(s.find((x) => x.name === "weird_metric").labels.path, 'a"b');
});

test("quantiles interpolate within the histogram's bucket", () => {
  const s = metrics.parseMetrics(scrape);
  // 500th of 1000: in (0.0001, 0.001], 400 of its 800 in: halfway.
  assert.ok(Math.abs(metrics.quantile(s, "bidder_request_duration_seconds", 0.5) - 0.00055) < 1e-12);
  // 990th: the top of (0.001, 0.01].
  assert.ok(Math.abs(metrics.quantile(s, "bidder_request_duration_seconds", 0.99) - 0.01) < 1e-12);
  // Beyond the last finite bound: that bound (the histogram says no more).
  assert.equal(metrics.quantile(s, "bidder_request_duration_seconds", 0.999), 0.01);
  assert.equal(metrics.quantile([], "bidder_request_duration_seconds", 0.5), undefined);
});

test("the API's error paths name the form's fields", () => {
  assert.equal(names.fieldKey("campaign.max_cpm"), "max_cpm");
  assert.equal(names.fieldKey("campaign.creatives[0].markup"), "creatives.0.markup");
  assert.equal(names.fieldKey("campaign.targeting.audience.allOf[1].withinDays"), "targeting.audience.all_of.1.within_days");
  assert.equal(names.fieldKey("campaign"), "campaign");
});

test("camelCase answers are read in the proto's spelling, @type kept", () => {
  assert.deepEqual(names.toProtoNames({ maxCpm: 1, pricing: { config: { "@type": "t", baseCpm: 2 } }, creatives: [{ landingUrl: "u" }] }),
    { max_cpm: 1, pricing: { config: { "@type": "t", base_cpm: 2 } }, creatives: [{ landing_url: "u" }] });
});
