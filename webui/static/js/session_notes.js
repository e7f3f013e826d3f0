// The results page's own controls: the Compare button (enabled once two sessions are ticked) and the selected
// session's tags and note, saved through the API (PATCH /api/v1/sessions/{id}).
"use strict";

(() => {
  function compareButton() {
    const button = document.getElementById("compare-button");
    if (!button) return;
    const boxes = Array.from(document.querySelectorAll('input[form="compare-form"][name="sessions"]'));
    const update = () => { button.disabled = boxes.filter((b) => b.checked).length < 2; };
    boxes.forEach((b) => b.addEventListener("change", update));
    update();
  }

  function annotateForm() {
    const form = document.getElementById("annotate-form");
    if (!form) return;
    const status = form.querySelector("[data-annotate-status]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const tags = form.elements.tags.value.split(",").map((t) => t.trim()).filter(Boolean);
      const body = JSON.stringify({ tags, note: form.elements.note.value });
      status.textContent = "Saving…";
      const response = await fetch(`/api/v1/sessions/${form.dataset.session}`, { method: "PATCH", body,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.csrfToken(), Accept: "application/json" } });
      if (response.ok) {
        window.location.reload();  // the sessions table shows (and its search finds) the new tags and note
        return;
      }
      const error = await response.json().catch(() => ({}));
      const fields = (error.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
      status.textContent = `Not saved: ${error.detail || response.status}${fields ? ` (${fields})` : ""}`;
    });
  }

  document.addEventListener("DOMContentLoaded", () => { compareButton(); annotateForm(); });
})();
