// The edit page (PUT /api/entry/{id}) and the delete confirmation (DELETE /api/entry/{id}).
"use strict";

(() => {
  // Sends one change; on success goes back to the file list (and returns true), else shows
  // the server's reason in `error`.
  async function send(url, init, error) {
    try {
      const r = await fetch(url, init);
      if (r.ok) {
        window.location.href = "/files";
        return true;
      }
      error.textContent = await PicoShare.reason(r);
    } catch (_) {
      error.textContent = "The server could not be reached.";
    }
    error.hidden = false;
    return false;
  }

  const form = document.getElementById("edit-form");
  if (form) {
    const $ = (id) => document.getElementById(id);
    const checkbox = $("expire-checkbox");
    const picker = $("expiration-picker");
    const date = $("expiration");
    const error = $("edit-error");
    const original = form.dataset.expiration; // RFC 3339, or "" for never
    const day = 86400e3;
    // Show the expiry as a date in the viewer's time zone (+30 days when it never expires).
    const initialDate = PicoShare.localDate(original ? new Date(original) : new Date(Date.now() + 30 * day));
    date.value = initialDate;
    date.min = PicoShare.localDate(new Date(Date.now() + day));
    const sync = () => {
      picker.hidden = !checkbox.checked;
      date.disabled = !checkbox.checked;
    };
    checkbox.addEventListener("change", sync);
    sync();
    const protect = $("passphrase-checkbox");
    const passphraseField = $("passphrase-field");
    const passphrase = $("download-passphrase");
    const syncProtection = () => {
      passphraseField.hidden = !protect.checked;
      passphrase.disabled = !protect.checked;
    };
    protect.addEventListener("change", () => {
      syncProtection();
      if (protect.checked) passphrase.focus();
    });
    syncProtection();

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      error.hidden = true;
      let expiration = "";
      if (checkbox.checked) {
        if (!date.value) {
          error.textContent = "Choose an expiration date, or untick “Delete after expiration”.";
          error.hidden = false;
          return;
        }
        if (original && date.value === initialDate) {
          // Unchanged: send the exact stored time back.
          expiration = original;
        } else {
          const [y, m, d] = date.value.split("-").map(Number);
          expiration = new Date(y, m - 1, d).toISOString();
        }
      }
      if (protect.checked && !passphrase.value) {
        error.textContent = "Enter a passphrase, or untick “Require guests to enter a passphrase”.";
        error.hidden = false;
        return;
      }
      // Downloads allowed: empty removes the limit (null), else a whole number from 1.
      const maxText = $("max-downloads").value.trim();
      const maxDownloads = maxText === "" ? null : Number(maxText);
      if (maxDownloads !== null && (!Number.isInteger(maxDownloads) || maxDownloads < 1)) {
        error.textContent = "Downloads allowed must be a whole number of at least 1, or empty.";
        error.hidden = false;
        return;
      }
      const body = {
        filename: $("filename").value,
        expiration,
        note: $("note").value,
        downloadPassphrase: protect.checked ? passphrase.value : "",
        maxDownloads,
      };
      await send(
        `/api/entry/${encodeURIComponent(form.dataset.id)}`,
        { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
        error,
      );
    });
  }

  // Replace the file's bytes, keeping its links (PUT /api/entry/{id}/file).
  const replace = document.getElementById("replace-input");
  if (replace) {
    const status = document.getElementById("replace-status");
    const error = document.getElementById("replace-error");
    replace.addEventListener("change", async () => {
      const file = replace.files[0];
      replace.value = "";
      if (!file) return;
      error.hidden = true;
      status.textContent = `Uploading ${file.name}…`;
      status.hidden = false;
      const data = new FormData();
      data.append("file", file, file.name);
      try {
        const r = await fetch(`/api/entry/${encodeURIComponent(replace.dataset.id)}/file`, {
          method: "PUT",
          body: data,
          headers: { Accept: "application/json" },
        });
        if (r.ok) {
          status.textContent = `Replaced with ${file.name}.`;
          window.location.href = `/files/${encodeURIComponent(replace.dataset.id)}/info`;
          return;
        }
        error.textContent = await PicoShare.reason(r);
      } catch (_) {
        error.textContent = "The server could not be reached.";
      }
      status.hidden = true;
      error.hidden = false;
    });
  }

  const del = document.getElementById("delete-button");
  if (del) {
    const error = document.getElementById("delete-error");
    del.addEventListener("click", async () => {
      del.disabled = true;
      if (!(await send(`/api/entry/${encodeURIComponent(del.dataset.id)}`, { method: "DELETE" }, error))) {
        del.disabled = false;
      }
    });
  }
})();
