// Small behaviours shared by every page: copy buttons, confirmations, the "new ML task" proposal, the deploy form.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
window.csrfToken = csrfToken;

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (err) {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source && source.tagName !== "PRE" ? source.value : source.textContent;
  const ok = await copyText(text);
  const label = button.textContent;
  button.textContent = ok ? "Copied" : "Copy failed";
  button.dataset.copied = ok ? "true" : "false";
  setTimeout(() => { button.textContent = label; }, 1500);
});

document.addEventListener("click", (event) => {
  // "Go back" links (error pages): the browser's back, as no inline script may run under the CSP.
  const back = event.target.closest("[data-back]");
  if (back && window.history.length > 1) { event.preventDefault(); window.history.back(); }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
}, true);

document.addEventListener("DOMContentLoaded", () => {
  // New ML task: propose the prediction type as soon as a target is picked.
  const newTask = document.getElementById("new-task");
  if (newTask) {
    const target = newTask.querySelector('select[name="target"]');
    const ptype = newTask.querySelector('select[name="prediction_type"]');
    const note = newTask.querySelector(".proposal");
    target.addEventListener("change", async () => {
      note.textContent = "";
      if (!target.value) return;
      note.textContent = "Looking at the column…";
      const url = `${newTask.dataset.propose}?target=${encodeURIComponent(target.value)}`;
      const response = await fetch(url, { headers: { "X-Requested-With": "fetch", Accept: "application/json" } });
      const body = await response.json();
      if (!response.ok) { note.textContent = body.detail || "No proposal."; return; }
      ptype.value = body.prediction_type;
      note.textContent = `Proposed: ${body.prediction_type} (${body.n_distinct} distinct values). Change it if needed.`;
      newTask.dataset.proposed = body.prediction_type;
    });
  }
  // Deploy: the name field only matters for a new saved model.
  const deployTarget = document.getElementById("deploy-target");
  if (deployTarget) {
    const name = document.getElementById("deploy-name");
    const sync = () => { name.hidden = deployTarget.value !== ""; };
    deployTarget.addEventListener("change", sync);
    sync();
  }
});
