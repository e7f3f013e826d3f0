// The results page's selected session: charts from its history and, while it is queued or running, live updates
// from GET /api/v1/sessions/{id}/events (Server-Sent Events: status, batch, epoch, log, end).
"use strict";

const MAX_LOG_LINES = 3000;

function setStatus(status) {
  for (const badge of document.querySelectorAll(`#session-detail [data-status], tr.selected [data-status]`)) {
    badge.textContent = status;
    badge.className = `badge ${status}`;
  }
  const interrupt = document.getElementById("interrupt-button");
  if (interrupt) interrupt.disabled = status !== "running";
}

// Keras writes progress bars for terminals: drop colour codes and keep what \r and \b leave visible.
function cleanLine(line) {
  let text = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
  if (text.includes("\r")) text = text.split("\r").filter((part) => part.length).pop() || "";
  if (!text.includes("\b")) return text;
  const out = [];
  for (const ch of text) {
    if (ch === "\b") out.pop(); else out.push(ch);
  }
  return out.join("");
}

function cleanLog(text) {
  return text.split("\n").map(cleanLine).join("\n");
}

function appendLog(lines) {
  const log = document.getElementById("log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
  log.textContent += lines.map((l) => `${cleanLine(l)}\n`).join("");
  const all = log.textContent.split("\n");
  if (all.length > MAX_LOG_LINES) log.textContent = all.slice(-MAX_LOG_LINES).join("\n");
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function showProgress(p) {
  const label = document.getElementById("progress-label");
  const batchLabel = document.getElementById("batch-label");
  const bar = document.getElementById("batch-bar");
  label.textContent = `Epoch ${p.epoch || 0} / ${p.epochs || "?"}`;
  if (p.batches) {
    batchLabel.textContent = `batch ${p.batch} / ${p.batches}`;
    bar.style.width = `${Math.min(100, (100 * p.batch) / p.batches).toFixed(1)}%`;
  } else {
    batchLabel.textContent = p.batch ? `batch ${p.batch}` : "";
  }
}

function formatDuration(seconds) {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(Math.round(seconds) / 60);
  if (minutes < 60) return `${minutes}m ${String(Math.round(seconds) % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`;
}

function parseTime(value) {
  return Date.parse(String(value).replace(" ", "T").replace(/(\.\d{3})\d+/, "$1"));
}

function showDuration(detail, startedAt, endedAt) {
  const cell = document.querySelector(`tr[data-session="${detail.id}"] [data-duration]`);
  if (!cell || !startedAt) return;
  const end = endedAt ? parseTime(endedAt) : Date.now();
  const seconds = (end - parseTime(startedAt)) / 1000;
  if (Number.isFinite(seconds)) cell.textContent = formatDuration(Math.max(0, seconds));
}

function showEnd(body, detail) {
  setStatus(body.status);
  showDuration(detail, body.started_at, body.ended_at);
  document.getElementById("progress-box").hidden = true;
  for (const b of document.querySelectorAll("#interrupt-button, #abort-button")) b.closest("form").hidden = true;
  if (body.trained_model_id && !document.getElementById("open-model")) {
    const link = document.getElementById("open-model-live");
    link.href = `/trained-models/${encodeURIComponent(body.trained_model_id)}`;
    link.hidden = false;
    const row = document.querySelector(`tr[data-session="${detail.id}"] td:last-child`);
    if (row) row.innerHTML = `<a href="${link.href}">model</a>`;
  }
  if (body.error) {
    const box = document.createElement("div");
    box.className = "errors-box";
    box.setAttribute("role", "alert");
    const where = body.error.cell ? ` (in the ${body.error.cell} cell${body.error.line ? `, line ${body.error.line}` : ""})` : "";
    box.textContent = `${body.error.type}: ${body.error.message}${where}`;
    document.getElementById("live-error").replaceChildren(box);
  }
  const section = document.getElementById("session-detail");
  section.dataset.live = "false";
  section.dataset.ended = body.status;
}

function follow(detail, charts) {
  const section = document.getElementById("session-detail");
  let liveEpochs = 0;
  let startedAt = detail.started_at;
  const clock = setInterval(() => showDuration(detail, startedAt, null), 1000);
  const source = new EventSource(`/api/v1/sessions/${detail.id}/events`);
  source.addEventListener("status", (e) => {
    const data = JSON.parse(e.data);
    setStatus(data.status);
    if (data.started_at) startedAt = data.started_at;
    if (data.worker) document.getElementById("session-worker").textContent = `on worker ${data.worker}`;
  });
  source.addEventListener("batch", (e) => showProgress(JSON.parse(e.data)));
  source.addEventListener("epoch", (e) => {
    const entry = JSON.parse(e.data);
    charts.add(entry);
    liveEpochs += 1;
    section.dataset.liveEpochs = String(liveEpochs);
    const value = entry[`Test ${detail.metric}`];
    const cell = document.querySelector(`tr[data-session="${detail.id}"] [data-metric]`);
    if (cell && typeof value === "number") cell.lastChild.textContent = ` ${value.toPrecision(4)}`;
  });
  source.addEventListener("log", (e) => appendLog(JSON.parse(e.data).lines || []));
  source.addEventListener("end", (e) => {
    source.close();
    clearInterval(clock);
    showEnd(JSON.parse(e.data), detail);
  });
  return source;
}

document.addEventListener("DOMContentLoaded", () => {
  const detail = window.fitCharts.readJson("session-data");
  if (!detail) return;
  const charts = new window.fitCharts.EpochCharts(document.getElementById("loss-chart"),
    document.getElementById("metric-chart"), detail.metric, null, null);
  for (const entry of detail.history || []) charts.add(entry, false);
  charts.update();
  window.fitCharts.session = charts;
  if (detail.live) {
    showProgress(detail.progress || {});
    follow(detail, charts);
    return;
  }
  const logBox = document.getElementById("log-box");
  logBox.addEventListener("toggle", async () => {
    if (!logBox.open || logBox.dataset.loaded) return;
    logBox.dataset.loaded = "true";
    const response = await fetch(`/api/v1/sessions/${detail.id}/log`);
    document.getElementById("log").textContent = response.ok ? cleanLog(await response.text()) : "The log cannot be read.";
  });
});
