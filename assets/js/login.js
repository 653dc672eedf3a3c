// The login page: sends the passphrase, then goes back to the page that asked for a login.
"use strict";

(() => {
  const form = document.getElementById("login-form");
  if (!form) return;
  const input = document.getElementById("passphrase");
  const error = document.getElementById("login-error");
  // The server only renders a local path here; check again before navigating.
  const next = form.dataset.next;
  const target = next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!input.value) {
      error.textContent = "Enter the passphrase.";
      error.hidden = false;
      input.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const r = await fetch("/api/auth", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sharedSecretKey: input.value }),
      });
      if (r.ok) {
        window.location.href = target;
        return;
      }
      error.textContent = await PicoShare.reason(r);
    } catch (_) {
      error.textContent = "The server could not be reached.";
    }
    error.hidden = false;
    button.disabled = false;
    input.select();
  });
})();
