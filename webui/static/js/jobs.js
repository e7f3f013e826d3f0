// The saved model page's jobs (and the project's jobs page): the forms' dataset choices (GET /api/v1/projects/{key}/datasets: the page
// itself stays within its few SQL queries), queued and running rows following GET /api/v1/jobs/{id} every 2 s (the
// page reloads once one ends, to show its result), and Abort posting /api/v1/jobs/{id}/abort (cookie + X-CSRF-Token).
"use strict";

const POLL_MS = 2000;

function showJob(row, job) {
  row.querySelector("[data-job-rows]").textContent = `${job.progress.rows} / ${job.progress.total}`;
  row.querySelector("[data-job-failed]").textContent = String(job.progress.failed);
  const badge = row.querySelector("[data-status]");
  badge.textContent = job.status;
  badge.className = `badge ${job.status}`;
}

async function follow(row) {
  const response = await fetch(`/api/v1/jobs/${row.dataset.job}`, { credentials: "same-origin" });
  if (!response.ok) return;
  const job = await response.json();
  showJob(row, job);
  if (job.status === "queued" || job.status === "running") {
    setTimeout(() => follow(row), POLL_MS);
  } else {
    window.location.reload();
  }
}

async function abortJob(button) {
  button.disabled = true;
  const response = await fetch(`/api/v1/jobs/${button.dataset.abortJob}/abort`, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": window.csrfToken() },
  });
  if (!response.ok) button.disabled = false;
}

async function fillDatasets(select) {
  const response = await fetch(select.dataset.datasetsUrl, { credentials: "same-origin" });
  const placeholder = select.querySelector("option");
  if (!response.ok) {
    placeholder.textContent = "The datasets could not be listed; reload the page.";
    return;
  }
  const datasets = await response.json();
  // An optional choice (retrain: its own dataset when none is picked) keeps its placeholder's words.
  if (select.required) placeholder.textContent = datasets.length ? "Pick a dataset" : "The project has no dataset yet";
  for (const d of datasets) {
    const option = document.createElement("option");
    option.value = String(d.id);
    option.textContent = `${d.name} (${d.n_rows} rows)`;
    select.appendChild(option);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-datasets-url]")) fillDatasets(select);
  for (const row of document.querySelectorAll("#jobs-table tr[data-live]")) setTimeout(() => follow(row), POLL_MS);
  for (const button of document.querySelectorAll("[data-abort-job]")) {
    button.addEventListener("click", () => abortJob(button));
  }
});
