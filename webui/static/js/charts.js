// Charts (Chart.js, vendored): per-epoch loss and metric (train vs test) with the kept epoch marked, ROC curves,
// and predicted-vs-actual. Pages pass their data as JSON in <script type="application/json">.
"use strict";

const COLORS = ["#2456c7", "#d9480f", "#1b7f43", "#7b2cbf", "#b08900", "#0b7285", "#c2255c", "#495057"];

function baseOptions(xTitle, yTitle) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "nearest", intersect: false },
    plugins: {
      legend: { position: "bottom", labels: { boxWidth: 12 } },
      // Tooltips show values by the pages' one number rule (common.js formatNumber).
      tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${window.formatNumber(c.parsed.y)}` } },
    },
    scales: {
      x: { type: "linear", title: { display: true, text: xTitle }, ticks: { precision: 0 } },
      y: { title: { display: Boolean(yTitle), text: yTitle } },
    },
  };
}

function lineSet(label, color, dashed) {
  return { label, data: [], borderColor: color, backgroundColor: color, borderDash: dashed ? [5, 4] : [],
    pointRadius: 3, tension: 0.15, spanGaps: true, clip: false };
}

// Two charts over epochs: loss (loss / val_loss) and the optimisation metric (Train / Test).
class EpochCharts {
  constructor(lossCanvas, metricCanvas, metric, bestEpoch, totalEpochs) {
    this.metric = metric;
    this.epochs = new Set();
    this.canvases = [lossCanvas, metricCanvas];
    const loss = baseOptions("epoch", "loss");
    const score = baseOptions("epoch", metric);
    for (const options of [loss, score]) {
      options.scales.x.min = 1;
      if (totalEpochs > 1) options.scales.x.suggestedMax = totalEpochs;
    }
    this.loss = new Chart(lossCanvas, { type: "line", data: { datasets: [
      lineSet("train loss", COLORS[0], false), lineSet("validation loss", COLORS[1], true)] }, options: loss });
    this.score = new Chart(metricCanvas, { type: "line", data: { datasets: [
      lineSet(`Train ${metric}`, COLORS[0], false), lineSet(`Test ${metric}`, COLORS[1], true)] }, options: score });
    this.bestEpoch = bestEpoch;
  }

  add(entry, redraw = true) {
    const epoch = Number(entry.epoch);
    if (!Number.isFinite(epoch) || this.epochs.has(epoch)) return;
    this.epochs.add(epoch);
    const push = (chart, index, value) => {
      if (typeof value === "number" && Number.isFinite(value)) chart.data.datasets[index].data.push({ x: epoch, y: value });
    };
    push(this.loss, 0, entry.loss);
    push(this.loss, 1, entry.val_loss);
    push(this.score, 0, entry[`Train ${this.metric}`]);
    push(this.score, 1, entry[`Test ${this.metric}`]);
    for (const canvas of this.canvases) canvas.dataset.points = String(this.epochs.size);
    if (redraw) this.update();
  }

  markBest(history) {
    const best = history.find((h) => Number(h.epoch) === Number(this.bestEpoch));
    if (!best) return;
    const marker = (value) => ({ label: `kept epoch ${this.bestEpoch}`, data: [{ x: best.epoch, y: value }],
      pointStyle: "triangle", pointRadius: 9, borderColor: "#111", backgroundColor: "#ffd43b", showLine: false, clip: false });
    if (typeof best.val_loss === "number") this.loss.data.datasets.push(marker(best.val_loss));
    const test = best[`Test ${this.metric}`];
    if (typeof test === "number") this.score.data.datasets.push(marker(test));
    this.update();
  }

  update() {
    this.loss.update("none");
    this.score.update("none");
  }
}

function rocChart(canvas, curves) {
  const datasets = curves.map((c, i) => ({
    label: `${c.label} (AUC ${window.formatNumber(c.auc)})`, data: c.fpr.map((x, j) => ({ x, y: c.tpr[j] })),
    borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length], pointRadius: 0, borderWidth: 2,
    showLine: true, stepped: false,
  }));
  datasets.push({ label: "chance", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], borderColor: "#adb5bd", borderDash: [4, 4],
    pointRadius: 0, showLine: true });
  const options = baseOptions("false positive rate", "true positive rate");
  options.scales.x.min = 0; options.scales.x.max = 1; options.scales.y.min = 0; options.scales.y.max = 1;
  options.scales.x.ticks = {};
  canvas.dataset.curves = String(curves.length);
  return new Chart(canvas, { type: "scatter", data: { datasets }, options });
}

function scatterChart(canvas, actual, predicted) {
  const points = actual.map((a, i) => ({ x: a, y: predicted[i] }));
  const all = actual.concat(predicted);
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const options = baseOptions("actual", "predicted");
  options.scales.x.ticks = {};
  canvas.dataset.points = String(points.length);
  return new Chart(canvas, { type: "scatter", data: { datasets: [
    { label: "validation rows", data: points, backgroundColor: "rgba(36,86,199,.55)", pointRadius: 3 },
    { label: "predicted = actual", data: [{ x: lo, y: lo }, { x: hi, y: hi }], borderColor: "#adb5bd",
      borderDash: [4, 4], pointRadius: 0, showLine: true },
  ] }, options });
}

function readJson(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

window.fitCharts = { EpochCharts, rocChart, scatterChart, readJson };

// The trained model page (and an evaluation's) draws everything it has at once.
document.addEventListener("DOMContentLoaded", () => {
  const model = readJson("model-data");
  if (!model) return;
  if (document.getElementById("loss-chart")) { // an evaluation's page has the evaluation only
    const charts = new EpochCharts(document.getElementById("loss-chart"), document.getElementById("metric-chart"),
      model.metric, model.best_epoch, (model.history || []).length);
    for (const entry of model.history || []) charts.add(entry, false);
    charts.markBest(model.history || []);
    window.fitCharts.model = charts;
  }
  const evaluation = model.evaluation;
  if (evaluation && evaluation.kind === "classification" && document.getElementById("roc-chart")) {
    rocChart(document.getElementById("roc-chart"), evaluation.roc || []);
  }
  if (evaluation && evaluation.kind === "regression" && document.getElementById("scatter-chart")) {
    scatterChart(document.getElementById("scatter-chart"), evaluation.actual, evaluation.predicted);
  }
});
