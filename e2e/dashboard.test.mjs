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
// that nothing was blocked by it; then an admin bans Temu for the lab
// (127.0.0.1) through the policy forms, sees the preview, saves, and the
// resolver run.sh started answers NXDOMAIN within seconds; the change is
// in the history and is reverted; another rule's deadline is moved with
// that rule's own form; a viewer gets 403 for every change;
// finally, that wrong passwords are rate-limited.
//
//   OUTFLOW_DNS   the resolver (127.0.0.1:PORT) reading the policy file
//   OUTFLOW_VIEWER, OUTFLOW_VIEWER_PASSWORD   a viewer

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promises as dns } from "node:dns";
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

// --- the ban from the dashboard (issue 19) ---

const dnsAddr = process.env.OUTFLOW_DNS;
const viewer = process.env.OUTFLOW_VIEWER;
const viewerPassword = process.env.OUTFLOW_VIEWER_PASSWORD;

// answer is the resolver's answer to an A query for name from 127.0.0.1:
// "NOERROR", or the error code (ENOTFOUND is NXDOMAIN).
async function answer(name) {
  const r = new dns.Resolver({ timeout: 1000, tries: 1 });
  r.setServers([dnsAddr]);
  try {
    await r.resolve4(name);
    return "NOERROR";
  } catch (e) {
    return e.code;
  }
}

// waitAnswer polls until the answer is (or, with not, is no longer) want,
// and returns the milliseconds it took.
async function waitAnswer(name, want, { not = false, within = 20_000 } = {}) {
  const t0 = Date.now();
  let got;
  while (Date.now() - t0 < within) {
    got = await answer(name);
    if ((got === want) !== not) return Date.now() - t0;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${name}: still ${got} after ${within} ms (want ${not ? "not " : ""}${want})`);
}

let changeURL;

test("an admin adds a group and a rule with a deadline, previews, saves; the resolver blocks within seconds", async () => {
  assert.ok(dnsAddr, "OUTFLOW_DNS names the resolver");
  assert.notEqual(await answer("temu.com"), "ENOTFOUND", "before the change temu.com is not blocked for 127.0.0.1");
  await page.goto(base + "/policy");
  await page.getByRole("heading", { name: /^Policy/ }).waitFor();
  const group = page.locator("form[aria-label='Add a group']");
  await group.locator("input[name=name]").fill("e2e-lab");
  await group.locator("input[name=addresses]").fill("127.0.0.1/32");
  await Promise.all([page.waitForURL(base + "/policy/preview"), group.getByRole("button", { name: "Add to the draft" }).click()]);
  const rule = page.locator("form[aria-label='Add a rule']");
  await rule.locator("input[name=id]").fill("temu-lab");
  await rule.locator("input[name=entities]").fill("pdd");
  await rule.locator("input[name=groups]").fill("e2e-lab");
  await rule.locator("input[name=effective]").fill("2026-01-01");
  await rule.locator("input[name=warning]").fill("30d");
  await rule.locator("input[name=basis]").fill("E2E: no Temu in the lab");
  await Promise.all([page.waitForURL(base + "/policy/preview"), rule.getByRole("button", { name: "Add to the draft" }).click()]);
  // The preview: the diff, no problem, and what the change does.
  assert.equal(await page.locator("section[aria-label=Problems]").count(), 0, "the draft has no problem");
  const diff = await page.locator("section[aria-label=Diff]").innerText();
  assert.match(diff, /\+  - name: e2e-lab/);
  assert.match(diff, /\+  - id: temu-lab/);
  assert.match(diff, /effective: "2026-01-01"/);
  const preview = page.locator("section[aria-label=Preview]");
  assert.match(await preview.innerText(), /What the change does/);
  assert.match(await preview.innerText(), /device and name pairs/);
  await shot("policy-preview");
  const editor = page.locator("form:has(#policy-text)");
  assert.match(await editor.locator("#policy-text").inputValue(), /- id: temu-lab/);
  await editor.locator("input[name=comment]").fill("E2E: ban Temu in the lab");
  await Promise.all([page.waitForURL(/\/policy\/history\/\d+$/), editor.getByRole("button", { name: "Save", exact: true }).click()]);
  changeURL = page.url();
  const ms = await waitAnswer("temu.com", "ENOTFOUND");
  console.log(`resolver answered NXDOMAIN ${ms} ms after the save`);
  assert.notEqual(await answer("www.tiktok.com"), "ENOTFOUND", "127.0.0.1 is in no group the TikTok ban names");
  await shot("policy-change");
});

test("the change is in the history and is reverted from there", async () => {
  await page.goto(base + "/policy/history");
  const row = page.locator("table.changes tr", { hasText: "E2E: ban Temu in the lab" });
  await row.waitFor();
  assert.match(await row.innerText(), /e2e/);
  await Promise.all([page.waitForURL(changeURL), row.getByRole("link").click()]);
  assert.match(await page.locator("pre.diff").innerText(), /\+  - id: temu-lab/);
  const revert = page.locator("form[aria-label=Revert]");
  await revert.locator("input[name=comment]").fill("E2E: undo the lab ban");
  // The revert is a draft, previewed, then saved like any change.
  await Promise.all([page.waitForURL(/\/policy\/history\/\d+\/revert$/), revert.getByRole("button", { name: "Revert" }).click()]);
  assert.match(await page.locator("section[aria-label=Diff]").innerText(), /-  - id: temu-lab/);
  const editor = page.locator("form:has(#policy-text)");
  assert.equal(await editor.locator("input[name=comment]").inputValue(), "E2E: undo the lab ban");
  await Promise.all([page.waitForURL((u) => /\/policy\/history\/\d+$/.test(u.pathname) && u.href !== changeURL),
    editor.getByRole("button", { name: "Save", exact: true }).click()]);
  assert.match(await page.locator("main").innerText(), /Reverts\s+change/);
  const ms = await waitAnswer("temu.com", "ENOTFOUND", { not: true });
  console.log(`resolver stopped blocking ${ms} ms after the revert`);
  await page.goto(base + "/policy/history");
  assert.equal(await page.locator("table.changes tbody tr").count(), 2);
  await shot("policy-history");
});

test("an admin moves a rule's deadline with the rule's own form", async () => {
  await page.goto(base + "/policy");
  // (each entry's form carries the whole draft, so select by the form's label, not by text)
  const entry = page.locator("details.entry:has(form[aria-label='Rule dji-field'])");
  await entry.locator("summary").click();
  const form = entry.locator("form[aria-label='Rule dji-field']");
  assert.equal(await form.locator("input[name=effective]").inputValue(), "2026-06-30T00:00:00Z");
  await form.locator("input[name=effective]").fill("2026-12-31");
  await Promise.all([page.waitForURL(base + "/policy/preview"), form.getByRole("button", { name: "Change in the draft" }).click()]);
  assert.equal(await page.locator("section[aria-label=Problems]").count(), 0, "the draft has no problem");
  const diff = await page.locator("section[aria-label=Diff]").innerText();
  assert.match(diff, /-    effective: 2026-06-30T00:00:00Z\n\+    effective: "2026-12-31"/);
  assert.equal(diff.match(/^[-+] /gm).length, 2, "only the deadline's line changed");
  const editor = page.locator("form:has(#policy-text)");
  await editor.locator("input[name=comment]").fill("E2E: the field drones get until December");
  await Promise.all([page.waitForURL(/\/policy\/history\/\d+$/), editor.getByRole("button", { name: "Save", exact: true }).click()]);
  assert.match(await page.locator("pre.diff").innerText(), /\+    effective: "2026-12-31"/);
});

test("an admin uploads an APK and reads its report", async () => {
  const apkFile = process.env.OUTFLOW_APK;
  assert.ok(apkFile, "OUTFLOW_APK names the app to upload");
  await page.goto(base + "/apps");
  const form = page.locator("form[aria-label='Upload an app']");
  await form.locator("input[name=apk]").setInputFiles(apkFile);
  await Promise.all([page.waitForURL(/\/apps\/uploads\/\d+$/), form.getByRole("button", { name: "Upload and audit" }).click()]);
  // The page reloads itself until the worker is done.
  await page.locator(".upload-state", { hasText: /^(done|failed)$/ }).waitFor({ timeout: 60_000 });
  assert.equal(await page.locator(".upload-state").innerText(), "done");
  await shot("upload");
  await Promise.all([page.waitForURL(/\/apps\/\d+$/), page.locator("a.report").click()]);
  const main = await page.locator("main").innerText();
  assert.match(main, /com\.zhiliaoapp\.musically/);
  assert.match(main, /9\.9-e2e/);
  await page.getByRole("heading", { name: "Findings" }).waitFor();
  await shot("upload-report");
});

test("a viewer reads the policy but cannot change anything (403)", async () => {
  assert.ok(viewer && viewerPassword, "OUTFLOW_VIEWER and OUTFLOW_VIEWER_PASSWORD are set");
  const vctx = await page.context().browser()?.newContext?.() ?? null;
  // A persistent context has no browser object: sign in on a second page
  // of this context after signing the admin out, then back in.
  const vpage = vctx ? await vctx.newPage() : page;
  if (!vctx) {
    await vpage.goto(base + "/");
    await Promise.all([vpage.waitForURL(/\/login$/), vpage.getByRole("button", { name: "Sign out" }).click()]);
  }
  await vpage.goto(base + "/login");
  await vpage.fill("input[name=user]", viewer);
  await vpage.fill("input[name=password]", viewerPassword);
  await Promise.all([vpage.waitForURL(base + "/"), vpage.click("button[type=submit]")]);
  await vpage.goto(base + "/policy");
  assert.match(await vpage.locator("main").innerText(), /Only an admin may change the policy/);
  assert.equal(await vpage.locator("#policy-text").count(), 0, "no editor for a viewer");
  const before = (await (await vpage.request.get(base + "/api/policy/changes")).json()).items.length;
  const csrf = await vpage.locator("header form[action='/logout'] input[name=csrf]").inputValue();
  const statuses = await vpage.evaluate(async ({ csrf }) => {
    const out = {};
    for (const path of ["/policy/preview", "/policy/save", "/policy/history/1/revert", "/policy/history/1/restore", "/apps/upload"]) {
      const body = new URLSearchParams({ csrf, policy: "allow_empty: true\n", comment: "viewer was here", base: "" });
      const r = await fetch(path, { method: "POST", body, headers: { Accept: "application/json" } });
      out[path] = r.status;
    }
    return out;
  }, { csrf });
  assert.deepEqual(statuses, { "/policy/preview": 403, "/policy/save": 403, "/policy/history/1/revert": 403,
    "/policy/history/1/restore": 403, "/apps/upload": 403 });
  const after = (await (await vpage.request.get(base + "/api/policy/changes")).json()).items.length;
  assert.equal(after, before, "the history did not grow");
  assert.notEqual(await answer("temu.com"), "ENOTFOUND", "the policy in force did not change");
  await shot("policy-viewer");
  // Back to the admin for the tests that follow.
  await vpage.goto(base + "/");
  await Promise.all([vpage.waitForURL(/\/login$/), vpage.getByRole("button", { name: "Sign out" }).click()]);
  await vpage.fill("input[name=user]", user);
  await vpage.fill("input[name=password]", password);
  await Promise.all([vpage.waitForURL(base + "/"), vpage.click("button[type=submit]")]);
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
