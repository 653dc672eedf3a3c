// Download history: ticking "Unique IPs only" reloads the page with or without ?unique=true.
"use strict";

(() => {
  const box = document.getElementById("unique-ips-only");
  if (!box) return;
  box.addEventListener("change", () => {
    const url = new URL(window.location.href);
    if (box.checked) url.searchParams.set("unique", "true");
    else url.searchParams.delete("unique");
    window.location.href = url.href;
  });
})();
