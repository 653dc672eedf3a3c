// The upload page (admin and guest): picker, drag-and-drop and paste; an XMLHttpRequest upload
// with percentage, speed and time left; a "saving" phase once every byte is sent; the links.
"use strict";

(() => {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const fileInput = $("file-input");
  const pastebox = $("pastebox");
  const select = $("expiration-select");
  const picker = $("expiration-picker");
  const dateInput = $("expiration");
  const note = $("note");
  const passphrase = $("download-passphrase");
  const progress = $("upload-progress");
  const saving = $("upload-saving");
  const errorBox = $("upload-error");
  const result = $("upload-result");
  const endpoint = form.dataset.endpoint;
  const isAdmin = form.dataset.admin === "true";
  const maxBytes = form.dataset.maxBytes ? Number(form.dataset.maxBytes) : null;
  const NEVER = "2999-12-31T00:00:00Z";
  let busy = false;
  let current = null; // the XMLHttpRequest in flight

  $("upload-cancel").addEventListener("click", () => {
    if (current) current.abort();
  });
  // Leaving the page mid-upload would silently drop it: ask first.
  window.addEventListener("beforeunload", (e) => {
    if (busy) e.preventDefault();
  });

  // Custom date: earliest tomorrow, 30 days ahead by default.
  if (dateInput) {
    const day = 86400e3;
    dateInput.min = PicoShare.localDate(new Date(Date.now() + day));
    dateInput.value = PicoShare.localDate(new Date(Date.now() + 30 * day));
  }
  if (select && picker) {
    select.addEventListener("change", () => {
      picker.hidden = select.value !== "custom";
    });
  }

  // The chosen expiration as RFC 3339, or null when the custom date is unusable.
  function expiration() {
    const v = select ? select.value : "never";
    // A guest choosing the link's own lifetime sends none: the server applies it, so a
    // client clock running ahead cannot overshoot the link's limit.
    if (form.dataset.maxDays && v === form.dataset.maxDays) return "";
    if (v === "never") return NEVER;
    if (v === "custom") {
      if (!dateInput.value) return null;
      // Local midnight at the start of the chosen day.
      const [y, m, d] = dateInput.value.split("-").map(Number);
      return new Date(y, m - 1, d).toISOString();
    }
    return new Date(Date.now() + Number(v) * 86400e3).toISOString();
  }

  function formatSize(n) {
    if (n < 1024) return `${n} B`;
    const units = ["kB", "MB", "GB", "TB", "PB", "EB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v.toFixed(2)} ${units[i]}`;
  }

  function formatDuration(secs) {
    if (!Number.isFinite(secs)) return "";
    secs = Math.max(0, Math.round(secs));
    if (secs < 60) return `${secs} s`;
    const m = Math.floor(secs / 60);
    if (m < 60) return `${m} min ${secs % 60} s`;
    return `${Math.floor(m / 60)} h ${m % 60} min`;
  }

  function show(panel) {
    for (const p of [form, progress, saving, result]) p.hidden = p !== panel;
  }

  function fail(text) {
    busy = false;
    document.title = "PicoShare - Upload";
    errorBox.textContent = text;
    errorBox.hidden = false;
    show(form);
  }

  // A timestamp for pasted files' names: ISO 8601 UTC without colons.
  function pasteName(ext) {
    return `pasted-${new Date().toISOString().replace(/:/g, "")}.${ext}`;
  }

  function upload(file) {
    if (busy || !file) return;
    errorBox.hidden = true;
    if (maxBytes !== null && file.size > maxBytes) {
      fail(`This file is too large: this link accepts files of up to ${formatSize(maxBytes)} (${maxBytes} bytes).`);
      return;
    }
    if (file.size === 0) {
      fail("This file is empty; there is nothing to upload.");
      return;
    }
    const exp = expiration();
    if (exp === null) {
      fail("Choose an expiry date first.");
      return;
    }
    busy = true;
    const data = new FormData();
    data.append("file", file, file.name);
    if (note && note.value) data.append("note", note.value);
    if (passphrase && passphrase.value) data.append("downloadPassphrase", passphrase.value);

    $("progress-name").textContent = `Uploading ${file.name} (${formatSize(file.size)})`;
    const bar = $("progress-bar");
    bar.value = 0;
    $("progress-percent").textContent = "0%";
    $("progress-speed").textContent = "";
    $("progress-eta").textContent = "";
    show(progress);
    document.title = "PicoShare ↑ 0%";

    const xhr = new XMLHttpRequest();
    const started = performance.now();
    const samples = [[started, 0]];
    xhr.open("POST", exp ? `${endpoint}?expiration=${encodeURIComponent(exp)}` : endpoint);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.floor((e.loaded / e.total) * 100);
      bar.value = pct;
      $("progress-percent").textContent = `${pct}%`;
      document.title = `PicoShare ↑ ${pct}%`;
      // Speed over the last few seconds, so it follows the connection as it changes.
      const now = performance.now();
      samples.push([now, e.loaded]);
      while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
      const [t0, b0] = samples[0];
      const secs = (now - t0) / 1000;
      if (now - started > 500 && secs > 0.25 && e.loaded > b0) {
        const speed = (e.loaded - b0) / secs;
        $("progress-speed").textContent = `${formatSize(speed)}/s`;
        $("progress-eta").textContent = `${formatDuration((e.total - e.loaded) / speed)} left`;
      }
    });
    // Every byte is sent; the server still copies the file into its database.
    xhr.upload.addEventListener("load", () => {
      document.title = "PicoShare - Saving…";
      show(saving);
    });
    xhr.addEventListener("load", () => {
      busy = false;
      if (xhr.status !== 200) {
        fail(xhr.responseText.trim() || `Upload failed (${xhr.status} ${xhr.statusText})`);
        return;
      }
      let id;
      try {
        id = JSON.parse(xhr.responseText).id;
      } catch (_) {
        fail("The server's answer could not be read.");
        return;
      }
      done(id, file.name);
    });
    xhr.addEventListener("error", () => fail("The upload failed: the connection to the server was lost."));
    xhr.addEventListener("abort", () => fail("The upload was cancelled."));
    current = xhr;
    xhr.addEventListener("loadend", () => {
      current = null;
    });
    xhr.send(data);
    $("upload-cancel").focus();
  }

  function done(id, filename) {
    document.title = "PicoShare - Complete";
    // The guest page's invitation (with its "N more files") no longer applies.
    const lead = document.querySelector(".lead");
    if (lead) lead.hidden = true;
    const links = $("upload-links");
    links.setAttribute("filename", filename);
    const boxes = document.createElement("div");
    boxes.className = "link-boxes";
    boxes.id = "result-links";
    const make = (boxId, label, path) => {
      const box = document.createElement("div");
      box.className = "link-box";
      box.id = boxId;
      const l = document.createElement("span");
      l.className = "link-box-label";
      l.textContent = label;
      const a = document.createElement("a");
      a.className = "link";
      a.href = path;
      a.textContent = PicoShare.absolute(path);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "button small";
      b.dataset.copy = path;
      b.textContent = "Copy";
      box.append(l, a, b);
      return box;
    };
    boxes.append(
      make("verbose-link-box", "Full link", `/-${id}/${encodeURIComponent(filename)}`),
      make("short-link-box", "Short link", `/-${id}`)
    );
    links.replaceChildren(boxes);
    const edit = $("edit-link");
    if (isAdmin) {
      edit.href = `/files/${id}/edit`;
      edit.hidden = false;
    }
    show(result);
    $("upload-another").focus();
  }

  $("upload-another").addEventListener("click", () => window.location.reload());

  fileInput.addEventListener("change", () => {
    if (fileInput.files.length > 0) upload(fileInput.files[0]);
    fileInput.value = "";
  });

  // Drag and drop anywhere on the page; only the first dropped file is used.
  let depth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types).includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e) || form.hidden) return;
    e.preventDefault();
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragover", (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  document.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (e) => {
    if (!e.dataTransfer) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    if (form.hidden) return;
    const item = Array.from(e.dataTransfer.items || []).find((i) => i.kind === "file");
    const file = item ? item.getAsFile() : e.dataTransfer.files[0];
    if (file) upload(file);
  });

  // Paste: images first, then plain text, then other text; text becomes a .txt file.
  function onPaste(e) {
    if (!e.clipboardData || form.hidden) return;
    const items = Array.from(e.clipboardData.items || []);
    const rank = (i) =>
      i.kind === "file" && i.type.startsWith("image/") ? 0 : i.kind === "file" ? 1 : i.type === "text/plain" ? 2 : 3;
    items.sort((a, b) => rank(a) - rank(b));
    const top = items[0];
    if (!top) return;
    e.preventDefault();
    if (top.kind === "file") {
      let file = top.getAsFile();
      if (!file) return;
      if (file.name === "image.png" || !file.name) {
        const ext = (file.type.split("/")[1] || "bin").replace(/[^a-z0-9]/gi, "");
        file = new File([file], pasteName(ext), { type: file.type });
      }
      upload(file);
      return;
    }
    top.getAsString((text) => {
      if (!text) return;
      upload(new File([text], pasteName("txt"), { type: "text/plain;charset=UTF-8" }));
    });
  }
  pastebox.addEventListener("paste", onPaste);
  // A paste anywhere else on the page (outside the note and date fields) works too.
  document.addEventListener("paste", (e) => {
    if (e.target === pastebox) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    onPaste(e);
  });
  pastebox.addEventListener("input", () => {
    pastebox.value = "";
  });
  pastebox.focus();
})();
