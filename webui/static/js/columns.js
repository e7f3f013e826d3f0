// The dataset page's columns: small histograms (Chart.js, vendored) and the type selector, which sends
// PATCH /api/v1/datasets/{id}/columns/{name} (cookie + X-CSRF-Token) and shows how many values do not parse.
"use strict";

function drawHistograms() {
  const data = document.getElementById("column-histograms");
  if (!data || typeof Chart === "undefined") return;
  const histograms = JSON.parse(data.textContent);
  for (const canvas of document.querySelectorAll("canvas[data-histogram]")) {
    const hist = histograms[canvas.dataset.histogram];
    if (!hist) continue;
    const labels = hist.counts.map((_, i) => `${Number(hist.edges[i]).toPrecision(3)} – ${Number(hist.edges[i + 1]).toPrecision(3)}`);
    new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ data: hist.counts, backgroundColor: "#2456c7", barPercentage: 1, categoryPercentage: 1 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { display: false }, y: { display: false, beginAtZero: true } },
      },
    });
  }
}

async function changeType(select) {
  const status = select.parentElement.querySelector(".column-type-status");
  select.disabled = true;
  status.textContent = "Saving…";
  try {
    const response = await fetch(select.dataset.url, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": window.csrfToken(), "X-Requested-With": "fetch" },
      body: JSON.stringify({ type: select.value }),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
    select.dataset.current = body.type;
    status.textContent = body.unparseable
      ? `${body.unparseable} values do not parse as ${body.type}: training reads them as missing.`
      : `Now ${body.type}; every value parses.`;
    window.setTimeout(() => window.location.reload(), 1500);
  } catch (error) {
    select.value = select.dataset.current;
    status.textContent = error.message;
  } finally {
    select.disabled = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  drawHistograms();
  for (const select of document.querySelectorAll("select.column-type")) {
    select.addEventListener("change", () => changeType(select));
  }
});
