// outflow dashboard: the little that needs a script. Every page works
// without it. Served as a file: the CSP allows no inline script.
"use strict";

// Click a column header of a .sortable table to sort by it; numeric cells
// sort by their data-v value (bytes) when they have one.
function sortTable(th) {
  const table = th.closest("table");
  const body = table.tBodies[0];
  if (!body) return;
  const col = Array.prototype.indexOf.call(th.parentNode.children, th);
  const desc = th.getAttribute("aria-sort") !== "descending";
  for (const h of th.parentNode.children) h.removeAttribute("aria-sort");
  th.setAttribute("aria-sort", desc ? "descending" : "ascending");
  const key = (tr) => {
    const td = tr.children[col];
    if (!td) return "";
    const v = td.getAttribute("data-v");
    if (v !== null) return Number(v);
    const t = td.textContent.trim();
    const n = Number(t.replace(/,/g, ""));
    return t !== "" && !Number.isNaN(n) ? n : t.toLowerCase();
  };
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = key(a), y = key(b);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return desc ? -c : c;
  });
  for (const r of rows) body.appendChild(r);
}

document.addEventListener("click", (e) => {
  const th = e.target.closest("table.sortable th");
  if (th) sortTable(th);
});

// "/" focuses the search box, as on many sites.
document.addEventListener("keydown", (e) => {
  if (e.key !== "/" || e.target.closest("input, textarea, select")) return;
  const box = document.querySelector("header .search input");
  if (box) { e.preventDefault(); box.focus(); }
});
