// Issue 16: long lists come a page at a time. The file list shows its total, pages with
// Previous/Next, filters the page as one types and searches every file on Enter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shotBoth, apiUpload } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test("the file list pages, filters the page and searches every file", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  // 105 files, uploaded oldest first: file-000 is the oldest, file-104 the newest.
  for (let i = 0; i < 105; i++) {
    const n = String(i).padStart(3, "0");
    await apiUpload(page, server, `file-${n}.txt`, `file ${n}`, { note: i === 7 ? "the lighthouse" : undefined });
  }
  await page.goto(`${server.url}/files`);
  assert.equal(await page.locator("#files-count").textContent(), "105 files");
  const rows = page.locator("#files-table tbody tr");
  assert.equal(await rows.count(), 100);
  assert.equal(await page.locator(".pager-status").textContent(), "Page 1 of 2");
  await shotBoth(context, page.url(), "files-paged");
  // (Upload times have whole seconds, so which five are on page 2 depends on ties.)
  const names = async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("test-data-filename")));
  const first = await names();
  const all = Array.from({ length: 105 }, (_, i) => `file-${String(i).padStart(3, "0")}.txt`);
  const rest = all.filter((n) => !first.includes(n));
  assert.equal(rest.length, 5);

  // The filter box filters the rows of this page as one types...
  await page.getByLabel("Filter files").fill(first[0].replace(".txt", ""));
  assert.equal(await page.locator("#files-table tbody tr:visible").count(), 1);
  const elsewhere = rest[0].replace(".txt", "");
  await page.getByLabel("Filter files").fill(elsewhere);
  assert.ok(await page.locator("#filter-empty").isVisible(), `${elsewhere} is on page 2`);
  assert.match(await page.locator("#filter-empty").textContent(), /Press Enter to search every file/);
  // ...and Enter searches every file, names and notes.
  await page.getByLabel("Filter files").press("Enter");
  await page.waitForURL(`${server.url}/files?q=${elsewhere}`);
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute("test-data-filename"), rest[0]);
  assert.match(await page.locator("#files-count").textContent(), /^1 file matches/);
  await page.goto(`${server.url}/files?q=LIGHTHOUSE`);
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().getAttribute("test-data-filename"), "file-007.txt");
  await page.getByRole("link", { name: "Show every file" }).click();
  await page.waitForURL(`${server.url}/files`);

  // Next and Previous.
  await page.getByRole("link", { name: "Next" }).click();
  await page.waitForURL(`${server.url}/files?page=2`);
  assert.deepEqual((await names()).sort(), rest.sort());
  assert.equal(await page.locator(".pager-status").textContent(), "Page 2 of 2");
  await shotBoth(context, page.url(), "files-paged-2");
  await page.getByRole("link", { name: "Previous" }).click();
  await page.waitForURL(`${server.url}/files?page=1`);
  assert.equal(await rows.count(), 100);
  expectClean();
  await context.close();
});
