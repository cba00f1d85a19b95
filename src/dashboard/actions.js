// Cobro dashboard, what a person does to events and payments: retry one failed event, retry all,
// download the payments list as CSV. Loaded before app.js, whose helpers ($, api, tenantPath,
// state, newest, renderEvents, loadEvents, searchParams, toast, showError) it calls at run time.
"use strict";

async function retryOne(id, button) {
  button.disabled = true;
  try {
    const event = await api("POST", tenantPath(`/events/${id}/retry`));
    state.events.set(id, newest(state.events.get(id), event));
    renderEvents(id);
  } catch (err) {
    button.disabled = false;
    showError(err);
  }
}

async function retryAll() {
  try {
    const { requeued } = await api("POST", tenantPath("/events/retry-failed"));
    toast(`Requeued ${requeued} failed event${requeued === 1 ? "" : "s"}`);
    await loadEvents();
  } catch (err) {
    showError(err);
  }
}

// ---------- CSV export of the payments list ----------
async function exportCsv() {
  const res = await fetch(tenantPath(`/payments/export?${searchParams()}`), { headers: { Authorization: `Bearer ${state.token}` } });
  if (!res.ok) return toast("The export failed.");
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(await res.blob()), download: "payments.csv" });
  link.click();
  URL.revokeObjectURL(link.href);
}
