// Issue 20 in the browser: several files dropped at once become one link (the bundle page, its
// QR code and its ZIP); a one-time link works once, then shows the "used up" page; replacing
// a file keeps its link.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shot, shotBoth } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** Whether the <img> matched by `locator` loaded an image. */
async function loaded(locator) {
  await locator.waitFor();
  return locator.evaluate(async (img) => {
    if (!img.complete) await new Promise((r) => img.addEventListener("load", r, { once: true }));
    return img.naturalWidth > 0;
  });
}

test("several files dropped at once are shared as one link, with a QR code and a ZIP", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  assert.ok(await page.locator("#share-as-one").isChecked(), "one link by default");
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(["first notes\n"], "notes.txt", { type: "text/plain" }));
    d.items.add(new File(["second notes, same name\n"], "notes.txt", { type: "text/plain" }));
    d.items.add(new File(["a,b\n1,2\n"], "données été.csv", { type: "text/csv" }));
    return d;
  });
  await page.dispatchEvent("#drop-zone", "dragenter", { dataTransfer: dt });
  await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: dt });
  await page.locator("#upload-result:not([hidden])").waitFor();
  assert.equal(
    await page.locator("#upload-result .message-body").textContent(),
    "3 files uploaded, shared as one link!",
  );
  const link = await page.locator("#bundle-link-box .link").textContent();
  const m = link.match(/\/-([A-Za-z0-9]{10})$/);
  assert.ok(m, `bundle link ${link}`);
  const bundle = m[1];
  assert.ok(await loaded(page.locator("#result-qr img")), "the QR code shows");
  assert.equal(await page.locator("#result-qr img").getAttribute("src"), `/bundles/${bundle}/qr.svg`);
  assert.deepEqual(await page.locator(".bundle-result-files a").allTextContents(), [
    "notes.txt",
    "notes.txt",
    "données été.csv",
  ]);
  assert.deepEqual(await page.locator(".bundle-result-files .bundle-file-size").allTextContents(), [
    "12 B",
    "24 B",
    "8 B",
  ]);
  const firstFile = await page.locator(".bundle-result-files a").first().getAttribute("href");
  // Every QR module the same size: the image is drawn at its own size, 4 px a module.
  const qrBox = await page.locator("#result-qr img").evaluate((img) => [img.clientWidth, img.naturalWidth]);
  assert.equal(qrBox[0], qrBox[1], `QR drawn at its natural size: ${qrBox}`);
  assert.equal(qrBox[0] % 4, 0);
  await shot(page, "upload-bundle-result");

  // The admin's list of bundles, reached from the file list.
  await page.goto(`${server.url}/files`);
  await page.locator("#bundles-link").click();
  await page.waitForURL(`${server.url}/bundles`);
  assert.equal(await page.title(), "PicoShare - Bundles");
  const row = page.locator(`tr[data-id="${bundle}"]`);
  assert.match(await row.innerText(), /3 files, 44 B/);
  await shotBoth(context, `${server.url}/bundles`, "bundles-list");

  // The bundle page, as the person the link is sent to sees it (no cookie).
  const visitor = await newPage(browser);
  const r = await visitor.page.goto(`${server.url}/-${bundle}`);
  assert.equal(r.status(), 200);
  assert.equal(await visitor.page.title(), "PicoShare - Shared Files");
  assert.deepEqual(await visitor.page.locator(".bundle-file-name").allTextContents(), [
    "notes.txt",
    "notes.txt",
    "données été.csv",
  ]);
  assert.ok(await loaded(visitor.page.locator(".bundle .qr img")));
  const zipHref = await visitor.page.getByRole("link", { name: /Download all/ }).getAttribute("href");
  assert.equal(zipHref, `/-${bundle}/zip`);
  await shotBoth(visitor.context, `${server.url}/-${bundle}`, "bundle");
  // One file's own link, then the ZIP through the browser's download.
  const first = await visitor.page.request.get(
    `${server.url}${await visitor.page.locator(".bundle-file-name").first().getAttribute("href")}`,
  );
  assert.equal(await first.text(), "first notes\n");
  const [download] = await Promise.all([
    visitor.page.waitForEvent("download"),
    visitor.page.getByRole("link", { name: /Download all/ }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `bundle-${bundle}.zip`);
  const path = await download.path();
  const { readFileSync } = await import("node:fs");
  const zip = readFileSync(path);
  assert.equal(zip.subarray(0, 4).toString("latin1"), "PK\u0003\u0004");
  assert.ok(zip.includes(Buffer.from("notes (2).txt")), "duplicate names made unique");
  visitor.expectClean();
  await visitor.context.close();

  // Deleting the bundle from the list keeps its files.
  await page.goto(`${server.url}/bundles`);
  page.once("dialog", (d) => d.accept());
  await page.locator(`tr[data-id="${bundle}"] .delete-bundle`).click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.locator(`tr[data-id="${bundle}"]`).count(), 0);
  assert.equal((await page.request.get(`${server.url}/-${bundle}`)).status(), 404);
  const kept = await page.request.get(`${server.url}${firstFile}`);
  assert.equal(await kept.text(), "first notes\n", "its files stay");
  expectClean();
  await context.close();
});

test("a guest's upload result shows the link's QR code", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  const link = await admin.page.evaluate(async () => {
    const r = await fetch("/api/guest-links", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ label: "QR", urlExpirationTime: "2999-12-31T00:00:00Z", fileLifetime: "24h" }),
    });
    return (await r.json()).id;
  });
  await admin.context.close();
  const guest = await newPage(browser);
  await guest.page.goto(`${server.url}/g/${link}`);
  await guest.page.locator(".file-input").setInputFiles({
    name: "from a guest.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("hello from a guest\n"),
  });
  await guest.page.locator("#upload-result:not([hidden])").waitFor();
  const short = await guest.page.locator("#short-link-box .link").textContent();
  const id = short.match(/\/-([A-Za-z0-9]{10})$/)[1];
  assert.ok(await loaded(guest.page.locator("#result-qr img")), "the guest's result has a QR code");
  assert.equal(await guest.page.locator("#result-qr img").getAttribute("src"), `/files/${id}/qr.svg`);
  await shot(guest.page, "guest-upload-complete-qr");
  guest.expectClean();
  await guest.context.close();
});

test("a one-time link works once, then shows the used-up page", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.locator("#max-downloads").fill("1");
  await page.locator(".file-input").setInputFiles({
    name: "secret plan.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("meet at noon\n"),
  });
  await page.locator("#upload-result:not([hidden])").waitFor();
  assert.equal(await page.locator("#upload-result .message-body").textContent(), "Upload complete!");
  const short = await page.locator("#short-link-box .link").textContent();
  const id = short.match(/\/-([A-Za-z0-9]{10})$/)[1];
  assert.ok(await loaded(page.locator("#result-qr img")), "the post-upload box has a QR code");
  assert.equal(await page.locator("#result-qr img").getAttribute("src"), `/files/${id}/qr.svg`);
  await shot(page, "upload-complete-qr");

  const visitor = await newPage(browser);
  const once = await visitor.page.goto(short);
  assert.equal(once.status(), 200);
  assert.equal((await visitor.page.locator("body").innerText()).trim(), "meet at noon");
  const again = await visitor.page.goto(short);
  assert.equal(again.status(), 410);
  assert.equal(await visitor.page.title(), "PicoShare - Link Used Up");
  await visitor.page.getByRole("heading", { name: "This link was used up" }).waitFor();
  await shot(visitor.page, "used-up");
  visitor.expectClean([/status of 410/]);
  await visitor.context.close();

  // The admin still sees (and can download) it; its information says it is used up.
  await page.goto(`${server.url}/files/${id}/info`);
  assert.match(await page.locator(".download-limit").innerText(), /Used up: 1 of 1 downloads/);
  assert.ok(await loaded(page.locator(".details .qr img")));
  await shotBoth(context, page.url(), "file-info-qr");
  // The file list says so too.
  await page.goto(`${server.url}/files`);
  assert.equal(
    await page.locator('tr[test-data-filename="secret plan.txt"] .limit-badge').textContent(),
    "used up",
  );
  await shot(page, "files-limits");
  expectClean();
  await context.close();
});

test("replacing a file from its edit page keeps its link", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.locator(".file-input").setInputFiles({
    name: "draft.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("draft 1\n"),
  });
  await page.locator("#upload-result:not([hidden])").waitFor();
  const short = await page.locator("#short-link-box .link").textContent();
  const id = short.match(/\/-([A-Za-z0-9]{10})$/)[1];
  await page.goto(`${server.url}/files/${id}/edit`);
  await page.locator("#replace-input").setInputFiles({
    name: "final.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("final version\n"),
  });
  await page.waitForURL(`${server.url}/files/${id}/info`);
  assert.match(await page.locator(".details .filename").innerText(), /final\.txt/);
  const r = await page.request.get(short);
  assert.equal(await r.text(), "final version\n");
  expectClean();
  await context.close();
});
