// End-to-end test of `outflow serve` in a real headless Chromium (Debian's
// chromium driven by playwright-core). run.sh builds outflow, fills a store
// from the demo capture and policy-decided resolver queries, starts the
// server and runs this file with:
//
//   OUTFLOW_URL   the dashboard's base URL (http://127.0.0.1:PORT)
//   OUTFLOW_USER, OUTFLOW_PASSWORD   a configured user
//   OUT           where screenshots go
//   CHROMIUM      the browser (default /usr/bin/chromium)
//
// The story: sign in, see the TikTok laptop on the overview, follow it to
// its evidence and its flows, see the overdue clients on the enforcement
// page; on the way, check that the page's script runs under the CSP and
// that nothing was blocked by it; finally, that wrong passwords are
// rate-limited.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const base = process.env.OUTFLOW_URL;
const user = process.env.OUTFLOW_USER;
const password = process.env.OUTFLOW_PASSWORD;
const out = process.env.OUT || "out";
if (!base || !user || !password) {
  throw new Error("OUTFLOW_URL, OUTFLOW_USER and OUTFLOW_PASSWORD must be set (run e2e/run.sh)");
}
mkdirSync(out, { recursive: true });

let context, page;
const problems = []; // console errors and CSP reports, checked at the end

before(async () => {
  // A fresh profile each run: launchPersistentContext passes it as
  // --user-data-dir (playwright refuses that flag among args).
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "outflow-chromium-")), {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
    timeout: 60_000,
    viewport: { width: 1400, height: 900 },
    deviceScaleFactor: 1,
  });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
});

after(async () => {
  await context?.close();
});

const shot = (name) => page.screenshot({ path: join(out, `${name}.png`), fullPage: true });

test("a visitor without a session is sent to the login", async () => {
  const resp = await page.goto(base + "/enforcement");
  assert.equal(resp.status(), 200);
  assert.match(page.url(), /\/login\?next=%2Fenforcement$/);
  const h = resp.headers();
  assert.match(h["content-security-policy"], /script-src 'self'/);
  assert.equal(h["x-frame-options"], "DENY");
  assert.equal(h["x-content-type-options"], "nosniff");
  await shot("login");
});

test("log in and see the TikTok laptop on the overview", async () => {
  await page.goto(base + "/login");
  await page.fill("input[name=user]", user);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForURL(base + "/"), page.click("button[type=submit]")]);
  const cookies = await context.cookies();
  const sess = cookies.find((c) => c.name === "outflow-session");
  assert.ok(sess, "session cookie set");
  assert.equal(sess.httpOnly, true);
  assert.equal(sess.sameSite, "Strict");

  await page.getByRole("heading", { name: "Overview" }).waitFor();
  const ents = page.locator("section", { has: page.getByRole("heading", { name: "Entities of concern" }) });
  await ents.getByRole("link", { name: "TikTok Pte. Ltd." }).waitFor();
  const devs = page.locator("section", { has: page.getByRole("heading", { name: "Devices most exposed" }) });
  const laptop = devs.locator("tr", { hasText: "ana-laptop" });
  await laptop.waitFor();
  assert.match(await laptop.innerText(), /192\.168\.50\.10/);
  assert.match(await laptop.innerText(), /TikTok Pte\. Ltd\./);
  // The map colours China: TikTok's data owner, whatever its CDN's country.
  const china = page.locator("svg.worldmap [data-cc=CN]");
  assert.notEqual(await china.getAttribute("fill"), "#e8e8e4", "China is shaded");
  assert.match(await china.locator("title").textContent(), /^China: .* sent$/);
  assert.equal(await page.locator("svg.worldmap [data-cc=SG]").count(), 0, "Singapore (TikTok Pte.'s own seat) is not shaded");
  await shot("overview");

  await page.getByRole("link", { name: "Hosting networks" }).click();
  await page.getByRole("heading", { name: "Where the servers are hosted" }).waitFor();
  assert.notEqual(await page.locator("svg.worldmap [data-cc=US]").getAttribute("fill"), "#e8e8e4", "US hosting shaded");
  await shot("overview-hosts");
});

// What a new user meets first: the default period shows the data, the
// trend has bars whenever the cards have bytes, every entity has a name,
// and figures read in the same units as the HTML report of the same store.
test("the first screen shows the data and agrees with the report", async () => {
  const decimal = /\d (kB|MB|GB)\b/;
  for (const path of ["/", "/?period=all", "/?period=week"]) {
    await page.goto(base + path);
    const card = page.locator(".card", { hasText: "Sent to entities of concern" }).locator(".v");
    const sent = (await card.innerText()).trim();
    const trend = page.locator("svg.chart.trend");
    await trend.waitFor();
    const bars = await trend.locator("rect title").count();
    const empty = (await trend.innerHTML()).includes("no traffic in this period");
    if (path === "/") {
      assert.notEqual(sent, "0 B", "the first screen shows the data");
    }
    if (sent !== "0 B") {
      assert.ok(bars > 0, `${path}: the cards say ${sent} but the trend has no bar`);
      assert.ok(!empty, `${path}: the trend says no traffic beside ${sent}`);
    }
    const main = await page.locator("main").innerText();
    assert.doesNotMatch(main, decimal, `${path}: decimal units`);
    for (const t of await page.locator("main a").allTextContents()) {
      assert.notEqual(t.trim(), "", `${path}: a link without a name`);
    }
    for (const t of await page.locator("main table tbody tr td:first-child").allInnerTexts()) {
      assert.notEqual(t.trim(), "", `${path}: a row without a name`);
      assert.doesNotMatch(t, /^,|·\s*$/, `${path}: a dangling name: ${t}`);
    }
  }
  // The report covers all the data, as the dashboard's "all" period does.
  const report = readFileSync(process.env.OUTFLOW_REPORT, "utf8");
  const m = report.match(/<div class="v">([^<]+)<\/div><div class="l">sent to entities of concern/);
  assert.ok(m, "the report has its card");
  assert.doesNotMatch(report, decimal, "report: decimal units");
  await page.goto(base + "/?period=all");
  const sentAll = (await page.locator(".card", { hasText: "Sent to entities of concern" }).locator(".v").innerText()).trim();
  assert.equal(sentAll, m[1], "dashboard and report agree");
  assert.match(await page.locator("main").innerText(), /SG — controlled from CN/, "TikTok's jurisdictions");
  assert.match(await page.locator("main").innerText(), /\(unverified\)/, "unverified list entries are marked");
});

test("follow the laptop to its evidence and flows", async () => {
  await page.goto(base + "/");
  const devs = page.locator("section", { has: page.getByRole("heading", { name: "Devices most exposed" }) });
  await Promise.all([page.waitForURL(/\/devices\/192\.168\.50\.10/), devs.getByRole("link", { name: /ana-laptop/ }).click()]);
  await page.getByRole("heading", { name: /ana-laptop/ }).waitFor();
  const exp = page.locator("article.exposure", { hasText: "TikTok Pte. Ltd." });
  await exp.waitFor();
  assert.match(await exp.innerText(), /Owned by ByteDance/);
  const ev = exp.locator("table.evidence tbody tr");
  assert.ok((await ev.count()) >= 1, "evidence rows");
  const evText = await exp.locator("table.evidence").innerText();
  assert.match(evText, /tls-sni/);
  assert.match(evText, /www\.tiktok\.com/);
  await shot("device");

  await Promise.all([page.waitForURL(/\/flows\?/), exp.getByRole("link", { name: "Flows →" }).click()]);
  const rows = page.locator("table.flows tbody tr");
  assert.ok((await rows.count()) >= 1, "flow rows");
  for (const t of await rows.allInnerTexts()) {
    assert.match(t, /TikTok Pte\. Ltd\./);
  }
  assert.match(await page.locator("table.flows").innerText(), /23\.50\.60\.70:443/);
  await shot("flows");
});

test("see the overdue clients", async () => {
  await page.getByRole("link", { name: "Enforcement" }).click();
  await page.getByRole("heading", { name: "Clients still asking after the deadline" }).waitFor();
  const row = page.locator("#overdue tr", { hasText: "ana-laptop" });
  await row.waitFor();
  const t = await row.innerText();
  assert.match(t, /tiktok-ban/);
  assert.match(t, /2026-03-01/);
  assert.match(t, /overdue/);
  assert.match(await page.locator("#due").innerText(), /dji-field/);
  assert.match(await page.locator("#blocked").innerText(), /tiktok-ban/);
  await shot("enforcement");
});

test("the page's script runs under the CSP (sortable tables)", async () => {
  await page.goto(base + "/devices");
  const th = page.locator("table.sortable th", { hasText: "Sent in all" });
  await th.click();
  assert.equal(await th.getAttribute("aria-sort"), "descending");
  await th.click();
  assert.equal(await th.getAttribute("aria-sort"), "ascending");
});

test("search finds the device, the entity and the rule", async () => {
  await page.goto(base + "/");
  await page.fill("header input[name=q]", "tiktok");
  await Promise.all([page.waitForURL(/\/search\?q=tiktok/), page.press("header input[name=q]", "Enter")]);
  const body = await page.locator("main").innerText();
  assert.match(body, /TikTok Pte\. Ltd\./);
  await shot("search");
});

test("other pages render", async () => {
  for (const [path, text] of [["/apps", /App audits/], ["/compliance", /overdue/], ["/names?entity=tiktok", /tiktok/], ["/queries?verdict=block", /tiktok-ban/]]) {
    const resp = await page.goto(base + path);
    assert.equal(resp.status(), 200, path);
    assert.match(await page.locator("main").innerText(), text, path);
  }
  await page.goto(base + "/apps");
  const first = page.locator("main table tbody tr a").first();
  if (await first.count()) {
    await first.click();
    await page.getByRole("heading", { name: "Findings" }).waitFor();
    await shot("audit");
  }
  await page.goto(base + "/compliance");
  await shot("compliance");
});

test("no console error and nothing refused by the CSP", () => {
  assert.deepEqual(problems, []);
});

test("sign out, then wrong passwords are rate-limited", async () => {
  await page.goto(base + "/");
  await Promise.all([page.waitForURL(/\/login$/), page.getByRole("button", { name: "Sign out" }).click()]);
  const resp = await page.goto(base + "/devices");
  assert.match(page.url(), /\/login/, "signed out");
  assert.equal(resp.status(), 200);
  let last = "";
  for (let i = 0; i < 8; i++) {
    await page.fill("input[name=user]", user);
    await page.fill("input[name=password]", "not the password " + i);
    await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
    last = await page.locator(".error").innerText();
    if (/Too many/.test(last)) break;
  }
  assert.match(last, /Too many wrong passwords/);
  // Even the right password is refused now.
  await page.fill("input[name=user]", user);
  await page.fill("input[name=password]", password);
  await Promise.all([page.waitForLoadState("load"), page.click("button[type=submit]")]);
  assert.match(page.url(), /\/login/);
  assert.match(await page.locator(".error").innerText(), /Too many wrong passwords/);
  await shot("rate-limited");
});
