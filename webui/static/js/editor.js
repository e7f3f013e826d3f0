// Code editors (CodeMirror 6, vendored) for every <textarea data-editor>, errors shown at their line, and the
// design page's tabs and actions: Validate, Dry run, Display inputs, code samples, the advanced-mode switch.
import {
  EditorView, EditorState, basicSetup, keymap, indentWithTab, indentUnit, python, setDiagnostics, lintGutter,
} from "../vendor/codemirror.bundle.js";

const editors = {};
window.fitstudioEditors = editors;
window.fitstudioMakeEditor = (textarea) => makeEditor(textarea); // live.js: the frozen cell of a session just ended

function makeEditor(textarea) {
  const readOnly = textarea.dataset.readonly === "true";
  const extensions = [
    basicSetup,
    python(),
    lintGutter(),
    indentUnit.of("    "),
    keymap.of([indentWithTab]),
    EditorState.tabSize.of(4),
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
    EditorView.updateListener.of((update) => {
      if (update.docChanged) textarea.value = update.state.doc.toString();
    }),
  ];
  const box = document.createElement("div");
  box.className = readOnly ? "editor readonly" : "editor";
  box.dataset.editorFor = textarea.dataset.editor;
  textarea.after(box);
  textarea.hidden = true;
  const view = new EditorView({ state: EditorState.create({ doc: textarea.value, extensions }), parent: box });
  if (!readOnly) editors[textarea.dataset.editor] = view;
  if (textarea.dataset.errorLine) {
    markErrors(view, [{ line: Number(textarea.dataset.errorLine), message: textarea.dataset.errorMessage || "error" }]);
  }
  return view;
}

function markErrors(view, errors) {
  const doc = view.state.doc;
  const diagnostics = errors.map((e) => {
    const line = doc.line(Math.min(Math.max(Number(e.line) || 1, 1), doc.lines));
    return { from: line.from, to: Math.max(line.to, line.from), severity: "error", message: e.message };
  });
  view.dispatch(setDiagnostics(view.state, diagnostics));
  if (diagnostics.length) {
    view.dispatch({ effects: EditorView.scrollIntoView(diagnostics[0].from, { y: "center" }) });
  }
}

function setContent(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

// Design page --------------------------------------------------------------------------------------------------

function tabOf(error) {
  const key = String(error.cell || error.field || "").split(".")[0];
  const map = { image: "features", text: "features", split: "metric", dry_run: "architecture" };
  if (error.cell) return error.cell;
  return map[key] || (document.getElementById(`tab-${key}`) ? key : "features");
}

function selectTab(id) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    const on = button.dataset.tab === id;
    button.setAttribute("aria-selected", on ? "true" : "false");
    document.getElementById(`panel-${button.dataset.tab}`).hidden = !on;
  }
  for (const view of Object.values(editors)) view.requestMeasure();
}

function describe(error) {
  const where = error.cell ? `${error.cell} cell${error.line ? `, line ${error.line}` : ""}` : error.field || "design";
  return `${where}: ${error.message}`;
}

function showErrors(errors, heading) {
  const box = document.getElementById("design-errors");
  const ok = document.getElementById("design-ok");
  ok.hidden = true;
  for (const view of Object.values(editors)) view.dispatch(setDiagnostics(view.state, []));
  for (const button of document.querySelectorAll("[data-tab]")) button.classList.remove("has-error");
  box.replaceChildren();
  if (!errors.length) return;
  const title = document.createElement("b");
  title.textContent = heading || "Fix these first:";
  const list = document.createElement("ul");
  for (const error of errors) {
    const item = document.createElement("li");
    item.textContent = describe(error);
    list.appendChild(item);
  }
  box.append(title, list);
  const byCell = {};
  for (const error of errors) {
    if (error.cell && editors[error.cell]) (byCell[error.cell] = byCell[error.cell] || []).push(error);
    const tab = document.getElementById(`tab-${tabOf(error)}`);
    if (tab) tab.classList.add("has-error");
  }
  const first = tabOf(errors[0]);
  if (first === "training" && errors[0].cell === "training") setAdvanced(true);
  selectTab(first);
  for (const [cell, cellErrors] of Object.entries(byCell)) markErrors(editors[cell], cellErrors);
}

function showOk(text) {
  const ok = document.getElementById("design-ok");
  ok.textContent = text;
  ok.hidden = false;
}

function setAdvanced(on) {
  const input = document.getElementById("advanced-switch");
  input.checked = on;
  document.getElementById("standard-training").hidden = on;
  document.getElementById("advanced-training").hidden = !on;
  const view = editors.training;
  if (on && view) {
    if (!view.state.doc.toString().trim()) setContent(view, designData().training_default);
    view.requestMeasure();
  }
}

let cachedData = null;
function designData() {
  if (!cachedData) cachedData = JSON.parse(document.getElementById("design-data").textContent);
  return cachedData;
}

// A dry run the server stopped waiting for (202): poll its URL every 2 s, for at most 10 minutes.
async function pollDryRun(url, status) {
  const started = Date.now();
  while (Date.now() - started < 600000) {
    status.textContent = "Waiting for a worker to run one batch…";
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const response = await fetch(url, { headers: { "X-Requested-With": "fetch", Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) return { errors: [{ field: "dry_run", message: body.detail || `HTTP ${response.status}` }] };
    if (body.status === "done" || body.status === "gone") return body;
  }
  return { errors: [{ field: "dry_run", message: "No worker ran the dry run within 10 minutes; is a worker running?" }] };
}

async function runAction(form, action) {
  const status = document.getElementById("design-status");
  const out = document.getElementById(action === "inputs" ? "inputs-out" : "dry-run-out");
  const labels = { validate: "Validating…", dry_run: "Running one batch in a worker…", inputs: "Computing the inputs…" };
  status.textContent = labels[action];
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const data = new FormData(form);
    data.set("action", action);
    const response = await fetch(form.getAttribute("action"), {
      method: "POST", body: data, headers: { "X-Requested-With": "fetch", Accept: "application/json" },
    });
    let body = await response.json();
    if (response.status === 202 && body.poll_url) body = await pollDryRun(body.poll_url, status);
    const errors = body.errors || (response.ok ? [] : [{ field: "design", message: body.detail || `HTTP ${response.status}` }]);
    showErrors(errors, action === "dry_run" ? "The dry run failed:" : null);
    if (action === "inputs" && body.input_shapes) {
      const lines = Object.entries(body.input_shapes).map(([k, v]) => `input_shapes["${k}"] = (${v.join(", ")}${v.length === 1 ? "," : ""})`);
      out.textContent = lines.join("\n") || "No input columns.";
      out.hidden = false;
    }
    if (action === "dry_run" && body.dry_run && body.dry_run.summary) {
      out.textContent = `${body.dry_run.summary}\n\nloss on one batch: ${body.dry_run.loss}`;
      out.hidden = false;
    }
    if (!errors.length) {
      const warned = (body.warnings || []).map((w) => ` Warning: ${w.message}`).join("");
      showOk({ validate: "The design is valid.", dry_run: "The dry run passed: the model trained on one batch.", inputs: "Inputs computed from the current design." }[action] + warned);
    }
    status.textContent = errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""} found` : "OK";
  } catch (err) {
    status.textContent = `Failed: ${err}`;
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

// "Reset to default": the cell's generated default for the inputs the form selects now (the server generates it);
// the page's own copy (for the saved inputs) when the server cannot be asked. One undoable change.
async function resetToDefault(form, cell) {
  const view = editors[cell];
  if (!view) return;
  let code = (designData().defaults || {})[cell];
  try {
    const data = new FormData(form);
    data.set("action", "default_code");
    const response = await fetch(form.getAttribute("action"), {
      method: "POST", body: data, headers: { "X-Requested-With": "fetch", Accept: "application/json" },
    });
    const body = await response.json();
    if (response.ok && body.defaults && typeof body.defaults[cell] === "string") code = body.defaults[cell];
  } catch (err) {
    // keep the page's copy
  }
  if (typeof code !== "string") return;
  setContent(view, code);
  view.focus();
}

function initDesign(form) {
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => {
      selectTab(button.dataset.tab);
      history.replaceState(null, "", `#${button.dataset.tab}`);
    });
  }
  const hash = window.location.hash.slice(1);
  selectTab(document.getElementById(`tab-${hash}`) ? hash : form.dataset.firstTab || "features");

  document.getElementById("advanced-switch").addEventListener("change", (e) => setAdvanced(e.target.checked));
  for (const button of document.querySelectorAll("[data-reset-editor]")) {
    button.addEventListener("click", () => resetToDefault(form, button.dataset.resetEditor));
  }
  for (const select of document.querySelectorAll("[data-samples-for]")) {
    select.addEventListener("change", () => {
      const sample = designData().samples.find((s) => s.id === select.value);
      select.value = "";
      const view = editors[sample && sample.cell];
      if (!view) return;
      setContent(view, sample.code);  // one undoable change: Ctrl-Z brings the previous code back
      view.focus();
    });
  }
  form.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    event.preventDefault();
    runAction(form, button.dataset.action);
  });
  const initial = designData().errors || [];
  if (initial.length) showErrors(initial);
}

for (const textarea of document.querySelectorAll("textarea[data-editor]")) makeEditor(textarea);
const designForm = document.getElementById("design");
if (designForm) initDesign(designForm);
