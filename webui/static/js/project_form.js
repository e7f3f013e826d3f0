// The new-project form: project keys are upper-case, so what is typed in the key field is upper-cased as it is typed.
"use strict";

document.addEventListener("input", (event) => {
  const input = event.target.closest("input[data-upper]");
  if (!input) return;
  const { selectionStart, selectionEnd } = input;
  input.value = input.value.toUpperCase();
  input.setSelectionRange(selectionStart, selectionEnd);
});
