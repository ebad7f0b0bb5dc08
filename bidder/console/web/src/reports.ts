// Reports: spend, wins, clicks, conversions, CPA and ROAS per day and campaign (and per
// experiment arm), from GET /admin/report, with charts and the same report as CSV.
import { get } from "./api";
import { barChart } from "./chart";
import { clear, field, formatNumber, h } from "./dom";

interface ReportRow {
  day: string | null;
  campaign_id?: string;
  arm?: string;
  currency: string;
  spend: number | null;
  wins: number;
  clicks: number;
  conversions: number;
  cpa: number | null;
  roas: number | null;
}

export async function reports(main: HTMLElement, params = new URLSearchParams()): Promise<void> {
  const groupBy = params.get("group_by") ?? "campaign,day";
  const q = new URLSearchParams({ group_by: groupBy });
  for (const k of ["from", "to"]) if (params.get(k)) q.set(k, params.get(k)!);
  const report = await get<{ days: ReportRow[]; totals: ReportRow[] }>(`/admin/report?${q}&format=json`);
  const from = h("input", { type: "date", name: "from", value: params.get("from") ?? "" });
  const to = h("input", { type: "date", name: "to", value: params.get("to") ?? "" });
  const group = h("select", { name: "group_by" },
    [["campaign,day", "Campaign and day"], ["campaign,arm,day", "Campaign, experiment arm and day"]].map(([v, l]) =>
      h("option", { value: v, selected: v === groupBy }, l)));
  const form = h("form", { class: "filters", "aria-label": "Report filters" },
    h("div", { class: "grid" }, field("From", from), field("To", to), field("Group by", group)),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Show"),
      h("a", { class: "button", href: `/admin/report?${q}&format=csv`, download: "report.csv" }, "Download CSV")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams({ group_by: group.value });
    if (from.value) p.set("from", from.value);
    if (to.value) p.set("to", to.value);
    location.hash = `#/reports?${p}`;
  });

  const days = [...new Set(report.days.map((r) => r.day ?? ""))].sort();
  const keyOf = (r: ReportRow) => [r.campaign_id, r.arm].filter((x) => x !== undefined && x !== "").join(" / ") || "all";
  const keys = [...new Set(report.days.map(keyOf))].slice(0, 6);
  const series = (metric: (r: ReportRow) => number) =>
    keys.map((k) => ({
      name: k,
      values: days.map((d) => report.days.filter((r) => r.day === d && keyOf(r) === k).reduce((a, r) => a + metric(r), 0)),
    }));
  const rows = (list: ReportRow[], total: boolean) =>
    list.map((r) => h("tr", null,
      h("td", null, total ? "Total" : r.day ?? ""),
      h("td", null, r.campaign_id ?? ""),
      groupBy.includes("arm") ? h("td", null, r.arm ?? "") : null,
      h("td", { class: "num" }, `${formatNumber(r.spend)} ${r.currency}`),
      h("td", { class: "num" }, formatNumber(r.wins, 0)),
      h("td", { class: "num" }, formatNumber(r.clicks, 0)),
      h("td", { class: "num" }, formatNumber(r.conversions, 0)),
      h("td", { class: "num" }, formatNumber(r.cpa)),
      h("td", { class: "num" }, formatNumber(r.roas))));
  const headers = ["Day", "Campaign", ...(groupBy.includes("arm") ? ["Arm"] : []), "Spend", "Wins", "Clicks", "Conversions", "CPA", "ROAS"];
  clear(main,
    h("h1", null, "Reports"),
    form,
    days.length
      ? h("div", { class: "charts" },
          barChart("Spend per day", days, series((r) => r.spend ?? 0)),
          barChart("Conversions per day", days, series((r) => r.conversions)))
      : h("p", { class: "muted" }, "No events in this period yet."),
    h("table", { class: "data" },
      h("caption", { class: "sr-only" }, "Report"),
      h("thead", null, h("tr", null, headers.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", null, rows(report.days, false), rows(report.totals, true))));
}
