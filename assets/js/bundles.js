// The admin's list of bundles: delete a bundle (its files stay). Copy buttons are common.js's.
"use strict";

(() => {
  const table = document.getElementById("bundles-table");
  if (!table) return;
  table.addEventListener("click", async (e) => {
    const del = e.target.closest(".delete-bundle");
    const row = e.target.closest("tr[data-id]");
    if (!del || !row) return;
    if (!window.confirm("Delete this bundle? Its link stops working; its files are kept.")) return;
    del.disabled = true;
    const r = await fetch(`/api/bundles/${encodeURIComponent(row.dataset.id)}`, { method: "DELETE" });
    del.disabled = false;
    if (!r.ok) {
      PicoShare.snackbar(await PicoShare.reason(r));
      return;
    }
    row.remove();
    PicoShare.snackbar("Bundle deleted");
  });
})();
