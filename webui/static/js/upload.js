// Upload with a progress bar: XMLHttpRequest to the REST API (cookie + X-CSRF-Token).
// A dataset (multipart POST, then its page), or with data-method="PUT" a file sent as is to data-url/<path>
// (a managed folder's file, a weights file), then the page again. A dataset's CSV reading options are sent
// only when the user changed them in the preview (csv_preview.js).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const parts = window.uploadParts(form);
  const { bar, status, button, fileInput, nameInput } = parts;
  const pathInput = form.querySelector('input[name="path"]');
  const raw = form.dataset.method === "PUT";

  const member = document.getElementById("archive-member");
  const sheet = document.getElementById("workbook-sheet");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    const suffix = /(\.(csv|tsv|txt|data|dat|tab|psv|json|jsonl|ndjson|xlsx|xlsm|xlsb|xls|ods|parquet|sav|zsav|por|dta|sas7bdat|xpt|tar))?(\.(gz|bz2|xz|zst))?$|\.(zip|tgz|tbz2?|txz)$/i;
    const archive = /\.(zip|tar|tgz|tbz2?|txz|tar\.(gz|bz2|xz))$/i;
    if (file && nameInput && !nameInput.value) nameInput.value = file.name.replace(suffix, "");
    if (member) member.hidden = !(file && archive.test(file.name));  // an archive of tables: which one to read
    if (sheet) sheet.hidden = !(file && /\.(xls[xmb]?|ods)$/i.test(file.name));  // a workbook: which sheet to read
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    // CSV reading options (csv_preview.js): only those the user changed; the server detects the others.
    for (const option of form.querySelectorAll("[data-reading-option]")) {
      if (!option.dataset.changed) data.delete(option.name);
    }
    const xhr = new XMLHttpRequest();
    if (raw) {
      const path = (pathInput && pathInput.value.trim()) || fileInput.files[0].name;
      xhr.open("PUT", `${form.dataset.url}/${path.split("/").map(encodeURIComponent).join("/")}`);
    } else {
      xhr.open("POST", form.dataset.url);
    }
    xhr.addEventListener("load", () => {
      const body = window.responseJson(xhr);
      if (xhr.status === 201 && raw) {
        status.textContent = `Stored ${body.path || body.name}.`;
        window.location.reload();
        return;
      }
      if (xhr.status === 201) {
        status.textContent = `Stored ${body.n_rows} rows.`;
        window.location.href = `/datasets/${body.id}`;
        return;
      }
      button.disabled = false;
      bar.hidden = true;
      status.className = "upload-status error";
      status.textContent = body.detail || `Upload failed (HTTP ${xhr.status}).`;
    });
    xhr.addEventListener("error", () => {
      button.disabled = false;
      status.className = "upload-status error";
      status.textContent = "The upload was interrupted; check the connection and retry.";
    });
    window.sendWithProgress(xhr, parts, raw ? fileInput.files[0] : data, raw ? "Storing…" : "Reading and profiling the data…");
  });
});
