// Issue 17: download passphrases. The admin protects a file on the upload page, sees the lock in
// the list and on the information page; a visitor is sent to the unlock page, is refused with a
// wrong passphrase and gets the file with the right one (no cookie: the next visit asks again);
// the admin changes and removes the protection on the edit page.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shot, shotBoth, WIDTHS } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

const PASSPHRASE = "browser pass ✓";
const CONTENT = "bytes behind a passphrase\n";

/** Uploads `name` through the upload page with a download passphrase; returns its id. */
async function uploadProtected(page, name, passphrase) {
  await page.goto(`${server.url}/`);
  await page.locator("#download-passphrase").fill(passphrase);
  await page.locator(".file-input").setInputFiles({
    name,
    mimeType: "text/plain",
    buffer: Buffer.from(CONTENT),
  });
  await page.locator("#upload-result .message-body").waitFor();
  const short = await page.locator("#short-link-box .link").textContent();
  const m = short.match(/\/-([A-Za-z0-9]{10})$/);
  assert.ok(m, `short link ${short}`);
  return m[1];
}

test("a protected file: lock in the list, unlock page for visitors, file with the right passphrase", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  const id = await uploadProtected(admin.page, "protected.txt", PASSPHRASE);

  // The list marks it; the information page says so.
  await admin.page.goto(`${server.url}/files`);
  const row = admin.page.locator('tr[test-data-filename="protected.txt"]');
  await row.locator(".lock-mark").waitFor();
  assert.equal(await row.locator(".lock-mark").getAttribute("title"), "Protected by a passphrase");
  await shot(admin.page, "passphrase-files");
  await admin.page.goto(`${server.url}/files/${id}/info`);
  assert.equal(
    await admin.page.locator("dd.protection").textContent(),
    "Protected - Guest users must enter the file's passphrase",
  );
  // The owner downloads directly.
  const owner = await admin.page.evaluate(async (u) => {
    const r = await fetch(u);
    return [r.status, r.headers.get("cache-control"), await r.text()];
  }, `/-${id}`);
  assert.deepEqual(owner, [200, "no-store", CONTENT]);
  admin.expectClean();

  // A visitor (no cookies) lands on the unlock page.
  const visitor = await newPage(browser);
  const { page } = visitor;
  await page.goto(`${server.url}/-${id}/protected.txt`);
  assert.equal(page.url(), `${server.url}/-${id}/unlock`);
  assert.equal(await page.title(), "PicoShare - Protected Download");
  assert.equal(await page.locator("h1").textContent(), "Protected Download");
  assert.ok(!(await page.content()).includes("protected.txt"), "the page does not name the file");
  assert.ok(await page.locator("#passphrase").evaluate((e) => e === document.activeElement));
  await shot(page, "passphrase-unlock");

  // Wrong: refused with a message, still on the form.
  await page.getByLabel("Passphrase").fill("not it");
  const [wrong] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: "Download" }).click(),
  ]);
  assert.equal(wrong.status(), 401);
  assert.equal(await page.locator("#unlock-error").textContent(), "Incorrect passphrase.");
  assert.ok(await page.locator("#unlock-error").isVisible());
  await shot(page, "passphrase-unlock-wrong");

  // Right: the answer is the file itself; no cookie is left behind.
  await page.getByLabel("Passphrase").fill(PASSPHRASE);
  const [right] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: "Download" }).click(),
  ]);
  assert.equal(right.status(), 200);
  assert.equal(right.headers()["content-security-policy"], "sandbox");
  assert.equal(await right.text(), CONTENT);
  assert.equal((await page.locator("body").innerText()).trim(), CONTENT.trim());
  assert.deepEqual(await visitor.context.cookies(), [], "no cookie");
  await shot(page, "passphrase-unlocked");

  // The next visit asks again.
  await page.goto(`${server.url}/-${id}`);
  assert.equal(page.url(), `${server.url}/-${id}/unlock`);
  visitor.expectClean([/status of 401/]);

  // Both widths, for the record.
  await shotBoth(visitor.context, `${server.url}/-${id}/unlock`, "passphrase-unlock-both");
  await visitor.context.close();
  await admin.context.close();
});

test("without JavaScript the unlock form still works", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  const id = await uploadProtected(admin.page, "nojs.txt", "no script needed");
  await admin.context.close();

  const { page, context, expectClean } = await newPage(browser, { javaScriptEnabled: false, width: WIDTHS.phone });
  await page.goto(`${server.url}/-${id}`);
  assert.equal(page.url(), `${server.url}/-${id}/unlock`);
  await page.getByLabel("Passphrase").fill("no script needed");
  const [answer] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole("button", { name: "Download" }).click(),
  ]);
  assert.equal(answer.status(), 200);
  assert.equal(await answer.text(), CONTENT);
  expectClean();
  await context.close();
});

test("the edit page changes and removes the protection", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const id = await uploadProtected(page, "edited.txt", "first one");

  await page.goto(`${server.url}/files/${id}/edit`);
  const box = page.getByLabel("Require guests to enter a passphrase before downloading");
  assert.ok(await box.isChecked());
  const field = page.locator("#download-passphrase");
  assert.equal(await field.inputValue(), "first one", "pre-filled");
  await shot(page, "passphrase-edit");

  // Ticked with an empty field: refused in the page, nothing sent.
  await field.fill("");
  await page.getByRole("button", { name: "Save" }).click();
  assert.match(await page.locator("#edit-error").textContent(), /Enter a passphrase/);

  // A new passphrase.
  await field.fill("second one");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(`${server.url}/files`);
  const check = async (passphrase) =>
    page.evaluate(
      async ([u, p]) => {
        const r = await fetch(u, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ passphrase: p }),
          credentials: "omit",
        });
        return r.status;
      },
      [`/-${id}/unlock`, passphrase],
    );
  assert.equal(await check("second one"), 200);
  assert.equal(await check("first one"), 401);

  // Unticked: the field hides and the file is open to anyone with the link.
  await page.goto(`${server.url}/files/${id}/edit`);
  await box.uncheck();
  assert.ok(await page.locator("#passphrase-field").isHidden());
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(`${server.url}/files`);
  assert.equal(await page.locator('tr[test-data-filename="edited.txt"] .lock-mark').count(), 0);
  const open = await page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: "omit", redirect: "manual" });
    return [r.status, await r.text()];
  }, `/-${id}`);
  assert.deepEqual(open, [200, CONTENT]);
  await page.goto(`${server.url}/files/${id}/info`);
  assert.match(await page.locator("dd.protection").textContent(), /^Not protected/);
  expectClean([/status of 401/]);
  await context.close();
});
