// The saved model page's evaluations over time (Chart.js): for each version, its optimisation metric on every
// dataset it was evaluated on (solid, one point per evaluation, oldest left) and the value it had on its validation
// split when trained (dashed), so drift shows as the gap between them. Data: the page's evaluations-data JSON.
"use strict";

(() => {
  const COLORS = ["#2456c7", "#d9480f", "#1b7f43", "#7b2cbf", "#b08900", "#0b7285"];

  function chartData(points) {
    const labels = points.map((p) => `#${p.id} ${p.dataset_name} (${p.when.slice(0, 10)})`);
    const versions = [...new Set(points.map((p) => p.version_id))];
    const datasets = [];
    versions.forEach((version, i) => {
      const color = COLORS[i % COLORS.length];
      const mine = (p) => p.version_id === version;
      const metric = (points.find(mine) || {}).metric || "metric";
      datasets.push({ label: `${version}: ${metric} on the dataset`, borderColor: color, backgroundColor: color,
        data: points.map((p) => (mine(p) ? p.value : null)), spanGaps: true, pointRadius: 4 });
      const trained = points.find((p) => mine(p) && typeof p.validation === "number");
      if (trained) {
        datasets.push({ label: `${version}: validation, when trained`, borderColor: color, backgroundColor: color,
          borderDash: [5, 4], pointRadius: 0, data: points.map(() => trained.validation) });
      }
    });
    return { labels, datasets };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const node = document.getElementById("evaluations-data");
    const canvas = document.getElementById("evaluations-chart");
    if (!node || !canvas || typeof Chart === "undefined") return;
    const points = JSON.parse(node.textContent);
    window.fitEvaluationsChart = new Chart(canvas, {
      type: "line",
      data: chartData(points),
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: { x: { title: { display: true, text: "evaluation (oldest first)" } }, y: { title: { display: true, text: "value" } } },
      },
    });
  });
})();
