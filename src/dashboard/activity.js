// Cobro dashboard, the Activity tab (SPEC §20): the audit trail, newest first. A tenant sees its
// own; the super admin sees the tenant picked, or every tenant's with "All tenants". Filtered by
// action and by day, paged with "Older changes" (the API's cursor). Loaded before app.js, whose
// helpers ($, state, api, tenantPath, cell, time) it calls at run time.
"use strict";

const activityState = { cursor: null, rows: [] };
// The actions docs/API.md lists, offered as the filter's suggestions.
const AUDIT_ACTIONS = ["tenant.create", "tenant.update", "tenant.token_rotated", "tenant.delete", "event.retry",
  "events.retry_failed", "order.create", "payment.fraud_acknowledged", "mp.connect_started", "mp.connected",
  "mp.disconnected", "mp.token_refreshed", "secrets.rotated", "endpoint.create", "endpoint.update",
  "endpoint.delete", "endpoint.secret_rotated", "endpoint.test_sent", "endpoint.message_retry",
  "endpoint.messages_retry_failed"];
$("#a-actions").replaceChildren(...AUDIT_ACTIONS.map((a) => new Option(a)));

function activityParams() {
  const q = new URLSearchParams({ limit: "100" });
  const action = $("#a-action").value.trim();
  const from = $("#a-from").value;
  const to = $("#a-to").value;
  if (action) q.set("action", action);
  // Whole days in the browser's time zone, as the Events search reads them.
  if (from) q.set("from", new Date(`${from}T00:00:00`).toISOString());
  if (to) q.set("to", new Date(new Date(`${to}T00:00:00`).getTime() + 86400000).toISOString());
  return q;
}

// A fresh first page, or (`more`) the page after the last one shown.
async function loadActivity({ more = false } = {}) {
  const everyTenant = state.role === "super_admin" && $("#a-all").checked;
  if (!everyTenant && !state.tenantId) return;
  const q = activityParams();
  if (more && activityState.cursor) q.set("cursor", activityState.cursor);
  const path = everyTenant ? `/api/audit?${q}` : tenantPath(`/audit?${q}`);
  const { items, next_cursor } = await api("GET", path);
  activityState.rows = more ? activityState.rows.concat(items) : items;
  activityState.cursor = next_cursor;
  renderRows("#activity", activityState.rows, (a) => [
    cell(time(a.at), "muted"), cell(actorName(a.actor)), cell(a.action, "mono"), cell(tenantName(a.tenant_id)),
    cell(a.target || "—", "mono"), cell(a.changes ? a.changes.join(", ") : "—"), cell(a.remote_addr || "—", "mono"),
    cell(a.request_id || "—", "mono"),
  ], (tr, a) => { tr.dataset.action = a.action; tr.dataset.actor = a.actor; });
  $("#a-more").hidden = !next_cursor;
}

function actorName(actor) {
  if (actor === "super_admin") return "Super admin";
  if (actor === "cli") return "Command line";
  if (actor === "system") return "Cobro";
  if (actor.startsWith("tenant:")) return `Tenant ${tenantName(actor.slice(7))}`;
  return actor;
}

// The picker's name for a tenant (the super admin's), the signed-in tenant's own, or its id.
function tenantName(id) {
  if (!id) return "—";
  const option = [...$("#tenant-picker").options].find((o) => o.value === id);
  if (option) return option.textContent.replace(/ \(.*$/, "");
  return id === state.tenantId && $("#tenant-name").textContent ? $("#tenant-name").textContent : id;
}

// Another tenant picked, or the tab opened again: the first page, if the tab is showing.
function refreshActivityIfShown() {
  if (!$("#panel-activity").hidden) loadActivity().catch(showError);
}
