// Settings: the default expiration of new uploads (days or years, or forever).
"use strict";

(() => {
  const form = document.getElementById("settings-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const number = $("default-expiration");
  const unit = $("time-unit");
  const forever = $("store-forever");
  const error = $("settings-error");
  const save = form.querySelector("button[type=submit]");
  const state = () => JSON.stringify([number.value, unit.value, forever.checked]);
  let saved = state();

  const sync = () => {
    number.disabled = forever.checked;
    unit.disabled = forever.checked;
    number.max = unit.value === "years" ? "10" : "3650";
    save.disabled = state() === saved;
  };
  for (const el of [number, unit, forever]) {
    el.addEventListener("input", sync);
    el.addEventListener("change", sync);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const n = Number(number.value);
    if (!forever.checked && (!Number.isInteger(n) || n < 1)) {
      error.textContent = "Enter a whole number of at least 1.";
      error.hidden = false;
      return;
    }
    const days = unit.value === "years" ? n * 365 : n;
    const body = forever.checked
      ? { defaultExpirationDays: 0, defaultNeverExpire: true }
      : { defaultExpirationDays: days, defaultNeverExpire: false };
    try {
      const r = await fetch("/api/settings", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        saved = state();
        sync();
        PicoShare.snackbar("Settings saved");
        return;
      }
      error.textContent = await PicoShare.reason(r);
    } catch (_) {
      error.textContent = "The server could not be reached.";
    }
    error.hidden = false;
  });
  sync();
})();
