// The console in a real browser (docs/console.md): headless Chromium from Debian driven by
// playwright-core (no browser download), against a real `bidder serve` on loopback port 0 with
// a temp data dir. It signs in with the admin token; creates a campaign with an invalid value,
// sees the server's error on the field, fixes it, saves, and sees the bidder bid with the new
// campaign over HTTP; uploads an audience file and sees the progress reach 100 % and the
// count; rolls the change back and sees the campaign gone; checks every screen with axe-core
// (no serious or critical violation) and that no Content-Security-Policy violation or script
// error happened; writes screenshots of the main screens.
//   node tests/console/console_test.mjs BIDDER_BINARY WEB_DIR SCREENSHOT_DIR
// Prints BIDDER-TEST-SKIPPED and exits 0 when Chromium or the npm packages are missing.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [bidderBinary, webDir, shotDir] = process.argv.slice(2);
if (!bidderBinary || !webDir || !shotDir) {
  console.error("usage: console_test.mjs BIDDER_BINARY WEB_DIR SCREENSHOT_DIR");
  process.exit(2);
}
const chromiumPath = process.env.BIDDER_CHROMIUM ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.log(`BIDDER-TEST-SKIPPED: no Chromium at ${chromiumPath} (apt-get install chromium)`);
  process.exit(0);
}
const require = createRequire(resolve(webDir, "package.json"));
let chromium, axeSource;
try {
  ({ chromium } = require("playwright-core"));
  axeSource = require("axe-core").source;
} catch (e) {
  console.log(`BIDDER-TEST-SKIPPED: npm packages missing in ${webDir} (${e.message})`);
  process.exit(0);
}

const deadline = Date.now() + 90_000;  // the whole test; ctest's timeout is a bit above
const token = "console-test-token-0123456789";
const data = mkdtempSync(join(tmpdir(), "bidder-console-test-"));
const tokenFile = join(data, "token");
writeFileSync(tokenFile, token + "\n");
mkdirSync(shotDir, { recursive: true });

// JSON with sorted keys, for comparing campaigns.
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
}

let passed = 0;
function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
  passed++;
  console.log(`ok ${passed} - ${what}`);
}
async function until(what, f, ms = 15_000) {
  const end = Math.min(Date.now() + ms, deadline);
  let last;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

// ---- the bidder ------------------------------------------------------------------------
const server = spawn(bidderBinary, ["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
  "--data-dir", data, "--threads", "1", "--admin-token-file", tokenFile], { stdio: ["ignore", "pipe", "pipe"] });
let log = "";
server.stdout.on("data", (d) => (log += d));
server.stderr.on("data", (d) => (log += d));
let browser;
try {
  const ports = await until("the bidder's ports", () => {
    const bid = /bid endpoint\s+POST http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    const admin = /admin endpoint http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
    return bid && admin && /ready/.test(log) ? { bid: bid[1], admin: admin[1] } : null;
  });
  const admin = `http://127.0.0.1:${ports.admin}`;
  const bidUrl = `http://127.0.0.1:${ports.bid}/bid`;
  const bearer = { Authorization: `Bearer ${token}` };

  // The files: served without a token, with their types and the policy.
  for (const [path, type] of [["/console/", "text/html"], ["/console/app.js", "text/javascript"], ["/console/app.css", "text/css"]]) {
    const r = await fetch(admin + path);
    check(r.status === 200 && r.headers.get("content-type").startsWith(type), `${path} is served as ${type}`);
    check(/script-src 'self'/.test(r.headers.get("content-security-policy") ?? ""), `${path} carries the CSP`);
  }

  // ---- the browser -----------------------------------------------------------------------
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => {
    // A CSP violation is reported as a console error; so is an uncaught exception.
    if (m.type() === "error" && !/status of (401|404|409|422)/.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(15_000);

  async function axe(screen) {
    if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
    const result = await page.evaluate(async () => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { resultTypes: ["violations"] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 3) }));
    });
    const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
    for (const v of result) console.log(`  axe ${screen}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(", ")}`);
    check(serious.length === 0, `axe: no serious violation on the ${screen} screen`);
  }
  const shot = (name) => page.screenshot({ path: join(shotDir, `${name}.png`), fullPage: true });

  // Sign in.
  await page.goto(`${admin}/console/`);
  await page.getByLabel("Admin token").waitFor();
  await axe("sign-in");
  await shot("login");
  await page.getByLabel("Admin token").fill("wrong-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token is not right.").waitFor();
  check(true, "a wrong token is refused");
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Campaigns" }).waitFor();
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "bidder_session");
  check(session && session.httpOnly && session.sameSite === "Strict", "the session is an HttpOnly SameSite=Strict cookie");
  await page.locator("tr[data-campaign]").first().waitFor();
  const before = await (await fetch(`${admin}/admin/campaigns`, { headers: bearer })).json();
  check((await page.locator("tr[data-campaign]").count()) === before.campaigns.length, "the list shows every campaign");
  await axe("campaigns");
  await shot("campaigns");

  // Every demo campaign (audience expressions, rules pricing, video, caps...) goes through the
  // editor and back unchanged: the form keeps what it does not show and loses nothing it does.
  for (const { campaign } of before.campaigns) {
    await page.getByRole("link", { name: campaign.id, exact: true }).click();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "Campaigns" }).waitFor();
    const saved = await (await fetch(`${admin}/admin/campaigns/${campaign.id}`, { headers: bearer })).json();
    check(JSON.stringify(canonical(saved.campaign)) === JSON.stringify(canonical(campaign)),
      `${campaign.id} saved from the editor unchanged`);
  }

  // A new campaign with an invalid max CPM: the server's error shows on that field.
  await page.getByRole("link", { name: "New campaign" }).click();
  await page.getByLabel("Id", { exact: true }).fill("console-test");
  await page.getByLabel("Advertiser domains").fill("console-test.example");
  await page.getByLabel("Max CPM").fill("-4");
  await page.getByLabel("CPM", { exact: true }).fill("40");
  await page.getByLabel("Creative id").fill("console-banner");
  await page.getByLabel("Banner sizes").fill("300x250");
  await page.getByLabel("Markup").fill("<a href='https://console-test.example'>ad</a>");
  await page.getByRole("button", { name: "Save" }).click();
  const maxCpmField = page.locator('[data-field="max_cpm"]');
  await maxCpmField.locator(".field-error").waitFor({ state: "visible" });
  const message = await maxCpmField.locator(".field-error").textContent();
  check(message.length > 0 && (await page.getByLabel("Max CPM").getAttribute("aria-invalid")) === "true",
    `the server's error shows on the max CPM field ("${message.trim()}")`);
  await axe("campaign form with an error");
  await shot("campaign-error");
  // Fixed: saved, listed, and bidding.
  await page.getByLabel("Max CPM").fill("50");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator('tr[data-campaign="console-test"]').waitFor();
  check(true, "the fixed campaign is saved and listed");
  const request = JSON.stringify({ id: "console-1", imp: [{ id: "1", banner: { w: 300, h: 250 }, bidfloor: 0.5 }],
    site: { domain: "news.example.org" }, device: { devicetype: 2 }, tmax: 200 });
  const bid = await until("a bid from console-test", async () => {
    const r = await fetch(bidUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: request });
    if (r.status !== 200) return null;
    const b = await r.json();
    const found = b.seatbid?.flatMap((s) => s.bid).find((x) => x.cid === "console-test");
    return found ?? null;
  });
  check(bid.price > 0 && bid.crid === "console-banner", `the bidder bids with the new campaign (price ${bid.price})`);
  // Its win notice, so the report has a row to chart.
  // (The demo config's notice_base_url names port 8080: the notice goes to the real port.)
  if (bid.nurl) {
    const nurl = new URL(bid.nurl.replace("${AUCTION_PRICE}", String(bid.price))
      .replace("${AUCTION_ID}", "console-1").replace("${AUCTION_IMP_ID}", "1"));
    nurl.host = `127.0.0.1:${ports.bid}`;
    const won = await fetch(nurl);
    check(won.status < 300, `the win notice is taken (HTTP ${won.status} ${won.status < 300 ? "" : await won.text()})`);
  }

  // Edit it: a daily budget through the editor (PUT with If-Match), then pause through the list.
  await page.getByRole("link", { name: "console-test", exact: true }).click();
  await page.getByLabel("Daily budget").fill("100");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator('tr[data-campaign="console-test"]').waitFor();
  const edited = await (await fetch(`${admin}/admin/campaigns/console-test`, { headers: bearer })).json();
  check(edited.campaign.budget?.daily === 100 && edited.campaign.creatives[0].id === "console-banner",
    "the edit saved the budget and kept the rest");
  await page.getByRole("button", { name: "Pause console-test" }).click();
  await page.getByRole("button", { name: "Resume console-test" }).waitFor();
  check(true, "pause shows in the list");

  // History: the diff of the creation, then roll back to before it.
  await page.getByRole("link", { name: "History" }).click();
  await page.locator("tr[data-revision]").first().waitFor();
  const revisions = (await (await fetch(`${admin}/admin/revisions`, { headers: bearer })).json()).revisions;
  const created = revisions.find((r) => /create campaign console-test/.test(r.what));
  check(created !== undefined, `the history names the creation (revision ${created?.revision})`);
  await page.getByRole("button", { name: `Diff ${created.revision}`, exact: true }).click();
  await page.locator("pre.diff").getByText("+ campaign console-test added").waitFor();
  check(true, "the diff shows the added campaign");
  const update = revisions.find((r) => /update campaign console-test/.test(r.what));
  await page.getByRole("button", { name: `Diff ${update.revision}`, exact: true }).click();
  await page.locator("pre.diff").getByText(`budget: null -> {"daily":100}`).waitFor();
  check(true, "the edit's diff shows the budget's change");
  await axe("history");
  await shot("history");
  await page.getByRole("button", { name: `Roll back to ${created.revision - 1}`, exact: true }).click();
  await page.getByText(`Rolled back to revision ${created.revision - 1}.`).waitFor();
  const after = await (await fetch(`${admin}/admin/campaigns`, { headers: bearer })).json();
  check(!after.campaigns.some((c) => c.campaign.id === "console-test"), "the roll back removed the campaign");
  await until("no more bids from console-test", async () => {
    const r = await fetch(bidUrl, { method: "POST", headers: { "Content-Type": "application/json" }, body: request });
    const b = r.status === 200 ? await r.json() : {};
    return !b.seatbid?.some((s) => s.bid.some((x) => x.cid === "console-test"));
  });
  check(true, "the bidder stopped bidding with it");

  // Audiences: upload a file (two bad lines among 200,000), progress to 100 %, the count.
  await page.getByRole("link", { name: "Audiences" }).click();
  await page.getByRole("heading", { name: "Upload an audience file" }).waitFor();
  const lines = [];
  for (let i = 0; i < 200_000; i++) lines.push(`console-user-${i}`);
  lines.splice(10, 0, "bad id with spaces");
  lines.splice(500, 0, "user-x\tnot-a-time");
  await page.getByLabel("Segment", { exact: true }).fill("console-seg");
  await page.getByLabel("Mode").selectOption("replace");
  await page.getByLabel("Bad lines allowed").fill("10");
  await page.getByLabel("File", { exact: true }).setInputFiles({ name: "members.txt", mimeType: "text/plain", buffer: Buffer.from(lines.join("\n") + "\n") });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByText(/console-seg now has/).waitFor();
  check((await page.locator("progress").evaluate((p) => p.value)) === 100 && (await page.locator(".percent").textContent()) === "100%",
    "the progress bar reached 100%");
  const summary = await page.getByText(/console-seg now has/).textContent();
  check(/now has 200,000 members/.test(summary), `the count is shown (${summary.trim()})`);
  const badLines = await page.locator("table.errors tbody tr").count();
  check(badLines === 2, "the two bad lines are listed with their reasons");
  await page.locator('tr[data-segment="console-seg"]').waitFor();
  check(/200,000/.test(await page.locator('tr[data-segment="console-seg"]').textContent()), "the segment list shows the new count");
  await axe("audiences");
  await shot("audiences");

  // Reports and health: they render from the real endpoints.
  await page.getByRole("link", { name: "Reports" }).click();
  await page.getByRole("heading", { name: "Reports" }).waitFor();
  await page.locator("table.data tbody tr").first().waitFor();
  check((await page.locator("svg.chart").count()) >= 1, "the report has charts");
  check((await page.getByRole("link", { name: "Download CSV" }).getAttribute("href")).includes("format=csv"), "the report links its CSV");
  const csv = await page.evaluate(async () => (await fetch(document.querySelector("a[download]").getAttribute("href"))).text());
  check(/console-test/.test(csv), "the CSV download holds the campaign's row");
  await axe("reports");
  await shot("reports");
  await page.getByLabel("Group by").selectOption("campaign,arm,day");
  await page.getByRole("button", { name: "Show" }).click();
  await page.getByRole("columnheader", { name: "Arm" }).waitFor();
  check(page.url().includes("group_by=campaign%2Carm%2Cday"), "the report splits by experiment arm");
  // A no-bid (a floor above every campaign's max), for the no-bid reasons.
  const noBid = await fetch(bidUrl, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: "console-2", imp: [{ id: "1", banner: { w: 300, h: 250 }, bidfloor: 500 }] }) });
  check(noBid.status === 204, "a request above every campaign's price gets no bid");
  await page.getByRole("link", { name: "Health" }).click();
  await page.locator('[data-metric="bid-rate"]').waitFor();
  const requests = await page.locator('[data-metric="requests"] .tile-value').textContent();
  check(Number(requests.replace(/,/g, "")) >= 3, `health shows the bid requests (${requests})`);
  check((await page.locator("table.data tbody tr").count()) >= 1, "health lists the no-bid reasons");
  await axe("health");
  await shot("health");

  check(problems.length === 0, `no CSP violation or script error (${problems.join(" | ")})`);
  await browser.close();
  browser = undefined;
  console.log(`${passed} passed, 0 failed`);
} catch (e) {
  console.error(`FAILED: ${e.stack ?? e}`);
  const open = browser?.contexts()[0]?.pages()[0];
  if (open) {
    await open.screenshot({ path: join(shotDir, "failure.png"), fullPage: true }).catch(() => {});
    console.error(`the page at the failure: ${join(shotDir, "failure.png")}; its text:\n${await open.locator("main").innerText().catch(() => "")}`);
  }
  console.error(`bidder log:\n${log}`);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  server.kill("SIGTERM");
  const code = await new Promise((r) => (server.exitCode !== null ? r(server.exitCode) : server.once("exit", (c) => r(c))));
  // A graceful stop exits 0 (under the sanitizers, also no error or leak found).
  if (code !== 0 && process.exitCode !== 1) {
    console.error(`the bidder exited with ${code}:\n${log}`);
    console.log(`${passed} passed, 1 failed`);
    process.exitCode = 1;
  }
  rmSync(data, { recursive: true, force: true });
}
