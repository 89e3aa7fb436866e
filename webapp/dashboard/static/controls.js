// The controls of a model's section, shown only once an admin key is entered. Every action goes through
// the same REST endpoint as curl would (JSON, the key as X-API-Key), shows the API's own message when it
// is refused, and the page then refreshes, so the change shows in the charts and the audit table.

import { adminKey, apiWithEtag, Refused, send } from "./api.js";

const FALLBACK_STEPS = [1, 5, 25, 50, 100]; // RolloutRequest's default steps (a default_factory: not in the schema)

export const CONTROLS_HTML = `
  <div class="controls" hidden>
    <h3>Change this model <small>(with the admin key)</small></h3>
    <p class="control-message" role="alert"></p>
    <form class="split-form" novalidate><fieldset><legend>Split</legend>
      <span class="split-inputs"></span>
      <button type="submit">Set split</button> <button type="button" class="split-reload">Reload</button>
      <small>Empty: the version leaves the split (inactive). 0: active at 0%, served only when named.</small>
    </fieldset></form>
    <form class="rollout-form" novalidate><fieldset><legend>Start a rollout</legend>
      <label>candidate <select name="candidate"></select></label>
      <label>baseline <select name="baseline"><option value="">the version with most traffic</option></select></label>
      <label>steps, % <input name="steps" size="16"></label>
      <label>seconds per step <input name="step_seconds" type="number" size="6"></label>
      <label>requests per step <input name="min_requests_per_step" type="number" size="6"></label>
      <label>max accuracy drop <input name="max_accuracy_drop" type="number" step="0.01" size="5"></label>
      <label class="gate-option" hidden><input type="checkbox" name="gate"> wait for approval before the last step</label>
      <button type="submit">Start rollout</button>
    </fieldset></form>
    <div class="rollout-actions" hidden>
      <button type="button" data-action="pause">Pause rollout</button>
      <button type="button" data-action="resume">Resume rollout</button>
      <button type="button" data-action="promote">Promote (approve the next step)</button>
      <button type="button" data-action="abort">Abort rollout</button>
    </div>
    <form class="shadow-form" novalidate><fieldset><legend>Shadow</legend>
      <label>version <select name="version"></select></label>
      <label>% of routed requests mirrored <input name="percent" type="number" value="10" size="5"></label>
      <button type="submit">Set shadow</button>
      <span class="shadow-stops"></span>
    </fieldset></form>
  </div>`;

function say(element, text, refused) {
  const message = element.querySelector(".control-message");
  message.textContent = text;
  message.classList.toggle("refused", refused);
}

// One action: the page refreshes, then says the answer (or the API's refusal) above the controls.
async function act(element, done, action) {
  let message, refused = false;
  try {
    message = await action();
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    refused = true;
    message = `Refused (HTTP ${error.status}): ${error.status === 412 ? "someone changed it; reload" : error.message}`;
  }
  await done();
  say(element, message, refused);
}

function options(select, values, keep) {
  const chosen = select.value;
  select.replaceChildren(...keep, ...values.map((value) => new Option(value, value)));
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
}

// The split form holds what GET /models/<name>/split answered and its ETag, until someone edits it:
// a refresh does not overwrite an edit, and the PUT then sends the ETag the edit started from.
async function loadSplit(element, name, versions) {
  const form = element.querySelector(".split-form");
  const { body, etag } = await apiWithEtag(`/models/${encodeURIComponent(name)}/split`);
  if (form.dataset.dirty && form.querySelector(".split-inputs input")) return; // edited while this was read
  const weights = new Map(body.versions.map((v) => [v.version, v.traffic_percent]));
  form.querySelector(".split-inputs").replaceChildren(...versions.map((v) => {
    const field = document.createElement("label");
    const input = document.createElement("input");
    Object.assign(input, { type: "number", name: v.version, size: 5, step: "any" });
    input.value = weights.has(v.version) ? String(weights.get(v.version)) : "";
    field.append(`${v.version} `, input, " %");
    return field;
  }));
  form.dataset.etag = etag;
  form.dataset.dirty = "";
}

function splitWeights(form) {
  const weights = {};
  for (const input of form.querySelectorAll(".split-inputs input")) {
    if (input.value.trim() !== "") weights[input.name] = Number(input.value);
  }
  return weights;
}

function rolloutBody(form) {
  const steps = form.steps.value.split(/[\s,]+/).filter(Boolean).map((step) => (isNaN(Number(step)) ? step : Number(step)));
  if (form.gate.checked && steps.length) steps[steps.length - 1] = { percent: steps[steps.length - 1], gate: "manual" };
  const body = {
    candidate: form.candidate.value,
    steps,
    step_seconds: Number(form.step_seconds.value),
    min_requests_per_step: Number(form.min_requests_per_step.value),
    guardrails: { max_accuracy_drop: form.max_accuracy_drop.value === "" ? null : Number(form.max_accuracy_drop.value) },
  };
  if (form.baseline.value) body.baseline = form.baseline.value;
  return body;
}

function fillRolloutDefaults(form, schema) {
  const fields = (schema && schema.properties) || {};
  const guardrails = (schema && schema.guardrails) || {};
  form.steps.value = FALLBACK_STEPS.join(", ");
  form.step_seconds.value = fields.step_seconds ? fields.step_seconds.default : 300;
  form.min_requests_per_step.value = fields.min_requests_per_step ? fields.min_requests_per_step.default : 200;
  form.max_accuracy_drop.value = guardrails.max_accuracy_drop ? guardrails.max_accuracy_drop.default : 0.02;
}

// Built once per section: the handlers read the state the last refresh left in `state`.
function wire(element, name, state) {
  const path = `/models/${encodeURIComponent(name)}`;
  const split = element.querySelector(".split-form");
  split.addEventListener("input", () => { split.dataset.dirty = "1"; });
  split.addEventListener("submit", (event) => {
    event.preventDefault();
    act(element, state.refresh, async () => {
      const answer = await send("PUT", `${path}/split`, { weights: splitWeights(split) }, { "If-Match": split.dataset.etag });
      split.dataset.dirty = "";
      return `Split set: ${answer.versions.map((v) => `${v.version} ${v.traffic_percent}%`).join(", ") || "no version active"}.`;
    });
  });
  element.querySelector(".split-reload").addEventListener("click", () => {
    split.dataset.dirty = "";
    act(element, state.refresh, async () => "Split reloaded.");
  });
  const rollout = element.querySelector(".rollout-form");
  fillRolloutDefaults(rollout, state.contract.rolloutSchema);
  rollout.querySelector(".gate-option").hidden = !state.contract.promote;
  rollout.addEventListener("submit", (event) => {
    event.preventDefault();
    act(element, state.refresh, async () => {
      const started = await send("POST", `${path}/rollouts`, rolloutBody(rollout));
      return `Rollout ${started.id} started: ${started.candidate} at ${started.current_percent}% of traffic.`;
    });
  });
  for (const button of element.querySelectorAll(".rollout-actions button")) {
    button.addEventListener("click", () => act(element, state.refresh, async () => {
      const answer = await send("POST", `/rollouts/${state.rollout.id}/${button.dataset.action}`, {});
      return `Rollout ${answer.id}: ${button.dataset.action} done, now ${answer.state} at ${answer.current_percent}%.`;
    }));
  }
  const shadow = element.querySelector(".shadow-form");
  shadow.addEventListener("submit", (event) => {
    event.preventDefault();
    act(element, state.refresh, () => setShadow(state, shadow.version.value, shadow.percent.value));
  });
}

async function setShadow(state, version, percent) {
  const target = state.versions.find((v) => v.version === version);
  const value = percent === "" ? percent : Number(percent);
  const answer = await send("POST", `/models/${target.model_id}/shadow`, { percent: value });
  return Number(answer.shadow_percent) > 0
    ? `${answer.version} now mirrors ${answer.shadow_percent}% of routed requests.` : `${answer.version} no longer mirrors.`;
}

const states = new WeakMap();

// Show (with an admin key) or hide the controls, and bring them up to date with this refresh.
export async function updateControls(element, name, { versions, rollout, contract, refresh }) {
  const box = element.querySelector(".controls");
  box.hidden = !adminKey();
  if (box.hidden) return;
  if (!states.has(element)) {
    states.set(element, { contract, refresh });
    wire(element, name, states.get(element));
  }
  const state = Object.assign(states.get(element), { versions, rollout });
  const split = element.querySelector(".split-form");
  const known = [...split.querySelectorAll(".split-inputs input")].map((input) => input.name).join();
  if (!split.dataset.dirty || known !== versions.map((v) => v.version).join()) await loadSplit(element, name, versions);
  const labels = versions.map((v) => v.version);
  const form = element.querySelector(".rollout-form");
  options(form.candidate, labels, []);
  if (!form.candidate.dataset.chosen && labels.length) form.candidate.value = labels[labels.length - 1];
  form.candidate.dataset.chosen = "1";
  options(form.baseline, labels, [new Option("the version with most traffic", "")]);
  form.hidden = Boolean(rollout);
  const actions = element.querySelector(".rollout-actions");
  actions.hidden = !rollout;
  if (rollout) {
    const show = { pause: rollout.state === "running", resume: rollout.state === "paused", abort: true,
      promote: Boolean(contract.promote) && rollout.waiting_for === "approval" };
    for (const button of actions.querySelectorAll("button")) button.hidden = !show[button.dataset.action];
  }
  options(element.querySelector(".shadow-form").version, labels, []);
  element.querySelector(".shadow-stops").replaceChildren(...versions.filter((v) => Number(v.shadow_percent) > 0).map((v) => {
    const stop = document.createElement("button");
    Object.assign(stop, { type: "button", className: "shadow-stop", textContent: `Stop shadow of ${v.version}` });
    stop.addEventListener("click", () => act(element, refresh, () => setShadow(state, v.version, "0")));
    return stop;
  }));
}
