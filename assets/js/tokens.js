// Settings, API tokens: create one (shown once, with a curl command and a ShareX uploader to
// download, both built here from the token the server answered with), and revoke.
"use strict";

(() => {
  const section = document.getElementById("api-tokens");
  if (!section) return;
  const $ = (id) => document.getElementById(id);
  const form = $("token-form");
  const error = $("token-error");
  const panel = $("new-token");
  const table = $("tokens-table");
  const empty = $("tokens-empty");
  let sxcuUrl = null;

  const showList = () => {
    const rows = table.tBodies[0].rows.length;
    table.closest(".table-wrap").hidden = rows === 0;
    empty.hidden = rows > 0;
  };

  const cell = (label, content, className) => {
    const td = document.createElement("td");
    if (label) td.dataset.label = label;
    if (className) td.className = className;
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    return td;
  };

  const timeElement = (iso, format) => {
    const t = document.createElement("time");
    t.setAttribute("datetime", iso);
    t.dataset.format = format;
    t.textContent = iso;
    return t;
  };

  // The new token's row, as the server renders the list.
  const addRow = (t) => {
    const row = document.createElement("tr");
    row.dataset.id = t.id;
    row.dataset.label = t.label;
    const badge = document.createElement("span");
    badge.className = `badge scope-${t.scope}`;
    badge.textContent = t.scope === "admin" ? "Admin" : "Upload only";
    let expires = "Never";
    if (t.expires) {
      expires = document.createElement("span");
      const days = Math.round((new Date(t.expires) - Date.now()) / 86400e3);
      expires.append(timeElement(t.expires, "date"), ` (${days} ${days === 1 ? "day" : "days"})`);
    }
    const never = document.createElement("span");
    never.className = "muted";
    never.textContent = "Never used";
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "button small danger revoke-token";
    revoke.textContent = "Revoke";
    const actions = document.createElement("div");
    actions.className = "row-actions";
    actions.append(revoke);
    row.append(
      cell("Label", t.label, "cell-name"),
      cell("Scope", badge),
      cell("Created", timeElement(t.created, "date")),
      cell("Expires", expires),
      cell("Last used", never, "cell-last-used"),
      cell("", actions, "cell-actions"),
    );
    PicoShare.localizeTimes(row);
    table.tBodies[0].prepend(row);
    showList();
  };

  // A shell word in single quotes.
  const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

  const showToken = (t) => {
    const origin = window.location.origin;
    const auth = `Authorization: Bearer ${t.token}`;
    $("new-token-label").textContent = `“${t.label}”`;
    $("new-token-value").textContent = t.token;
    let curl = `curl -H ${quote(auth)} \\\n  -F file=@photo.jpg \\\n  ${quote(`${origin}/api/entry`)}`;
    if (t.scope === "admin") {
      curl += `\n\n# List your files (admin tokens only):\ncurl -H ${quote(auth)} ${quote(`${origin}/api/entries`)}`;
    }
    $("curl-example").textContent = curl;
    const sxcu = {
      Version: "14.0.0",
      Name: `PicoShare (${window.location.host})`,
      DestinationType: "ImageUploader, TextUploader, FileUploader",
      RequestMethod: "POST",
      RequestURL: `${origin}/api/entry`,
      Headers: { Authorization: `Bearer ${t.token}` },
      Body: "MultipartFormData",
      FileFormName: "file",
      URL: `${origin}/-{json:id}`,
      ErrorMessage: "{response}",
    };
    if (sxcuUrl) URL.revokeObjectURL(sxcuUrl);
    sxcuUrl = URL.createObjectURL(
      new Blob([`${JSON.stringify(sxcu, null, 2)}\n`], { type: "application/json" }),
    );
    const download = $("sxcu-download");
    download.href = sxcuUrl;
    download.download = `picoshare-${window.location.hostname.replace(/[^A-Za-z0-9.-]/g, "_")}.sxcu`;
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    $("copy-token").focus();
  };

  // Forgets the token: it is not kept in the page once the admin is done.
  const forget = () => {
    panel.hidden = true;
    $("new-token-value").textContent = "";
    $("curl-example").textContent = "";
    if (sxcuUrl) URL.revokeObjectURL(sxcuUrl);
    sxcuUrl = null;
    $("sxcu-download").href = "#";
  };

  const copy = async (text, done) => {
    const ok = await PicoShare.copyText(text);
    PicoShare.snackbar(ok ? done : "Copy failed: select the text and copy it yourself.");
  };
  $("copy-token").addEventListener("click", () => copy($("new-token-value").textContent, "Token copied"));
  $("copy-curl").addEventListener("click", () => copy($("curl-example").textContent, "Command copied"));
  $("token-done").addEventListener("click", forget);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const label = $("token-label").value.trim();
    if (!label) {
      error.textContent = "Give the token a label, so you know which one to revoke later.";
      error.hidden = false;
      $("token-label").focus();
      return;
    }
    const choice = $("token-expiration").value;
    const expiration = choice === "never" ? null : new Date(Date.now() + Number(choice) * 86400e3).toISOString();
    const body = { label, scope: $("token-scope").value, expiration };
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const r = await fetch("/api/tokens", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        const t = await r.json();
        form.reset();
        addRow(t);
        showToken(t);
        return;
      }
      error.textContent = await PicoShare.reason(r);
    } catch (_) {
      error.textContent = "The server could not be reached.";
    } finally {
      submit.disabled = false;
    }
    error.hidden = false;
  });

  table.addEventListener("click", async (e) => {
    const revoke = e.target.closest(".revoke-token");
    if (!revoke) return;
    const row = revoke.closest("tr[data-id]");
    const question = `Revoke the token “${row.dataset.label}”? Scripts and devices using it stop working at once. This cannot be undone.`;
    if (!window.confirm(question)) return;
    revoke.disabled = true;
    const r = await fetch(`/api/tokens/${encodeURIComponent(row.dataset.id)}`, { method: "DELETE" });
    revoke.disabled = false;
    if (!r.ok) {
      PicoShare.snackbar(await PicoShare.reason(r));
      return;
    }
    row.remove();
    showList();
    PicoShare.snackbar("Token revoked");
  });
})();
