// The results page's selected session: charts from its history and, while it is queued or running, live updates
// from GET /api/v1/sessions/{id}/events (Server-Sent Events: status, batch, epoch, log, end).
"use strict";

const MAX_LOG_LINES = 3000;

// "queued — 3rd in line" (webui/session_view.py writes the same on a reload).
function ordinal(n) {
  const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th";
  return `${n}${suffix}`;
}

function waitingText(position) {
  return position ? `queued — ${ordinal(position)} in line` : "waiting for a worker…";
}

function capitalized(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

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

function showProgress(p, words) {
  const label = document.getElementById("progress-label");
  const batchLabel = document.getElementById("batch-label");
  const bar = document.getElementById("batch-bar");
  // Before its first epoch a training says what it is doing (loading data, building the model…), not "Epoch 0".
  const phase = p.phase && p.phase !== "training" && !p.epoch ? words[p.phase] || p.phase : null;
  label.textContent = phase ? `${capitalized(phase)}…` : `Epoch ${p.epoch || 0} / ${p.epochs || "?"}`;
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

// The phases with their times: until the next phase, and the last one until now (it is still going on).
function showPhases(phases, words) {
  const list = document.getElementById("phases");
  if (!list) return;
  const items = phases.map((p, i) => {
    const start = parseTime(p.started_at);
    const stop = i + 1 < phases.length ? parseTime(phases[i + 1].started_at) : Date.now();
    const li = document.createElement("li");
    li.dataset.phase = p.phase;
    const name = document.createElement(i + 1 === phases.length ? "b" : "span");
    name.textContent = words[p.phase] || p.phase;
    const time = document.createElement("span");
    time.className = "muted";
    time.dataset.seconds = "";
    time.textContent = Number.isFinite(stop - start) ? formatDuration(Math.max(0, (stop - start) / 1000)) : "—";
    li.append(name, " ", time);
    return li;
  });
  list.replaceChildren(...items);
}

// The sessions table shows the kept epoch's metric: the best so far, in the metric's direction.
function keptValue(history, key, greater) {
  let kept = null;
  for (const entry of history) {
    const value = entry[key];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    if (kept === null || greater === null || (greater ? value > kept : value < kept)) kept = value;
  }
  return kept;
}

function showMetric(detail, history) {
  const value = keptValue(history, `Test ${detail.metric}`, detail.greater_is_better);
  const cell = document.querySelector(`tr[data-session="${detail.id}"] [data-metric]`);
  if (cell && value !== null) cell.lastChild.textContent = ` ${window.formatNumber(value)}`;
}

// The ended session's panel and table row as the server renders them: the live page ends as a reload shows it
// (the interrupted mark, the frozen cell, the traceback, the kept epoch's metric). Only the live log stays.
async function showEndAsReloaded(detail, section) {
  const response = await fetch(`${window.location.pathname}?session=${detail.id}`, { headers: { accept: "text/html" } });
  if (!response.ok) throw new Error(`the page answered ${response.status}`);
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  const fresh = page.getElementById("session-detail");
  const data = page.getElementById("session-data");
  if (!fresh || !data || fresh.dataset.live !== "false") throw new Error("the session has not ended on the server");
  const ended = document.adoptNode(fresh);
  const log = document.getElementById("log-box");
  if (log) ended.querySelector("#log-box").replaceWith(log);
  ended.dataset.liveEpochs = section.dataset.liveEpochs || "0";
  section.replaceWith(ended);
  const row = page.querySelector(`tr[data-session="${detail.id}"]`);
  const oldRow = document.querySelector(`tr[data-session="${detail.id}"]`);
  if (row && oldRow) oldRow.replaceWith(document.adoptNode(row));
  document.getElementById("session-data").textContent = data.textContent;
  const charts = drawCharts(JSON.parse(data.textContent));
  if (window.fitstudioMakeEditor) {
    for (const textarea of ended.querySelectorAll("textarea[data-editor]")) window.fitstudioMakeEditor(textarea);
  }
  return charts;
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
  const words = detail.phase_words || {};
  const history = [...(detail.history || [])];
  let liveEpochs = 0;
  let startedAt = detail.started_at;
  let progress = detail.progress || {};
  let phases = progress.phases || [];
  const clock = setInterval(() => {
    showDuration(detail, startedAt, null);
    showPhases(phases, words);
  }, 1000);
  const source = new EventSource(`/api/v1/sessions/${detail.id}/events`);
  source.addEventListener("status", (e) => {
    const data = JSON.parse(e.data);
    setStatus(data.status);
    if (data.started_at) startedAt = data.started_at;
    const where = document.getElementById("session-worker");
    if (data.worker) where.textContent = `on worker ${data.worker}`;
    else if (data.status === "queued") where.textContent = waitingText(data.queue_position);
    if (data.phases) {
      phases = data.phases;
      progress = { ...progress, phase: data.phase };
      showPhases(phases, words);
      showProgress(progress, words);
    }
  });
  source.addEventListener("batch", (e) => {
    progress = JSON.parse(e.data);
    showProgress(progress, words);
  });
  source.addEventListener("epoch", (e) => {
    const entry = JSON.parse(e.data);
    document.getElementById("charts").hidden = false;
    charts.add(entry);
    history.push(entry);
    liveEpochs += 1;
    section.dataset.liveEpochs = String(liveEpochs);
    showMetric(detail, history);
  });
  source.addEventListener("log", (e) => appendLog(JSON.parse(e.data).lines || []));
  source.addEventListener("end", (e) => {
    source.close();
    clearInterval(clock);
    const body = JSON.parse(e.data);
    showEndAsReloaded(detail, section).then(
      (fresh) => { window.fitCharts.session = fresh; },
      () => showEnd(body, detail), // the page cannot be fetched: say at least how it ended
    ).finally(() => { document.getElementById("session-detail").dataset.ended = body.status; });
  });
  return source;
}

function drawCharts(detail) {
  const charts = new window.fitCharts.EpochCharts(document.getElementById("loss-chart"),
    document.getElementById("metric-chart"), detail.metric, null, null);
  for (const entry of detail.history || []) charts.add(entry, false);
  charts.update();
  return charts;
}

document.addEventListener("DOMContentLoaded", () => {
  const detail = window.fitCharts.readJson("session-data");
  if (!detail) return;
  const charts = drawCharts(detail);
  window.fitCharts.session = charts;
  if (detail.live) {
    showProgress(detail.progress || {}, detail.phase_words || {});
    showPhases((detail.progress || {}).phases || [], detail.phase_words || {});
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
