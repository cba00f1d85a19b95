// Cobro dashboard, the Endpoints tab (SPEC §21): where the platform's backend hears of payment,
// order, dispute, fraud and connection changes. Add an endpoint (its signing secret is shown this
// once), send it a test message, see its messages with every attempt (status, HTTP, duration) and
// send one again. Loaded before app.js, whose helpers ($, state, tenantPath, renderRows, cell,
// badgeCell, time, toast, showError) it calls at run time.
"use strict";

const endpointState = { selected: null, timer: null };
const messageTone = (s) => ({ delivered: "success", pending: "pending", failed: "failed" }[s] || "neutral");
const attemptTone = (o) => ({ delivered: "success", retry: "pending", failed: "failed", disabled: "failed" }[o] || "neutral");

// The admin API with a JSON body.
async function apiJson(method, path, body) {
  const res = await fetch(path, { method, body: JSON.stringify(body || {}),
    headers: { Authorization: `Bearer ${state.token}`, "content-type": "application/json" } });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(answer.error || res.statusText), { status: res.status });
  return answer;
}

async function loadEndpoints() {
  const items = await api("GET", tenantPath("/endpoints"));
  renderRows("#endpoints", items, (e) => [
    cell(e.url, "mono"), cell(e.events ? e.events.join(", ") : "every type"),
    badgeCell(e.disabled ? "disabled" : "enabled", e.disabled ? "failed" : "success"),
    cell(e.disabled_reason || (e.failing_since ? `failing since ${time(e.failing_since)}` : ""), "error-text"),
    endpointActions(e),
  ], (tr, e) => { tr.dataset.endpoint = e.id; });
  if (endpointState.selected && items.some((e) => e.id === endpointState.selected)) await loadMessages();
}

function endpointActions(e) {
  const td = document.createElement("td");
  const button = (text, label, onClick) => {
    const b = Object.assign(document.createElement("button"), { type: "button", textContent: text });
    b.setAttribute("aria-label", `${label} ${e.url}`);
    b.addEventListener("click", () => onClick().catch(showError));
    td.append(b);
  };
  button("Send test", "Send a test message to", async () => {
    await apiJson("POST", tenantPath(`/endpoints/${e.id}/test`));
    toast("Test message queued");
    endpointState.selected = e.id;
    setTimeout(() => loadMessages().catch(showError), 400);
  });
  button("Messages", "Show the messages of", async () => { endpointState.selected = e.id; await loadMessages(); });
  if (e.disabled) {
    button("Enable", "Enable", async () => {
      await apiJson("PATCH", tenantPath(`/endpoints/${e.id}`), { disabled: false });
      await loadEndpoints();
    });
  }
  return td;
}

async function addEndpoint(ev) {
  ev.preventDefault();
  const events = [...document.querySelectorAll("#ep-events input:checked")].map((i) => i.value);
  const body = { url: $("#ep-url").value.trim(), description: $("#ep-description").value.trim() || null };
  if (events.length) body.events = events;
  $("#ep-error").textContent = "";
  try {
    const created = await apiJson("POST", tenantPath("/endpoints"), body);
    $("#ep-secret").textContent = created.secret;
    $("#ep-secret-box").hidden = false;
    $("#ep-form").reset();
    endpointState.selected = created.id;
    await loadEndpoints();
  } catch (err) {
    $("#ep-error").textContent = err.message;
  }
}

async function loadMessages() {
  const id = endpointState.selected;
  if (!id) return;
  const items = await api("GET", tenantPath(`/endpoints/${id}/messages?limit=100`));
  $("#ep-messages-wrap").hidden = false;
  renderRows("#ep-messages", items, (m) => [
    cell(time(m.created_at), "muted"), cell(m.event_type), badgeCell(m.status, messageTone(m.status)),
    cell(m.attempts), cell(m.last_error || "", "error-text"), cell(m.id, "mono"), messageActions(id, m),
  ], (tr, m) => { tr.dataset.message = m.id; tr.dataset.status = m.status; });
  // Messages still pending are followed until they are delivered or fail, while the tab shows.
  clearTimeout(endpointState.timer);
  if (items.some((m) => m.status === "pending") && !$("#panel-endpoints").hidden) {
    endpointState.timer = setTimeout(() => loadMessages().catch(showError), 1000);
  }
}

function messageActions(endpoint, m) {
  const td = document.createElement("td");
  const show = Object.assign(document.createElement("button"), { type: "button", textContent: "Attempts" });
  show.setAttribute("aria-label", `Show the attempts of ${m.id}`);
  show.addEventListener("click", () => showAttempts(endpoint, m.id).catch(showError));
  const again = Object.assign(document.createElement("button"), { type: "button", textContent: "Replay" });
  again.setAttribute("aria-label", `Send ${m.id} again`);
  again.addEventListener("click", async () => {
    try {
      await apiJson("POST", tenantPath(`/endpoints/${endpoint}/messages/${m.id}/retry`));
      toast("Sent again");
      setTimeout(() => loadMessages().catch(showError), 400);
    } catch (err) { showError(err); }
  });
  td.append(show, again);
  return td;
}

async function showAttempts(endpoint, message) {
  const m = await api("GET", tenantPath(`/endpoints/${endpoint}/messages/${message}`));
  const list = $("#ep-attempts");
  list.innerHTML = "";
  for (const a of m.attempt_history || []) {
    const li = Object.assign(document.createElement("li"), { className: "attempt" });
    const badge = Object.assign(document.createElement("span"), { className: `badge ${attemptTone(a.outcome)}`, textContent: a.outcome });
    const line = document.createElement("span");
    line.textContent = ` ${time(a.attempted_at)} · ${a.http_status ? `HTTP ${a.http_status}` : "no answer"} · ${a.duration_ms} ms${a.node ? ` · ${a.node}` : ""}`;
    li.append(badge, line);
    list.append(li);
  }
  $("#ep-attempts-title").textContent = `Attempts of ${message}`;
  $("#ep-attempts-wrap").hidden = false;
}
