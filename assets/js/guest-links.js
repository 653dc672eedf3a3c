// Guest links: the list's copy, enable/disable and delete buttons, and the create form.
"use strict";

(() => {
  const table = document.getElementById("guest-links-table");
  if (table) {
    table.addEventListener("click", async (e) => {
      const row = e.target.closest("tr[data-id]");
      if (!row) return;
      const id = row.dataset.id;
      const toggle = e.target.closest(".toggle-link");
      const del = e.target.closest(".delete-link");
      if (toggle) {
        const disable = row.dataset.disabled !== "true";
        toggle.disabled = true;
        const r = await fetch(`/api/guest-links/${encodeURIComponent(id)}/${disable ? "disable" : "enable"}`, {
          method: "PUT",
        });
        toggle.disabled = false;
        if (!r.ok) {
          PicoShare.snackbar(await PicoShare.reason(r));
          return;
        }
        row.dataset.disabled = String(disable);
        toggle.textContent = disable ? "Enable" : "Disable";
        // Still inactive if the link expired or is full, whatever the switch says.
        const active = !disable && row.dataset.otherInactive !== "true";
        row.classList.toggle("inactive", !active);
        row.querySelector(".copy-guest").hidden = !active;
        const status = row.querySelector(".status");
        status.textContent = "";
        if (disable) {
          const badge = document.createElement("span");
          badge.className = "badge";
          badge.textContent = "disabled";
          status.append(badge);
        }
        PicoShare.snackbar(disable ? "Guest link disabled" : "Guest link reactivated");
        return;
      }
      if (del) {
        if (!window.confirm("Delete this guest link? Files already uploaded through it are kept.")) return;
        const r = await fetch(`/api/guest-links/${encodeURIComponent(id)}`, { method: "DELETE" });
        if (!r.ok) {
          PicoShare.snackbar(await PicoShare.reason(r));
          return;
        }
        row.remove();
        PicoShare.snackbar("Guest link deleted");
      }
    });
  }

  const form = document.getElementById("guest-link-form");
  if (form) {
    const $ = (id) => document.getElementById(id);
    const error = $("guest-link-error");
    // An optional whole number field: "" → null; otherwise a positive integer or an error.
    const whole = (input, what) => {
      const v = input.value.trim();
      if (v === "") return null;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a whole number of at least 1.`);
      return n;
    };
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      let body;
      try {
        const urlChoice = $("url-expiration-select").value;
        let urlExpirationTime = "2999-12-31T00:00:00Z";
        if (urlChoice === "year") {
          const d = new Date();
          d.setFullYear(d.getFullYear() + 1);
          urlExpirationTime = d.toISOString();
        } else if (urlChoice !== "never") {
          urlExpirationTime = new Date(Date.now() + Number(urlChoice) * 86400e3).toISOString();
        }
        const mb = whole($("max-file-size"), "The largest file size");
        body = {
          label: $("label").value,
          urlExpirationTime,
          fileLifetime: $("file-expiration-select").value,
          maxFileBytes: mb === null ? null : mb * 1024 * 1024,
          maxFileUploads: whole($("file-upload-limit"), "The number of files"),
        };
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
        return;
      }
      try {
        const r = await fetch("/api/guest-links", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        });
        if (r.ok) {
          window.location.href = "/guest-links";
          return;
        }
        error.textContent = await PicoShare.reason(r);
      } catch (_) {
        error.textContent = "The server could not be reached.";
      }
      error.hidden = false;
    });
  }
})();
