// The results page's "Continue training" form: POST /api/v1/sessions/{id}/continue {epochs}, then the new session.
"use strict";

(() => {
  function continueForm() {
    const form = document.getElementById("continue-form");
    if (!form) return;
    const status = form.querySelector("[data-continue-status]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const epochs = Number(form.elements.epochs.value);
      status.textContent = "Queuing…";
      const response = await fetch(`/api/v1/sessions/${form.dataset.session}/continue`, {
        method: "POST", body: JSON.stringify({ epochs }),
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.csrfToken(), Accept: "application/json" } });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        window.location.assign(`/ml-tasks/${form.dataset.task}?session=${body.id}`);  // queued, live from there
        return;
      }
      const fields = (body.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
      status.textContent = `Not continued: ${body.detail || response.status}${fields ? ` (${fields})` : ""}`;
    });
  }

  document.addEventListener("DOMContentLoaded", continueForm);
})();
