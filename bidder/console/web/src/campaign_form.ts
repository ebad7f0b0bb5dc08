// The campaign editor: targeting (audience expression with recency, geo, device, site and app
// lists, deals, exchanges), creatives, budget, pacing, frequency caps, and the pricing model
// with its parameters. It edits a copy of the campaign's proto3 JSON, so fields the form does
// not show (attribution, ...) are kept as they were. Server errors (422) are shown on the field
// their path names (or the closest enclosing one).
import type {
  AudienceExpression,
  Campaign,
  Creative,
  FrequencyCap,
  SegmentCondition,
} from "./gen/bidder/config/v1/config";
import type { FixedConfig } from "./gen/models/fixed/fixed";
import type { FieldError } from "./api";
import { field, h, uid } from "./dom";
import { fieldKey } from "./proto_json";

/** The Campaign message with the pricing model's Any as proto3 JSON ({"@type", ...fields}). */
export type CampaignJson = Omit<Campaign, "pricing"> & {
  pricing?: { name?: string; config?: Record<string, unknown> };
};

const modelTypes: Record<string, string> = {
  fixed: "type.googleapis.com/bidder.models.fixed.v1.FixedConfig",
  rules: "type.googleapis.com/bidder.models.rules.v1.RulesConfig",
  learned: "type.googleapis.com/bidder.models.learned.v1.LearnedConfig",
};
const deviceTypes: [number, string][] = [
  [1, "Mobile/tablet"], [2, "PC"], [3, "Connected TV"], [4, "Phone"],
  [5, "Tablet"], [6, "Connected device"], [7, "Set-top box"], [8, "Out of home"],
];

const list = (v: string[] | undefined) => (v ?? []).join(", ");
const parseList = (s: string) => s.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);
const parseInts = (s: string) => parseList(s).map(Number);
const num = (s: string) => (s.trim() === "" ? undefined : Number(s));

function input(value: unknown, props: Record<string, unknown> = {}): HTMLInputElement {
  return h("input", { type: "text", value: value === undefined || value === null ? "" : String(value), ...props });
}
function select(value: string | undefined, options: [string, string][], props: Record<string, unknown> = {}) {
  return h("select", props, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

/** True when every field is undefined, an empty list or an empty object. */
function isEmpty(o: object | undefined): boolean {
  return Object.values(o ?? {}).every((v) =>
    v === undefined || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && v !== null && isEmpty(v)));
}

interface Editor {
  el: HTMLElement;
  read(): void;
}

export class CampaignForm {
  readonly el: HTMLFormElement;
  private readonly campaign: CampaignJson;
  private readonly readers: (() => void)[] = [];
  private readonly formError = h("div", { class: "form-error", role: "alert", hidden: true });

  constructor(
    campaign: CampaignJson,
    readonly isNew: boolean,
    onSave: (c: CampaignJson) => void,
    onCancel: () => void,
  ) {
    this.campaign = structuredClone(campaign);
    const c = this.campaign;
    // Absent groups are edited as empty ones, and dropped again if still empty on save, so an
    // unchanged campaign saves unchanged (a set but empty message would show in the diff).
    const absent = { targeting: !c.targeting, budget: !c.budget, pacing: !c.pacing, currency: !c.currency };
    c.targeting ??= {};
    c.budget ??= {};
    c.pricing ??= { name: "fixed", config: { "@type": modelTypes.fixed, cpm: 1 } };
    this.el = h(
      "form",
      { class: "campaign-form", novalidate: true, "aria-label": "Campaign" },
      this.formError,
      this.general(),
      this.targeting(),
      this.creatives(),
      this.budget(),
      this.pricing(),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary" }, "Save"),
        h("button", { type: "button", onclick: onCancel }, "Cancel")),
    );
    this.el.addEventListener("submit", (e) => {
      e.preventDefault();
      this.clearErrors();
      try {
        for (const r of this.readers) r();
        if (absent.targeting && isEmpty(c.targeting)) delete c.targeting;
        if (absent.budget && isEmpty(c.budget)) delete c.budget;
        if (absent.pacing && c.pacing === "ASAP") delete c.pacing;
        if (absent.currency && c.currency === "USD") delete c.currency;
      } catch (err) {
        return this.showErrors([{ field: (err as { field?: string }).field ?? "", message: String((err as Error).message) }]);
      }
      onSave(structuredClone(this.campaign));
    });
  }

  /** Shows each error on the input its path names (or the closest enclosing one). */
  showErrors(errors: FieldError[], fallback = ""): void {
    const fields = [...this.el.querySelectorAll<HTMLElement>("[data-field]")];
    const unplaced: string[] = [];
    for (const e of errors) {
      const key = fieldKey(e.field);
      let best: HTMLElement | undefined;
      let bestLength = -1;
      for (const f of fields) {
        const k = f.dataset.field!;
        if ((key === k || key.startsWith(k + ".")) && k.length > bestLength) {
          best = f;
          bestLength = k.length;
        }
      }
      if (!best) {
        unplaced.push(`${e.field}: ${e.message}`);
        continue;
      }
      best.classList.add("invalid");
      const msg = best.querySelector<HTMLElement>(":scope > .field-error");
      const control = best.querySelector<HTMLElement>(":scope > input, :scope > select, :scope > textarea");
      if (msg) {
        msg.hidden = false;
        msg.textContent = msg.textContent ? `${msg.textContent} ${e.message}` : e.message;
      } else {
        unplaced.push(`${e.field}: ${e.message}`);
      }
      if (control) {
        control.setAttribute("aria-invalid", "true");
        if (msg) control.setAttribute("aria-errormessage", msg.id);
      }
    }
    if (!errors.length && fallback) unplaced.push(fallback);
    if (unplaced.length) {
      this.formError.hidden = false;
      this.formError.replaceChildren(h("ul", null, unplaced.map((u) => h("li", null, u))));
    }
    (this.el.querySelector<HTMLElement>("[aria-invalid=true]") ?? this.formError).focus?.();
  }

  clearErrors(): void {
    this.formError.hidden = true;
    this.formError.replaceChildren();
    for (const f of this.el.querySelectorAll<HTMLElement>(".invalid")) f.classList.remove("invalid");
    for (const m of this.el.querySelectorAll<HTMLElement>(".field-error")) {
      m.hidden = true;
      m.textContent = "";
    }
    for (const i of this.el.querySelectorAll("[aria-invalid]")) {
      i.removeAttribute("aria-invalid");
      i.removeAttribute("aria-errormessage");
    }
  }

  private text(label: string, path: string, get: () => unknown, set: (s: string) => void, hint?: string, props: Record<string, unknown> = {}) {
    const i = input(get(), { name: path, ...props });
    this.readers.push(() => set(i.value));
    return field(label, i, path, hint);
  }

  private general(): HTMLElement {
    const c = this.campaign;
    const status = select(c.status ?? "ACTIVE", [["ACTIVE", "Active"], ["PAUSED", "Paused"]], { name: "status" });
    this.readers.push(() => (c.status = status.value as Campaign["status"]));
    return h("fieldset", null, h("legend", null, "Campaign"),
      h("div", { class: "grid" },
        this.text("Id", "id", () => c.id, (s) => (c.id = s.trim()), undefined, { readonly: !this.isNew, required: true }),
        field("Status", status, "status"),
        this.text("Advertiser domains", "advertiser_domains", () => list(c.advertiser_domains), (s) => (c.advertiser_domains = parseList(s)), "Comma-separated"),
        this.text("Categories", "categories", () => list(c.categories), (s) => (c.categories = parseList(s)), "IAB categories, e.g. IAB22"),
        this.text("Currency", "currency", () => c.currency ?? "USD", (s) => (c.currency = s.trim() || undefined)),
        this.text("Max CPM", "max_cpm", () => c.max_cpm, (s) => (c.max_cpm = num(s)), undefined, { inputmode: "decimal" }),
        this.text("Start", "start", () => c.start, (s) => (c.start = s.trim() || undefined), "RFC 3339, optional"),
        this.text("End", "end", () => c.end, (s) => (c.end = s.trim() || undefined), "RFC 3339, optional"),
        this.text("Description", "description", () => c.description, (s) => (c.description = s || undefined)),
      ));
  }

  private targeting(): HTMLElement {
    const t = this.campaign.targeting!;
    const devices = h("div", { class: "checks", role: "group", "aria-label": "Device types" },
      deviceTypes.map(([v, label]) => {
        const id = uid("dev");
        return h("span", null,
          h("input", { type: "checkbox", id, value: String(v), checked: (t.device_types ?? []).includes(v) }),
          h("label", { for: id }, label));
      }));
    this.readers.push(() => {
      const picked = [...devices.querySelectorAll<HTMLInputElement>("input:checked")].map((i) => Number(i.value));
      t.device_types = picked.length ? picked : undefined;
    });
    const strings = (label: string, key: keyof typeof t, hint?: string) =>
      this.text(label, `targeting.${key}`, () => list(t[key] as string[] | undefined),
        (s) => ((t as Record<string, unknown>)[key] = parseList(s)), hint);
    return h("fieldset", { "data-field": "targeting" }, h("legend", null, "Targeting"),
      this.audience(),
      h("div", { class: "grid" },
        strings("Countries", "countries", "ISO-3166 alpha-3, e.g. USA, DEU"),
        strings("Regions", "regions"),
        strings("Zip codes", "zips"),
        strings("Operating systems", "os"),
        strings("Sites allowed", "site_domains_allow"),
        strings("Sites blocked", "site_domains_block"),
        strings("Apps allowed", "app_bundles_allow"),
        strings("Apps blocked", "app_bundles_block"),
        strings("Deal ids", "deal_ids"),
        strings("Exchanges", "exchanges"),
      ),
      h("div", { class: "field", "data-field": "targeting.device_types" },
        h("span", { class: "label" }, "Device types"), devices,
        h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" })),
      h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" }));
  }

  /** Segment conditions with recency: one row each (all of / any of / none of). A nested group
   *  is edited as its JSON. */
  private audience(): HTMLElement {
    const t = this.campaign.targeting!;
    const rows = h("tbody");
    const kinds: [keyof AudienceExpression, string][] = [["all_of", "must be in"], ["any_of", "one of"], ["none_of", "not in"]];
    const addRow = (kind: keyof AudienceExpression, cond: SegmentCondition) => {
      const kindSel = select(kind, kinds.map(([k, l]) => [k, l]), { "aria-label": "Condition" });
      const nested = cond.expression !== undefined;
      const seg = nested
        ? h("textarea", { "aria-label": "Nested group (JSON)", rows: 2, value: JSON.stringify(cond.expression) })
        : input(cond.segment, { "aria-label": "Segment" });
      const days = input(cond.within_days ?? "", { "aria-label": "Within days", inputmode: "numeric", class: "short" });
      const tr = h("tr", { class: "condition" },
        h("td", null, kindSel), h("td", null, seg), h("td", null, nested ? "" : days),
        h("td", null, h("button", { type: "button", class: "link", onclick: () => tr.remove() }, "Remove")));
      (tr as unknown as { read: () => [keyof AudienceExpression, SegmentCondition] }).read = () => {
        if (nested) return [kindSel.value as keyof AudienceExpression, { expression: JSON.parse(seg.value) }];
        const d = num(days.value);
        return [kindSel.value as keyof AudienceExpression, { segment: seg.value.trim(), ...(d ? { within_days: d } : {}) }];
      };
      rows.append(tr);
    };
    for (const [k] of kinds) for (const cond of t.audience?.[k] ?? []) addRow(k, cond);
    this.readers.push(() => {
      const expr: AudienceExpression = {};
      for (const tr of rows.querySelectorAll("tr")) {
        const [k, cond] = (tr as unknown as { read: () => [keyof AudienceExpression, SegmentCondition] }).read();
        if (!cond.expression && !cond.segment) continue;
        (expr[k] ??= []).push(cond);
      }
      t.audience = expr.all_of || expr.any_of || expr.none_of ? expr : undefined;
    });
    return h("div", { class: "field", "data-field": "targeting.audience" },
      h("span", { class: "label" }, "Audience (empty: contextual)"),
      h("table", { class: "conditions" },
        h("thead", null, h("tr", null, h("th", null, "Condition"), h("th", null, "Segment"), h("th", null, "Within days"), h("th", null, h("span", { class: "sr-only" }, "Actions")))),
        rows),
      h("button", { type: "button", onclick: () => addRow("all_of", { segment: "" }) }, "Add segment"),
      h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" }));
  }

  private creatives(): HTMLElement {
    const c = this.campaign;
    const box = h("div", { class: "creatives" });
    const editors: Editor[] = [];
    const add = (cr: Creative) => {
      const ed = this.creative(cr, editors.length, () => {
        ed.el.remove();
        editors.splice(editors.indexOf(ed), 1);
      });
      editors.push(ed);
      box.append(ed.el);
    };
    for (const cr of c.creatives ?? []) add(cr);
    this.readers.push(() => {
      c.creatives = editors.map((e) => {
        e.read();
        return (e as unknown as { value: Creative }).value;
      });
    });
    return h("fieldset", { "data-field": "creatives" }, h("legend", null, "Creatives"), box,
      h("button", { type: "button", onclick: () => add({ id: "", banner: { sizes: [{ w: 300, h: 250 }] }, markup: "" }) }, "Add creative"),
      h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" }));
  }

  private creative(cr: Creative, index: number, remove: () => void): Editor {
    const value: Creative = structuredClone(cr);
    const p = `creatives.${index}`;
    const format = value.banner ? "banner" : value.video ? "video" : value.audio ? "audio" : "native";
    const id = input(value.id, { name: `${p}.id` });
    const fmt = select(format, [["banner", "Banner"], ["video", "Video"], ["audio", "Audio"], ["native", "Native"]]);
    const sizes = input((value.banner?.sizes ?? []).map((s) => `${s.w}x${s.h}`).join(", "));
    const media = value.video ?? value.audio;
    const mimes = input(list(media?.mimes));
    const duration = input(media?.duration_seconds ?? "", { inputmode: "numeric" });
    const markup = h("textarea", { rows: 3, value: value.markup ?? "" });
    const landing = input(value.landing_url);
    const attrs = input((value.attributes ?? []).join(", "));
    const el = h("div", { class: "creative" },
      h("div", { class: "grid" },
        field("Creative id", id, `${p}.id`),
        field("Format", fmt, `${p}.format`),
        field("Banner sizes", sizes, `${p}.banner`, "WxH, comma-separated"),
        field("Mimes (video, audio)", mimes, `${p}.${format === "audio" ? "audio" : "video"}.mimes`),
        field("Duration, seconds", duration, `${p}.${format === "audio" ? "audio" : "video"}.duration_seconds`),
        field("Landing URL", landing, `${p}.landing_url`),
        field("Attributes", attrs, `${p}.attributes`, "IAB creative attribute ids"),
      ),
      field("Markup", markup, `${p}.markup`),
      h("button", { type: "button", class: "link", onclick: remove }, "Remove creative"));
    const ed: Editor & { value: Creative } = {
      el,
      value,
      read() {
        const v: Creative = { ...value, id: id.value.trim(), markup: markup.value, landing_url: landing.value.trim() || undefined };
        delete v.banner; delete v.video; delete v.audio; delete v.native;
        const a = parseInts(attrs.value);
        v.attributes = a.length ? a : undefined;
        if (fmt.value === "banner") {
          v.banner = { sizes: parseList(sizes.value).map((s) => {
            const [w, hh] = s.toLowerCase().split("x").map(Number);
            return { w, h: hh };
          }) };
        } else if (fmt.value === "video") {
          v.video = { ...(value.video ?? {}), mimes: parseList(mimes.value), duration_seconds: num(duration.value) };
        } else if (fmt.value === "audio") {
          v.audio = { ...(value.audio ?? {}), mimes: parseList(mimes.value), duration_seconds: num(duration.value) };
        } else {
          v.native = {};
        }
        ed.value = v;
      },
    };
    return ed;
  }

  private budget(): HTMLElement {
    const c = this.campaign;
    const b = c.budget!;
    const pacing = select(c.pacing ?? "ASAP", [["ASAP", "As fast as possible"], ["EVEN", "Even over the day"]], { name: "pacing" });
    const countOn = select(b.count_on ?? "COUNT_ON_UNSPECIFIED", [["COUNT_ON_UNSPECIFIED", "The exchange's"], ["WIN", "Win notices"], ["BILL", "Billing notices"]]);
    this.readers.push(() => {
      c.pacing = pacing.value as Campaign["pacing"];
      b.count_on = countOn.value === "COUNT_ON_UNSPECIFIED" ? undefined : (countOn.value as typeof b.count_on);
    });
    const caps = h("tbody");
    const addCap = (cap: FrequencyCap) => {
      const max = input(cap.max_impressions ?? "", { "aria-label": "Impressions at most", inputmode: "numeric", class: "short" });
      const period = select(cap.period ?? "DAY", [["HOUR", "per hour"], ["DAY", "per day"], ["WEEK", "per week"]], { "aria-label": "Period" });
      const tr = h("tr", null, h("td", null, max), h("td", null, period),
        h("td", null, h("button", { type: "button", class: "link", onclick: () => tr.remove() }, "Remove")));
      (tr as unknown as { read: () => FrequencyCap }).read = () => ({ max_impressions: num(max.value), period: period.value as FrequencyCap["period"] });
      caps.append(tr);
    };
    for (const cap of c.frequency_caps ?? []) addCap(cap);
    this.readers.push(() => {
      const all = [...caps.querySelectorAll("tr")].map((tr) => (tr as unknown as { read: () => FrequencyCap }).read());
      c.frequency_caps = all.length ? all : undefined;
    });
    return h("fieldset", null, h("legend", null, "Budget, pacing and caps"),
      h("div", { class: "grid" },
        this.text("Daily budget", "budget.daily", () => b.daily, (s) => (b.daily = num(s)), "0 or empty: no daily limit", { inputmode: "decimal" }),
        this.text("Lifetime budget", "budget.lifetime", () => b.lifetime, (s) => (b.lifetime = num(s)), "0 or empty: no limit", { inputmode: "decimal" }),
        field("Spend counted on", countOn, "budget.count_on"),
        field("Pacing", pacing, "pacing")),
      h("div", { class: "field", "data-field": "frequency_caps" },
        h("span", { class: "label" }, "Frequency caps"),
        h("table", { class: "conditions" },
          h("thead", null, h("tr", null, h("th", null, "Impressions at most"), h("th", null, "Period"), h("th", null, h("span", { class: "sr-only" }, "Actions")))), caps),
        h("button", { type: "button", onclick: () => addCap({ max_impressions: 3, period: "DAY" as FrequencyCap["period"] }) }, "Add cap"),
        h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" })));
  }

  private pricing(): HTMLElement {
    const pm = this.campaign.pricing!;
    const name = select(pm.name ?? "fixed", [["fixed", "Fixed CPM"], ["rules", "Rules"], ["learned", "Learned"]], { name: "pricing.name" });
    const config = { ...(pm.config ?? {}) };
    delete config["@type"];
    const cpm = input((config as FixedConfig).cpm ?? "", { name: "pricing.config.cpm", inputmode: "decimal" });
    const { cpm: _unused, ...rest } = config as Record<string, unknown>;
    const params = h("textarea", { rows: 5, name: "pricing.config", value: JSON.stringify(pm.name === "fixed" ? rest : config, null, 2) });
    const cpmField = field("CPM", cpm, "pricing.config.cpm", "The price bid, in the campaign's currency");
    const paramsField = field("Parameters (JSON)", params, "pricing.config", "The model's config message as proto3 JSON, without @type");
    const sync = () => {
      cpmField.hidden = name.value !== "fixed";
    };
    name.addEventListener("change", sync);
    sync();
    this.readers.push(() => {
      let p: Record<string, unknown>;
      try {
        p = params.value.trim() ? JSON.parse(params.value) : {};
      } catch (e) {
        throw Object.assign(new Error(`not JSON: ${(e as Error).message}`), { field: "campaign.pricing.config" });
      }
      if (name.value === "fixed") p = { ...p, cpm: num(cpm.value) };
      pm.name = name.value;
      pm.config = { "@type": modelTypes[name.value], ...p };
    });
    return h("fieldset", { "data-field": "pricing" }, h("legend", null, "Pricing"),
      h("div", { class: "grid" }, field("Model", name, "pricing.name"), cpmField), paramsField,
      h("p", { class: "field-error", id: uid("e"), hidden: true, role: "alert" }));
  }
}
