// Cobro dashboard, the event detail (issue 13): deep-linkable as #event=<id>; the event's facts,
// its attempt timeline, the payment as last fetched and its order, the raw notification. Loaded
// before app.js, whose helpers ($, api, tenantPath, time, money) it calls at run time.
"use strict";

function openDetail(id) {
  location.hash = `event=${id}`;
}

function routeFromHash() {
  const match = location.hash.match(/^#event=([0-9a-f-]{36})$/);
  state.detailId = match ? match[1] : null;
  $("#panel-detail").hidden = !state.detailId;
  if (state.detailId) {
    for (const name of PANELS) $(`#panel-${name}`).hidden = true;
    showDetail(state.detailId).catch(showError);
  } else {
    const active = document.querySelector(".tab.active").dataset.tab;
    for (const name of PANELS) $(`#panel-${name}`).hidden = name !== active;
    if (active === "overview") loadOverview().catch(showError);
    if (active === "deliveries") loadDeliveries().catch(showError);
    if (active === "endpoints") loadEndpoints().catch(showError);
    if (active === "activity") loadActivity().catch(showError);
  }
}

let detailTimer = null;
function refreshDetailSoon() {
  clearTimeout(detailTimer);
  detailTimer = setTimeout(() => state.detailId && showDetail(state.detailId).catch(showError), 200);
}

async function showDetail(id) {
  const e = await api("GET", tenantPath(`/events/${id}`));
  if (state.detailId !== id) return;
  const about = e.resource_type === "payment" ? `Payment ${e.mp_payment_id}` : `${e.resource_type.replace(/_/g, " ")} ${e.resource_id || ""}`;
  $("#detail-title").textContent = `${about} · ${e.action}`;
  facts("#detail-facts", [
    ["Provider", providerName(e.provider)], ["Status", e.status], ["Attempts", `${e.attempts}/${e.max_attempts}`], ["Received", time(e.created_at)],
    ["Processed", time(e.processed_at)], ["Last error", e.last_error || "—"], ["Event id", e.id],
  ]);
  $("#detail-retry").hidden = e.status !== "failed";
  $("#detail-retry").onclick = () => retryOne(e.id, $("#detail-retry")).then(refreshDetailSoon);
  $("#detail-timeline").replaceChildren(...e.history.map(attemptItem));
  if (!e.history.length) $("#detail-timeline").append(Object.assign(document.createElement("li"), { textContent: "No attempt yet." }));
  $("#detail-raw").textContent = JSON.stringify(e.raw_payload, null, 2);
  $("#detail-deliveries").replaceChildren(...e.deliveries.map(deliveryItem));
  await showDetailPayment(e.mp_payment_id);
}

function attemptItem(a) {
  const li = document.createElement("li");
  li.className = `attempt ${a.outcome}`;
  li.dataset.outcome = a.outcome;
  const badge = document.createElement("span");
  badge.className = `badge ${a.outcome === "retry" ? "pending" : a.outcome}`;
  badge.textContent = a.outcome;
  badge.setAttribute("aria-label", `Attempt ${a.attempt}: ${a.outcome}`);
  const line = document.createElement("span");
  const statuses = [a.mp_status != null && `MercadoPago ${a.mp_status}`, a.ghl_status != null && `GoHighLevel ${a.ghl_status}`]
    .filter(Boolean).join(" · ");
  line.textContent = ` #${a.attempt} · ${time(a.started_at)} · ${a.duration_ms} ms${statuses ? ` · ${statuses}` : ""}${a.node ? ` · ${a.node}` : ""}`;
  li.append(badge, line);
  if (a.error) li.append(Object.assign(document.createElement("div"), { className: "error-text", textContent: a.error }));
  return li;
}

async function showDetailPayment(mpPaymentId) {
  let p = null;
  if (mpPaymentId) {
    try { p = await api("GET", tenantPath(`/payments/${encodeURIComponent(mpPaymentId)}`)); } catch (err) { if (err.status !== 404) throw err; }
  }
  if (!mpPaymentId || !p) { facts("#detail-payment", [["Payment", mpPaymentId ? "not fetched yet" : "—"]]); return; }
  const rows = [["Status", `${p.status} (${p.mp_status})`], ["Amount", money(p.transaction_amount, p.currency_id)],
    ["Buyer", [p.payer_name, p.payer_email].filter(Boolean).join(" · ") || "—"], ["Method", p.payment_method || "—"],
    ["Tagged in GoHighLevel", p.ghl_tagged_at ? time(p.ghl_tagged_at) : "no"], ...paymentFacts(p)];
  if (p.order_id) {
    try {
      const o = await api("GET", tenantPath(`/orders/${p.order_id}`));
      rows.push(["Order", `${o.description} · ${o.status}`]);
    } catch { rows.push(["Order", p.external_reference || "—"]); }
  } else if (p.external_reference) rows.push(["Reference", p.external_reference]);
  facts("#detail-payment", rows);
}

function facts(sel, rows) {
  $(sel).replaceChildren(...rows.flatMap(([k, v]) => [
    Object.assign(document.createElement("dt"), { textContent: k }),
    Object.assign(document.createElement("dd"), { textContent: String(v) }),
  ]));
}

