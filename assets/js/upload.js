// The upload page (admin and guest): picker, drag-and-drop and paste of one file or several;
// XMLHttpRequest uploads, one file after the other, with percentage, speed and time left; a
// "saving" phase once every byte is sent; the links. The admin can share several files as one
// link (a bundle, POST /api/bundles) and sees a QR code of the link.
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
  const maxDownloadsInput = $("max-downloads");
  const shareAsOne = $("share-as-one");
  const timeInput = $("expiration-time");
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

  // Custom date and time: earliest today (the server wants at least an hour ahead), 30 days
  // ahead at midnight by default.
  if (dateInput) {
    const day = 86400e3;
    dateInput.min = PicoShare.localDate(new Date());
    dateInput.value = PicoShare.localDate(new Date(Date.now() + 30 * day));
  }
  if (select && picker) {
    select.addEventListener("change", () => {
      picker.hidden = select.value !== "custom";
    });
  }

  // The chosen expiration as RFC 3339, or null when the custom date is unusable. Values are
  // hours ("never" and "custom" aside).
  function expiration() {
    const v = select ? select.value : "never";
    // A guest choosing the link's own lifetime sends none: the server applies it, so a
    // client clock running ahead cannot overshoot the link's limit.
    if (form.dataset.maxHours && v === form.dataset.maxHours) return "";
    if (v === "never") return NEVER;
    if (v === "custom") {
      if (!dateInput.value) return null;
      // The chosen day and time (local midnight when no time is given).
      const [y, m, d] = dateInput.value.split("-").map(Number);
      const [hh, mm] = timeInput && timeInput.value ? timeInput.value.split(":").map(Number) : [0, 0];
      return new Date(y, m - 1, d, hh, mm).toISOString();
    }
    return new Date(Date.now() + Number(v) * 3600e3).toISOString();
  }

  // "Downloads allowed": undefined when empty, null when unusable, else a whole number.
  function maxDownloads() {
    if (!maxDownloadsInput || maxDownloadsInput.value.trim() === "") return undefined;
    const n = Number(maxDownloadsInput.value);
    return Number.isInteger(n) && n >= 1 ? n : null;
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

  // Uploads `files` one after the other, then shows their links (or, for the admin with
  // "share as one link", one bundle's link).
  async function uploadAll(files) {
    if (busy || files.length === 0) return;
    errorBox.hidden = true;
    for (const file of files) {
      if (maxBytes !== null && file.size > maxBytes) {
        fail(`${file.name} is too large: this link accepts files of up to ${formatSize(maxBytes)} (${maxBytes} bytes).`);
        return;
      }
      if (file.size === 0) {
        fail(`${file.name} is empty; there is nothing to upload.`);
        return;
      }
    }
    const exp = expiration();
    if (exp === null) {
      fail("Choose an expiry date first.");
      return;
    }
    const max = maxDownloads();
    if (max === null) {
      fail("Downloads allowed must be a whole number of at least 1, or empty.");
      return;
    }
    busy = true;
    const done = [];
    for (let i = 0; i < files.length; i++) {
      let id;
      try {
        id = await upload(files[i], exp, max, files.length > 1 ? `${i + 1} of ${files.length}: ` : "");
      } catch (reason) {
        fail(done.length ? `${reason} (${done.length} of ${files.length} files were uploaded before.)` : reason);
        return;
      }
      done.push({ id, name: files[i].name, size: files[i].size });
    }
    if (isAdmin && done.length > 1 && shareAsOne && shareAsOne.checked) {
      let bundle;
      try {
        bundle = await createBundle(done, exp, max);
      } catch (reason) {
        fail(`The files were uploaded, but the shared link could not be made: ${reason}`);
        return;
      }
      busy = false;
      showBundle(bundle, done);
      return;
    }
    busy = false;
    showFiles(done);
  }

  // One upload; resolves to the new file's id, rejects with the reason it failed.
  function upload(file, exp, max, counter) {
    return new Promise((resolve, reject) => {
      const data = new FormData();
      data.append("file", file, file.name);
      if (note && note.value) data.append("note", note.value);
      if (passphrase && passphrase.value) data.append("downloadPassphrase", passphrase.value);

      $("progress-name").textContent = `Uploading ${counter}${file.name} (${formatSize(file.size)})`;
      const bar = $("progress-bar");
      bar.value = 0;
      $("progress-percent").textContent = "0%";
      $("progress-speed").textContent = "";
      $("progress-eta").textContent = "";
      show(progress);
      document.title = "PicoShare ↑ 0%";

      const params = new URLSearchParams();
      if (exp) params.set("expiration", exp);
      if (max !== undefined) params.set("maxDownloads", String(max));
      const query = params.toString();
      const xhr = new XMLHttpRequest();
      const started = performance.now();
      const samples = [[started, 0]];
      xhr.open("POST", query ? `${endpoint}?${query}` : endpoint);
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
        if (xhr.status !== 200) {
          reject(xhr.responseText.trim() || `Upload failed (${xhr.status} ${xhr.statusText})`);
          return;
        }
        try {
          resolve(JSON.parse(xhr.responseText).id);
        } catch (_) {
          reject("The server's answer could not be read.");
        }
      });
      xhr.addEventListener("error", () => reject("The upload failed: the connection to the server was lost."));
      xhr.addEventListener("abort", () => reject("The upload was cancelled."));
      current = xhr;
      xhr.addEventListener("loadend", () => {
        current = null;
      });
      xhr.send(data);
      $("upload-cancel").focus();
    });
  }

  // POST /api/bundles with the uploaded files; resolves to the bundle's id.
  async function createBundle(files, exp, max) {
    const body = { entryIds: files.map((f) => f.id), expiration: exp === NEVER ? "" : exp };
    if (max !== undefined) body.maxDownloads = max;
    const r = await fetch("/api/bundles", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw await PicoShare.reason(r);
    return (await r.json()).id;
  }

  // A link box: label, the absolute link, a Copy button.
  function linkBox(boxId, label, path) {
    const box = document.createElement("div");
    box.className = "link-box";
    if (boxId) box.id = boxId;
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
  }

  // The QR code of a link (admin only: the image comes from an admin route or the public
  // bundle route).
  function qr(src, caption) {
    const figure = document.createElement("figure");
    figure.className = "qr";
    figure.id = "result-qr";
    const img = document.createElement("img");
    img.src = src;
    img.alt = `QR code of the ${caption.toLowerCase()}`;
    const cap = document.createElement("figcaption");
    cap.className = "hint";
    cap.textContent = caption;
    figure.append(img, cap);
    return figure;
  }

  function finish(message) {
    document.title = "PicoShare - Complete";
    // The guest page's invitation (with its "N more files") no longer applies.
    const lead = document.querySelector(".lead");
    if (lead) lead.hidden = true;
    result.querySelector(".message-body").textContent = message;
    show(result);
    $("upload-another").focus();
  }

  // One file: its two links and QR code (and for the admin Edit); several: a list.
  function showFiles(files) {
    const links = $("upload-links");
    const extra = $("result-extra");
    if (files.length === 1) {
      const { id, name } = files[0];
      links.setAttribute("filename", name);
      const boxes = document.createElement("div");
      boxes.className = "link-boxes";
      boxes.id = "result-links";
      boxes.append(
        linkBox("verbose-link-box", "Full link", `/-${id}/${encodeURIComponent(name)}`),
        linkBox("short-link-box", "Short link", `/-${id}`),
      );
      const wrap = document.createElement("div");
      wrap.className = "links-and-qr";
      wrap.append(boxes);
      wrap.append(qr(`/files/${id}/qr.svg`, "Short link"));
      links.replaceChildren(wrap);
      const edit = $("edit-link");
      if (isAdmin) {
        edit.href = `/files/${id}/edit`;
        edit.hidden = false;
      }
      finish("Upload complete!");
      return;
    }
    const list = document.createElement("div");
    list.className = "link-boxes";
    list.id = "result-links";
    for (const f of files) list.append(linkBox("", f.name, `/-${f.id}/${encodeURIComponent(f.name)}`));
    links.replaceChildren(list);
    extra.replaceChildren();
    finish(`${files.length} files uploaded!`);
  }

  // Several files under one link: the bundle's link with each file (name, size) under it, and
  // its QR code beside them.
  function showBundle(bundle, files) {
    const links = $("upload-links");
    links.setAttribute("bundle", bundle);
    const boxes = document.createElement("div");
    boxes.className = "link-boxes";
    boxes.id = "result-links";
    boxes.append(linkBox("bundle-link-box", "Link to all files", `/-${bundle}`));
    const list = document.createElement("ul");
    list.className = "plain bundle-files bundle-result-files";
    for (const f of files) {
      const li = document.createElement("li");
      li.className = "bundle-file";
      const a = document.createElement("a");
      a.className = "bundle-file-name";
      a.href = `/-${f.id}/${encodeURIComponent(f.name)}`;
      a.textContent = f.name;
      const size = document.createElement("span");
      size.className = "bundle-file-size";
      size.textContent = formatSize(f.size);
      li.append(a, size);
      list.append(li);
    }
    boxes.append(list);
    const wrap = document.createElement("div");
    wrap.className = "links-and-qr";
    wrap.append(boxes, qr(`/bundles/${bundle}/qr.svg`, "Link to all files"));
    links.replaceChildren(wrap);
    $("result-extra").replaceChildren();
    finish(`${files.length} files uploaded, shared as one link!`);
  }

  $("upload-another").addEventListener("click", () => window.location.reload());

  fileInput.addEventListener("change", () => {
    const files = Array.from(fileInput.files);
    fileInput.value = "";
    uploadAll(files);
  });

  // Drag and drop anywhere on the page, one file or several.
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
    const items = Array.from(e.dataTransfer.items || []).filter((i) => i.kind === "file");
    const files = items.length ? items.map((i) => i.getAsFile()).filter(Boolean) : Array.from(e.dataTransfer.files);
    uploadAll(files);
  });

  // Paste: files (several pasted files are uploaded together), else images first, then plain
  // text, then other text; text becomes a .txt file.
  function onPaste(e) {
    if (!e.clipboardData || form.hidden) return;
    const items = Array.from(e.clipboardData.items || []);
    const pastedFiles = items.filter((i) => i.kind === "file").map((i) => i.getAsFile()).filter(Boolean);
    if (pastedFiles.length > 1) {
      e.preventDefault();
      uploadAll(pastedFiles);
      return;
    }
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
      uploadAll([file]);
      return;
    }
    top.getAsString((text) => {
      if (!text) return;
      uploadAll([new File([text], pasteName("txt"), { type: "text/plain;charset=UTF-8" })]);
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
