// Cobro dashboard, the overview (issue 13): figures from /stats drawn with the vendored uPlot,
// refreshed live. Loaded before app.js, whose helpers ($, api, tenantPath, time, money) it calls
// at run time.
"use strict";

const charts = {};
const TONES = { success: "#15803d", failed: "#b91c1c", waiting: "#b7791f" };
const CURRENCY_TONES = ["#0a66ff", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
let overviewAll = false;

async function loadOverview() {
  if ($("#panel-overview").hidden || (!overviewAll && !state.tenantId)) return;
  renderOverview(await api("GET", overviewAll ? "/api/stats" : tenantPath("/stats")));
}

let overviewTimer = null;
function refreshOverviewSoon() {
  if ($("#panel-overview").hidden) return;
  clearTimeout(overviewTimer);
  overviewTimer = setTimeout(() => loadOverview().catch(showError), 300);
}

const total = (b) => (b ? b.pending + b.processing + b.success + b.failed : 0);

function renderOverview(s) {
  const today = new Date().toISOString().slice(0, 10);
  const todays = s.per_day.find((b) => b.bucket === today);
  $("#kpi-today").textContent = String(total(todays));
  const approved = s.approved_per_day.filter((a) => a.day === today);
  $("#kpi-approved").textContent = approved.length ? approved.map((a) => money(a.amount, a.currency)).join(" · ") : "—";
  $("#kpi-failure").textContent = s.failure_rate == null ? "—" : `${(s.failure_rate * 100).toFixed(1)} %`;
  $("#kpi-queue").textContent = String(s.queue.pending + s.queue.processing);
  $("#kpi-oldest").textContent = s.queue.oldest_pending_at ? `oldest pending since ${time(s.queue.oldest_pending_at)}` : "";
  drawStatus("minute", s.per_minute, 60, 60000, 16);
  drawStatus("day", s.per_day, 30, 86400000, 10);
  drawAmounts(s.approved_per_day);
}

// Buckets filled with zeros over the whole window, oldest first: [times, success, failed, waiting].
function statusSeries(buckets, count, step, width) {
  const byKey = new Map(buckets.map((b) => [b.bucket, b]));
  const last = Math.floor(Date.now() / step) * step;
  const data = [[], [], [], []];
  for (let t = last - (count - 1) * step; t <= last; t += step) {
    const b = byKey.get(new Date(t).toISOString().slice(0, width));
    data[0].push(t / 1000);
    data[1].push(b ? b.success : 0);
    data[2].push(b ? b.failed : 0);
    data[3].push(b ? b.pending + b.processing : 0);
  }
  return data;
}

function drawStatus(name, buckets, count, step, width) {
  const data = statusSeries(buckets, count, step, width);
  const sum = (i) => data[i].reduce((a, b) => a + b, 0);
  $(`#chart-${name}`).setAttribute("aria-label",
    `${sum(1)} succeeded, ${sum(2)} failed, ${sum(3)} waiting in this window`);
  draw(name, data, [
    { label: "success", stroke: TONES.success, fill: "rgba(21,128,61,.12)" },
    { label: "failed", stroke: TONES.failed },
    { label: "waiting", stroke: TONES.waiting },
  ]);
}

function drawAmounts(amounts) {
  const days = [];
  const last = Math.floor(Date.now() / 86400000) * 86400000;
  for (let t = last - 29 * 86400000; t <= last; t += 86400000) days.push(t);
  const currencies = [...new Set(amounts.map((a) => a.currency || "?"))];
  const data = [days.map((t) => t / 1000), ...currencies.map((c) => days.map((t) => {
    const found = amounts.find((a) => a.day === new Date(t).toISOString().slice(0, 10) && (a.currency || "?") === c);
    return found ? found.amount : 0;
  }))];
  $("#chart-amount").setAttribute("aria-label", currencies.length
    ? currencies.map((c, i) => `${money(data[i + 1].reduce((a, b) => a + b, 0), c === "?" ? "USD" : c)} approved in 30 days`).join(", ")
    : "Nothing approved in the last 30 days");
  draw("amount", data, currencies.map((c, i) => ({ label: c, stroke: CURRENCY_TONES[i % CURRENCY_TONES.length] })));
}

// One uPlot per chart; rebuilt when its series change, otherwise given new data.
function draw(name, data, series) {
  const el = $(`#chart-${name}`);
  const key = series.map((s) => s.label).join("|");
  if (charts[name] && charts[name].key === key) return charts[name].plot.setData(data);
  if (charts[name]) charts[name].plot.destroy();
  const opts = { width: Math.max(el.clientWidth, 260), height: 200, series: [{}, ...series.map((s) => ({ ...s, width: 2 }))],
    axes: [{}, { size: name === "amount" ? 84 : 48 }], legend: { live: false } };
  charts[name] = { key, plot: new uPlot(opts, data, el) };
}

window.addEventListener("resize", () => {
  for (const name of Object.keys(charts)) {
    const el = $(`#chart-${name}`);
    charts[name].plot.setSize({ width: Math.max(el.clientWidth, 260), height: 200 });
  }
});

