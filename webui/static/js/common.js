// Small behaviours shared by every page: copy buttons, confirmations, the "new ML task" proposal, the deploy form.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
window.csrfToken = csrfToken;

// An upload form with a progress bar (upload.js, model_import.js): its parts, and a request sent with progress.
function uploadParts(form) {
  const bar = form.querySelector(".progress");
  return {
    bar,
    fill: bar.querySelector("div"),
    status: form.querySelector(".upload-status"),
    button: form.querySelector('button[type="submit"]'),
    fileInput: form.querySelector('input[type="file"]'),
    nameInput: form.querySelector('input[name="name"]'),
  };
}
window.uploadParts = uploadParts;

// Send BODY on the opened XHR with the CSRF header, the bar filling up, then DONE_TEXT once all is sent.
function sendWithProgress(xhr, parts, body, doneText) {
  xhr.setRequestHeader("X-CSRF-Token", csrfToken());
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    const pct = Math.round((100 * e.loaded) / e.total);
    parts.fill.style.width = `${pct}%`;
    parts.status.textContent = pct < 100 ? `Uploading… ${pct}%` : doneText;
  });
  parts.button.disabled = true;
  parts.bar.hidden = false;
  parts.fill.style.width = "0";
  parts.status.className = "upload-status hint";
  parts.status.textContent = "Uploading…";
  xhr.send(body);
}
window.sendWithProgress = sendWithProgress;

// A metric value by the one rule of every page (fmt_num in webui/web.py is the same; docs/webui.md): "—" for none,
// 4 significant digits without trailing zeros, integers and values from 9999.95 up without decimals, 1.234e-5.
function formatNumber(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  const size = Math.abs(value);
  if (size >= 1e15 || (size > 0 && size < 1e-4)) {
    const [mantissa, exponent] = value.toExponential(3).split("e");
    return `${Number(mantissa)}e${Number(exponent)}`;
  }
  const text = value.toPrecision(4);
  if (Number.isInteger(value) || size >= 1e4 || text.includes("e")) return String(Math.floor(value + 0.5));
  return String(Number(text));
}
window.formatNumber = formatNumber;

// The JSON body of a finished XHR, {} when it has none.
function responseJson(xhr) {
  try { return JSON.parse(xhr.responseText); } catch (err) { return {}; }
}
window.responseJson = responseJson;

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
