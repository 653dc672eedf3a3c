// Issue 19: the upload pages upload with tus in PATCHes (1 MB here, --tus-patch-size), ride
// out a lost connection, and resume after a reload when the same file is chosen again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { serverAndBrowser, newPage, login, shot } from "../harness.mjs";

const PATCH = 1_000_000;

let server;
let browser;
serverAndBrowser(
  (s, b) => {
    server = s;
    browser = b;
  },
  { args: ["--tus-patch-size", String(PATCH)] },
);

// A file on disk (its date stays put, so the page knows it again after a reload).
function testFile(name, size, seed) {
  const data = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  const file = path.join(server.dir, name);
  writeFileSync(file, data);
  return { file, data };
}

// Records the Upload-Offset of every PATCH the page sends, and every status-line text shown.
async function watch(page) {
  const patches = [];
  page.on("request", (r) => {
    if (r.method() === "PATCH") patches.push(Number(r.headers()["upload-offset"]));
  });
  await page.evaluate(() => {
    window.__status = [];
    const el = document.getElementById("progress-status");
    new MutationObserver(() => el.textContent && window.__status.push(el.textContent)).observe(el, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  return patches;
}

async function resultId(page) {
  await page.locator("#upload-result .message-body").waitFor({ timeout: 60000 });
  const short = await page.locator("#short-link-box .link").textContent();
  return short.match(/\/-([A-Za-z0-9]{10})$/)[1];
}

async function download(page, id) {
  const r = await page.request.get(`${server.url}/-${id}`);
  assert.equal(r.status(), 200);
  return r.body();
}

// Cuts the connection of the `nth` PATCH (0-based) once.
async function cutOnce(page, nth) {
  let seen = 0;
  await page.route("**/tus/**", (route) => {
    if (route.request().method() === "PATCH" && seen++ === nth) return route.abort("connectionreset");
    return route.continue();
  });
}

const cutAllowed = [/ERR_CONNECTION_RESET/, /Failed to load resource/];

test("an upload rides out a cut connection and completes byte-identical", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const { file, data } = testFile("cut.bin", 3_500_000, 7);
  const patches = await watch(page);
  await cutOnce(page, 1);
  await page.locator(".file-input").setInputFiles(file);
  await page.locator("#progress-status").filter({ hasText: "Connection lost" }).waitFor();
  await shot(page, "upload-retrying");
  const id = await resultId(page);
  const status = await page.evaluate(() => window.__status);
  assert.ok(
    status.some((t) => /^Connection lost\. Trying again in \d+ s…$/.test(t)),
    `status lines: ${status}`,
  );
  // 0, then 1,000,000 cut, asked again from where the server stood, then on to the end.
  assert.deepEqual(patches, [0, 1_000_000, 1_000_000, 2_000_000, 3_000_000]);
  assert.ok((await download(page, id)).equals(data), "byte-identical");
  await page.goto(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="cut.bin"] .cell-size').textContent(), "3.34 MB");
  expectClean(cutAllowed);
  await context.close();
});

test("a guest's upload rides out a cut connection too", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  const link = await admin.page.evaluate(async () => {
    const r = await fetch("/api/guest-links", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ label: "tus", urlExpirationTime: "2999-12-31T00:00:00Z", fileLifetime: "24h0m0s", maxFileUploads: 1 }),
    });
    return (await r.json()).id;
  });
  const guest = await newPage(browser);
  await guest.page.goto(`${server.url}/g/${link}`);
  const { file, data } = testFile("guest.bin", 2_500_000, 8);
  const patches = await watch(guest.page);
  await cutOnce(guest.page, 0);
  await guest.page.locator(".file-input").setInputFiles(file);
  const id = await resultId(guest.page);
  assert.deepEqual(patches, [0, 0, 1_000_000, 2_000_000]);
  assert.ok((await download(guest.page, id)).equals(data), "byte-identical");
  guest.expectClean(cutAllowed);
  admin.expectClean();
  await guest.context.close();
  await admin.context.close();
});

test("after a reload, choosing the same file again resumes where the upload stopped", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const { file, data } = testFile("reload.bin", 4_000_000, 9);
  // Slow enough that the page is reloaded mid-upload.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 1024 * 1024,
  });
  await page.locator("#note").fill("sent twice, stored once");
  await page.locator(".file-input").setInputFiles(file);
  // Once the first PATCH is stored, leave the page (confirming the browser's question).
  await page.locator("#progress-percent").filter({ hasText: /^(2[5-9]|[3-9]\d)%$/ }).waitFor({ timeout: 30000 });
  page.on("dialog", (d) => d.accept());
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  // The page lists the unfinished upload.
  const pending = page.locator("#upload-pending");
  await pending.waitFor();
  assert.match(await pending.innerText(), /reload\.bin \(3\.81 MB\): \d+% uploaded\./);
  await shot(page, "upload-pending");
  const patches = await watch(page);
  await page.locator(".file-input").setInputFiles(file);
  await page.locator("#upload-resume").waitFor();
  assert.match(
    await page.locator("#resume-text").textContent(),
    /^You started uploading reload\.bin \(3\.81 MB\) before, and \d+% of it is already on the server\.$/,
  );
  await shot(page, "upload-resume");
  await page.getByRole("button", { name: "Resume upload" }).click();
  const id = await resultId(page);
  assert.ok(patches.length > 0 && patches[0] >= PATCH, `resumed from ${patches[0]}, not from 0`);
  assert.ok((await download(page, id)).equals(data), "byte-identical");
  // Uploaded once: one file, with the note given before the reload.
  await page.goto(`${server.url}/files`);
  const rows = page.locator('tr[test-data-filename="reload.bin"]');
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.locator(".cell-note").textContent(), "sent twice, stored once");
  // Nothing is left to resume.
  await page.goto(`${server.url}/`);
  await page.waitForLoadState("networkidle");
  assert.ok(await page.locator("#upload-pending").isHidden());
  expectClean([/ERR_ABORTED/, /Failed to load resource/]);
  await context.close();
});

test("starting over discards the earlier upload; the list can discard one too", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const { file, data } = testFile("over.bin", 2_500_000, 10);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
  await page.locator(".file-input").setInputFiles(file);
  await page.locator("#progress-percent").filter({ hasText: /^([4-9]\d)%$/ }).waitFor({ timeout: 30000 });
  page.on("dialog", (d) => d.accept());
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.locator("#upload-pending").waitFor();
  const unfinished = () =>
    page.evaluate(async () => (await (await fetch("/api/information")).json()).unfinishedUploads.count);
  assert.equal(await unfinished(), 1);
  const patches = await watch(page);
  await page.locator(".file-input").setInputFiles(file);
  await page.getByRole("button", { name: "Start over" }).click();
  const id = await resultId(page);
  assert.equal(patches[0], 0, "from the first byte");
  assert.ok((await download(page, id)).equals(data));
  assert.equal(await unfinished(), 0, "the earlier upload was deleted");

  // An upload left behind, discarded from the list.
  await page.goto(`${server.url}/`);
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 1024 * 1024 });
  await page.locator(".file-input").setInputFiles(testFile("left.bin", 2_500_000, 11).file);
  await page.locator("#progress-percent").filter({ hasText: /^([4-9]\d)%$/ }).waitFor({ timeout: 30000 });
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.locator("#upload-pending li").filter({ hasText: "left.bin" }).getByRole("button", { name: "Discard" }).click();
  await page.locator("#upload-pending").waitFor({ state: "hidden" });
  assert.equal(await unfinished(), 0);
  expectClean([/ERR_ABORTED/, /Failed to load resource/]);
  await context.close();
});
