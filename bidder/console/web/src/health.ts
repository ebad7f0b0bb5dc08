// Health, from the bidder's own metrics (GET /admin/metrics: /metrics under the session
// cookie's Path=/admin): bid rate, no-bid reasons, latency percentiles and shedding, refreshed
// every 5 seconds while the page is shown. Rates are over the last refresh; the first view shows
// totals since the start.
import { get } from "./api";
import { barChart } from "./chart";
import { clear, formatNumber, h } from "./dom";
import { byLabel, parseMetrics, quantile, type Sample, sum } from "./metrics";

let previous: { at: number; samples: Sample[] } | null = null;
let timer: number | undefined;

export function stopHealth(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
}

export async function health(main: HTMLElement): Promise<void> {
  stopHealth();
  const text = await get<string>("/admin/metrics");
  const samples = parseMetrics(typeof text === "string" ? text : "");
  const now = Date.now();
  const requests = sum(samples, "bidder_requests_total");
  const bids = sum(samples, "bidder_bids_total");
  const shed = byLabel(samples, "bidder_shed_total", "signal");
  const noBids = [...byLabel(samples, "bidder_no_bids_total", "reason").entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]);
  let rate = "";
  if (previous) {
    const dt = (now - previous.at) / 1000;
    const dr = requests - sum(previous.samples, "bidder_requests_total");
    rate = dt > 0 ? `${formatNumber(dr / dt, 1)} requests/s now` : "";
  }
  previous = { at: now, samples };
  const ms = (q: number) => {
    const v = quantile(samples, "bidder_request_duration_seconds", q);
    return v === undefined ? "–" : `${formatNumber(v * 1000, 2)} ms`;
  };
  const tile = (label: string, value: string, testid: string) =>
    h("div", { class: "tile", "data-metric": testid }, h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value));
  clear(main,
    h("h1", null, "Health"),
    h("div", { class: "tiles" },
      tile("Requests", formatNumber(requests, 0), "requests"),
      tile("Bid rate", requests ? `${formatNumber((bids / requests) * 100, 1)}%` : "–", "bid-rate"),
      tile("Latency p50", ms(0.5), "p50"),
      tile("Latency p99", ms(0.99), "p99"),
      tile("Latency p99.9", ms(0.999), "p999"),
      tile("Shed", formatNumber([...shed.values()].reduce((a, b) => a + b, 0), 0), "shed")),
    rate ? h("p", { class: "muted" }, rate) : null,
    h("h2", null, "No-bid reasons"),
    noBids.length
      ? h("div", null,
          barChart("No-bids by reason", noBids.map(([k]) => k), [{ name: "no-bids", values: noBids.map(([, v]) => v) }]),
          h("table", { class: "data" },
            h("caption", { class: "sr-only" }, "No-bid reasons"),
            h("thead", null, h("tr", null, h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "Count"))),
            h("tbody", null, noBids.map(([k, v]) => h("tr", null, h("td", null, k), h("td", { class: "num" }, formatNumber(v, 0)))))))
      : h("p", { class: "muted" }, "No no-bids yet."),
    h("h2", null, "Shedding"),
    h("p", null, [...shed.entries()].map(([k, v]) => `${k}: ${formatNumber(v, 0)}`).join(", ") || "none"));
  timer = window.setTimeout(() => {
    if (location.hash.startsWith("#/health")) health(main).catch(() => {});
  }, 5000);
}
