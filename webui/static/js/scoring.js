// The saved model page's "try it" form: one row to POST /api/v1/saved-models/{id}/predict (cookie + X-CSRF-Token).
"use strict";

function readImage(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function rowOf(form) {
  const row = {};
  for (const input of form.querySelectorAll("input[name]")) {
    const kind = input.dataset.kind;
    const raw = input.value.trim();
    if (kind === "image") {
      const picker = form.querySelector(`input[data-image-for="${CSS.escape(input.name)}"]`);
      row[input.name] = picker && picker.files[0] ? await readImage(picker.files[0]) : raw;
    } else {
      // Numbers go as typed ("12,5", "1.234,50 €"): the server reads them as the model's training file wrote them.
      row[input.name] = raw === "" ? null : raw;
    }
  }
  return row;
}

function render(result, body) {
  result.replaceChildren();
  const head = document.createElement("p");
  const prediction = body.predictions[0];
  head.innerHTML = "Prediction: ";
  const strong = document.createElement("b");
  strong.id = "score-prediction";
  strong.textContent = typeof prediction === "number" ? prediction.toPrecision(5) : String(prediction);
  head.appendChild(strong);
  head.append(` (version ${body.version_id})`);
  result.appendChild(head);
  const imputed = Object.keys(body.imputed || {});
  if (imputed.length) {
    // A value left empty, or typed so that it is no number or date, was replaced: say so rather than score silently.
    const note = document.createElement("p");
    note.id = "score-imputed";
    note.className = "small";
    note.textContent = `Imputed (empty, or not read as a number or a date): ${imputed.join(", ")}`;
    result.appendChild(note);
  }
  const unseen = Object.keys(body.unseen || {});
  if (unseen.length) {
    const note = document.createElement("p");
    note.id = "score-unseen";
    note.className = "small";
    note.textContent = `Not one of the model's categories (scored as the values it does not encode): ${unseen.join(", ")}`;
    result.appendChild(note);
  }
  if (body.probabilities) {
    const table = document.createElement("table");
    table.innerHTML = "<thead><tr><th>Class</th><th class='num'>Probability</th></tr></thead>";
    const tbody = document.createElement("tbody");
    body.class_labels.forEach((label, i) => {
      const tr = document.createElement("tr");
      const td1 = document.createElement("td");
      td1.textContent = String(label);
      const td2 = document.createElement("td");
      td2.className = "num";
      td2.textContent = body.probabilities[0][i].toFixed(4);
      tr.append(td1, td2);
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.style.maxWidth = "420px";
    wrap.appendChild(table);
    result.appendChild(wrap);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("score-form");
  if (!form) return;
  const result = document.getElementById("score-result");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    result.textContent = "Scoring…";
    try {
      const response = await fetch(form.dataset.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": window.csrfToken() },
        body: JSON.stringify({ rows: [await rowOf(form)] }),
      });
      const body = await response.json();
      if (!response.ok) {
        result.innerHTML = "";
        const err = document.createElement("p");
        err.className = "error";
        err.textContent = body.detail || `HTTP ${response.status}`;
        result.appendChild(err);
      } else {
        render(result, body);
      }
    } catch (err) {
      result.textContent = `Scoring failed: ${err}`;
    } finally {
      button.disabled = false;
    }
  });
});
