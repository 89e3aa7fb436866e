// The dashboard: reads the JSON API every 10 s and redraws in place (Plotly.react), no page reload.
// A read key, when the service asks for one, lives in sessionStorage and travels as X-API-Key only (api.js);
// so does an admin key, entered in the header, which shows the controls (controls.js).

import { ADMIN_KEY, adminKey, api, NeedsKey, READ_KEY } from "./api.js";
import { drawAccuracy, drawCalibration, drawLatency, drawRate, drawSplit } from "./charts.js";
import { CONTROLS_HTML, updateControls } from "./controls.js";
import {
  currentRollout, describeRollout, fillAudit, fillVersions, plainSummary, statisticalDetail,
} from "./summary.js";

const REFRESH_MS = 10000;

function askForKey() {
  const form = document.getElementById("key-form");
  form.hidden = false;
  form.onsubmit = (event) => {
    event.preventDefault();
    sessionStorage.setItem(READ_KEY, document.getElementById("key-input").value);
    form.hidden = true;
    refresh();
  };
}

function showAdminKey() {
  const set = Boolean(adminKey());
  document.getElementById("admin-form").hidden = set;
  document.getElementById("admin-set").hidden = !set;
}

function adminKeyForm() {
  document.getElementById("admin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("admin-input");
    if (!input.value) return;
    sessionStorage.setItem(ADMIN_KEY, input.value);
    input.value = "";
    showAdminKey();
    refresh();
  });
  document.getElementById("admin-forget").addEventListener("click", () => {
    sessionStorage.removeItem(ADMIN_KEY);
    showAdminKey();
    refresh();
  });
  showAdminKey();
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
    <details class="detail"><summary>Statistical detail</summary><p class="detail-text"></p></details>
    <div class="charts">
      <div class="chart split"></div><div class="chart rate"></div>
      <div class="chart latency"></div><div class="chart accuracy"></div>
      <div class="chart calibration"></div>
    </div>
    <p class="split-note"></p>
    <div class="rollout"></div>${CONTROLS_HTML}
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

async function drawModel(name, versions, archived, stats, timeseries) {
  const element = section(name);
  const [experiment, audit, rollouts] = await Promise.all([
    api(`/experiments/${encodeURIComponent(name)}`, { allow404: true }),
    api(`/audit?model=${encodeURIComponent(name)}&limit=20`),
    contract.rollouts ? api(`/models/${encodeURIComponent(name)}/rollouts`, { allow404: true }) : null,
  ]);
  // Registry order, oldest first; archived versions (hidden by GET /models) still name their rows and traces.
  const every = [...versions, ...archived].sort((a, b) => a.created_at.localeCompare(b.created_at));
  const statusOf = (version) => (every.find((v) => v.version === version) || {}).status;
  const order = (s) => every.findIndex((v) => v.model_id === s.model_id);
  drawSplit(element, versions);
  const series = timeseries.series.filter((s) => s.model_name === name).sort((a, b) => order(a) - order(b));
  drawRate(element, { minutes: timeseries.minutes, series }, statusOf);
  drawLatency(element, stats.filter((s) => s.model_name === name && s.request_count > 0), statusOf);
  drawAccuracy(element, experiment, order, statusOf);
  drawCalibration(element, experiment, order, statusOf);
  element.querySelector(".verdict").textContent = plainSummary(experiment);
  element.querySelector(".detail-text").textContent = statisticalDetail(experiment);
  const rollout = currentRollout(rollouts);
  element.querySelector(".rollout").textContent = describeRollout(rollout, experiment);
  fillVersions(element, versions, experiment);
  fillAudit(element, audit.entries, new Map(every.map((v) => [v.model_id, v.version])));
  await updateControls(element, name, { versions, rollout, contract, refresh });
}

// What this service declares in /openapi.json, read once: the page uses only what is there, and the
// rollout form starts from the defaults the contract states.
const contract = { read: false, rollouts: false, promote: false, rolloutSchema: null };

function readContract(document_) {
  contract.rollouts = "/models/{name}/rollouts" in document_.paths;
  contract.promote = "/rollouts/{rollout_id}/promote" in document_.paths;
  const schemas = (document_.components && document_.components.schemas) || {};
  if (schemas.RolloutRequest) {
    const guardrails = schemas.GuardrailsIn ? schemas.GuardrailsIn.properties : {};
    contract.rolloutSchema = { properties: schemas.RolloutRequest.properties, guardrails };
  }
  contract.read = true;
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    if (!contract.read) readContract(await api("/openapi.json"));
    const [versions, archived, stats, timeseries] = await Promise.all([
      api("/models"), api("/models?status=archived"), api("/models/stats"), api("/models/stats/timeseries?minutes=60"),
    ]);
    const archivedByName = groupBy(archived, (v) => v.name);
    const byName = groupBy(versions, (v) => v.name);
    await Promise.all([...byName].map(([name, list]) =>
      drawModel(name, list, archivedByName.get(name) || [], stats, timeseries)));
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

adminKeyForm();
refresh();
setInterval(refresh, REFRESH_MS);
