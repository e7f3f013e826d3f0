// "Import a model" on the project page: the .keras/.h5 file to the REST API with a progress bar, then the saved model.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("import-form");
  if (!form) return;
  const bar = form.querySelector(".progress");
  const fill = bar.querySelector("div");
  const status = form.querySelector(".upload-status");
  const button = form.querySelector('button[type="submit"]');
  const fileInput = form.querySelector('input[type="file"]');
  const nameInput = form.querySelector('input[name="name"]');

  const failed = (text) => {
    button.disabled = false;
    bar.hidden = true;
    status.className = "upload-status error";
    status.textContent = text;
  };

  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file && !nameInput.value) nameInput.value = file.name.replace(/\.(keras|h5)$/i, "");
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.url);
    xhr.setRequestHeader("X-CSRF-Token", window.csrfToken());
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((100 * e.loaded) / e.total);
      fill.style.width = `${pct}%`;
      status.textContent = pct < 100 ? `Uploading… ${pct}%` : "Checking that Keras loads it safely…";
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status === 201) {
        window.location.href = `/saved-models/${body.id}`;
        return;
      }
      failed(body.detail || `Import failed (HTTP ${xhr.status}).`);
    });
    xhr.addEventListener("error", () => failed("The upload was interrupted; check the connection and retry."));
    button.disabled = true;
    bar.hidden = false;
    fill.style.width = "0";
    status.className = "upload-status hint";
    status.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });
});
