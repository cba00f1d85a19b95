// Cobro dashboard: signs in with a token (kept in sessionStorage, so per tab), loads the tenant's
// events, payments and orders from the admin API, and keeps the event table live over /ws with
// automatic reconnection. Plain JS, no build step.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = {
  token: sessionStorage.getItem("cobro.token"),
  role: null,
  tenantId: null,
  events: new Map(), // id -> event (snake_case as the API answers)
  filter: "",
  search: {}, // email, payment, order, from, to (issue 13)
  detailId: null,
  socket: null,
  backoff: 1000,
  reconnectTimer: null,
};
const MAX_BACKOFF = 30000;
const PANELS = ["events", "payments", "orders", "deliveries", "endpoints", "overview", "activity"];

// ---------- API ----------
async function api(method, path) {
  const res = await fetch(path, { method, headers: { Authorization: `Bearer ${state.token}` } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error || res.statusText), { status: res.status });
  return body;
}
const tenantPath = (rest) => `/api/tenants/${state.tenantId}${rest}`;

// ---------- sign in ----------
async function signIn(token) {
  state.token = token;
  const me = await api("GET", "/api/me");
  sessionStorage.setItem("cobro.token", token);
  state.role = me.role;
  $("#sandbox").hidden = !me.sandbox;
  if (me.node) {
    const size = me.node.cluster_size;
    $("#node").textContent = `node ${me.node.node_id} · ${size} ${size === 1 ? "node" : "nodes"}`;
    $("#node").dataset.clusterSize = String(size);
  }
  if (me.role === "tenant") {
    state.tenantId = me.tenant_id;
    $("#tenant-name").textContent = me.name;
  } else {
    await loadTenantPicker();
    $("#overview-all-wrap").hidden = false;
    $("#a-all-wrap").hidden = false;
  }
  $("#signin").hidden = true;
  $("#app").hidden = false;
  $("#session-bar").hidden = false;
  await loadAll();
  connect();
  routeFromHash();
}

async function loadTenantPicker() {
  const { items } = await api("GET", "/api/tenants");
  const picker = $("#tenant-picker");
  picker.innerHTML = "";
  // Every tenant's MercadoPago connection, at a glance.
  for (const t of items) {
    picker.append(new Option(`${t.name} (${t.mp_user_id}) · ${t.mp_connection.replace(/_/g, " ")}`, t.id));
  }
  $("#tenant-picker-wrap").hidden = false;
  const remembered = sessionStorage.getItem("cobro.tenant");
  state.tenantId = items.some((t) => t.id === remembered) ? remembered : (items[0] || {}).id || null;
  picker.value = state.tenantId || "";
}

function signOut() {
  sessionStorage.removeItem("cobro.token");
  sessionStorage.removeItem("cobro.tenant");
  location.reload();
}

// ---------- data ----------
async function loadAll() {
  if (!state.tenantId) return;
  await Promise.all([loadEvents(), loadPayments(), loadOrders(), loadConnection(), loadOverview(),
    loadFraudAlerts(), loadDeliveries()]);
}

// SPEC §14: how the tenant's MercadoPago token came, and a button to (re)connect it.
async function loadConnection() {
  const t = await api("GET", tenantPath(""));
  const connection = t.mp_connection;
  const tone = { connected: "success", manual: "neutral", disconnected: "pending", refresh_failed: "failed" }[connection];
  $("#mp-state").className = `badge ${tone || "neutral"}`;
  $("#mp-state").textContent = connection.replace(/_/g, " ");
  $("#mp-bar").dataset.connection = connection;
  const expiry = t.mp_token_expires_at ? `token valid until ${new Date(t.mp_token_expires_at).toLocaleDateString()}` : "";
  $("#mp-detail").textContent = t.mp_last_error || expiry;
  $("#mp-detail").classList.toggle("error-text", Boolean(t.mp_last_error));
  const button = $("#mp-connect");
  button.hidden = connection === "connected";
  button.textContent = connection === "refresh_failed" || t.mp_last_error ? "Reconnect" : "Connect MercadoPago";
}

async function startConnection() {
  const button = $("#mp-connect");
  button.disabled = true;
  try {
    const { authorization_url } = await api("POST", tenantPath("/mp/connect"));
    location.assign(authorization_url);
  } catch (err) {
    button.disabled = false;
    showError(err);
  }
}

// The search as query parameters; dates are whole days in the browser's time zone.
function searchParams() {
  const q = new URLSearchParams({ limit: "200" });
  const { email, payment, order, action, from, to, resource, resourceId, provider } = state.search;
  if (provider) q.set("provider", provider);
  if (resource) q.set("resource_type", resource);
  if (resourceId) q.set("resource_id", resourceId);
  if (email) q.set("email", email);
  if (payment) q.set("mp_payment_id", payment);
  if (order) q.set("order_id", order);
  if (action) q.set("action", action);
  if (from) q.set("from", new Date(`${from}T00:00:00`).toISOString());
  if (to) q.set("to", new Date(new Date(`${to}T00:00:00`).getTime() + 86400000).toISOString());
  return q;
}
const searching = () => Object.values(state.search).some(Boolean);

async function loadEvents() {
  const { items } = await api("GET", tenantPath(`/events?${searchParams()}`));
  const merged = new Map();
  for (const e of items) merged.set(e.id, newest(state.events.get(e.id), e));
  state.events = merged;
  renderEvents();
}

// A snapshot fetched over HTTP can be older than what the WebSocket already said (the attempt ran
// while the request was in flight). Order by attempt, then by phase within it: "processing" opens
// an attempt, anything else closes it.
function newest(known, candidate) {
  if (!known) return candidate;
  const rank = (e) => e.attempts * 2 + (e.status === "processing" ? 0 : 1);
  return rank(candidate) >= rank(known) ? { ...known, ...candidate } : known;
}

async function loadPayments() {
  const provider = state.search.provider ? `&provider=${state.search.provider}` : "";
  const { items } = await api("GET", tenantPath(`/payments?limit=200${provider}`));
  renderRows("#payments", items, (p) => [
    cell(p.mp_payment_id, "mono"), cell(providerName(p.provider)), badgeCell(p.status, paymentTone(p.status)),
    cell(money(p.transaction_amount, p.currency_id)), cell(p.payer_name || p.payer_email || "—"),
    cell(p.payment_method || "—"), cell(p.external_reference || "—", "mono"), cell(paymentNotes(p), "error-text"),
    cell(time(p.updated_at), "muted"),
  ], (tr, p) => { tr.dataset.payment = p.mp_payment_id; });
}

async function loadOrders() {
  const { items } = await api("GET", tenantPath("/orders?limit=200"));
  renderRows("#orders", items, (o) => [
    cell(o.id, "mono"), cell(o.description), cell(money(o.amount, o.currency)),
    badgeCell(o.status, orderTone(o.status)), cell(o.customer_email || "—"), cell(time(o.created_at), "muted"),
  ]);
}

// ---------- live updates ----------
function connect() {
  clearTimeout(state.reconnectTimer);
  setConn("connecting", "Connecting…");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${proto}//${location.host}/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onopen = () => {
    state.backoff = 1000;
    setConn("live", "Live");
    if (state.role === "super_admin" && state.tenantId) subscribe(state.tenantId);
    loadAll().catch(showError); // catch up on anything missed while disconnected
  };
  socket.onmessage = (msg) => onMessage(JSON.parse(msg.data));
  socket.onclose = () => {
    if (state.socket !== socket) return;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  const wait = state.backoff;
  state.backoff = Math.min(state.backoff * 2, MAX_BACKOFF);
  setConn("reconnecting", `Reconnecting in ${Math.round(wait / 1000)}s`);
  state.reconnectTimer = setTimeout(connect, wait);
}

function subscribe(tenantId) {
  state.socket.send(JSON.stringify({ action: "subscribe", room: `tenant-${tenantId}` }));
}

function onMessage(msg) {
  if (msg.room && msg.room !== `tenant-${state.tenantId}`) return;
  if (msg.event === "webhookEventUpdated" || msg.event === "paymentStatusUpdated") refreshOverviewSoon();
  if (msg.event === "webhookEventUpdated") applyEventUpdate(msg.data);
  else if (msg.event === "paymentStatusUpdated") refreshSoon();
  else if (msg.event === "fraudAlert") loadFraudAlerts().catch(showError);
  else if (msg.event === "error") toast(`Server: ${msg.message}`);
}

function applyEventUpdate(d) {
  if (d.id === state.detailId) refreshDetailSoon();
  // While searching, a new event may not match: only the rows shown are kept live.
  if (searching() && !state.events.has(d.id)) return;
  const known = state.events.get(d.id) || { id: d.id, created_at: new Date().toISOString() };
  state.events.set(d.id, {
    ...known, status: d.status, attempts: d.attempts, max_attempts: d.maxAttempts, last_error: d.lastError,
    next_retry_at: d.nextRetryAt, mp_payment_id: d.mpPaymentId, action: d.action, processing_ms: d.processingMs,
  });
  // SPEC §10's payload names neither the provider nor what an order, dispute or claim is about:
  // a row new to this page learns them from the API.
  if (!known.provider) refreshEventsSoon();
  renderEvents(d.id);
}

let eventsTimer = null;
function refreshEventsSoon() {
  clearTimeout(eventsTimer);
  eventsTimer = setTimeout(() => loadEvents().catch(showError), 300);
}

let refreshTimer = null;
function refreshSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => Promise.all([loadPayments(), loadOrders(), loadDeliveries()]).catch(showError), 200);
}

// ---------- rendering ----------
function renderEvents(flashId) {
  const all = [...state.events.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
  for (const s of ["pending", "processing", "success", "failed"]) {
    $(`#n-${s}`).textContent = all.filter((e) => e.status === s).length;
  }
  $("#count-events").textContent = all.length;
  $("#retry-all").disabled = !all.some((e) => e.status === "failed");
  const shown = state.filter ? all.filter((e) => e.status === state.filter) : all;
  renderRows("#events", shown, (e) => [
    cell(time(e.created_at), "muted"), cell(providerName(e.provider)), cell(e.mp_payment_id || about(e), "mono"), cell(e.action),
    badgeCell(e.status, e.status), cell(`${e.attempts}/${e.max_attempts}`),
    cell(e.last_error || "", "error-text"), cell(e.next_retry_at ? time(e.next_retry_at) : "—", "muted"),
    cell(e.processing_ms != null ? `${e.processing_ms} ms` : "—", "muted"), retryCell(e),
  ], (tr, e) => {
    tr.dataset.eventId = e.id;
    tr.dataset.status = e.status;
    tr.tabIndex = 0;
    tr.classList.add("clickable");
    tr.setAttribute("aria-label", `Event for payment ${e.mp_payment_id}, ${e.status}: open its detail`);
    tr.onclick = (ev) => { if (!ev.target.closest("button")) openDetail(e.id); };
    tr.onkeydown = (ev) => { if (ev.key === "Enter") openDetail(e.id); };
    if (e.id === flashId) tr.classList.add("flash");
  });
}

function renderRows(tableSel, items, cells, decorate) {
  const body = $(`${tableSel} tbody`);
  body.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    tr.append(...cells(item));
    if (decorate) decorate(tr, item);
    return tr;
  }));
  $(`${tableSel}-empty`).hidden = items.length > 0;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "—" : String(text);
  if (cls) td.className = cls;
  return td;
}

function badgeCell(text, tone) {
  const td = document.createElement("td");
  const span = document.createElement("span");
  span.className = `badge ${tone}`;
  span.textContent = String(text).toLowerCase().replace(/_/g, " ");
  td.append(span);
  return td;
}

function retryCell(e) {
  const td = document.createElement("td");
  if (e.status === "failed") {
    const button = document.createElement("button");
    button.className = "retry";
    button.textContent = "Retry";
    button.onclick = () => retryOne(e.id, button);
    td.append(button);
  }
  return td;
}

const paymentTone = (s) => ({ APPROVED: "success", REJECTED: "failed", CANCELLED: "failed", REFUNDED: "neutral",
  CHARGED_BACK: "failed", PENDING: "pending", IN_PROCESS: "pending", AUTHORIZED: "processing" }[s] || "neutral");
const orderTone = (s) => ({ PAID: "success", DELIVERED: "success", PENDING_PAYMENT: "pending", REJECTED: "failed",
  CANCELLED: "failed", CHARGED_BACK: "failed" }[s] || "neutral");
const providerName = (key) => ({ mercadopago: "MercadoPago", stripe: "Stripe" }[key] || key || "—");
const money = (amount, currency) => (amount == null ? "—"
  : new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(amount));
const about = (e) => (e.resource_type ? `${e.resource_type.replace(/_/g, " ")} ${e.resource_id || ""}` : "—");
const time = (iso) => (iso ? new Date(iso).toLocaleString() : "—");

function setConn(stateName, text) {
  $("#conn").dataset.state = stateName;
  $("#conn-text").textContent = text;
}

function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 3500);
}
const showError = (err) => toast(err.message || String(err));

function switchTenant(id) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN && state.tenantId) {
    state.socket.send(JSON.stringify({ action: "unsubscribe", room: `tenant-${state.tenantId}` }));
  }
  state.tenantId = id;
  sessionStorage.setItem("cobro.tenant", id);
  if (state.socket && state.socket.readyState === WebSocket.OPEN) subscribe(id);
  loadAll().catch(showError);
  refreshActivityIfShown();
}

// ---------- wiring ----------
$("#signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  $("#signin-error").textContent = "";
  signIn($("#token").value.trim()).catch((err) => {
    sessionStorage.removeItem("cobro.token");
    $("#signin-error").textContent = err.status === 401 || err.status === 503 ? "That token is not valid." : err.message;
  });
});
$("#sign-out").addEventListener("click", signOut);
$("#retry-all").addEventListener("click", retryAll);
$("#mp-connect").addEventListener("click", startConnection);
$("#tenant-picker").addEventListener("change", (ev) => switchTenant(ev.target.value));
document.querySelectorAll(".tab").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t === tab));
  if (location.hash) history.pushState(null, "", location.pathname);
  routeFromHash();
}));
window.addEventListener("hashchange", routeFromHash);
$("#detail-back").addEventListener("click", () => { history.pushState(null, "", location.pathname); routeFromHash(); });
$("#export-csv").addEventListener("click", () => exportCsv().catch(showError));
$("#d-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadDeliveries().catch(showError); });
$("#ep-form").addEventListener("submit", addEndpoint);
$("#a-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadActivity().catch(showError); });
$("#a-all").addEventListener("change", () => loadActivity().catch(showError));
$("#a-more").addEventListener("click", () => loadActivity({ more: true }).catch(showError));
$("#overview-all").addEventListener("change", (ev) => {
  overviewAll = ev.target.checked;
  $("#overview-scope").textContent = overviewAll ? "Every tenant, live" : "This tenant, live";
  loadOverview().catch(showError);
});
$("#search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.search = { email: $("#q-email").value.trim(), payment: $("#q-payment").value.trim(),
    order: $("#q-order").value.trim(), action: $("#q-action").value, from: $("#q-from").value, to: $("#q-to").value,
    resource: $("#q-resource").value, resourceId: $("#q-resource-id").value.trim(), provider: $("#q-provider").value };
  state.events = new Map();
  Promise.all([loadEvents(), loadPayments()]).catch(showError);
});
$("#q-clear").addEventListener("click", () => {
  $("#search").reset();
  state.search = {};
  Promise.all([loadEvents(), loadPayments()]).catch(showError);
});
document.querySelectorAll("#filters .chip").forEach((chip) => chip.addEventListener("click", () => {
  document.querySelectorAll("#filters .chip").forEach((c) => c.classList.toggle("active", c === chip));
  state.filter = chip.dataset.filter;
  renderEvents();
}));

if (state.token) signIn(state.token).catch(() => { sessionStorage.removeItem("cobro.token"); });
