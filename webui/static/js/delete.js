// Delete buttons (the delete_button macro): a native <dialog> says what goes with the thing, DELETE through the
// API with the page's CSRF token, then the parent page. Loaded once per button, so it installs itself once.
"use strict";

(() => {
  if (window.fitstudioDelete) return;
  window.fitstudioDelete = true;

  let dialog = null;
  let current = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.id = "delete-dialog";
    dialog.className = "card";
    dialog.style.cssText = "margin:auto;max-width:34rem";  // centred: .card's bottom margin would pin it low
    dialog.setAttribute("aria-labelledby", "delete-title");
    dialog.innerHTML =
      '<h2 id="delete-title" style="margin-top:0"></h2><p class="delete-message"></p>' +
      '<div class="errors-box" role="alert" hidden></div>' +
      '<form method="dialog" class="row"><button value="cancel" class="cancel">Cancel</button>' +
      '<button value="confirm" class="danger confirm">Delete</button></form>';
    document.body.appendChild(dialog);
    dialog.querySelector(".confirm").addEventListener("click", (event) => {
      event.preventDefault();
      confirmDelete();
    });
  }

  function open(button) {
    if (!dialog) build();
    current = button;
    const blocked = button.dataset.deleteBlocked;
    dialog.querySelector("#delete-title").textContent = `Delete ${button.dataset.deleteWhat}?`;
    dialog.querySelector(".delete-message").textContent = blocked || button.dataset.deleteMessage;
    const error = dialog.querySelector(".errors-box");
    error.hidden = true;
    error.textContent = "";
    const confirm = dialog.querySelector(".confirm");
    confirm.hidden = Boolean(blocked);
    confirm.disabled = false;
    dialog.querySelector(".cancel").textContent = blocked ? "Close" : "Cancel";
    dialog.showModal();
  }

  async function confirmDelete() {
    const confirm = dialog.querySelector(".confirm");
    const error = dialog.querySelector(".errors-box");
    confirm.disabled = true;
    let response;
    try {
      response = await fetch(current.dataset.delete, {
        method: "DELETE",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": window.csrfToken(), "X-Requested-With": "fetch", Accept: "application/json" },
      });
    } catch (err) {
      response = null;
    }
    if (response && response.ok) {
      const then = current.dataset.deleteThen;
      if (then) window.location.assign(then); else window.location.reload();
      return;
    }
    let detail = "The server could not be reached; try again.";
    if (response) {
      const body = await response.json().catch(() => ({}));
      detail = body.detail || `Deleting failed (${response.status}).`;
    }
    error.textContent = detail;  // e.g. 409: a session started meanwhile
    error.hidden = false;
    confirm.disabled = false;
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-delete]");
    if (button) open(button);
  });
})();
