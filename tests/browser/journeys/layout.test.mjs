// Every page at a 360-px phone width without sideways scrolling, in light and dark mode, and
// screenshots of each at 1280 and 390 px.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shot, shotBoth, apiUpload } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test("no page scrolls sideways at 360 px, light or dark; ids unique, controls labelled", async () => {
  const { page, context, expectClean } = await newPage(browser, { width: 360 });
  await login(page, server);
  const long = "a-very-long-file-name-without-any-spaces-that-could-push-the-layout-wide.tar.gz";
  const id = await apiUpload(page, server, long, "x".repeat(3000), { note: "a note that is rather long, to see how it wraps on a phone" });
  const linkId = await page.evaluate(async () => {
    const r = await fetch("/api/guest-links", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        label: "Photos from the trip",
        urlExpirationTime: new Date(Date.now() + 7 * 86400e3).toISOString(),
        fileLifetime: "720h0m0s",
        maxFileBytes: 10 * 1024 * 1024,
        maxFileUploads: 5,
      }),
    });
    return (await r.json()).id;
  });
  await page.goto(`${server.url}/-${id}`);
  const paths = [
    "/",
    "/files",
    `/files/${id}/info`,
    `/files/${id}/edit`,
    `/files/${id}/confirm-delete`,
    `/files/${id}/downloads`,
    "/guest-links",
    "/guest-links/new",
    `/g/${linkId}`,
    "/settings",
    "/information",
    "/login",
    "/nowhere",
  ];
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const p of paths) {
      await page.goto(`${server.url}${p}`);
      const [scroll, client] = await page.evaluate(() => [
        document.documentElement.scrollWidth,
        document.documentElement.clientWidth,
      ]);
      assert.ok(scroll <= client, `${p} (${scheme}) is ${scroll}px wide in a ${client}px window`);
      if (scheme === "dark") continue;
      // Markup checks: unique ids, every control labelled, every button and link named.
      const issues = await page.evaluate(() => {
        const out = [];
        const seen = new Set();
        for (const el of document.querySelectorAll("[id]")) {
          if (seen.has(el.id)) out.push(`duplicate id ${el.id}`);
          seen.add(el.id);
        }
        for (const el of document.querySelectorAll("input, select, textarea")) {
          if (el.type === "hidden") continue;
          if (el.labels.length === 0 && !el.getAttribute("aria-label")) out.push(`unlabelled ${el.outerHTML.slice(0, 80)}`);
        }
        for (const el of document.querySelectorAll("a, button")) {
          const name = (el.getAttribute("aria-label") || el.textContent).trim();
          if (!name) out.push(`unnamed ${el.outerHTML.slice(0, 80)}`);
        }
        return out;
      });
      assert.deepEqual(issues, [], p);
    }
  }
  // Dark-mode screenshots of the busiest pages.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [p, name] of [["/", "upload"], ["/files", "files"], [`/files/${id}/info`, "file-info"], ["/guest-links", "guest-links"]]) {
    await page.goto(`${server.url}${p}`);
    await shot(page, `dark-${name}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${server.url}/files`);
  await shot(page, "dark-files");
  await page.emulateMedia({ colorScheme: "light" });
  await shotBoth(context, `${server.url}/`, "upload");
  await shotBoth(context, `${server.url}/files`, "files-long-names");
  await shotBoth(context, `${server.url}/`, "upload-menu-open", async (p) => {
    await p.locator("summary", { hasText: "System" }).click();
  });
  // The upload progress and saving panels, frozen mid-upload for the picture.
  await shotBoth(context, `${server.url}/`, "upload-progress", async (p) => {
    await p.evaluate(() => {
      document.getElementById("upload-form").hidden = true;
      document.getElementById("upload-progress").hidden = false;
      document.getElementById("progress-name").textContent = "Uploading holiday.mp4 (1.20 GB)";
      document.getElementById("progress-bar").value = 42;
      document.getElementById("progress-percent").textContent = "42%";
      document.getElementById("progress-speed").textContent = "11.20 MB/s";
      document.getElementById("progress-eta").textContent = "1 min 4 s left";
    });
  });
  expectClean([/status of 404/]);
  await context.close();
});

test("the upload page works from the keyboard alone", async () => {
  const { page, context, expectClean } = await newPage(browser);
  // Listen before anything loads: Playwright turns on file-chooser interception
  // asynchronously when the first listener is added, and a chooser Chromium opens before that
  // is a native one that swallows every later Enter (the cause of this test's old flakiness).
  const choosers = [];
  page.on("filechooser", (c) => choosers.push(c));
  await login(page, server);
  // The paste box has focus on load; Shift+Tab reaches the file picker.
  assert.equal(await page.evaluate(() => document.activeElement.id), "pastebox");
  await page.keyboard.press("Shift+Tab");
  assert.equal(await page.evaluate(() => document.activeElement.id), "file-input");
  const outline = await page.evaluate(() => getComputedStyle(document.querySelector(".file-label")).outlineStyle);
  assert.equal(outline, "solid", "the picker's label shows the focus ring");
  // Enter on the focused picker opens the file chooser.
  await page.keyboard.press("Enter");
  for (let waited = 0; waited < 10000 && choosers.length === 0; waited += 50) {
    await page.waitForTimeout(50);
  }
  const chooser = choosers[0];
  assert.ok(chooser, "Enter opened the file chooser");
  await chooser.setFiles({ name: "keys.txt", mimeType: "text/plain", buffer: Buffer.from("typed") });
  await page.locator("#upload-result .message-body").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "upload-another");
  expectClean();
  await context.close();
});
