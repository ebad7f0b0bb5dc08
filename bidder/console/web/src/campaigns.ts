// Campaigns: the list (status, spend, budget left, pacing), the editor, pause/resume, and the
// history of changes with each one's diff and a roll back.
import { ApiError, call, get, ifMatch } from "./api";
import { CampaignForm, type CampaignJson } from "./campaign_form";
import { clear, formatNumber, h } from "./dom";
import { toProtoNames } from "./proto_json";

interface Row {
  campaign: CampaignJson;
  status: string;
  spend?: unknown;
  budget_left?: unknown;
  pacing?: unknown;
}
interface Revision {
  revision: number;
  time?: string;
  who?: string;
  what?: string;
  source?: string;
}

export async function campaignList(main: HTMLElement, notice = ""): Promise<void> {
  const data = toProtoNames<{ revision: number; campaigns: Row[] }>(await get("/admin/campaigns"));
  const body = h("tbody");
  for (const r of data.campaigns) {
    const id = r.campaign.id ?? "";
    const paused = r.status === "PAUSED";
    body.append(h("tr", { "data-campaign": id },
      h("td", null, h("a", { href: `#/campaigns/${encodeURIComponent(id)}` }, id)),
      h("td", null, h("span", { class: `status ${paused ? "paused" : "active"}` }, r.status)),
      h("td", { class: "num" }, money(r.spend)),
      h("td", { class: "num" }, money(r.budget_left)),
      h("td", { class: "num" }, pacing(r.pacing)),
      h("td", null,
        h("button", {
          type: "button",
          onclick: async () => {
            await act(main, () => call("POST", `/admin/campaigns/${encodeURIComponent(id)}/${paused ? "resume" : "pause"}`));
          },
        }, paused ? `Resume ${id}` : `Pause ${id}`))));
  }
  clear(main,
    h("div", { class: "title-row" },
      h("h1", null, "Campaigns"),
      h("a", { class: "button primary", href: "#/campaigns/new" }, "New campaign"),
      h("a", { class: "button", href: "#/history" }, "History")),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("p", { class: "muted" }, `Revision ${data.revision}`),
    h("table", { class: "data" },
      h("caption", { class: "sr-only" }, "Campaigns"),
      h("thead", null, h("tr", null, ["Campaign", "Status", "Spend", "Budget left", "Pacing", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      body));
}

async function act(main: HTMLElement, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
    await campaignList(main);
  } catch (e) {
    await campaignList(main, `Failed: ${(e as Error).message}`);
  }
}

function money(v: unknown): string {
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const parts = Object.entries(o).map(([k, x]) => `${k} ${formatNumber(x)}`);
    return parts.join(", ") || "–";
  }
  return formatNumber(v);
}
function pacing(v: unknown): string {
  if (typeof v === "number") return `${formatNumber(v * 100, 0)}%`;
  return money(v);
}

const blank: CampaignJson = {
  id: "",
  status: "ACTIVE" as CampaignJson["status"],
  advertiser_domains: [],
  currency: "USD",
  creatives: [{ id: "", banner: { sizes: [{ w: 300, h: 250 }] }, markup: "" }],
  targeting: {},
  pricing: { name: "fixed", config: { "@type": "type.googleapis.com/bidder.models.fixed.v1.FixedConfig", cpm: 1 } },
};

export async function campaignEditor(main: HTMLElement, id: string | null): Promise<void> {
  let campaign = blank;
  let revision = "";
  if (id !== null) {
    const a = await call<{ revision: number; campaign: CampaignJson }>("GET", `/admin/campaigns/${encodeURIComponent(id)}`);
    campaign = toProtoNames<{ campaign: CampaignJson }>(a.body).campaign;
    revision = a.etag?.replace(/"/g, "") ?? String(a.body.revision);
  }
  const form: CampaignForm = new CampaignForm(
    campaign,
    id === null,
    async (c) => {
      try {
        if (id === null) {
          await call("POST", "/admin/campaigns", c);
        } else {
          await call("PUT", `/admin/campaigns/${encodeURIComponent(id)}`, c, ifMatch(revision));
        }
        location.hash = "#/campaigns";
      } catch (e) {
        const err = e as ApiError;
        if (err.status === 409) {
          form.showErrors([], "Someone changed this campaign meanwhile: reload the page to edit the current version.");
        } else {
          form.showErrors(err.fieldErrors ?? [], err.message);
        }
      }
    },
    () => (location.hash = "#/campaigns"),
  );
  clear(main,
    h("h1", null, id === null ? "New campaign" : `Campaign ${id}`),
    id === null ? null : h("p", { class: "muted" }, `Editing revision ${revision}`),
    form.el);
}

export async function history(main: HTMLElement, notice = ""): Promise<void> {
  const data = toProtoNames<{ revisions: Revision[] }>(await get("/admin/revisions"));
  const revisions = [...data.revisions].sort((a, b) => b.revision - a.revision);
  const current = revisions[0]?.revision ?? 0;
  const diff = h("pre", { class: "diff", tabindex: 0, "aria-label": "Diff", hidden: true });
  const body = h("tbody");
  for (const r of revisions) {
    body.append(h("tr", { "data-revision": r.revision },
      h("td", { class: "num" }, r.revision),
      h("td", null, r.time ?? ""),
      h("td", null, r.who ?? ""),
      h("td", null, r.what ?? ""),
      h("td", null, r.source ?? ""),
      h("td", null,
        h("button", {
          type: "button",
          onclick: async () => {
            const d = await call("GET", `/admin/revisions/${r.revision}/diff`);
            diff.hidden = false;
            diff.textContent = typeof d.body === "string" ? d.body : renderDiff(d.body);
          },
        }, `Diff ${r.revision}`),
        r.revision === current ? null : h("button", {
          type: "button",
          onclick: async () => {
            try {
              await call("POST", `/admin/revisions/${r.revision}/rollback`, undefined, ifMatch(current));
              await history(main, `Rolled back to revision ${r.revision}.`);
            } catch (e) {
              await history(main, `Roll back failed: ${(e as Error).message}`);
            }
          },
        }, `Roll back to ${r.revision}`))));
  }
  clear(main,
    h("h1", null, "History"),
    notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    h("table", { class: "data" },
      h("caption", { class: "sr-only" }, "Revisions"),
      h("thead", null, h("tr", null, ["Revision", "Time", "Who", "What", "Source", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
      body),
    diff);
}

/** A diff answer that is JSON: a "diff" text, or a list of changes, shown as text. */
function renderDiff(body: unknown): string {
  if (body && typeof body === "object") {
    const o = body as Record<string, unknown>;
    if (typeof o.diff === "string") return o.diff;
    if (Array.isArray(o.changes)) {
      // [{id, change: added|removed|changed, fields: [{field, before, after}] | campaign}]
      const lines = [`Revision ${o.revision} against ${o.base}:`];
      for (const c of o.changes as Record<string, unknown>[]) {
        const mark = c.change === "added" ? "+" : c.change === "removed" ? "-" : "~";
        lines.push(`${mark} campaign ${c.id} ${c.change}`);
        for (const f of (c.fields as Record<string, unknown>[] | undefined) ?? []) {
          lines.push(`    ${f.field}: ${JSON.stringify(f.before ?? null)} -> ${JSON.stringify(f.after ?? null)}`);
        }
      }
      if (lines.length === 1) lines.push("(no change to the campaigns)");
      return lines.join("\n");
    }
  }
  return JSON.stringify(body, null, 2);
}
