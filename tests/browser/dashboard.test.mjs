// The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the real
// `cobro` binary on a fresh SQLite file, with small HTTP fakes of MercadoPago and GoHighLevel.
// Run after `cargo build`: `npm ci && npm test` in this folder (or `.ci/run`).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Webhook } from "standardwebhooks";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BINARY = join(process.env.CARGO_TARGET_DIR || join(ROOT, "target"), "debug", "cobro");
const ADMIN = "browser-admin-token";
const SECRET = "your_secret_key_here";
const SELLER = "2079614828";
const STRIPE_ACCOUNT = "acct_1QpXbrowserSeller";
const WHSEC = "whsec_browser_endpoint";
const SCREENSHOT = join(ROOT, "target", "dashboard.png");
const SCREENSHOT_FAILED = join(ROOT, "target", "dashboard-failed.png");
const AXE = readFileSync(join(ROOT, "tests/browser/node_modules/axe-core/axe.min.js"), "utf8");
const fixture = JSON.parse(readFileSync(join(ROOT, "tests/fixtures/mercadopago/mp_payment_approved.json"), "utf8"));

// ---------- fake MercadoPago and GoHighLevel ----------
const mpAnswers = new Map(); // payment id -> [status, body]
const mpScripts = new Map(); // payment id -> [[status, body], ...] answered in turn, the last one repeated
const ghlCalls = [];
function fakeServer() {
  return createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const path = url.pathname;
    const reply = (status, body) => { res.writeHead(status, { "content-type": "application/json" }); res.end(JSON.stringify(body)); };
    // MercadoPago's authorization page: one button that sends the seller back with a code.
    if (path === "/authorization") {
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", "browser-code");
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(`<!doctype html><h1>Authorize Cobro?</h1><a id="authorize" href="${back}">Authorize</a>`);
    }
    if (path === "/oauth/token") {
      return reply(200, { access_token: "APP_USR-browser", token_type: "Bearer", expires_in: 15552000,
        refresh_token: "TG-browser", user_id: 777, live_mode: true });
    }
    const payment = path.match(/^\/v1\/payments\/(\w+)$/);
    if (payment) {
      const script = mpScripts.get(payment[1]);
      const scripted = script && (script.length > 1 ? script.shift() : script[0]);
      const [status, body] = scripted || mpAnswers.get(payment[1]) || [404, { message: "not_found" }];
      return reply(status, body);
    }
    // Stripe: a PaymentIntent on the connected account, with the platform's key.
    const intent = path.match(/^\/v1\/payment_intents\/(\w+)$/);
    if (intent) {
      const [status, body] = req.headers["stripe-account"] === STRIPE_ACCOUNT && req.headers.authorization === "Bearer sk_test_browser"
        ? mpAnswers.get(`intent:${intent[1]}`) || [404, { error: { message: "No such payment_intent" } }]
        : [403, { error: { message: "not your account" } }];
      return reply(status, body);
    }
    const chargeback = path.match(/^\/v1\/chargebacks\/(\w+)$/);
    if (chargeback) {
      const [status, body] = mpAnswers.get(`chargeback:${chargeback[1]}`) || [404, { message: "not_found" }];
      return reply(status, body);
    }
    if (path.startsWith("/contacts")) {
      ghlCalls.push(path);
      if (path === "/contacts/search/duplicate") return reply(200, { contact: null });
      if (path === "/contacts/upsert") return reply(200, { new: true, contact: { id: "c-1" } });
      return reply(201, { tags: ["cliente"] });
    }
    reply(404, {});
  });
}
function approved(id) {
  return [200, { ...fixture, id: Number(id), status: "approved", collector_id: Number(SELLER), external_reference: null }];
}
const listen = (server) => new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server.address().port)));

// ---------- the real server ----------
let fakes, cobro, cobroEnv, baseUrl, browser, page, tenant, dataDir;

async function startCobro() {
  cobro = spawn(BINARY, ["serve"], { env: cobroEnv, stdio: ["ignore", "inherit", "inherit"] });
  await waitReady(baseUrl);
}

async function stopCobro() {
  const exited = new Promise((ok) => cobro.once("exit", ok));
  cobro.kill("SIGKILL");
  await exited;
}

async function freePort() {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((ok) => probe.close(ok));
  return port;
}

async function waitReady(url) {
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${url}/ready`)).ok) return; } catch { /* not up yet */ }
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error("cobro did not become ready");
}

async function sendWebhook(paymentId, notificationId) {
  const requestId = randomUUID();
  const ts = String(Date.now());
  const v1 = createHmac("sha256", SECRET).update(`id:${paymentId};request-id:${requestId};ts:${ts};`).digest("hex");
  const body = { action: "payment.updated", api_version: "v1", data: { id: paymentId }, id: notificationId,
    live_mode: true, type: "payment", user_id: Number(SELLER), date_created: new Date().toISOString() };
  const res = await fetch(`${baseUrl}/webhooks/mp?data.id=${paymentId}&type=payment`, {
    method: "POST", body: JSON.stringify(body),
    headers: { "content-type": "application/json", "x-request-id": requestId, "x-signature": `ts=${ts},v1=${v1}` },
  });
  const answer = await res.json();
  assert.equal(answer.status, "accepted", JSON.stringify(answer));
  return answer.event_id;
}

// A signed notification of any topic (SPEC §17): `dataId` null leaves the id out of the query and
// the manifest (a fraud alert's).
async function sendTopic(kind, dataId, body, secret = SECRET) {
  const requestId = randomUUID();
  const ts = String(Date.now());
  const manifest = `${dataId ? `id:${dataId};` : ""}request-id:${requestId};ts:${ts};`;
  const v1 = createHmac("sha256", secret).update(manifest).digest("hex");
  const query = dataId ? `data.id=${dataId}&type=${kind}` : `type=${kind}`;
  const res = await fetch(`${baseUrl}/webhooks/mp?${query}`, {
    method: "POST", body: JSON.stringify({ api_version: "v1", live_mode: true, type: kind, user_id: Number(SELLER), ...body }),
    headers: { "content-type": "application/json", "x-request-id": requestId, "x-signature": `ts=${ts},v1=${v1}` },
  });
  return [res.status, await res.json()];
}

// axe-core's WCAG A/AA rules on what the page shows now; answers the serious and critical ones.
async function accessibilityProblems(p) {
  await p.addScriptTag({ content: AXE });
  const found = await p.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  });
  return found;
}

// A new page signed in with `token`, its live connection up.
async function signedIn(token, height = 820) {
  const p = await browser.newPage({ viewport: { width: 1360, height } });
  await p.goto(baseUrl);
  await p.fill("#token", token);
  await p.click("button[type=submit]");
  await p.waitForSelector('#conn[data-state="live"]');
  return p;
}

async function showEvents(p) {
  await p.click('.tab[data-tab="events"]');
  await p.waitForSelector("#events", { state: "visible" });
}

before(async () => {
  fakes = fakeServer();
  const fakePort = await listen(fakes);
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  dataDir = mkdtempSync(join(tmpdir(), "cobro-browser-"));
  cobroEnv = { ...process.env, COBRO_BIND: `127.0.0.1:${port}`, COBRO_ADMIN_TOKEN: ADMIN,
    COBRO_DATABASE_URL: `sqlite://${join(dataDir, "cobro.db")}?mode=rwc`, COBRO_MP_WEBHOOK_SECRET: SECRET,
    COBRO_MP_API_BASE: `http://127.0.0.1:${fakePort}`, COBRO_GHL_API_BASE: `http://127.0.0.1:${fakePort}`,
    COBRO_RETRY_SCHEDULE: "0.2,0.2", RUST_LOG: "warn", COBRO_PUBLIC_URL: baseUrl,
    COBRO_MP_CLIENT_ID: "4096647727026581", COBRO_MP_CLIENT_SECRET: "browser-client-secret",
    COBRO_MP_AUTH_BASE: `http://127.0.0.1:${fakePort}`,
    COBRO_STRIPE_API_BASE: `http://127.0.0.1:${fakePort}`, COBRO_STRIPE_SECRET_KEY: "sk_test_browser",
    COBRO_STRIPE_WEBHOOK_SECRET: WHSEC,
    COBRO_OUTBOUND_ALLOW_PRIVATE: "true", COBRO_OUTBOUND_RETRY_SCHEDULE: "0.3,0.3", COBRO_OUTBOUND_POLL_INTERVAL_MS: "100" };
  await startCobro();
  const res = await fetch(`${baseUrl}/api/tenants`, {
    method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Academia Ejemplo", mp_user_id: Number(SELLER), mp_access_token: "APP_USR-x",
      ghl: { api_key: "k", location_id: "loc", tag: "cliente" } }),
  });
  tenant = await res.json();
  assert.equal(res.status, 201);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  page = await browser.newPage({ viewport: { width: 1360, height: 820 } });
});

after(async () => {
  await browser?.close();
  cobro?.kill("SIGTERM");
  fakes?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test("sign in, watch a payment turn green live, retry a failed one", async () => {
  await page.goto(baseUrl);
  await page.fill("#token", tenant.admin_token);
  await page.click("button[type=submit]");
  await page.waitForSelector('#conn[data-state="live"]');
  assert.equal(await page.textContent("#tenant-name"), "Academia Ejemplo");
  // Which node served the page, and the cluster's size (SQLite: always one node).
  assert.match(await page.textContent("#node"), /^node .+ · 1 node$/);
  await page.evaluate(() => { window.__sameDocument = true; });

  // A good payment: appears and turns green without a reload.
  mpAnswers.set("1001", approved("1001"));
  const good = await sendWebhook("1001", 5001);
  await page.waitForSelector(`tr[data-event-id="${good}"][data-status="success"]`);
  const green = await page.$eval(`tr[data-event-id="${good}"] .badge`, (el) => getComputedStyle(el).backgroundColor);
  assert.equal(green, "rgb(220, 252, 231)");
  assert.ok(ghlCalls.includes("/contacts/c-1/tags"), "the buyer was tagged");

  // MercadoPago refuses the token: the event fails at once and shows why, in red.
  mpAnswers.set("2002", [401, { message: "invalid access token", status: 401 }]);
  const bad = await sendWebhook("2002", 5002);
  const failedRow = `tr[data-event-id="${bad}"][data-status="failed"]`;
  await page.waitForSelector(failedRow);
  assert.match(await page.textContent(`${failedRow} td.error-text`), /mp_access_token/);
  const red = await page.$eval(`${failedRow} .badge`, (el) => getComputedStyle(el).backgroundColor);
  assert.equal(red, "rgb(254, 226, 226)");

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT_FAILED, fullPage: true });

  // The seller fixes the token (here: the fake answers), a person clicks Retry, it turns green.
  mpAnswers.set("2002", approved("2002"));
  await page.click(`${failedRow} button.retry`);
  await page.waitForSelector(`tr[data-event-id="${bad}"][data-status="success"]`);
  assert.match(await page.textContent(`tr[data-event-id="${bad}"]`), /2\/\d/);
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload happened");

  // The payments tab refreshes itself a moment after each update: wait for both rows rather than
  // counting whatever is there when the tab opens.
  await page.click('.tab[data-tab="payments"]');
  await page.waitForFunction(() => document.querySelectorAll("#payments tbody tr").length === 2);
  assert.equal(await page.locator("#payments tbody tr").count(), 2);
  await showEvents(page);

  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});

test("a wrong token is refused on the sign-in page", async () => {
  const fresh = await browser.newPage();
  await fresh.goto(baseUrl);
  await fresh.fill("#token", "not-a-token");
  await fresh.click("button[type=submit]");
  await fresh.waitForSelector("#signin-error:has-text('not valid')");
  assert.equal(await fresh.isVisible("#app"), false);
  await fresh.close();
});

test("the super admin picks a tenant and follows it live", async () => {
  const other = await fetch(`${baseUrl}/api/tenants`, {
    method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Otra Tienda", mp_user_id: 555, mp_access_token: "APP_USR-y" }),
  });
  assert.equal(other.status, 201);
  const admin = await signedIn(ADMIN);
  assert.equal(await admin.locator("#tenant-picker option").count(), 2);

  // Every tenant's MercadoPago connection shows in the picker.
  await admin.selectOption("#tenant-picker", { label: "Otra Tienda (555) · manual" });
  await admin.waitForSelector("#events-empty:visible");
  await admin.selectOption("#tenant-picker", tenant.id);
  await admin.waitForSelector("#events tbody tr");
  const before = await admin.locator("#events tbody tr").count();

  mpAnswers.set("3003", approved("3003"));
  const live = await sendWebhook("3003", 5003);
  await admin.waitForSelector(`tr[data-event-id="${live}"][data-status="success"]`);
  assert.equal(await admin.locator("#events tbody tr").count(), before + 1);
  await admin.close();
});

test("a seller connects its MercadoPago account from the dashboard", async () => {
  const created = await fetch(`${baseUrl}/api/tenants`, {
    method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Tienda Nueva", mp_user_id: 777 }),
  });
  assert.equal(created.status, 201);
  const shop = await created.json();
  const seller = await browser.newPage({ viewport: { width: 1360, height: 820 } });
  await seller.goto(baseUrl);
  await seller.fill("#token", shop.admin_token);
  await seller.click("button[type=submit]");
  await seller.waitForSelector('#mp-bar[data-connection="disconnected"]');
  assert.equal(await seller.textContent("#mp-connect"), "Connect MercadoPago");

  await seller.click("#mp-connect");
  await seller.waitForSelector("#authorize"); // MercadoPago's page (the fake)
  await seller.click("#authorize");
  await seller.waitForSelector("#message");
  assert.match(await seller.textContent("h1"), /Connected/);

  await seller.goto(baseUrl);
  await seller.waitForSelector('#mp-bar[data-connection="connected"]');
  assert.equal(await seller.isHidden("#mp-connect"), true);
  assert.match(await seller.textContent("#mp-detail"), /token valid until/);
  await seller.close();
});

test("the dashboard reconnects by itself after the server restarts", async () => {
  await page.bringToFront();
  await showEvents(page); // whatever tab an earlier test left open
  await page.waitForSelector('#conn[data-state="live"]');
  await stopCobro();
  await page.waitForSelector('#conn[data-state="reconnecting"]');
  await startCobro();
  await page.waitForSelector('#conn[data-state="live"]', { timeout: 40000 });

  mpAnswers.set("4004", approved("4004"));
  const after = await sendWebhook("4004", 5004);
  await page.waitForSelector(`tr[data-event-id="${after}"][data-status="success"]`);
});

test("search finds a payment by buyer email, and its detail shows every attempt", async () => {
  const [status, body] = approved("4001");
  mpScripts.set("4001", [[503, { message: "busy" }], [503, { message: "busy" }],
    [status, { ...body, payer: { ...body.payer, email: "ana@example.com" } }]]);
  mpAnswers.set("4002", approved("4002"));
  const tried = await sendWebhook("4001", 6001);
  await sendWebhook("4002", 6002);

  const p = await signedIn(tenant.admin_token, 900);
  await p.waitForSelector(`tr[data-event-id="${tried}"][data-status="success"]`);

  await p.fill("#q-email", "ana@example.com");
  await p.click("#search button[type=submit]");
  await p.waitForFunction(() => document.querySelectorAll("#events tbody tr").length === 1);
  assert.equal(await p.getAttribute("#events tbody tr", "data-event-id"), tried);
  // Filters combine: the same buyer, another action, finds nothing.
  await p.selectOption("#q-action", "payment.created");
  await p.click("#search button[type=submit]");
  await p.waitForSelector("#events-empty:visible");
  await p.selectOption("#q-action", "");
  await p.click("#search button[type=submit]");
  await p.waitForFunction(() => document.querySelectorAll("#events tbody tr").length === 1);

  // The detail: three attempts (two refused by MercadoPago, then success), the raw notification.
  await p.keyboard.press("Tab"); // rows are reachable by keyboard; open with a click here
  await p.click(`tr[data-event-id="${tried}"]`);
  await p.waitForFunction(() => document.querySelectorAll("#detail-timeline li[data-outcome]").length === 3);
  const outcomes = await p.$$eval("#detail-timeline li[data-outcome]", (items) => items.map((li) => li.dataset.outcome));
  assert.deepEqual(outcomes, ["retry", "retry", "success"]);
  assert.match(await p.textContent("#detail-timeline"), /MercadoPago 503/);
  assert.match(await p.textContent("#detail-raw"), /6001/);
  assert.match(await p.textContent("#detail-payment"), /ana@example\.com/);
  assert.equal(await p.evaluate(() => location.hash), `#event=${tried}`);
  assert.deepEqual(await accessibilityProblems(p), [], "the detail passes axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-detail.png"), fullPage: true });

  // The link works on its own: a new tab opened on it shows the same detail after sign-in.
  const linked = await browser.newPage({ viewport: { width: 390, height: 844 } }); // a phone
  await linked.goto(`${baseUrl}/#event=${tried}`);
  await linked.fill("#token", tenant.admin_token);
  await linked.click("button[type=submit]");
  await linked.waitForFunction(() => document.querySelectorAll("#detail-timeline li[data-outcome]").length === 3);
  assert.equal(await linked.isVisible("#panel-detail"), true);
  await linked.screenshot({ path: join(ROOT, "target", "dashboard-detail-phone.png"), fullPage: true });
  await linked.close();

  await p.click("#detail-back");
  await p.waitForSelector("#panel-events:not([hidden])");
  assert.deepEqual(await accessibilityProblems(p), [], "the searched event list passes axe's checks");

  // The payments list as CSV, through the button.
  await p.click('.tab[data-tab="payments"]');
  const [download] = await Promise.all([p.waitForEvent("download"), p.click("#export-csv")]);
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv.split("\n")[0], /^mp_payment_id,status,/);
  assert.match(csv, /4001,APPROVED/);
  await p.close();
});

test("the overview draws its charts and its counters move live", async () => {
  const p = await signedIn(tenant.admin_token, 900);
  await p.click('.tab[data-tab="overview"]');
  await p.waitForFunction(() => document.querySelectorAll("#panel-overview .uplot canvas").length === 3);
  await p.waitForFunction(() => Number(document.querySelector("#kpi-today").textContent) > 0);
  const before = Number(await p.textContent("#kpi-today"));
  assert.match(await p.textContent("#kpi-approved"), /ARS\s?[1-9][\d.,]*/);
  assert.match(await p.getAttribute("#chart-minute", "aria-label"), /succeeded/);

  mpAnswers.set("5005", approved("5005"));
  await sendWebhook("5005", 7005);
  await p.waitForFunction((n) => Number(document.querySelector("#kpi-today").textContent) === n + 1, before);
  await p.screenshot({ path: join(ROOT, "target", "dashboard-overview.png"), fullPage: true });
  assert.deepEqual(await accessibilityProblems(p), [], "the overview passes axe's WCAG A/AA checks");
  await p.close();
});

test("a fraud alert shows a red banner until acknowledged, a dispute its deadline, Deliveries what arrived", async () => {
  const p = await signedIn(tenant.admin_token, 900);

  // A paid sale, then MercadoPago's fraud alert on it: the banner appears live, in red.
  mpAnswers.set("6001", approved("6001"));
  const paid = await sendWebhook("6001", 8001);
  await p.waitForSelector(`tr[data-event-id="${paid}"][data-status="success"]`);
  const [status, answer] = await sendTopic("stop_delivery_op_wh", null, { action: "Created", id: 8002,
    data: { description: "Alerta de fraude: no entregues el producto.", payment_id: 6001, site_id: "MLA" } });
  assert.equal(status, 200, JSON.stringify(answer));
  assert.equal(answer.status, "accepted");
  await p.waitForSelector('#fraud-banner:not([hidden]) li[data-payment="6001"]');
  const red = await p.$eval("#fraud-banner", (el) => getComputedStyle(el).backgroundColor);
  assert.equal(red, "rgb(185, 28, 28)");
  assert.match(await p.textContent("#fraud-banner"), /do not (deliver|ship)/);
  assert.deepEqual(await accessibilityProblems(p), [], "the banner passes axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-fraud.png"), fullPage: true });
  // It stays across a reload, and goes once acknowledged (for good).
  await p.reload();
  await p.waitForSelector('#fraud-banner:not([hidden]) li[data-payment="6001"]');
  await p.click('#fraud-banner li[data-payment="6001"] button.ack');
  await p.waitForSelector("#fraud-banner", { state: "hidden" });
  await p.reload();
  await p.waitForSelector('#conn[data-state="live"]');
  assert.equal(await p.isVisible("#fraud-banner"), false);

  // A chargeback: the disputed payment shows the date its documents are due.
  mpAnswers.set("6002", [200, { ...approved("6002")[1], status: "charged_back", status_detail: "reimbursed" }]);
  mpAnswers.set("chargeback:777001", [200, { id: "777001", payments: [6002], amount: 150, currency: "ARS",
    documentation_required: true, documentation_status: "pending", date_documentation_deadline: "2026-12-24T23:59:59.000-04:00" }]);
  const [cbStatus] = await sendTopic("topic_chargebacks_wh", "777001", { actions: ["changed_case_status"], id: 8003,
    data: { id: "777001", payment_id: 6002, site_id: "MLA" } });
  assert.equal(cbStatus, 200);
  await p.click('.tab[data-tab="payments"]');
  await p.waitForSelector('#payments tr[data-payment="6002"]');
  await p.waitForFunction(() => /send documents by/.test(document.querySelector('#payments tr[data-payment="6002"]').textContent));
  assert.match(await p.textContent('#payments tr[data-payment="6002"]'), /charged back/);

  // Deliveries: what arrived, including a request whose signature was wrong.
  const [refusedStatus] = await sendTopic("payment", "6003", { action: "payment.updated", id: 8004, data: { id: "6003" } }, "not-the-secret");
  assert.equal(refusedStatus, 401);
  await p.click('.tab[data-tab="deliveries"]');
  await p.waitForSelector('#deliveries tr[data-outcome="accepted"]');
  await p.selectOption("#d-outcome", "refused");
  await p.click("#d-search button[type=submit]");
  await p.waitForFunction(() => [...document.querySelectorAll("#deliveries tbody tr")].every((tr) => tr.dataset.outcome === "refused")
    && document.querySelectorAll("#deliveries tbody tr").length === 1);
  assert.match(await p.textContent("#deliveries tbody"), /x-signature does not match/);
  assert.deepEqual(await accessibilityProblems(p), [], "the Deliveries tab passes axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-deliveries.png"), fullPage: true });
  // An accepted delivery links to its event, whose detail lists its deliveries.
  await p.selectOption("#d-outcome", "accepted");
  await p.click("#d-search button[type=submit]");
  await p.waitForFunction(() => document.querySelectorAll('#deliveries tr[data-outcome="accepted"] a').length > 0
    && [...document.querySelectorAll("#deliveries tbody tr")].every((tr) => tr.dataset.outcome === "accepted"));
  await p.click('#deliveries tr[data-outcome="accepted"] a');
  await p.waitForFunction(() => document.querySelectorAll("#detail-deliveries li").length >= 1);
  assert.match(await p.textContent("#detail-deliveries"), /accepted/);
  await p.close();
});

test("a Stripe payment shows its provider, and the provider filter narrows both lists", async () => {
  const linked = await fetch(`${baseUrl}/api/tenants/${tenant.id}`, {
    method: "PATCH", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ stripe_account_id: STRIPE_ACCOUNT }),
  });
  assert.equal(linked.status, 200);
  mpAnswers.set("intent:pi_browser1", [200, { id: "pi_browser1", object: "payment_intent", amount: 150000, currency: "clp",
    status: "succeeded", created: 1764872390, last_payment_error: null, metadata: {},
    latest_charge: { id: "ch_browser1", refunded: false, amount_refunded: 0, disputed: false, created: 1764872400,
      billing_details: { email: "ana@example.com", name: "Ana Pérez" }, payment_method_details: { type: "card", card: { brand: "visa" } } } }]);
  const p = await signedIn(tenant.admin_token);

  const event = { id: "evt_browser1", object: "event", type: "payment_intent.succeeded", account: STRIPE_ACCOUNT,
    livemode: true, created: 1764872500, data: { object: { id: "pi_browser1", object: "payment_intent" } } };
  const body = JSON.stringify(event);
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac("sha256", WHSEC).update(`${t}.${body}`).digest("hex");
  const res = await fetch(`${baseUrl}/webhooks/stripe`, { method: "POST", body,
    headers: { "content-type": "application/json", "stripe-signature": `t=${t},v1=${v1}` } });
  const answer = await res.json();
  assert.equal(answer.status, "accepted", JSON.stringify(answer));
  const row = `tr[data-event-id="${answer.event_id}"]`;
  await p.waitForSelector(`${row}[data-status="success"]`);
  // The live row learns its provider from the API a moment later (SPEC §10's payload has none).
  await p.waitForFunction((sel) => /Stripe.*pi_browser1.*payment_intent\.succeeded/.test(document.querySelector(sel).textContent), row);

  await p.click('.tab[data-tab="payments"]');
  await p.waitForSelector('#payments tr[data-payment="pi_browser1"]');
  const payment = await p.textContent('#payments tr[data-payment="pi_browser1"]');
  assert.match(payment, /Stripe/);
  assert.match(payment, /150[.,\s\u00a0]?000/, "150000 CLP, a zero-decimal currency");
  assert.match(await p.textContent("#payments tbody"), /MercadoPago/);

  // The provider filter: only Stripe's events and payments.
  await showEvents(p);
  await p.selectOption("#q-provider", "stripe");
  await p.click("#search button[type=submit]");
  await p.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#events tbody tr")];
    return rows.length === 1 && rows[0].textContent.includes("pi_browser1");
  });
  await p.click('.tab[data-tab="payments"]');
  await p.waitForFunction(() => [...document.querySelectorAll("#payments tbody tr")].every((tr) => tr.dataset.payment === "pi_browser1"));
  assert.equal(await p.locator("#payments tbody tr").count(), 1);
  assert.deepEqual(await accessibilityProblems(p), [], "the provider column and filter pass axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-stripe.png"), fullPage: true });
  await p.close();
});

// ---------- the platform's backend (SPEC §21) ----------
// A receiver that checks each message's Standard Webhooks signature by the spec's algorithm, with
// the secret the page showed, and answers from a plan (then 204).
function platformReceiver(plan) {
  const got = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => { raw += chunk; });
    req.on("end", () => {
      got.push({ id: req.headers["webhook-id"], timestamp: req.headers["webhook-timestamp"],
        signature: req.headers["webhook-signature"] || "", raw });
      res.writeHead(plan.shift() || 204);
      res.end();
    });
  });
  return { server, got };
}
function signedBy(message, secret) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = `v1,${createHmac("sha256", key).update(`${message.id}.${message.timestamp}.${message.raw}`).digest("base64")}`;
  return message.signature.split(" ").includes(expected);
}

test("an endpoint is added, its secret shown once, a test message retried then delivered and replayed", async () => {
  const receiver = platformReceiver([503]);
  const port = await listen(receiver.server);
  const p = await signedIn(tenant.admin_token);
  await p.click('.tab[data-tab="endpoints"]');
  await p.waitForSelector("#ep-form", { state: "visible" });
  await p.fill("#ep-url", `http://127.0.0.1:${port}/hooks`);
  await p.check('#ep-events input[value="payment.updated"]');
  await p.click("#ep-form button[type=submit]");
  await p.waitForSelector("#ep-secret-box", { state: "visible" });
  const secret = (await p.textContent("#ep-secret")).trim();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{40,}$/);
  await p.waitForSelector("#endpoints tbody tr");
  assert.match(await p.textContent("#endpoints tbody"), /payment\.updated/);

  await p.click('#endpoints tbody tr button:has-text("Send test")');
  // The first answer is 503: the message is retried, then delivered.
  await p.waitForSelector('#ep-messages tbody tr[data-status="delivered"]', { timeout: 15000 });
  await p.click('#ep-messages tbody tr button:has-text("Attempts")');
  await p.waitForSelector("#ep-attempts li");
  const attempts = await p.textContent("#ep-attempts");
  assert.match(attempts, /retry.*HTTP 503.*ms/s);
  assert.match(attempts, /delivered.*HTTP 204.*ms/s);
  assert.equal(receiver.got.length, 2, "one 503, one success");
  assert.ok(receiver.got.every((m) => signedBy(m, secret)), "every message verifies with the secret shown");
  // And with the official Standard Webhooks library, as docs/API.md tells platforms to verify.
  const official = new Webhook(secret);
  for (const m of receiver.got) {
    const verified = official.verify(m.raw, { "webhook-id": m.id, "webhook-timestamp": m.timestamp, "webhook-signature": m.signature });
    assert.equal(verified.type, "endpoint.test");
  }
  assert.equal(receiver.got[0].id, receiver.got[1].id, "a retry keeps its webhook-id");
  assert.equal(JSON.parse(receiver.got[1].raw).type, "endpoint.test");

  await p.click('#ep-messages tbody tr button:has-text("Replay")');
  for (let i = 0; i < 100 && receiver.got.length < 3; i++) await new Promise((ok) => setTimeout(ok, 50));
  assert.equal(receiver.got.length, 3, "the replay arrived");
  assert.equal(receiver.got[2].id, receiver.got[0].id);
  // The secret is not shown again by the API.
  const listed = await (await fetch(`${baseUrl}/api/tenants/${tenant.id}/endpoints`, { headers: { authorization: `Bearer ${ADMIN}` } })).json();
  assert.ok(listed.every((e) => e.secret === undefined), JSON.stringify(listed));
  assert.deepEqual(await accessibilityProblems(p), [], "the Endpoints tab passes axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-endpoints.png"), fullPage: true });
  await p.close();
  receiver.server.close();
});

test("Activity shows who changed what: a tenant its own changes, the super admin every tenant's", async () => {
  const p = await signedIn(tenant.admin_token);
  // A change made in the dashboard itself: an endpoint added.
  await p.click('.tab[data-tab="endpoints"]');
  await p.fill("#ep-url", "http://127.0.0.1:9/activity");
  await p.fill("#ep-description", "activity check");
  await p.click("#ep-form button[type=submit]");
  await p.waitForSelector("#ep-secret-box", { state: "visible" });
  const secret = (await p.textContent("#ep-secret")).trim();

  await p.click('.tab[data-tab="activity"]');
  await p.waitForSelector('#activity tr[data-action="endpoint.create"]');
  const row = await p.textContent('#activity tr[data-action="endpoint.create"]');
  assert.match(row, /Tenant Academia Ejemplo/);
  assert.match(row, /url, secret, description/);
  assert.match(row, /127\.0\.0\.1/);
  assert.ok(!(await p.textContent("#activity")).includes(secret), "no secret is shown");
  // The tenant sees its own trail only: every row is on it.
  const tenants = await p.$$eval("#activity tbody tr td:nth-child(4)", (tds) => tds.map((td) => td.textContent));
  assert.ok(tenants.length >= 2 && tenants.every((t) => t === "Academia Ejemplo"), JSON.stringify(tenants));
  assert.equal(await p.isVisible("#a-all-wrap"), false, "only the super admin reads every tenant's");
  // The action filter narrows the list.
  await p.fill("#a-action", "tenant.create");
  await p.click("#a-search button[type=submit]");
  await p.waitForFunction(() => [...document.querySelectorAll("#activity tbody tr")].every((tr) => tr.dataset.action === "tenant.create")
    && document.querySelectorAll("#activity tbody tr").length === 1);
  assert.match(await p.textContent("#activity tbody"), /Super admin/);
  assert.deepEqual(await accessibilityProblems(p), [], "the Activity tab passes axe's WCAG A/AA checks");
  await p.screenshot({ path: join(ROOT, "target", "dashboard-activity.png"), fullPage: true });
  await p.close();

  // The super admin: the picked tenant's trail, then every tenant's.
  const admin = await signedIn(ADMIN);
  await admin.selectOption("#tenant-picker", tenant.id);
  await admin.click('.tab[data-tab="activity"]');
  await admin.waitForSelector('#activity tr[data-action="endpoint.create"]');
  const picked = await admin.$$eval("#activity tbody tr td:nth-child(4)", (tds) => new Set(tds.map((td) => td.textContent)).size);
  assert.equal(picked, 1, "one tenant's trail");
  await admin.check("#a-all");
  await admin.waitForFunction(() => /Otra Tienda/.test(document.querySelector("#activity tbody").textContent));
  const created = await admin.$$eval('#activity tr[data-action="tenant.create"]', (trs) => trs.length);
  assert.ok(created >= 3, `every tenant's creation: ${created}`);
  await admin.close();
});
