// The compare page: every session's curve of one logged metric (train solid, validation dashed), the metric chosen
// in a select. The data comes from the page as JSON (compare-data): {metric, sessions: [{number, history}]}.
"use strict";

(() => {
  const COLORS = ["#2456c7", "#d9480f", "#1b7f43", "#7b2cbf", "#b08900", "#0b7285", "#c2255c", "#495057", "#5c940d", "#862e9c"];

  // A log key as (metric, split): "val_loss" and "Test ROC AUC" are validation, "loss" and "Train ROC AUC" train.
  function splitKey(key) {
    if (key.startsWith("val_")) return [key.slice(4), "validation"];
    if (key.startsWith("Test ")) return [key.slice(5), "validation"];
    if (key.startsWith("Train ")) return [key.slice(6), "train"];
    return [key, "train"];
  }

  function metricsOf(sessions) {
    const names = [];
    for (const s of sessions) {
      for (const entry of s.history) {
        for (const key of Object.keys(entry)) {
          const [name] = splitKey(key);
          if (key !== "epoch" && !names.includes(name)) names.push(name);
        }
      }
    }
    return names;
  }

  function datasets(sessions, metric) {
    const out = [];
    sessions.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      for (const split of ["train", "validation"]) {
        const data = [];
        for (const entry of s.history) {
          for (const [key, value] of Object.entries(entry)) {
            const [name, which] = splitKey(key);
            if (key !== "epoch" && name === metric && which === split && typeof value === "number") {
              data.push({ x: Number(entry.epoch), y: value });
            }
          }
        }
        if (data.length) {
          out.push({ label: `s${s.number} ${split}`, data, borderColor: color, backgroundColor: color,
            borderDash: split === "validation" ? [5, 4] : [], pointRadius: 3, tension: 0.15, spanGaps: true });
        }
      }
    });
    return out;
  }

  function options(metric) {
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "nearest", intersect: false },
      plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${window.formatNumber(c.parsed.y)}` } } },
      scales: { x: { type: "linear", min: 1, title: { display: true, text: "epoch" }, ticks: { precision: 0 } },
        y: { title: { display: true, text: metric } } },
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = window.fitCharts.readJson("compare-data");
    const canvas = document.getElementById("compare-chart");
    const select = document.getElementById("curve-metric");
    if (!data || !canvas || !select) return;
    const names = metricsOf(data.sessions);
    names.forEach((n) => select.add(new Option(n, n)));
    select.value = names.includes(data.metric) ? data.metric : (names.includes("loss") ? "loss" : names[0] || "");
    const chart = new Chart(canvas, { type: "line", data: { datasets: [] }, options: options(select.value) });
    function draw() {
      chart.data.datasets = datasets(data.sessions, select.value);
      chart.options.scales.y.title.text = select.value;
      chart.update("none");
      // What tests and people can read without the pixels: how many curves are drawn, and for which metric.
      canvas.dataset.curves = String(chart.data.datasets.length);
      canvas.dataset.metric = select.value;
    }
    select.addEventListener("change", draw);
    draw();
    window.fitCharts.compare = chart;
  });
})();
