// The upload page (admin and guest): picker, drag-and-drop and paste of one file or several;
// each file a resumable (tus) upload in PATCHes of a set size (tus.js), one after the other,
// with percentage, speed and time left across lost connections and resumes; a "saving" phase
// once every byte is sent; the links. A file whose upload stopped (a reload, a closed tab)
// resumes where it stopped when it is chosen again. The admin can share several files as one
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
  const resumePanel = $("upload-resume");
  const pending = $("upload-pending");
  const status = $("progress-status");
  const endpoint = form.dataset.endpoint;
  const patchBytes = Number(form.dataset.patchBytes) || 50e6;
  const isAdmin = form.dataset.admin === "true";
  const maxBytes = form.dataset.maxBytes ? Number(form.dataset.maxBytes) : null;
  const NEVER = "2999-12-31T00:00:00Z";
  let busy = false;
  let current = null; // the upload in progress

  $("upload-cancel").addEventListener("click", () => {
    if (current) current.cancel();
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
    for (const p of [form, progress, saving, result, resumePanel]) p.hidden = p !== panel;
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

  // One file: offer to resume an upload of the same file that stopped before, then send it;
  // resolves to the new file's id, rejects with the reason it failed.
  async function upload(file, exp, max, counter) {
    const earlier = PicoShareTus.rememberedFor(endpoint, file);
    let resume = false;
    if (earlier) {
      const offset = await PicoShareTus.progressOf(earlier);
      if (typeof offset === "number" || offset === undefined) resume = await askToResume(file, offset);
    }
    return send(file, exp, max, counter, resume);
  }

  function send(file, exp, max, counter, resume) {
    pending.hidden = true;
    $("progress-name").textContent = `Uploading ${counter}${file.name} (${formatSize(file.size)})`;
    const bar = $("progress-bar");
    bar.value = 0;
    $("progress-percent").textContent = "0%";
    $("progress-speed").textContent = "";
    $("progress-eta").textContent = "";
    status.textContent = "";
    show(progress);
    document.title = "PicoShare ↑ 0%";

    const fields = {};
    if (exp) fields.expiration = exp;
    if (note && note.value) fields.note = note.value;
    if (passphrase && passphrase.value) fields.downloadPassphrase = passphrase.value;
    if (max !== undefined) fields.maxDownloads = String(max);
    // Speed over the last few seconds, so it follows the connection as it changes (and starts
    // afresh after a lost connection, whose unacknowledged bytes are sent again).
    let samples = [];
    const up = new PicoShareTus.Upload(file, endpoint, {
      patchBytes,
      fields,
      onProgress(sent, total) {
        const pct = Math.floor((sent / total) * 100);
        bar.value = pct;
        $("progress-percent").textContent = `${pct}%`;
        document.title = `PicoShare ↑ ${pct}%`;
        const now = performance.now();
        if (samples.length && sent < samples[samples.length - 1][1]) samples = [];
        if (samples.length && sent > samples[samples.length - 1][1]) status.textContent = "";
        samples.push([now, sent]);
        while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
        const [t0, b0] = samples[0];
        const secs = (now - t0) / 1000;
        if (secs > 0.5 && sent > b0) {
          const speed = (sent - b0) / secs;
          $("progress-speed").textContent = `${formatSize(speed)}/s`;
          $("progress-eta").textContent = `${formatDuration((total - sent) / speed)} left`;
        }
      },
      // Every byte is sent; the server still stores the last of them and makes the file.
      onLastBytes() {
        document.title = "PicoShare - Saving…";
        show(saving);
      },
      onRetry(secs) {
        samples = [];
        show(progress);
        $("progress-speed").textContent = "";
        $("progress-eta").textContent = "";
        status.textContent = `Connection lost. Trying again in ${secs} s…`;
      },
      onResumed(offset) {
        status.textContent = `Resuming: ${formatSize(offset)} already on the server.`;
      },
    });
    current = up;
    $("upload-cancel").focus();
    return up.start(resume).then(
      (id) => {
        current = null;
        return id;
      },
      (e) => {
        current = null;
        throw e.cancelled ? "The upload was cancelled." : e.message;
      },
    );
  }

  // Shows the resume panel; resolves true for "Resume", false for "Start over".
  function askToResume(file, offset) {
    const pct = typeof offset === "number" ? `${Math.floor((offset / file.size) * 100)}%` : "part";
    $("resume-text").textContent =
      `You started uploading ${file.name} (${formatSize(file.size)}) before, and ${pct} of it ` +
      "is already on the server.";
    show(resumePanel);
    $("resume-yes").focus();
    return new Promise((resolve) => {
      const answer = (yes) => () => {
        $("resume-yes").onclick = null;
        $("resume-no").onclick = null;
        resolve(yes);
      };
      $("resume-yes").onclick = answer(true);
      $("resume-no").onclick = answer(false);
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

  // Uploads this browser started earlier on this page and did not finish: offer to resume
  // (by choosing the same file again) or to discard them.
  async function listPending() {
    const entries = PicoShareTus.remembered(endpoint).slice(0, 5);
    const items = [];
    for (const entry of entries) {
      const offset = await PicoShareTus.progressOf(entry);
      if (typeof offset !== "number") continue;
      const li = document.createElement("li");
      const pct = Math.floor((offset / entry.size) * 100);
      li.append(`${entry.name} (${formatSize(entry.size)}): ${pct}% uploaded. `);
      const b = document.createElement("button");
      b.type = "button";
      b.className = "button small";
      b.textContent = "Discard";
      b.addEventListener("click", async () => {
        await PicoShareTus.discard(entry);
        li.remove();
        if (!pending.querySelector("li")) pending.hidden = true;
      });
      li.append(b);
      items.push(li);
    }
    if (items.length === 0) return;
    $("pending-list").replaceChildren(...items);
    pending.hidden = false;
  }
  listPending();

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
