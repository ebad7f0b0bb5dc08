// The console's entry: the login (the admin token exchanged for a session cookie) and a hash
// router over the four sections. Served from the admin port at /console/ (docs/console.md).
import { ApiError, call, setCsrf, whenUnauthorised } from "./api";
import { audiences } from "./audiences";
import { campaignEditor, campaignList, history } from "./campaigns";
import { clear, field, h } from "./dom";
import { health, stopHealth } from "./health";
import { reports } from "./reports";

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
const logout = document.getElementById("logout")!;

async function route(): Promise<void> {
  stopHealth();
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const a of nav.querySelectorAll("a")) {
    const current = a.getAttribute("href") === `#/${parts[0] ?? "campaigns"}`;
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    switch (parts[0] ?? "campaigns") {
      case "campaigns":
        if (parts[1] === "new") await campaignEditor(main, null);
        else if (parts[1]) await campaignEditor(main, parts[1]);
        else await campaignList(main);
        break;
      case "history":
        await history(main);
        break;
      case "audiences":
        await audiences(main);
        break;
      case "reports":
        await reports(main, new URLSearchParams(query ?? ""));
        break;
      case "health":
        await health(main);
        break;
      default:
        clear(main, h("h1", null, "Not found"), h("p", null, h("a", { href: "#/campaigns" }, "Campaigns")));
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    clear(main, h("h1", null, "Something failed"), h("p", { class: "form-error", role: "alert" }, (e as Error).message));
  }
  document.title = `${main.querySelector("h1")?.textContent ?? ""} · bidder console`;
}

function showLogin(message = ""): void {
  nav.hidden = true;
  logout.hidden = true;
  const token = h("input", { type: "password", name: "token", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert", hidden: !message }, message);
  const form = h("form", { class: "login", "aria-label": "Sign in" },
    h("h1", null, "Sign in"),
    h("p", null, "Enter the admin token (--admin-token-file or BIDDER_ADMIN_TOKEN). It is exchanged for a session cookie and not stored."),
    field("Admin token", token),
    error,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const a = await call<{ csrf: string }>("POST", "/admin/session", { token: token.value });
      token.value = "";
      signedIn(a.body.csrf);
    } catch (err) {
      error.hidden = false;
      error.textContent = (err as ApiError).status === 401 ? "That token is not right." : (err as Error).message;
      token.focus();
    }
  });
  clear(main, form);
  document.title = "Sign in · bidder console";
  token.focus();
}

function signedIn(csrf: string): void {
  setCsrf(csrf);
  nav.hidden = false;
  logout.hidden = false;
  if (!location.hash) location.hash = "#/campaigns";
  route();
}

async function start(): Promise<void> {
  whenUnauthorised(() => showLogin("Your session ended: sign in again."));
  window.addEventListener("hashchange", () => {
    if (!nav.hidden) route();
  });
  logout.addEventListener("click", async () => {
    await call("DELETE", "/admin/session").catch(() => {});
    setCsrf("");
    showLogin();
  });
  try {
    const a = await call<{ csrf?: string }>("GET", "/admin/session");
    return signedIn(a.body.csrf ?? "");
  } catch {
    // No session: a bidder without an admin token (loopback) needs none.
  }
  const open = await fetch("/admin/metrics", { credentials: "same-origin" }).then((r) => r.ok, () => false);
  if (open) signedIn("");
  else showLogin();
}

start();
