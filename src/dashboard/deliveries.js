// Cobro dashboard, the Deliveries tab (SPEC §18): every request that reached the webhook path,
// whatever its answer ("MercadoPago says it sent it: did it arrive?"), filtered by outcome and
// type; an accepted or duplicate delivery links to its event. Loaded before app.js, whose helpers
// ($, api, tenantPath, renderRows, cell, badgeCell, time, openDetail) it calls at run time.
"use strict";

const deliveryTone = (o) => ({ accepted: "success", duplicate: "neutral", ignored: "pending", refused: "failed",
  rate_limited: "pending", too_large: "failed", bad_request: "failed", error: "failed" }[o] || "neutral");

async function loadDeliveries() {
  const q = new URLSearchParams({ limit: "200" });
  const outcome = $("#d-outcome").value;
  const type = $("#d-type").value.trim();
  if (outcome) q.set("outcome", outcome);
  if (type) q.set("type", type);
  const { items } = await api("GET", tenantPath(`/deliveries?${q}`));
  renderRows("#deliveries", items, (d) => [
    cell(time(d.received_at), "muted"), badgeCell(d.outcome, deliveryTone(d.outcome)), cell(d.http_status),
    cell(d.type || "—"), cell(d.action || "—"), cell(d.resource_id || "—", "mono"), cell(d.reason || "", "error-text"),
    cell(d.request_id || "—", "mono"), cell(`${d.ack_ms} ms`, "muted"), eventCell(d),
  ], (tr, d) => { tr.dataset.outcome = d.outcome; });
}

function eventCell(d) {
  const td = document.createElement("td");
  if (d.event_id) {
    const link = Object.assign(document.createElement("a"), { href: `#event=${d.event_id}`, textContent: "Event" });
    link.setAttribute("aria-label", `Open the event of delivery ${d.request_id || d.id}`);
    td.append(link);
  }
  return td;
}

// The event detail's list of the deliveries that brought it.
function deliveryItem(d) {
  const li = document.createElement("li");
  li.className = "attempt";
  const badge = Object.assign(document.createElement("span"), { className: `badge ${deliveryTone(d.outcome)}`, textContent: d.outcome });
  const line = document.createElement("span");
  line.textContent = ` ${time(d.received_at)} · HTTP ${d.http_status} · ${d.ack_ms} ms${d.request_id ? ` · ${d.request_id}` : ""}${d.remote_addr ? ` · from ${d.remote_addr}` : ""}`;
  li.append(badge, line);
  return li;
}
