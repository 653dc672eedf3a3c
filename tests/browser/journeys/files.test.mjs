// Journeys through the admin's own files: log in, upload by picker, drag-and-drop and paste,
// copy a link, see the file in the list, look at it, edit it and delete it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shot, shotBoth } from "../harness.mjs";

// A date years ahead whatever today is (a fixed year would expire and fail the journeys).
const YEAR = new Date().getUTCFullYear() + 3;

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

async function uploadResultId(page) {
  await page.locator("#upload-result .message-body").waitFor();
  assert.equal(await page.locator("#upload-result .message-body").textContent(), "Upload complete!");
  const short = await page.locator("#short-link-box .link").textContent();
  const m = short.match(/\/-([A-Za-z0-9]{10})$/);
  assert.ok(m, `short link ${short}`);
  return m[1];
}

test("upload through the picker, copy the links, then find the file in the list", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  assert.equal(await page.title(), "PicoShare - Upload");
  assert.equal(await page.locator("#expiration-select option:checked").textContent(), "30 days");
  await shot(page, "upload");
  await page.locator("#note").fill("for <b>Bob</b> & co");
  await page.locator(".file-input").setInputFiles({
    name: "hello world.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("hello from the picker\n"),
  });
  const id = await uploadResultId(page);
  assert.equal(await page.title(), "PicoShare - Complete");
  assert.equal(await page.locator("upload-links").getAttribute("filename"), "hello world.txt");
  const full = await page.locator("#verbose-link-box .link").textContent();
  assert.equal(full, `${server.url}/-${id}/hello%20world.txt`);
  await shot(page, "upload-complete");

  // Copy the short link: the clipboard holds the absolute URL and the snackbar says so.
  await page.locator("#short-link-box").getByRole("button", { name: "Copy" }).click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.locator("#snackbar").textContent(), "Copied link");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/-${id}`);

  // The link downloads the bytes.
  const body = await page.evaluate(async (u) => (await fetch(u)).text(), full);
  assert.equal(body, "hello from the picker\n");

  // Edit goes to the edit page of this file.
  assert.equal(await page.getByRole("link", { name: "Edit" }).getAttribute("href"), `/files/${id}/edit`);

  await page.getByRole("link", { name: "Files" }).click();
  await page.waitForURL(`${server.url}/files`);
  const row = page.locator('tr[test-data-filename="hello world.txt"]');
  await row.waitFor();
  assert.equal(await row.locator(".cell-note").textContent(), "for <b>Bob</b> & co");
  assert.equal(await row.locator(".cell-size").textContent(), "22 B");
  assert.match(await row.locator(".cell-expires").textContent(), /^\d{4}-\d{2}-\d{2} \(30 days\)$/);
  await row.getByRole("button", { name: "Copy" }).click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/-${id}`);
  await shot(page, "files");
  expectClean();
  await context.close();
});

test("upload by drag-and-drop", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
    return d;
  });
  await page.dispatchEvent("#drop-zone", "dragenter", { dataTransfer: dt });
  assert.ok(await page.evaluate(() => document.body.classList.contains("dragging")));
  await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: dt });
  const id = await uploadResultId(page);
  assert.equal(await page.evaluate(async (id) => (await fetch(`/-${id}`)).text(), id), "dropped bytes");
  assert.equal(await page.locator("upload-links").getAttribute("filename"), "dropped.txt");
  expectClean();
  await context.close();
});

test("upload by pasting text, with a custom expiry date", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.locator("#expiration-select").selectOption({ label: "Custom" });
  await page.locator("#expiration-picker #expiration").fill(`${YEAR}-09-03`);
  const text = "pasted text, 日本語 too";
  await page.evaluate((t) => navigator.clipboard.writeText(t), text);
  await page.locator("#pastebox").focus();
  await page.keyboard.press("ControlOrMeta+V");
  const id = await uploadResultId(page);
  const name = await page.locator("upload-links").getAttribute("filename");
  assert.match(name, /^pasted-\d{4}-\d{2}-\d{2}T\d{6}\.\d{3}Z\.txt$/);
  const full = await page.locator("#verbose-link-box .link").textContent();
  assert.equal(await page.evaluate(async (u) => (await fetch(u)).text(), full), text);
  await page.goto(`${server.url}/files`);
  const row = page.locator(`tr[test-data-filename="${name}"]`);
  assert.match(await row.locator(".cell-expires").textContent(), new RegExp(`^${YEAR}-09-03`));
  assert.ok(id);
  expectClean();
  await context.close();
});

test("a refused upload shows the server's reason and the form again", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.locator(".file-input").setInputFiles({ name: `${"n".repeat(300)}.txt`, mimeType: "text/plain", buffer: Buffer.from("x") });
  await page.locator("#upload-error:not([hidden])").waitFor();
  assert.equal(await page.locator("#upload-error").textContent(), "invalid request: filename too long");
  assert.ok(await page.locator("#upload-form").isVisible());
  assert.equal(await page.title(), "PicoShare - Upload");
  await shot(page, "upload-error");
  // The next try works.
  await page.locator(".file-input").setInputFiles({ name: "fine.txt", mimeType: "text/plain", buffer: Buffer.from("x") });
  await uploadResultId(page);
  expectClean([/status of 400/]);
  await context.close();
});

test("dates show in the viewer's time zone", async () => {
  // Tokyo is 9 hours ahead of UTC: a file set to expire at the start of 3 September there
  // expires at 15:00 UTC on 2 September, and must still read YEAR-09-03 in Tokyo.
  const { page, context, expectClean } = await newPage(browser, { timezoneId: "Asia/Tokyo" });
  await login(page, server);
  await page.locator("#expiration-select").selectOption({ label: "Custom" });
  await page.locator("#expiration").fill(`${YEAR}-09-03`);
  await page.locator(".file-input").setInputFiles({ name: "tokyo.txt", mimeType: "text/plain", buffer: Buffer.from("tokyo") });
  await uploadResultId(page);
  await page.goto(`${server.url}/files`);
  const cell = page.locator('tr[test-data-filename="tokyo.txt"] .cell-expires time');
  assert.equal(await cell.getAttribute("datetime"), `${YEAR}-09-02T15:00:00Z`);
  assert.equal(await cell.textContent(), `${YEAR}-09-03`);
  expectClean();
  await context.close();
});

test("a pasted image keeps its type and gets a pasted- name", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  // Browsers name a pasted screenshot image.png; build such a paste event.
  await page.locator("#pastebox").evaluate(async (box) => {
    const canvas = document.createElement("canvas");
    canvas.width = 4;
    canvas.height = 4;
    const blob = await new Promise((r) => canvas.toBlob(r, "image/png"));
    const dt = new DataTransfer();
    dt.items.add("some text", "text/plain");
    dt.items.add(new File([blob], "image.png", { type: "image/png" }));
    box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  const id = await uploadResultId(page);
  assert.match(await page.locator("upload-links").getAttribute("filename"), /^pasted-.*Z\.png$/);
  const r = await page.request.get(`${server.url}/-${id}`);
  assert.equal(r.headers()["content-type"], "image/png");
  assert.deepEqual([...(await r.body()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  expectClean();
  await context.close();
});

test("file information, edit, cancel, and delete", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.locator(".file-input").setInputFiles({
    name: "report.csv",
    mimeType: "text/csv",
    buffer: Buffer.from("a,b\n1,2\n"),
  });
  const id = await uploadResultId(page);

  await page.goto(`${server.url}/files`);
  const row = page.locator('tr[test-data-filename="report.csv"]');
  await row.getByRole("link", { name: "Information" }).click();
  await page.waitForURL(`${server.url}/files/${id}/info`);
  assert.equal(await page.title(), "PicoShare - File Information");
  const info = await page.locator(".details").innerText();
  assert.match(info, /8 B/);
  assert.match(info, /\(30 days\)/);
  assert.match(info, /Uploaded by\s+You/);
  assert.match(info, /Note\s+None/);
  assert.match(await page.locator("time[data-format=datetime]").textContent(), /^[A-Z][a-z]+ \d{1,2}, \d{4} at \d{1,2}:\d{2}\s?[AP]M$/);
  await shotBoth(context, page.url(), "file-info");
  // Close goes back to the list.
  await page.getByRole("link", { name: "Close" }).click();
  await page.waitForURL(`${server.url}/files`);

  await row.getByRole("link", { name: "Edit" }).click();
  await page.waitForURL(`${server.url}/files/${id}/edit`);
  await shotBoth(context, page.url(), "edit");
  // Cancel returns to the previous page.
  await page.getByRole("link", { name: "Cancel" }).click();
  await page.waitForURL(`${server.url}/files`);
  await row.getByRole("link", { name: "Edit" }).click();
  await page.waitForURL(`${server.url}/files/${id}/edit`);
  await page.getByLabel("Filename").fill("renamed <report>.csv");
  await page.locator("#note").fill("quarterly");
  await page.locator("#expiration").fill(`${YEAR}-09-04`);
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(`${server.url}/files`);
  const renamed = page.locator('tr[test-data-filename="renamed <report>.csv"]');
  assert.equal(await renamed.locator(".cell-note").textContent(), "quarterly");
  assert.match(await renamed.locator(".cell-expires").textContent(), new RegExp(`^${YEAR}-09-04`));

  // An invalid name shows the server's reason and stays on the page.
  await renamed.getByRole("link", { name: "Edit" }).click();
  await page.getByLabel("Filename").fill("../x");
  await page.getByRole("button", { name: "Save" }).click();
  await page.locator("#edit-error:not([hidden])").waitFor();
  assert.match(await page.locator("#edit-error").textContent(), /filename cannot begin with dots/);
  // Never expires: untick the checkbox.
  await page.getByLabel("Filename").fill("renamed.csv");
  await page.getByLabel("Delete after expiration").uncheck();
  assert.ok(await page.locator("#expiration-picker").isHidden());
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="renamed.csv"] .cell-expires').textContent(), "Never");

  // Delete: Edit → Delete → confirm.
  await page.locator('tr[test-data-filename="renamed.csv"]').getByRole("link", { name: "Edit" }).click();
  await page.getByRole("link", { name: "Delete" }).click();
  await page.waitForURL(`${server.url}/files/${id}/confirm-delete`);
  assert.equal(await page.title(), "PicoShare - Delete");
  assert.match(await page.locator(".confirm-text").textContent(), /Permanently delete renamed\.csv\?/);
  await shotBoth(context, page.url(), "confirm-delete");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.waitForURL(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="renamed.csv"]').count(), 0);
  const gone = await page.evaluate(async (id) => (await fetch(`/-${id}`)).status, id);
  assert.equal(gone, 404);
  expectClean([/Failed to load resource: the server responded with a status of (400|404)/]);
  await context.close();
});

test("a bigger upload shows progress in the tab title, then a saving phase", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  // Record every title and whether the saving panel was ever shown.
  await page.evaluate(() => {
    window.__titles = [];
    window.__saving = false;
    const title = document.querySelector("title");
    new MutationObserver(() => window.__titles.push(document.title)).observe(title, { childList: true, characterData: true, subtree: true });
    const saving = document.getElementById("upload-saving");
    new MutationObserver(() => {
      if (!saving.hidden) window.__saving = true;
    }).observe(saving, { attributes: true });
  });
  const size = 24 * 1024 * 1024;
  await page.locator(".file-input").setInputFiles({ name: "big.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(size, 1) });
  await page.locator("#upload-result .message-body").waitFor({ timeout: 60000 });
  const titles = await page.evaluate(() => window.__titles);
  assert.ok(titles.some((t) => /^PicoShare ↑ \d+%$/.test(t)), `titles: ${titles}`);
  assert.ok(titles.includes("PicoShare - Saving…"), `titles: ${titles}`);
  assert.equal(titles.at(-1), "PicoShare - Complete");
  assert.ok(await page.evaluate(() => window.__saving), "the saving panel was shown");
  await page.goto(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="big.bin"] .cell-size').textContent(), "24.00 MB");
  expectClean();
  await context.close();
});

test("a slow upload shows speed and time left, and can be cancelled", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  // Slow the upload to about 512 KiB/s.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 512 * 1024,
  });
  await page.locator(".file-input").setInputFiles({ name: "slow.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(6 * 1024 * 1024, 2) });
  await page.locator("#progress-eta").filter({ hasText: /left$/ }).waitFor({ timeout: 20000 });
  assert.match(await page.locator("#progress-speed").textContent(), /^[\d.]+ (B|kB|MB)\/s$/);
  assert.match(await page.title(), /^PicoShare ↑ \d+%$/);
  await shot(page, "upload-slow");
  assert.equal(await page.evaluate(() => document.activeElement.id), "upload-cancel");
  await page.getByRole("button", { name: "Cancel upload" }).click();
  await page.locator("#upload-error:not([hidden])").waitFor();
  assert.equal(await page.locator("#upload-error").textContent(), "The upload was cancelled.");
  assert.ok(await page.locator("#upload-form").isVisible());
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.goto(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="slow.bin"]').count(), 0);
  expectClean();
  await context.close();
});

test("copying works on a plain-HTTP address too (no Clipboard API)", async () => {
  const { page, context, expectClean } = await newPage(browser);
  // A LAN address over plain HTTP is not a secure context: common.js falls back to
  // execCommand("copy"). Pretend to be one.
  await context.addInitScript(() => Object.defineProperty(window, "isSecureContext", { value: false }));
  await login(page, server);
  await page.locator(".file-input").setInputFiles({ name: "lan.txt", mimeType: "text/plain", buffer: Buffer.from("lan") });
  const id = await uploadResultId(page);
  await page.evaluate(() => navigator.clipboard.writeText("something else"));
  await page.locator("#short-link-box").getByRole("button", { name: "Copy" }).click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.locator("#snackbar").textContent(), "Copied link");
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/-${id}`);
  expectClean();
  await context.close();
});

test("the file list filter, and the list without JavaScript", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  for (const name of ["alpha.txt", "beta.txt"]) {
    await page.goto(`${server.url}/`);
    await page.locator(".file-input").setInputFiles({ name, mimeType: "text/plain", buffer: Buffer.from(name) });
    await uploadResultId(page);
  }
  await page.goto(`${server.url}/files`);
  await page.getByLabel("Filter files").fill("alp");
  assert.ok(await page.locator('tr[test-data-filename="alpha.txt"]').isVisible());
  assert.ok(await page.locator('tr[test-data-filename="beta.txt"]').isHidden());
  await page.getByLabel("Filter files").fill("");
  await shotBoth(context, page.url(), "files");
  expectClean();

  // Same cookie, JavaScript off: the list and its download links still work.
  const cookies = await context.cookies();
  const noJs = await newPage(browser, { javaScriptEnabled: false });
  await noJs.context.addCookies(cookies);
  await noJs.page.goto(`${server.url}/files`);
  const link = noJs.page.locator('tr[test-data-filename="alpha.txt"] .cell-name a');
  assert.ok(await link.isVisible());
  assert.ok(await noJs.page.locator("#filter").isHidden(), "the filter needs JavaScript, so it is hidden");
  assert.match(await noJs.page.locator('tr[test-data-filename="alpha.txt"] .cell-uploaded').textContent(), /^\d{4}-\d{2}-\d{2}$/);
  const href = await link.getAttribute("href");
  const response = await noJs.page.request.get(`${server.url}${href}`);
  assert.equal(await response.text(), "alpha.txt");
  await shot(noJs.page, "files-nojs");
  noJs.expectClean();
  await noJs.context.close();
  await context.close();
});
