// Behaviour every page shares: local times, copy buttons, the snackbar, the System menu,
// "back" links, the file filter and logging out. Pages work without it, with fewer comforts.
"use strict";

const PicoShare = (() => {
  const pad = (n) => String(n).padStart(2, "0");

  // YYYY-MM-DD in the viewer's time zone.
  function localDate(d) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  // "May 1, 2024 at 1:04 PM" (in the viewer's locale and time zone).
  function localDateTime(d) {
    return d.toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" });
  }

  // YYYY-MM-DD HH:MM:SS +HHMM, with the offset's sign the right way round.
  function localTimestamp(d) {
    const off = -d.getTimezoneOffset();
    const sign = off >= 0 ? "+" : "-";
    const abs = Math.abs(off);
    return (
      `${localDate(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
      `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`
    );
  }

  function localizeTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]")) {
      const d = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(d.getTime())) continue;
      const format = el.dataset.format;
      el.textContent =
        format === "date" ? localDate(d) : format === "timestamp" ? localTimestamp(d) : localDateTime(d);
      el.title = d.toString();
    }
  }

  let snackTimer = null;
  function snackbar(text) {
    const bar = document.getElementById("snackbar");
    if (!bar) return;
    bar.textContent = text;
    bar.classList.add("show");
    clearTimeout(snackTimer);
    snackTimer = setTimeout(() => bar.classList.remove("show"), 3000);
  }

  // Copies text: the Clipboard API where the page is a secure context, else a hidden
  // textarea and execCommand (plain-HTTP LAN addresses are not secure contexts).
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) {
        // Fall through to the old way.
      }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (_) {
      ok = false;
    }
    area.remove();
    return ok;
  }

  // A site path as a full URL.
  function absolute(path) {
    return new URL(path, window.location.origin).href;
  }

  async function copyLink(path, message) {
    const url = absolute(path);
    const ok = await copyText(url);
    snackbar(ok ? message || "Copied link" : `Copy failed; the link is ${url}`);
    return ok;
  }

  function expandLinks(root) {
    for (const a of root.querySelectorAll("a[data-abs]")) {
      a.textContent = absolute(a.getAttribute("href"));
    }
  }

  async function logout(e) {
    e.preventDefault();
    try {
      await fetch("/api/auth", { method: "DELETE" });
    } finally {
      window.location.href = "/";
    }
  }

  // The response's text, as the server's reason for a failure.
  async function reason(response) {
    const text = (await response.text()).trim();
    return text || `${response.status} ${response.statusText}`;
  }

  function init() {
    localizeTimes(document);
    expandLinks(document);

    document.addEventListener("click", (e) => {
      const copy = e.target.closest("[data-copy]");
      if (copy) {
        e.preventDefault();
        copyLink(copy.dataset.copy, copy.dataset.copyMessage);
        return;
      }
      const back = e.target.closest("a[data-back]");
      if (back && window.history.length > 1 && document.referrer.startsWith(window.location.origin)) {
        e.preventDefault();
        window.history.back();
        return;
      }
      // Clicking elsewhere closes an open System menu.
      for (const menu of document.querySelectorAll("details.menu[open]")) {
        if (!menu.contains(e.target)) menu.open = false;
      }
    });

    document.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      for (const menu of document.querySelectorAll("details.menu[open]")) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });

    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", logout);

    const filter = document.getElementById("filter");
    if (filter) {
      const apply = () => {
        const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
        let shown = 0;
        for (const row of document.querySelectorAll("tr[data-search]")) {
          const hit = words.every((w) => row.dataset.search.includes(w));
          row.hidden = !hit;
          if (hit) shown++;
        }
        const none = document.getElementById("filter-empty");
        if (none) none.hidden = shown > 0;
      };
      filter.addEventListener("input", apply);
      apply();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }

  return { snackbar, copyText, copyLink, absolute, localDate, localizeTimes, expandLinks, reason };
})();
