// Cobro dashboard, what a seller must act on (SPEC §17): the red banner of fraud alerts
// ("do not deliver"), shown until someone acknowledges each one, and the words a payment's
// dispute (its documentation deadline) or claim adds to the payments list and the detail.
// Loaded before app.js, whose helpers ($, api, tenantPath, time, toast, showError) it calls.
"use strict";

async function loadFraudAlerts() {
  const { items } = await api("GET", tenantPath("/fraud-alerts"));
  const banner = $("#fraud-banner");
  const list = $("#fraud-list");
  list.replaceChildren(...items.map(fraudItem));
  banner.hidden = items.length === 0;
  $("#fraud-count").textContent = items.length === 1 ? "1 sale" : `${items.length} sales`;
}

function fraudItem(p) {
  const li = document.createElement("li");
  li.dataset.payment = p.mp_payment_id;
  const what = [`Payment ${p.mp_payment_id}`, p.external_reference && `order ${p.external_reference}`,
    p.payer_email, money(p.transaction_amount, p.currency_id)].filter(Boolean).join(" · ");
  const text = Object.assign(document.createElement("span"), { textContent: `${what}: cancel it and do not ship.` });
  const button = Object.assign(document.createElement("button"), { className: "ack", textContent: "Acknowledge" });
  button.setAttribute("aria-label", `Acknowledge the fraud alert on payment ${p.mp_payment_id}`);
  button.onclick = () => acknowledgeFraud(p.mp_payment_id, button);
  li.append(text, button);
  return li;
}

async function acknowledgeFraud(paymentId, button) {
  button.disabled = true;
  try {
    await api("POST", tenantPath(`/payments/${encodeURIComponent(paymentId)}/acknowledge-fraud`));
    await loadFraudAlerts();
  } catch (err) {
    button.disabled = false;
    showError(err);
  }
}

// A payment's status words for the list: its dispute's deadline, its claim, its fraud flag.
function paymentNotes(p) {
  const notes = [];
  if (p.fraud_alert) notes.push("FRAUD ALERT: do not deliver");
  const d = p.dispute;
  if (d) {
    const deadline = d.date_documentation_deadline;
    notes.push(deadline ? `Dispute ${d.id}: send documents by ${time(deadline)}` : `Dispute ${d.id}`);
  }
  if (p.claim) notes.push(`Claim ${p.claim.id}: ${[p.claim.status, p.claim.stage].filter(Boolean).join(", ")}`);
  return notes.join(" · ");
}

// Facts of the detail's payment that the optional topics add.
function paymentFacts(p) {
  const rows = [];
  if (p.amount) rows.push(["Exact amount", `${p.amount} ${p.currency_id || ""}`.trim()]);
  if (p.refunded_amount && p.refunded_amount !== "0.00") rows.push(["Refunded", p.refunded_amount]);
  if (p.fraud_alert) rows.push(["Fraud alert", "MercadoPago says: do not deliver"]);
  if (p.dispute) {
    const d = p.dispute;
    rows.push(["Dispute", [d.id, d.documentation_status, d.amount != null && money(d.amount, d.currency)].filter(Boolean).join(" · ")]);
    if (d.date_documentation_deadline) rows.push(["Documents due by", time(d.date_documentation_deadline)]);
  }
  if (p.claim) rows.push(["Claim", [p.claim.id, p.claim.status, p.claim.stage, p.claim.reason_id].filter(Boolean).join(" · ")]);
  return rows;
}
