// Guest links: create one, hand it to a guest in a second browser with no cookie, watch the
// limits work; disable, enable and delete links.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shot, shotBoth } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

async function createLink(page, { label = "", size = "", limit = "", lifetime = "Never" } = {}) {
  await page.goto(`${server.url}/guest-links`);
  await page.getByRole("link", { name: "Create new" }).click();
  await page.waitForURL(`${server.url}/guest-links/new`);
  await page.locator("#label").fill(label);
  await page.locator("#max-file-size").fill(size);
  await page.locator("#file-upload-limit").fill(limit);
  await page.locator("#file-expiration-select").selectOption({ label: lifetime });
  await page.getByRole("button", { name: "Create", exact: true }).click();
  await page.waitForURL(`${server.url}/guest-links`);
  // Newest first.
  return page.locator("tr[data-id]").first().getAttribute("data-id");
}

test("a guest uploads through a link with limits, then the link is used up", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  await admin.page.goto(`${server.url}/guest-links`);
  assert.equal(await admin.page.title(), "PicoShare - Guest Links");
  await shotBoth(admin.context, `${server.url}/guest-links`, "guest-links-empty");
  await admin.page.goto(`${server.url}/guest-links/new`);
  assert.equal(await admin.page.title(), "PicoShare - New Guest Link");
  await shotBoth(admin.context, `${server.url}/guest-links/new`, "guest-link-new");
  const id = await createLink(admin.page, { label: "For Alice", size: "1", limit: "1", lifetime: "7 days" });
  const row = admin.page.locator(`tr[data-id="${id}"]`);
  assert.match(await row.innerText(), /For Alice/);
  assert.match(await row.innerText(), /1\.00 MB/);
  assert.match(await row.innerText(), /0 \/ 1/);
  assert.match(await row.innerText(), /7 days/);
  await row.getByRole("button", { name: "Copy" }).click();
  await admin.page.locator("#snackbar.show").waitFor();
  assert.equal(await admin.page.evaluate(() => navigator.clipboard.readText()), `${server.url}/g/${id}`);

  // The guest: a separate browser context, no cookie.
  const guest = await newPage(browser);
  await guest.page.goto(`${server.url}/g/${id}`);
  assert.equal(await guest.page.title(), "PicoShare - Upload");
  const options = await guest.page.locator("#expiration-select option").allTextContents();
  // Issue 20 added 1 hour and 6 hours.
  assert.deepEqual(options, ["1 hour", "6 hours", "1 day", "7 days"]);
  assert.equal(await guest.page.locator("#expiration-select option:checked").textContent(), "7 days");
  assert.equal(await guest.page.locator("#note").count(), 0);
  await shotBoth(guest.context, `${server.url}/g/${id}`, "guest-upload");

  // Too large: refused before sending.
  await guest.page.locator(".file-input").setInputFiles({
    name: "big.bin",
    mimeType: "application/octet-stream",
    buffer: Buffer.alloc(1024 * 1024 + 1, 7),
  });
  await guest.page.locator("#upload-error:not([hidden])").waitFor();
  assert.match(await guest.page.locator("#upload-error").textContent(), /too large/);

  await guest.page.locator(".file-input").setInputFiles({
    name: "from-alice.txt",
    mimeType: "text/plain",
    buffer: Buffer.from("hi from a guest"),
  });
  await guest.page.locator("#upload-result .message-body").waitFor();
  assert.ok(await guest.page.locator("#edit-link").isHidden(), "guests get no Edit button");
  const short = await guest.page.locator("#short-link-box .link").textContent();
  await shot(guest.page, "guest-upload-complete");
  await guest.page.getByRole("button", { name: "Upload Another" }).click();
  await guest.page.getByRole("heading", { name: "Guest Link Inactive" }).waitFor();
  assert.equal(await guest.page.title(), "PicoShare - Guest Link Inactive");
  assert.equal(await guest.page.locator(".file-input").count(), 0);
  await shotBoth(guest.context, `${server.url}/g/${id}`, "guest-inactive");
  guest.expectClean();

  // The admin sees the file, with the link's lifetime, attributed to the link.
  await admin.page.goto(`${server.url}/files`);
  const fileRow = admin.page.locator('tr[test-data-filename="from-alice.txt"]');
  assert.match(await fileRow.locator(".cell-expires").textContent(), /\(7 days\)$/);
  await fileRow.getByRole("link", { name: "Information" }).click();
  assert.match(await admin.page.locator(".details").innerText(), /Uploaded by\s+Guest link: For Alice/);
  await admin.page.goto(`${server.url}/guest-links`);
  assert.match(await row.innerText(), /1 \/ 1/);
  assert.ok(await row.evaluate((r) => r.classList.contains("inactive")));
  await shotBoth(admin.context, `${server.url}/guest-links`, "guest-links");

  // Deleting the link keeps the file.
  admin.page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await row.waitFor({ state: "detached" });
  const r = await admin.page.request.get(short);
  assert.equal(await r.text(), "hi from a guest");
  admin.expectClean();
  await guest.context.close();
  await admin.context.close();
});

test("disable and enable a link; a Never lifetime offers every option", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  const id = await createLink(admin.page);
  const row = admin.page.locator(`tr[data-id="${id}"]`);
  assert.match(await row.innerText(), /unnamed/);
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByRole("button", { name: "Enable" }).waitFor();
  assert.equal(await admin.page.locator("#snackbar").textContent(), "Guest link disabled");
  assert.ok(await row.getByRole("button", { name: "Copy" }).isHidden());

  const guest = await newPage(browser);
  await guest.page.goto(`${server.url}/g/${id}`);
  await guest.page.getByRole("heading", { name: "Guest Link Inactive" }).waitFor();

  await row.getByRole("button", { name: "Enable" }).click();
  await row.getByRole("button", { name: "Disable" }).waitFor();
  assert.ok(await row.getByRole("button", { name: "Copy" }).isVisible());
  await guest.page.reload();
  const options = await guest.page.locator("#expiration-select option").allTextContents();
  assert.deepEqual(options, ["1 hour", "6 hours", "1 day", "7 days", "30 days", "1 year", "Never"]);
  assert.equal(await guest.page.locator("#expiration-select option:checked").textContent(), "Never");
  // Disabled while the guest has the page open: the upload shows the server's reason.
  await row.getByRole("button", { name: "Disable" }).click();
  await row.getByRole("button", { name: "Enable" }).waitFor();
  await guest.page.locator(".file-input").setInputFiles({ name: "late.txt", mimeType: "text/plain", buffer: Buffer.from("late") });
  await guest.page.locator("#upload-error:not([hidden])").waitFor();
  assert.equal(await guest.page.locator("#upload-error").textContent(), "Guest link is no longer active");
  assert.ok(await guest.page.locator("#upload-form").isVisible(), "the form is back");
  await row.getByRole("button", { name: "Enable" }).click();
  await row.getByRole("button", { name: "Disable" }).waitFor();
  // The guest picks a shorter lifetime than the link allows.
  await guest.page.locator("#expiration-select").selectOption({ label: "7 days" });
  await guest.page.locator(".file-input").setInputFiles({ name: "week.txt", mimeType: "text/plain", buffer: Buffer.from("7") });
  await guest.page.locator("#upload-result .message-body").waitFor();
  await admin.page.goto(`${server.url}/files`);
  assert.match(await admin.page.locator('tr[test-data-filename="week.txt"] .cell-expires').textContent(), /\(7 days\)$/);
  guest.expectClean([/status of 401/]);
  admin.expectClean();
  await guest.context.close();
  await admin.context.close();
});

test("a too-long label shows the server's reason", async () => {
  const admin = await newPage(browser);
  await login(admin.page, server);
  await admin.page.goto(`${server.url}/guest-links/new`);
  await admin.page.locator("#label").evaluate((el) => el.removeAttribute("maxlength"));
  await admin.page.locator("#label").fill("x".repeat(5000));
  await admin.page.getByRole("button", { name: "Create", exact: true }).click();
  await admin.page.locator("#guest-link-error:not([hidden])").waitFor();
  assert.match(await admin.page.locator("#guest-link-error").textContent(), /Invalid request: label too long/);
  admin.expectClean([/status of 400/]);
  await admin.context.close();
});

test("unknown and malformed guest links", async () => {
  const { page, context, expectClean } = await newPage(browser);
  let r = await page.goto(`${server.url}/g/AAAAAAAAAAAAAAAA`);
  assert.equal(r.status(), 404);
  r = await page.goto(`${server.url}/g/short`);
  assert.equal(r.status(), 400);
  expectClean([/status of (400|404)/]);
  await context.close();
});
