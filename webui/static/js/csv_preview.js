// The dataset upload's preview: choosing a .csv (.tsv, .txt, .data, .dat, .tab, .psv) sends its first 4 MiB (File.slice) to
// POST …/datasets/sniff (cookie + X-CSRF-Token) and shows how it would be read: the reading options as fields
// (detected values filled in), the `ambiguous` sentences as warnings, and the first rows with each column's
// detected type. Changing an option previews again with it. Only the options the user changed are sent
// (the others stay detected, by the server, the same way); upload.js drops the unchanged ones from the upload.
// A workbook (.xlsx, .xlsm, .xls, .xlsb, .ods) is sent whole, up to the panel's data-workbook-bytes (a ZIP's directory
// is at its end), with the sheet field; its sheets fill that field's list, and only the options a sheet has are shown.
"use strict";

const PREVIEW_BYTES = 4 << 20;
const PREVIEW_ROWS = 10;
const CSV_NAME = /\.(csv|tsv|txt|data|dat|tab|psv)(\.(gz|bz2|xz|zst))?$/i;  // compressed: its head
const WORKBOOK_NAME = /\.(xlsx|xlsm|xls|xlsb|ods)$/i;

function optionValue(name, value) {
  // The source's value as the field shows it (tab → "tab", no quote/thousands → "none", the list → text).
  if (value === null || value === undefined) return "none";
  if (name === "delimiter" && value === "\t") return "tab";
  if (name === "thousands" && value === " ") return "space";
  if (typeof value === "boolean") return value ? "true" : "false"; // header, skip_initial_space
  if (name === "null_values") return value.filter((v) => v !== "").join(", ");
  return String(value);
}

function showOptions(panel, source) {
  for (const field of panel.querySelectorAll("[data-reading-option]")) {
    field.closest("label").classList.toggle("detected", (source.detected || []).includes(field.name));
    if (field.dataset.changed || !(field.name in source)) continue;
    const value = optionValue(field.name, source[field.name]);
    if (field.tagName === "SELECT" && ![...field.options].some((o) => o.value === value)) {
      field.add(new Option(value, value));
    }
    field.value = value;
  }
}

function showWarnings(panel, sentences) {
  const list = panel.querySelector(".preview-warnings");
  list.replaceChildren(...sentences.map((text) => {
    const item = document.createElement("li");
    item.className = "warning";
    item.textContent = text;
    return item;
  }));
}

function cell(tag, text, title) {
  const el = document.createElement(tag);
  el.textContent = text;
  if (title) el.title = title;
  return el;
}

function showRows(panel, columns, rows) {
  const head = document.createElement("tr");
  for (const column of columns) {
    const th = cell("th", `${column.name} `);
    th.dataset.column = column.name;
    th.append(cell("span", column.type));
    th.lastChild.className = `badge type-${column.type}`;
    head.append(th);
  }
  panel.querySelector(".sniff-rows thead").replaceChildren(head);
  panel.querySelector(".sniff-rows tbody").replaceChildren(...rows.slice(0, PREVIEW_ROWS).map((row) => {
    const tr = document.createElement("tr");
    tr.append(...row.map((v) => cell("td", v === null ? "" : String(v), v === null ? "missing" : String(v))));
    return tr;
  }));
}

function changedOptions(panel) {
  // The reading options the user set, as multipart fields; the others are left for the server to detect.
  const out = [];
  for (const field of panel.querySelectorAll("[data-reading-option]")) {
    if (field.dataset.changed) out.push([field.name, field.value]);
  }
  return out;
}

function showSheets(sheetField, source) {
  // The workbook's sheets as the sheet field's choices, the one read as its placeholder.
  if (!sheetField || !source.sheets) return;
  const list = document.getElementById(sheetField.getAttribute("list"));
  list.replaceChildren(...source.sheets.map((name) => new Option(name, name)));
  sheetField.placeholder = source.sheet;
}

async function sniff(panel, file, state) {
  const seq = ++state.seq;
  const status = panel.querySelector(".preview-status");
  status.className = "preview-status hint small";
  status.textContent = "Reading the first rows…";
  const workbook = WORKBOOK_NAME.test(file.name);
  const sheetField = panel.closest("form").querySelector('input[name="sheet"]');
  const data = new FormData();
  data.append("file", workbook ? file : file.slice(0, PREVIEW_BYTES), file.name);
  if (workbook && sheetField && sheetField.value.trim()) data.append("sheet", sheetField.value.trim());
  for (const [name, value] of changedOptions(panel)) data.append(name, value);
  try {
    const response = await fetch(panel.dataset.url, {
      method: "POST",
      headers: { "X-CSRF-Token": window.csrfToken(), "X-Requested-With": "fetch" },
      body: data,
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (seq !== state.seq) return;  // a newer preview is on its way
    if (!response.ok) throw new Error(body.detail || `Preview failed (HTTP ${response.status}).`);
    showOptions(panel, body.source);
    showSheets(sheetField, body.source);
    showWarnings(panel, body.source.ambiguous || []);
    showRows(panel, body.columns, body.rows);
    status.textContent = `${body.columns.length} columns; the first ${Math.min(body.rows.length, PREVIEW_ROWS)} rows as they will be read.`;
  } catch (error) {
    if (seq !== state.seq) return;
    status.className = "preview-status error small";
    status.textContent = error.message;
  }
}

function resetOptions(panel) {
  for (const field of panel.querySelectorAll("[data-reading-option]")) {
    delete field.dataset.changed;
    field.closest("label").classList.remove("detected");
  }
  showWarnings(panel, []);
  panel.querySelector(".sniff-rows thead").replaceChildren();
  panel.querySelector(".sniff-rows tbody").replaceChildren();
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("csv-preview");
  if (!panel) return;
  const fileInput = panel.closest("form").querySelector('input[type="file"]');
  const state = { seq: 0, timer: 0 };
  const sheetField = panel.closest("form").querySelector('input[name="sheet"]');
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    resetOptions(panel);
    const workbook = Boolean(file && WORKBOOK_NAME.test(file.name));
    if (sheetField) {  // another file: the last one's sheet and sheets do not apply
      sheetField.value = "";
      document.getElementById(sheetField.getAttribute("list")).replaceChildren();
    }
    panel.classList.toggle("workbook", workbook);
    panel.querySelector(".preview-what").textContent = workbook ? "sheet" : "CSV";
    panel.hidden = !(file && (workbook || CSV_NAME.test(file.name)));
    if (panel.hidden) return;
    if (workbook && file.size > Number(panel.dataset.workbookBytes)) {
      const status = panel.querySelector(".preview-status");
      status.className = "preview-status hint small";
      status.textContent = `Workbooks over ${Number(panel.dataset.workbookBytes) >> 20} MB are not previewed; upload it, and the dataset's page says how it was read.`;
      return;
    }
    sniff(panel, file, state);
  });
  const again = () => {
    window.clearTimeout(state.timer);
    state.timer = window.setTimeout(() => sniff(panel, fileInput.files[0], state), 150);
  };
  panel.addEventListener("change", (event) => {
    if (!event.target.matches("[data-reading-option]")) return;
    event.target.dataset.changed = "true";
    again();
  });
  if (sheetField) {
    sheetField.addEventListener("change", () => {
      if (!panel.hidden && panel.classList.contains("workbook")) again();
    });
  }
});
