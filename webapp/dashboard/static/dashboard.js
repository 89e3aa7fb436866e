// The dashboard: reads the JSON API every 10 s and redraws in place (Plotly.react), no page reload.
// A read key, when the service asks for one, lives in sessionStorage and travels as X-API-Key only.
"use strict";

const REFRESH_MS = 10000;
const KEY_STORAGE = "router.readKey";
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const LAYOUT = { margin: { l: 50, r: 10, t: 30, b: 40 }, height: 240, legend: { orientation: "h" } };

class NeedsKey extends Error {}

async function api(path, { allow404 = false } = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  const response = await fetch(path, { headers: key ? { "X-API-Key": key } : {} });
  if (response.status === 401 || response.status === 403) throw new NeedsKey(path);
  if (allow404 && response.status === 404) return null;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

function askForKey() {
  const form = document.getElementById("key-form");
  form.hidden = false;
  form.onsubmit = (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, document.getElementById("key-input").value);
    form.hidden = true;
    refresh();
  };
}

function groupBy(items, keyOf) {
  const groups = new Map();
  for (const item of items) {
    if (!groups.has(keyOf(item))) groups.set(keyOf(item), []);
    groups.get(keyOf(item)).push(item);
  }
  return groups;
}

function section(name) {
  const id = `model-${name}`;
  let element = document.getElementById(id);
  if (element) return element;
  element = document.createElement("section");
  element.id = id;
  element.innerHTML = `
    <h2></h2>
    <p class="verdict"></p>
    <div class="charts">
      <div class="chart split"></div><div class="chart rate"></div>
      <div class="chart latency"></div><div class="chart accuracy"></div>
    </div>
    <div class="rollout"></div>
    <h3>Versions: promised before serving, measured in service</h3>
    <table class="versions"><thead><tr><th>version</th><th>family</th><th>model file</th>
    <th>offline metrics (promised)</th><th>online accuracy (measured)</th></tr></thead><tbody></tbody></table>
    <h3>Last 20 registry changes</h3>
    <table class="audit"><thead><tr><th>at</th><th>action</th><th>version</th><th>actor</th><th>after</th></tr>
    </thead><tbody></tbody></table>`;
  element.querySelector("h2").textContent = name;
  document.getElementById("models").appendChild(element);
  return element;
}

function drawSplit(element, versions) {
  const hasShadow = versions.some((v) => Number(v.shadow_percent) > 0);
  const rows = hasShadow ? ["traffic", "shadow"] : ["traffic"];
  const traces = versions.map((v) => ({
    type: "bar",
    orientation: "h",
    name: `${v.version} (${v.status})`,
    y: rows,
    x: hasShadow ? [Number(v.traffic_percent), Number(v.shadow_percent)] : [Number(v.traffic_percent)],
  }));
  const layout = {
    ...LAYOUT, title: { text: "Split, % of traffic" }, barmode: "stack", xaxis: { range: [0, 100] },
    legend: { ...LAYOUT.legend, traceorder: "normal" }, // stacked bars would list the versions backwards
  };
  Plotly.react(element.querySelector(".split"), traces, layout, PLOT_CONFIG);
}

function drawRate(element, timeseries) {
  const traces = timeseries.series.map((s) => ({
    type: "scatter", mode: "lines", name: s.model_version, x: timeseries.minutes, y: s.counts,
  }));
  const layout = { ...LAYOUT, title: { text: "Requests per minute, last hour" } };
  Plotly.react(element.querySelector(".rate"), traces, layout, PLOT_CONFIG);
}

function drawLatency(element, stats) {
  const x = stats.map((s) => s.model_version);
  const traces = [
    { type: "bar", name: "p50", x, y: stats.map((s) => s.p50_latency) },
    { type: "bar", name: "p95", x, y: stats.map((s) => s.p95_latency) },
  ];
  const layout = { ...LAYOUT, title: { text: "Latency, ms" }, barmode: "group", xaxis: { type: "category" } };
  Plotly.react(element.querySelector(".latency"), traces, layout, PLOT_CONFIG);
}

function drawAccuracy(element, experiment, order) {
  const arms = (experiment ? experiment.arms : []).filter((arm) => arm.accuracy !== null);
  arms.sort((a, b) => order(a) - order(b));
  const traces = arms.map((arm) => ({
    type: "scatter",
    mode: "markers",
    name: arm.model_version,
    x: [arm.model_version],
    y: [arm.accuracy],
    error_y: {
      type: "data", symmetric: false,
      array: [arm.accuracy_ci[1] - arm.accuracy], arrayminus: [arm.accuracy - arm.accuracy_ci[0]],
    },
  }));
  const layout = {
    ...LAYOUT, title: { text: "Accuracy, 95% interval" }, xaxis: { type: "category" }, yaxis: { range: [0, 1] },
  };
  Plotly.react(element.querySelector(".accuracy"), traces, layout, PLOT_CONFIG);
}

function verdict(experiment) {
  if (!experiment) return "No experiment data yet.";
  const srm = experiment.srm.mismatch
    ? `Sample ratio mismatch (p = ${experiment.srm.p_value.toExponential(2)}): the split is not what was asked`
    : "No sample ratio mismatch";
  // A shadow answers the same requests as the served version: its summary reads next to the decision.
  const shadows = (experiment.shadows || []).map((s) => ` Shadow: ${s.summary}`).join("");
  return `${srm}; decision: ${experiment.decision.reason}${shadows}`;
}

function describeRollout(rollouts, experiment) {
  // GET /models/<name>/rollouts: newest first; only a running or paused one is in progress.
  const current = (rollouts || []).find((r) => r.state === "running" || r.state === "paused");
  const moving = experiment && experiment.allocation;
  if (!current && moving && moving.mode === "bandit") {
    return `Bandit ${moving.id} ${moving.state}: the split above follows each arm's chance of being best. ${moving.note}`;
  }
  if (!current) return "No rollout.";
  const checks = current.guardrails
    .map((c) => `${c.name} ${c.value === null ? "n/a" : c.value} (limit ${c.limit ?? "none"})${c.breached ? " BREACHED" : ""}`)
    .join(", ");
  return `Rollout of ${current.candidate} over ${current.baseline}: ${current.state}, step ${current.step_index + 1} ` +
    `of ${current.steps.length}, ${current.current_percent}% of traffic; guardrails: ${checks || "none"}.`;
}

function fillVersions(element, versions, experiment) {
  // Online accuracy is the experiment's, from labelled feedback: only versions that served have one.
  const arms = new Map((experiment ? experiment.arms : []).map((arm) => [arm.model_id, arm]));
  const body = element.querySelector(".versions tbody");
  body.replaceChildren(...versions.map((v) => {
    const arm = arms.get(v.model_id);
    const file = v.artifact ? `${v.artifact.sha256.slice(0, 12)} (${(v.artifact.size_bytes / 1e6).toFixed(1)} MB)` : "";
    const offline = Object.entries(v.metrics || {}).map(([k, x]) => `${k} ${Number(x).toFixed(3)}`).join(", ");
    const online = arm && arm.accuracy !== null
      ? `${arm.accuracy.toFixed(3)} on ${arm.labelled_count} labelled` : "no labelled feedback";
    const row = document.createElement("tr");
    for (const value of [v.version, v.algorithm, file, offline || "none", online]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.appendChild(cell);
    }
    return row;
  }));
}

function fillAudit(element, entries, versionOf) {
  const body = element.querySelector(".audit tbody");
  body.replaceChildren(...entries.map((entry) => {
    const row = document.createElement("tr");
    const version = versionOf.get(entry.model_id) || (entry.after && entry.after.version) || "";
    for (const value of [entry.at, entry.action, version, entry.actor, JSON.stringify(entry.after)]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.appendChild(cell);
    }
    return row;
  }));
}

async function drawModel(name, versions, stats, timeseries, rolloutsDeclared) {
  const element = section(name);
  const [experiment, audit, rollouts] = await Promise.all([
    api(`/experiments/${encodeURIComponent(name)}`, { allow404: true }),
    api(`/audit?model=${encodeURIComponent(name)}&limit=20`),
    rolloutsDeclared ? api(`/models/${encodeURIComponent(name)}/rollouts`, { allow404: true }) : null,
  ]);
  drawSplit(element, versions);
  const order = (s) => versions.findIndex((v) => v.model_id === s.model_id); // registry order, oldest first
  const series = timeseries.series.filter((s) => s.model_name === name).sort((a, b) => order(a) - order(b));
  drawRate(element, { minutes: timeseries.minutes, series });
  drawLatency(element, stats.filter((s) => s.model_name === name && s.request_count > 0));
  drawAccuracy(element, experiment, order);
  element.querySelector(".verdict").textContent = verdict(experiment);
  element.querySelector(".rollout").textContent = describeRollout(rollouts, experiment);
  fillVersions(element, versions, experiment);
  fillAudit(element, audit.entries, new Map(versions.map((v) => [v.model_id, v.version])));
}

let rolloutsDeclared = null; // whether this service has GET /models/<name>/rollouts, read once from the contract

async function refresh() {
  const status = document.getElementById("status");
  try {
    if (rolloutsDeclared === null) {
      const contract = await api("/openapi.json");
      rolloutsDeclared = "/models/{name}/rollouts" in contract.paths;
    }
    const [versions, stats, timeseries] = await Promise.all([
      api("/models"), api("/models/stats"), api("/models/stats/timeseries?minutes=60"),
    ]);
    const byName = groupBy(versions, (v) => v.name);
    await Promise.all([...byName].map(([name, list]) => drawModel(name, list, stats, timeseries, rolloutsDeclared)));
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    if (error instanceof NeedsKey) {
      status.textContent = "needs a read API key";
      askForKey();
    } else {
      status.textContent = `update failed: ${error.message}`;
    }
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
