// Lists that grow (the list_tools macro): search, filters by column value and sorting by a click on a column header,
// over a table the server rendered. Loaded once per list, so it installs itself once.
"use strict";

(() => {
  if (window.fitstudioLists) return;
  window.fitstudioLists = true;

  const cellText = (row, index) => (row.cells[index] ? row.cells[index].textContent.trim() : "");

  // A cell's sort value: data-sort when the server gave one, else a number when it reads as one, else its text.
  function sortValue(row, index) {
    const cell = row.cells[index];
    if (!cell) return "";
    if (cell.dataset.sort !== undefined) {
      const n = Number(cell.dataset.sort);
      return cell.dataset.sort !== "" && !Number.isNaN(n) ? n : cell.dataset.sort;
    }
    const text = cell.textContent.trim().replace(/^s(\d+)$/, "$1");  // session numbers: s12 after s9
    const n = Number(text.replace(/[\s,]/g, ""));
    if (text !== "" && !Number.isNaN(n)) return n;
    const time = text.match(/^(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:([\d.]+)s)?$/);  // durations: 1h 02m, 3m 05s, 4.2s
    if (text && time) return 3600 * (+time[1] || 0) + 60 * (+time[2] || 0) + (+time[3] || 0);
    const labelled = text.match(/^(.*\S)\s+(-?\d[\d.]*(?:e-?\d+)?)$/i);  // "ROC AUC 0.95": by label, then value
    return labelled ? [labelled[1].toLowerCase(), Number(labelled[2])] : text.toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (Array.isArray(a) && Array.isArray(b)) return compare(a[0], b[0]) || a[1] - b[1];
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function enhance(tools) {
    const table = document.getElementById(tools.dataset.listFor);
    if (!table || !table.tBodies[0]) return;
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);
    const search = tools.querySelector("[data-list-search]");
    const count = tools.querySelector("[data-list-count]");
    const filters = Array.from(tools.querySelectorAll("[data-list-filter]")).map((select) => {
      const index = headers.findIndex((th) => th.textContent.trim() === select.dataset.listFilter);
      const values = new Set(Array.from(body.rows, (r) => cellText(r, index).split(/\s+/)[0]).filter(Boolean));
      Array.from(values).sort().forEach((v) => select.add(new Option(v, v)));
      return { select, index };
    });

    function apply() {
      const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of body.rows) {
        const text = row.textContent.toLowerCase();
        const ok = words.every((w) => text.includes(w)) &&
          filters.every((f) => !f.select.value || cellText(row, f.index).split(/\s+/)[0] === f.select.value);
        row.hidden = !ok;
        if (ok) shown += 1;
      }
      const total = body.rows.length;
      count.textContent = shown === total ? `${total} in all` : `${shown} of ${total}`;
    }

    headers.forEach((th, index) => {
      const label = th.textContent.trim();
      if (!label) return;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = label;
      button.title = `Sort by ${label}`;
      // A header that reads as a header (app.css styles buttons as buttons); the arrow shows the order.
      button.style.cssText = "all:unset;cursor:pointer;font-weight:inherit";
      const arrow = document.createElement("span");
      arrow.setAttribute("aria-hidden", "true");
      arrow.className = "sort-arrow";
      button.appendChild(arrow);
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach((h) => h.removeAttribute("aria-sort"));
        table.querySelectorAll(".sort-arrow").forEach((a) => { a.textContent = ""; });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        arrow.textContent = ascending ? " ▲" : " ▼";
        const rows = Array.from(body.rows);
        rows.sort((a, b) => (ascending ? 1 : -1) * compare(sortValue(a, index), sortValue(b, index)));
        rows.forEach((r) => body.appendChild(r));
      });
    });
    search.addEventListener("input", apply);
    filters.forEach((f) => f.select.addEventListener("change", apply));
    tools.hidden = false;
    apply();
  }

  function init() { document.querySelectorAll("[data-list-for]").forEach(enhance); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
