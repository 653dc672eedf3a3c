// A small tus 1.0 client for the upload pages (no third-party code): creates an upload, sends
// the file in PATCHes of a set size, rides out lost connections (it asks the server with HEAD
// where to go on, after a growing pause), and remembers each upload's URL in localStorage
// under the file's name, size and date, so a reloaded page can resume where it stopped.
"use strict";

const PicoShareTus = (() => {
  const VERSION = "1.0.0";
  const PREFIX = "picoshare-tus:";
  // Seconds to wait before trying again after a failure, then 30 s for every later one.
  const BACKOFF = [1, 2, 4, 8, 15, 30];

  // Upload-Metadata: `key base64(UTF-8 value)` pairs.
  function metadata(fields) {
    return Object.entries(fields)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => {
        const bytes = new TextEncoder().encode(String(v));
        let binary = "";
        for (const b of bytes) binary += String.fromCharCode(b);
        return `${k} ${btoa(binary)}`;
      })
      .join(",");
  }

  const keyOf = (endpoint, file) => `${PREFIX}${endpoint}|${file.name}|${file.size}|${file.lastModified}`;

  function store(key, value) {
    try {
      if (value) localStorage.setItem(key, JSON.stringify(value));
      else localStorage.removeItem(key);
    } catch (_) {
      // Private windows may refuse storage; resuming after a reload is then not offered.
    }
  }

  function load(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "null");
    } catch (_) {
      return null;
    }
  }

  // The unfinished uploads this browser remembers for `endpoint`: {key, name, size, url}.
  function remembered(endpoint) {
    const out = [];
    try {
      for (let i = 0; i < localStorage.length; i++) {
        const key = localStorage.key(i);
        if (!key || !key.startsWith(`${PREFIX}${endpoint}|`)) continue;
        const v = load(key);
        if (v && v.url) out.push({ key, ...v });
      }
    } catch (_) {
      // No storage: nothing remembered.
    }
    return out;
  }

  // The remembered upload of this file for `endpoint` ({key, name, size, url}), if any.
  function rememberedFor(endpoint, file) {
    const key = keyOf(endpoint, file);
    const v = load(key);
    return v && v.url ? { key, ...v } : null;
  }

  // One request; resolves with {status, header(name), text}, rejects only when no answer came
  // (network error, or cancelled). `xhrOut` receives the request, for cancelling.
  function request(method, url, headers, body, onProgress, xhrOut) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", VERSION);
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      if (onProgress) xhr.upload.addEventListener("progress", onProgress);
      xhr.addEventListener("load", () =>
        resolve({ status: xhr.status, header: (n) => xhr.getResponseHeader(n), text: xhr.responseText.trim() }),
      );
      xhr.addEventListener("error", () => reject(Object.assign(new Error("network"), { network: true })));
      xhr.addEventListener("abort", () => reject(Object.assign(new Error("cancelled"), { cancelled: true })));
      if (xhrOut) xhrOut(xhr);
      xhr.send(body === undefined ? null : body);
    });
  }

  // Answers worth trying again: none at all, a server or proxy in trouble, a busy upload.
  const retryable = (status) => status === 0 || status === 423 || status === 429 || status >= 500;

  /**
   * A resumable upload of `file` to `endpoint` (an upload-creation URL).
   * options: patchBytes, fields (metadata), onProgress(sent, total), onLastBytes() (the final
   * PATCH's bytes are all sent: the server now makes the file), onRetry(seconds) (a
   * connection was lost; trying again in that many seconds), onResumed(offset).
   * start() resolves with the new file's id, or rejects with an Error whose message is the
   * server's reason (or `cancelled`).
   */
  class Upload {
    constructor(file, endpoint, options) {
      this.file = file;
      this.endpoint = endpoint;
      this.o = options;
      this.key = keyOf(endpoint, file);
      this.url = null;
      this.xhr = null;
      this.cancelled = false;
      this.timer = null;
      this.wake = null;
    }

    async send(method, url, headers, body, onProgress) {
      if (this.cancelled) throw Object.assign(new Error("cancelled"), { cancelled: true });
      try {
        return await request(method, url, headers, body, onProgress, (x) => (this.xhr = x));
      } finally {
        this.xhr = null;
      }
    }

    // Waits `secs` seconds, or until cancelled.
    pause(secs) {
      return new Promise((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, secs * 1000);
      });
    }

    // The server's offset for our upload: a number, "done" with the file's id, or null when
    // the upload is gone (expired, cancelled, never there). Throws on network errors.
    async where() {
      const r = await this.send("HEAD", this.url, {});
      if (r.status === 200 || r.status === 204) {
        const id = r.header("PicoShare-Entry-Id");
        if (id) return { done: id };
        return { offset: Number(r.header("Upload-Offset")) };
      }
      if (r.status === 404 || r.status === 410 || r.status === 403) return null;
      if (retryable(r.status)) throw Object.assign(new Error("retry"), { network: true });
      throw new Error(r.text || `${r.status}`);
    }

    async create() {
      const r = await this.send("POST", this.endpoint, {
        "Upload-Length": String(this.file.size),
        "Upload-Metadata": metadata({ ...this.o.fields, filename: this.file.name, filetype: this.file.type }),
      });
      if (r.status !== 201) {
        if (retryable(r.status)) throw Object.assign(new Error("retry"), { network: true });
        throw new Error(r.text || `Upload failed (${r.status})`);
      }
      this.url = new URL(r.header("Location"), window.location.href).href;
      store(this.key, { url: this.url, name: this.file.name, size: this.file.size, endpoint: this.endpoint });
    }

    // Sends the file from `offset` on; resolves with the new file's id.
    async patchFrom(offset) {
      const size = this.file.size;
      while (offset < size) {
        const end = Math.min(offset + this.o.patchBytes, size);
        const last = end === size;
        let lastSent = false;
        const r = await this.send(
          "PATCH",
          this.url,
          { "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset) },
          this.file.slice(offset, end),
          (e) => {
            this.o.onProgress(offset + e.loaded, size);
            if (last && e.loaded >= end - offset && !lastSent) {
              lastSent = true;
              this.o.onLastBytes();
            }
          },
        );
        if (r.status === 204) {
          offset = Number(r.header("Upload-Offset"));
          this.failures = 0;
          this.o.onProgress(offset, size);
          const id = r.header("PicoShare-Entry-Id");
          if (id) return id;
          continue;
        }
        if (r.status === 409) {
          // Somewhere else than we thought: ask, and go on from there.
          const at = await this.where();
          if (!at) throw new Error("The upload is no longer on the server; start it again.");
          if (at.done) return at.done;
          offset = at.offset;
          continue;
        }
        if (retryable(r.status)) throw Object.assign(new Error("retry"), { network: true });
        if (r.status === 404 || r.status === 410) {
          store(this.key, null);
          throw new Error("This upload expired on the server before it finished; start it again.");
        }
        throw new Error(r.text || `Upload failed (${r.status})`);
      }
      // Every byte was there already (a lost answer to the last PATCH): ask how it ended.
      const at = await this.where();
      if (at && at.done) return at.done;
      throw new Error("The server did not finish the file; start it again.");
    }

    // Runs the upload to its end: resumes a remembered one when `resume`, else starts anew.
    async start(resume) {
      const old = load(this.key);
      if (old && !resume) {
        // Starting over: the old upload's bytes go.
        this.url = old.url;
        await this.send("DELETE", old.url, {}).catch(() => {});
        store(this.key, null);
        this.url = null;
      }
      this.failures = 0;
      for (;;) {
        try {
          let offset = 0;
          if (!this.url && resume && old) this.url = old.url;
          if (this.url) {
            const at = await this.where();
            if (at && at.done) {
              store(this.key, null);
              return at.done;
            }
            if (at) {
              offset = at.offset;
              if (offset > 0 && this.o.onResumed) this.o.onResumed(offset);
              this.o.onProgress(offset, this.file.size);
            } else {
              store(this.key, null);
              this.url = null;
            }
          }
          if (!this.url) await this.create();
          const id = await this.patchFrom(offset);
          store(this.key, null);
          return id;
        } catch (e) {
          if (e.cancelled || this.cancelled) throw Object.assign(new Error("cancelled"), { cancelled: true });
          if (!e.network) throw e;
          // Lost the connection (or the server is briefly away): wait, then ask where to go on.
          const secs = BACKOFF[Math.min(this.failures, BACKOFF.length - 1)];
          this.failures++;
          this.o.onRetry(secs);
          await this.pause(secs);
        }
      }
    }

    // Stops the upload and frees what the server holds of it.
    async cancel() {
      this.cancelled = true;
      if (this.xhr) this.xhr.abort();
      clearTimeout(this.timer);
      if (this.wake) this.wake();
      const url = this.url || (load(this.key) || {}).url;
      store(this.key, null);
      if (url) await request("DELETE", url, {}).catch(() => {});
    }
  }

  // Forgets a remembered upload and frees what the server holds of it.
  async function discard(entry) {
    store(entry.key, null);
    await request("DELETE", entry.url, {}).catch(() => {});
  }

  // How far a remembered upload got on the server: its offset, or null when it is gone.
  async function progressOf(entry) {
    try {
      const r = await request("HEAD", entry.url, {});
      if (r.status === 200 && !r.header("PicoShare-Entry-Id")) return Number(r.header("Upload-Offset"));
    } catch (_) {
      return undefined;
    }
    store(entry.key, null);
    return null;
  }

  return { Upload, remembered, rememberedFor, discard, progressOf };
})();
