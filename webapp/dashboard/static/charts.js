// The five charts of a model, redrawn in place (Plotly.react). An archived version is named as such and
// drawn dotted; an empty chart says what would fill it.

const PLOT_CONFIG = { displayModeBar: false, responsive: true };
// A legend even for one trace: it names the version (and says when it is archived).
const LAYOUT = { margin: { l: 50, r: 10, t: 30, b: 40 }, height: 240, legend: { orientation: "h" }, showlegend: true };

export function percentText(value) {
  return `${Number(value.toFixed(1))}%`;
}

// What a chart with no data says, in the middle of its axes.
function emptyNote(text) {
  return [{ text, showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5, font: { size: 13, color: "#666" } }];
}

export function label(version, statusOf) {
  return statusOf(version) === "archived" ? `${version} (archived)` : version;
}

// Routing divides all of a name's traffic in proportion to the percents (webapp/routing: slots by largest
// remainder over the total, random requests weighted over the total): 60 + 30 serves 66.7 / 33.3.
export function servedShares(versions) {
  const total = versions.reduce((sum, v) => sum + Number(v.traffic_percent), 0);
  return { total, share: (v) => (total > 0 ? (100 * Number(v.traffic_percent)) / total : 0) };
}

export function drawSplit(element, versions) {
  const { total, share } = servedShares(versions);
  const partial = total > 0 && total < 100;
  const hasShadow = versions.some((v) => Number(v.shadow_percent) > 0);
  const rows = hasShadow ? ["served", "shadow"] : ["served"];
  const traces = versions.map((v) => {
    const served = share(v);
    const text = served > 0 ? `${percentText(served)} served${partial ? ` (set ${percentText(Number(v.traffic_percent))})` : ""}` : "";
    return {
      type: "bar",
      orientation: "h",
      name: `${v.version} (${v.status})`,
      y: rows,
      x: hasShadow ? [served, Number(v.shadow_percent)] : [served],
      text: hasShadow ? [text, Number(v.shadow_percent) > 0 ? `${percentText(Number(v.shadow_percent))} mirrored` : ""] : [text],
      textposition: "inside",
      hovertemplate: `${v.version}: %{x:.1f}%<extra></extra>`,
    };
  });
  const layout = {
    ...LAYOUT,
    title: { text: partial ? `Split: share served (the percents add up to ${percentText(total)})` : "Split: % of traffic served" },
    barmode: "stack",
    xaxis: { range: [0, 100] },
    legend: { ...LAYOUT.legend, traceorder: "normal" }, // stacked bars would list the versions backwards
    annotations: total > 0 ? [] : emptyNote("No traffic: no version has a share (PUT /models/<name>/split)"),
  };
  Plotly.react(element.querySelector(".split"), traces, layout, PLOT_CONFIG);
  element.querySelector(".split-note").textContent = splitNote(versions, total, share);
}

function splitNote(versions, total, share) {
  const active = versions.filter((v) => v.status === "active");
  if (active.length && total === 0) {
    return "Every active version is at 0%: routed requests are refused (409); a version is served only when named.";
  }
  if (total <= 0 || total >= 100) return "";
  const shares = active.filter((v) => Number(v.traffic_percent) > 0)
    .map((v) => `${v.version} (set ${percentText(Number(v.traffic_percent))}) serves ${percentText(share(v))}`);
  return `The split adds up to ${percentText(total)}, not 100%. Every request is still answered: routing divides ` +
    `all traffic in proportion to the percents, so ${shares.join(" and ")}.`;
}

export function drawRate(element, timeseries, statusOf) {
  const traces = timeseries.series.map((s) => ({
    type: "scatter",
    mode: "lines",
    name: label(s.model_version, statusOf),
    x: timeseries.minutes,
    y: s.counts,
    line: statusOf(s.model_version) === "archived" ? { dash: "dot" } : {},
  }));
  const any = timeseries.series.some((s) => s.counts.some((count) => count > 0));
  const layout = {
    ...LAYOUT,
    title: { text: "Requests per minute, last hour" },
    xaxis: { visible: any },
    yaxis: { visible: any },
    annotations: any ? [] : emptyNote("No predictions in the last hour: POST /predict"),
  };
  Plotly.react(element.querySelector(".rate"), traces, layout, PLOT_CONFIG);
}

export function drawLatency(element, stats, statusOf) {
  const x = stats.map((s) => label(s.model_version, statusOf));
  const traces = [
    { type: "bar", name: "p50", x, y: stats.map((s) => s.p50_latency) },
    { type: "bar", name: "p95", x, y: stats.map((s) => s.p95_latency) },
  ];
  const layout = {
    ...LAYOUT,
    title: { text: "Latency, ms" },
    barmode: "group",
    xaxis: { type: "category", visible: stats.length > 0 },
    yaxis: { visible: stats.length > 0 },
    annotations: stats.length ? [] : emptyNote("No predictions counted yet: POST /predict (counted at each stats refresh)"),
  };
  Plotly.react(element.querySelector(".latency"), stats.length ? traces : [], layout, PLOT_CONFIG);
}

export function drawAccuracy(element, experiment, order, statusOf) {
  const arms = (experiment ? experiment.arms : []).filter((arm) => arm.accuracy !== null);
  arms.sort((a, b) => order(a) - order(b));
  const traces = arms.map((arm) => ({
    type: "scatter",
    mode: "markers",
    name: label(arm.model_version, statusOf),
    x: [label(arm.model_version, statusOf)],
    y: [arm.accuracy],
    error_y: {
      type: "data", symmetric: false,
      array: [arm.accuracy_ci[1] - arm.accuracy], arrayminus: [arm.accuracy - arm.accuracy_ci[0]],
    },
  }));
  const layout = {
    ...LAYOUT,
    title: { text: "Accuracy, 95% interval" },
    xaxis: { type: "category" },
    yaxis: { range: [0, 1] },
    annotations: arms.length ? [] : emptyNote("No feedback yet: POST /feedback with the prediction_id and its label"),
  };
  Plotly.react(element.querySelector(".accuracy"), traces, layout, PLOT_CONFIG);
}

// Reliability: per version, accuracy in each confidence bin against the bin's mean confidence. A calibrated
// version's points sit on the diagonal; the legend gives its expected calibration error.
export function drawCalibration(element, experiment, order, statusOf) {
  const arms = (experiment ? experiment.arms : []).filter((arm) => arm.calibration && arm.calibration.bins.length);
  arms.sort((a, b) => order(a) - order(b));
  const traces = arms.map((arm) => ({
    type: "scatter",
    mode: "lines+markers",
    name: `${label(arm.model_version, statusOf)} (ECE ${arm.calibration.expected_calibration_error.toFixed(3)})`,
    x: arm.calibration.bins.map((bin) => bin.mean_confidence),
    y: arm.calibration.bins.map((bin) => bin.accuracy),
    text: arm.calibration.bins.map((bin) => `${bin.labelled} labelled`),
  }));
  const diagonal = { type: "scatter", mode: "lines", name: "calibrated", x: [0, 1], y: [0, 1],
    line: { dash: "dot", color: "#999" }, hoverinfo: "skip" };
  const layout = {
    ...LAYOUT,
    title: { text: "Calibration: accuracy by confidence" },
    xaxis: { range: [0, 1], title: { text: "confidence" } },
    yaxis: { range: [0, 1] },
    annotations: arms.length ? [] : emptyNote("No labelled feedback yet: calibration compares confidence with labels"),
  };
  Plotly.react(element.querySelector(".calibration"), arms.length ? [...traces, diagonal] : [], layout, PLOT_CONFIG);
}
