// Audiences: segments with member counts and last update, an upload with a progress bar and
// the per-line errors, and forgetting a user.
import { call, csrfToken, get, toError } from "./api";
import { clear, field, formatNumber, h } from "./dom";

interface Segment {
  name: string;
  members: number;
  exact: boolean;
  updated_at: number;
  ttl_days: number;
}
interface PushReport {
  segment: string;
  applied: boolean;
  refusal?: string;
  lines: number;
  members: number;
  rejected: number;
  segment_members: number;
  errors: { line: number; reason: string }[];
}

export async function audiences(main: HTMLElement): Promise<void> {
  const table = h("div", { class: "segments" }, await segmentTable());
  clear(main,
    h("h1", null, "Audiences"),
    table,
    uploadForm(async () => table.replaceChildren(await segmentTable())),
    forgetForm());
}

async function segmentTable(): Promise<HTMLElement> {
  const { segments } = await get<{ segments: Segment[] }>("/admin/audiences");
  return h("table", { class: "data" },
    h("caption", { class: "sr-only" }, "Segments"),
    h("thead", null, h("tr", null, ["Segment", "Members", "Last update", "TTL, days"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, segments.map((s) => h("tr", { "data-segment": s.name },
      h("td", null, s.name),
      h("td", { class: "num" }, `${formatNumber(s.members, 0)}${s.exact ? "" : " (approx.)"}`),
      h("td", null, s.updated_at ? new Date(s.updated_at * 1000).toISOString().replace(".000", "") : "–"),
      h("td", { class: "num" }, s.ttl_days || "–")))));
}

function uploadForm(refresh: () => Promise<unknown>): HTMLElement {
  const segment = h("input", { type: "text", name: "segment", required: true });
  const mode = h("select", { name: "mode" },
    h("option", { value: "replace" }, "Replace the members"),
    h("option", { value: "add" }, "Add members"),
    h("option", { value: "remove" }, "Remove members"));
  const maxErrors = h("input", { type: "text", name: "max_errors", inputmode: "numeric", value: "100" });
  const file = h("input", { type: "file", name: "file", required: true });
  const progress = h("progress", { max: 100, value: 0, "aria-label": "Upload progress" });
  const percent = h("span", { class: "percent", "aria-live": "polite" }, "");
  const result = h("div", { class: "push-result", role: "status" });
  const form = h("form", { class: "upload", "aria-label": "Upload an audience file" },
    h("h2", null, "Upload an audience file"),
    h("p", { class: "hint" }, "One member per line: ID or ID<TAB>LAST_SEEN (docs/audience.md)."),
    h("div", { class: "grid" },
      field("Segment", segment),
      field("Mode", mode),
      field("Bad lines allowed", maxErrors, undefined, "More refuses the whole file"),
      field("File", file)),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Upload"), progress, percent),
    result);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const f = file.files?.[0];
    if (!f || !segment.value.trim()) {
      result.textContent = "Choose a segment name and a file.";
      return;
    }
    const xhr = new XMLHttpRequest();
    const q = new URLSearchParams({ mode: mode.value });
    if (maxErrors.value.trim()) q.set("max_errors", maxErrors.value.trim());
    xhr.open("PUT", `/admin/audiences/${encodeURIComponent(segment.value.trim())}?${q}`);
    if (csrfToken()) xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    progress.value = 0;
    percent.textContent = "0%";
    result.replaceChildren();
    xhr.upload.onprogress = (p) => {
      if (!p.lengthComputable) return;
      const pct = Math.round((p.loaded / p.total) * 100);
      progress.value = pct;
      percent.textContent = `${pct}%`;
    };
    xhr.onload = async () => {
      progress.value = 100;
      percent.textContent = "100%";
      let report: PushReport | undefined;
      try {
        report = JSON.parse(xhr.responseText);
      } catch {
        report = undefined;
      }
      if (xhr.status >= 400 && !(report && "errors" in report)) {
        result.replaceChildren(h("p", { class: "form-error" }, `Refused: ${toError(xhr.status, report ?? xhr.responseText).message}`));
        return;
      }
      const r = report!;
      clear(result,
        h("p", { class: r.applied ? "notice" : "form-error" },
          r.applied
            ? `Applied: ${formatNumber(r.lines, 0)} lines, ${formatNumber(r.rejected, 0)} rejected; ${r.segment} now has ${formatNumber(r.segment_members, 0)} members.`
            : `Refused, nothing applied: ${r.refusal ?? ""}`),
        r.errors.length
          ? h("table", { class: "data errors" },
              h("caption", null, "Bad lines"),
              h("thead", null, h("tr", null, h("th", { scope: "col" }, "Line"), h("th", { scope: "col" }, "Reason"))),
              h("tbody", null, r.errors.map((x) => h("tr", null, h("td", { class: "num" }, x.line), h("td", null, x.reason)))))
          : null);
      if (r.applied) await refresh();
    };
    xhr.onerror = () => (result.textContent = "The upload failed (network).");
    xhr.send(f);
  });
  return form;
}

function forgetForm(): HTMLElement {
  const id = h("input", { type: "text", name: "user" });
  const out = h("p", { role: "status" });
  const form = h("form", { class: "forget", "aria-label": "Forget a user" },
    h("h2", null, "Forget a user"),
    field("User key", id, undefined, "e.g. user:abc or ifa:…"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Forget")),
    out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const a = await call<Record<string, unknown>>("DELETE", `/admin/users/${encodeURIComponent(id.value.trim())}`);
      out.textContent = `Forgotten: ${JSON.stringify(a.body)}`;
    } catch (err) {
      out.textContent = `Failed: ${(err as Error).message}`;
    }
  });
  return form;
}
