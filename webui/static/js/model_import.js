// "Import a model" on the project page: the .keras/.h5 file to the REST API with a progress bar, then the saved model.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("import-form");
  if (!form) return;
  const parts = window.uploadParts(form);
  const { bar, status, button, fileInput, nameInput } = parts;

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
    xhr.addEventListener("load", () => {
      const body = window.responseJson(xhr);
      if (xhr.status === 201) {
        window.location.href = `/saved-models/${body.id}`;
        return;
      }
      failed(body.detail || `Import failed (HTTP ${xhr.status}).`);
    });
    xhr.addEventListener("error", () => failed("The upload was interrupted; check the connection and retry."));
    window.sendWithProgress(xhr, parts, new FormData(form), "Checking that Keras loads it safely…");
  });
});
