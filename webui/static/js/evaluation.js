// The trained model page's richer evaluation (Chart.js): the binary decision chart with its threshold and cost
// matrix, lift, calibration and probability density; the confusion matrix counts / normalised toggle; for regression
// the error histogram and residuals against predictions. The data is the page's model-data JSON (evaluation.charts).
"use strict";

const EVAL_COLORS = ["#2456c7", "#d9480f", "#1b7f43", "#7b2cbf", "#b08900"];

function evalOptions(xTitle, yTitle, unitX) {
  const fmt = (v) => window.formatNumber(v);
  return {
    responsive: true, maintainAspectRatio: false, animation: false,
    interaction: { mode: "nearest", intersect: false },
    plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } },
      tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt(c.parsed.x)} → ${fmt(c.parsed.y)}` } } },
    scales: {
      x: { type: "linear", title: { display: true, text: xTitle }, ...(unitX ? { min: 0, max: 1 } : {}) },
      y: { title: { display: true, text: yTitle } },
    },
  };
}

function line(label, xs, ys, color, extra = {}) {
  return { label, data: xs.map((x, i) => ({ x, y: ys[i] })), borderColor: color, backgroundColor: color,
    pointRadius: 0, borderWidth: 2, showLine: true, ...extra };
}

// Average gain per row at each threshold for gains G {tp, tn, fp, fn}.
function gains(decision, g) {
  return decision.thresholds.map((_, i) => {
    const n = decision.tp[i] + decision.tn[i] + decision.fp[i] + decision.fn[i];
    const total = g.tp * decision.tp[i] + g.tn * decision.tn[i] + g.fp * decision.fp[i] + g.fn * decision.fn[i];
    return n ? total / n : 0;
  });
}

class DecisionChart {
  constructor(decision) {
    this.decision = decision;
    this.input = document.getElementById("threshold-input");
    this.canvas = document.getElementById("decision-chart");
    const t = decision.thresholds;
    const datasets = [
      line("precision", t, decision.precision, EVAL_COLORS[0]),
      line("recall", t, decision.recall, EVAL_COLORS[1]),
      line("F1", t, decision.f1, EVAL_COLORS[2]),
      line("gain per row", t, t.map(() => 0), EVAL_COLORS[3], { borderDash: [5, 4] }),
      line("threshold", [0, 0], [0, 1], "#111", { borderWidth: 1.5 }),
    ];
    this.chart = new Chart(this.canvas, { type: "scatter", data: { datasets },
      options: evalOptions("threshold", "score", true) });
    for (const id of ["gain-tp", "gain-tn", "gain-fp", "gain-fn", "threshold-input"]) {
      document.getElementById(id).addEventListener("input", () => this.update());
    }
    const f1 = document.getElementById("threshold-f1");
    f1.addEventListener("click", () => { this.input.value = f1.dataset.value; this.update(); });
    const save = document.getElementById("threshold-save");
    if (save) save.addEventListener("click", () => this.save(save));
    this.update();
  }

  gainsNow() {
    const value = (id) => Number(document.getElementById(id).value) || 0;
    return { tp: value("gain-tp"), tn: value("gain-tn"), fp: value("gain-fp"), fn: value("gain-fn") };
  }

  // The table row of the threshold in the input: the first of the 101 at or above it ("positive when p >= t").
  index() {
    const t = Math.min(1, Math.max(0, Number(this.input.value) || 0));
    const i = this.decision.thresholds.findIndex((x) => x >= t - 1e-9);
    return { t, i: i < 0 ? this.decision.thresholds.length - 1 : i };
  }

  update() {
    const d = this.decision;
    const { t, i } = this.index();
    const gain = gains(d, this.gainsNow());
    const sets = this.chart.data.datasets;
    sets[3].data = d.thresholds.map((x, j) => ({ x, y: gain[j] }));
    const lo = Math.min(0, ...gain);
    const hi = Math.max(1, ...gain);
    sets[4].data = [{ x: t, y: lo }, { x: t, y: hi }];
    this.chart.update("none");
    for (const cell of ["tp", "fp", "tn", "fn"]) {
      document.querySelector(`#threshold-cm [data-cell="${cell}"]`).textContent = String(d[cell][i]);
    }
    const f = window.formatNumber;
    document.getElementById("threshold-scores").textContent =
      `at ${f(d.thresholds[i])}: precision ${f(d.precision[i])} · recall ${f(d.recall[i])} · F1 ${f(d.f1[i])} · gain ${f(gain[i])}`;
    this.canvas.dataset.threshold = String(d.thresholds[i]);
    this.canvas.dataset.gain = String(gain[i]);
  }

  async save(button) {
    const status = document.getElementById("threshold-status");
    const threshold = Number(this.input.value);
    button.disabled = true;
    try {
      const response = await fetch(button.dataset.url, { method: "PUT", body: JSON.stringify({ threshold }),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.csrfToken(), Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
      this.input.dataset.saved = String(body.threshold);
      status.className = "small";
      status.textContent = `Saved threshold: ${body.threshold}`;
    } catch (err) {
      status.className = "small error";
      status.textContent = `Not saved: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }
}

function liftChart(canvas, lift) {
  const datasets = [
    line("model", lift.fraction, lift.gain, EVAL_COLORS[0]),
    line("random", [0, 1], [0, 1], "#adb5bd", { borderDash: [4, 4] }),
  ];
  const rate = lift.positive_rate;
  if (rate > 0) datasets.push(line("perfect", [0, rate, 1], [0, 1, 1], EVAL_COLORS[2], { borderDash: [2, 3] }));
  const options = evalOptions("share of rows, highest probability first", "share of positives found", true);
  canvas.dataset.points = String(lift.fraction.length);
  return new Chart(canvas, { type: "scatter", data: { datasets }, options });
}

function calibrationChart(canvas, cal) {
  const datasets = [
    line("model", cal.mean_predicted, cal.fraction_positive, EVAL_COLORS[1], { pointRadius: 4 }),
    line("perfectly calibrated", [0, 1], [0, 1], "#adb5bd", { borderDash: [4, 4] }),
  ];
  const options = evalOptions("mean predicted probability", "share of positives", true);
  options.scales.y.min = 0; options.scales.y.max = 1;
  canvas.dataset.points = String(cal.mean_predicted.length);
  return new Chart(canvas, { type: "scatter", data: { datasets }, options });
}

function densityChart(canvas, density) {
  const datasets = density.classes.map((c, i) => line(`actual ${c.label} (${c.count} rows)`, density.centers,
    c.density, EVAL_COLORS[i % EVAL_COLORS.length], { fill: true, backgroundColor: `${EVAL_COLORS[i]}33`, tension: 0.3 }));
  canvas.dataset.curves = String(datasets.length);
  return new Chart(canvas, { type: "scatter", data: { datasets },
    options: evalOptions("predicted probability", "density", true) });
}

function errorHistogram(canvas, hist) {
  const labels = hist.counts.map((_, i) => window.formatNumber((hist.edges[i] + hist.edges[i + 1]) / 2));
  canvas.dataset.bins = String(hist.counts.length);
  const options = evalOptions("error (predicted − actual)", "rows", false);
  options.scales.x = { type: "category", title: { display: true, text: "error (predicted − actual)" } };
  options.plugins.tooltip.callbacks.label = (c) => `${c.label}: ${c.parsed.y} rows`;
  return new Chart(canvas, { type: "bar", data: { labels, datasets: [{ label: "validation rows",
    data: hist.counts, backgroundColor: "rgba(36,86,199,.6)", barPercentage: 1, categoryPercentage: 1 }] }, options });
}

function residualsChart(canvas, res) {
  const points = res.predicted.map((x, i) => ({ x, y: res.error[i] }));
  const lo = Math.min(...res.predicted);
  const hi = Math.max(...res.predicted);
  canvas.dataset.points = String(points.length);
  return new Chart(canvas, { type: "scatter", data: { datasets: [
    { label: "validation rows", data: points, backgroundColor: "rgba(36,86,199,.45)", pointRadius: 2 },
    line("no error", [lo, hi], [0, 0], "#adb5bd", { borderDash: [4, 4] }),
  ] }, options: evalOptions("predicted", "error (predicted − actual)", false) });
}

// Counts or shares of the actual class in the confusion matrix cells.
function confusionToggle() {
  const table = document.getElementById("confusion-matrix");
  const group = document.getElementById("cm-toggle");
  if (!table || !group) return;
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-cm-mode]");
    if (!button) return;
    const mode = button.dataset.cmMode;
    table.dataset.mode = mode;
    for (const cell of table.querySelectorAll("td[data-count]")) {
      cell.textContent = mode === "norm" ? window.formatNumber(Number(cell.dataset.norm)) : cell.dataset.count;
    }
    for (const b of group.querySelectorAll("button")) {
      b.classList.toggle("primary", b === button);
      b.setAttribute("aria-pressed", String(b === button));
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const node = document.getElementById("model-data");
  const evaluation = node ? JSON.parse(node.textContent).evaluation : null;
  confusionToggle();
  const charts = (evaluation && evaluation.charts) || {};
  const canvas = (id) => document.getElementById(id);
  if (charts.decision && canvas("decision-chart")) window.fitDecision = new DecisionChart(charts.decision);
  if (charts.lift && canvas("lift-chart")) liftChart(canvas("lift-chart"), charts.lift);
  if (charts.calibration && canvas("calibration-chart")) calibrationChart(canvas("calibration-chart"), charts.calibration);
  if (charts.density && canvas("density-chart")) densityChart(canvas("density-chart"), charts.density);
  if (charts.error_histogram && canvas("error-histogram")) errorHistogram(canvas("error-histogram"), charts.error_histogram);
  if (charts.residuals && canvas("residuals-chart")) residualsChart(canvas("residuals-chart"), charts.residuals);
});
