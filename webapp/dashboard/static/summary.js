// The words of a model's section: the summary in plain English with its statistical detail one click away,
// the rollout, the versions table and the audit table (every row naming its version, archived ones too).

function percent(value) {
  return `${Math.round(value * 1000) / 10}%`;
}

function list(words) {
  return words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function rated(experiment) {
  const labelled = experiment.arms.reduce((sum, arm) => sum + arm.labelled_count, 0);
  return labelled === 1 ? "1 prediction has been rated" : `${labelled} predictions have been rated`;
}

function moreNeeded(power) {
  if (!power || !power.missing) return "";
  const hours = power.estimated_hours;
  const when = hours === null || hours === undefined ? "" : `, about ${hours < 1 ? "under an hour" : `${Math.ceil(hours)} hours`} at the current rate of feedback`;
  return ` About ${power.missing} more rated predictions would settle it${when}.`;
}

function scores(experiment) {
  const arms = experiment.arms.filter((arm) => arm.accuracy !== null);
  return list(arms.map((arm) => `${arm.model_version} is right ${percent(arm.accuracy)} of the time`));
}

// One or two sentences a product manager reads without a statistics course.
export function plainSummary(experiment) {
  if (!experiment) return "No version has served anyone yet, so there is nothing to compare.";
  const { decision } = experiment;
  // An arm is a version in the current split; it has served only if it routed requests since the split changed.
  const serving = experiment.arms.filter((arm) => arm.routed_in_epoch > 0).map((arm) => arm.model_version);
  switch (decision.status) {
    case "winner": {
      const winner = experiment.arms.find((arm) => arm.model_version === decision.winner);
      const how = winner && winner.accuracy !== null && decision.metric === "accuracy"
        ? ` (${scores(experiment)})` : "";
      return `${decision.winner} is the better version${how}. The difference is too large to be chance: ` +
        "the experiment can stop.";
    }
    case "no_meaningful_difference":
      return `${list(serving)} do equally well for practical purposes: either can be kept, and the experiment can stop.`;
    case "no_difference_yet":
      return `No clear winner yet: ${scores(experiment) || "the versions score alike"}, and the gap could still be ` +
        `chance.${moreNeeded(experiment.power)}`;
    case "srm":
      return "Warning: the versions did not receive the share of traffic the split gives them, so these results " +
        "cannot be trusted. Look for something else changing the traffic (see the detail).";
    case "insufficient_data":
      if (serving.length === 0) return "No version has served anyone since the split last changed, so there is nothing to compare yet.";
      if (serving.length === 1) {
        return `Only ${serving[0]} has served users since the split last changed, so there is nothing to compare it ` +
          `with yet; ${rated(experiment)}. Give a second version a share of the split to start a comparison.`;
      }
      return `Too early to tell which version is better: ${rated(experiment)}, and each version needs at least 30 ` +
        `rated predictions before they are compared.${moreNeeded(experiment.power)}`;
    default:
      return decision.reason;
  }
}

// The statistics behind the summary, for whoever opens the <details>.
export function statisticalDetail(experiment) {
  if (!experiment) return "GET /experiments/<name> answered 404: the name has no experiment.";
  const srm = experiment.srm.mismatch
    ? `Sample ratio mismatch (p = ${experiment.srm.p_value.toExponential(2)}): the split is not what was asked.`
    : `No sample ratio mismatch${experiment.srm.p_value === null ? "" : ` (p = ${experiment.srm.p_value.toPrecision(2)})`}.`;
  const baseline = experiment.baseline ? ` Baseline: ${experiment.baseline}.` : "";
  const shadows = (experiment.shadows || []).map((s) => ` Shadow: ${s.summary}`).join("");
  return `${srm} Decision (${experiment.decision.status}): ${experiment.decision.reason.replace(/\.$/, "")}.${baseline}${shadows}`;
}

export function currentRollout(rollouts) {
  // GET /models/<name>/rollouts: newest first; only a running or paused one is in progress.
  return (rollouts || []).find((r) => r.state === "running" || r.state === "paused") || null;
}

export function describeRollout(current, experiment) {
  const moving = experiment && experiment.allocation;
  if (!current && moving && moving.mode === "bandit") {
    return `Bandit ${moving.id} ${moving.state}: the split above follows each arm's chance of being best. ${moving.note}`;
  }
  if (!current) return "No rollout.";
  const checks = current.guardrails
    .map((c) => `${c.name} ${c.value === null ? "n/a" : c.value} (limit ${c.limit ?? "none"})${c.breached ? " BREACHED" : ""}`)
    .join(", ");
  const waiting = current.waiting_for === "approval"
    ? ` Waiting for approval to go on to ${current.steps[current.step_index + 1]}%: promote it to continue.` : "";
  return `Rollout of ${current.candidate} over ${current.baseline}: ${current.state}, step ${current.step_index + 1} ` +
    `of ${current.steps.length}, ${current.current_percent}% of traffic; guardrails: ${checks || "none"}.${waiting}`;
}

function row(values) {
  const tr = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement("td");
    cell.textContent = value;
    tr.appendChild(cell);
  }
  return tr;
}

export function fillVersions(element, versions, experiment) {
  // Online accuracy is the experiment's, from labelled feedback: only versions that served have one.
  const arms = new Map((experiment ? experiment.arms : []).map((arm) => [arm.model_id, arm]));
  element.querySelector(".versions tbody").replaceChildren(...versions.map((v) => {
    const arm = arms.get(v.model_id);
    const file = v.artifact ? `${v.artifact.sha256.slice(0, 12)} (${(v.artifact.size_bytes / 1e6).toFixed(1)} MB)` : "";
    const offline = Object.entries(v.metrics || {}).map(([k, x]) => `${k} ${Number(x).toFixed(3)}`).join(", ");
    const online = arm && arm.accuracy !== null
      ? `${arm.accuracy.toFixed(3)} on ${arm.labelled_count} labelled` : "no labelled feedback";
    return row([v.version, v.algorithm, file, offline || "none", online]);
  }));
}

// The version(s) an audit entry is about: its model_id looked up among every version, archived ones
// included; a split or a bandit names its versions in `after` (or `before`, when the split emptied).
export function versionsNamed(entry, versionOf) {
  const known = entry.model_id && versionOf.get(entry.model_id);
  if (known) return known;
  for (const side of [entry.after, entry.before]) {
    if (!side || typeof side !== "object") continue;
    if (typeof side.version === "string") return side.version;
    const weights = side.weights && typeof side.weights === "object" ? side.weights : side;
    const names = Object.keys(weights).filter((key) => /^\d+\.\d+\.\d+/.test(key));
    if (names.length) return names.join(", ");
  }
  return entry.model_id ? entry.model_id.slice(0, 8) : "all versions";
}

export function fillAudit(element, entries, versionOf) {
  element.querySelector(".audit tbody").replaceChildren(...entries.map((entry) =>
    row([entry.at, entry.action, versionsNamed(entry, versionOf), entry.actor, JSON.stringify(entry.after)])));
}
