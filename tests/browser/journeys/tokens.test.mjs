// Issue 21, API tokens on the settings page: create one, see it once with its curl command and
// ShareX uploader, use it from a script, see its last use, revoke it after a confirmation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { serverAndBrowser, newPage, login, screenshotDir, WIDTHS } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

/** Saves a screenshot of the tokens section alone as screenshots/<name>-<width>.png. */
async function shotSection(page, name) {
  const width = page.viewportSize().width;
  await page.locator("#api-tokens").screenshot({ path: path.join(screenshotDir, `${name}-${width}.png`) });
}

/** A script's upload with `token` (from Node: no browser, no cookie). */
async function scriptUpload(token, name) {
  const form = new FormData();
  form.append("file", new Blob([`bytes of ${name}`]), name);
  return fetch(`${server.url}/api/entry`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: form,
  });
}

async function createToken(page, { label, scope, expires }) {
  await page.getByLabel("Label").fill(label);
  await page.getByLabel("Scope").selectOption(scope);
  await page.getByLabel("Expires after").selectOption(expires);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.locator("#new-token:not([hidden])").waitFor();
  return page.locator("#new-token-value").textContent();
}

test("an API token is shown once, works for a script, shows its last use and is revoked", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/settings`);
  const section = page.locator("#api-tokens");
  assert.match(await section.innerText(), /Changing the admin passphrase does not revoke tokens/);
  assert.ok(await page.getByText("No tokens yet.").isVisible());
  assert.ok(await page.locator("#tokens-table").isHidden());

  // A label is required.
  await page.getByRole("button", { name: "Create token" }).click();
  await page.locator("#token-error:not([hidden])").waitFor();
  assert.match(await page.locator("#token-error").textContent(), /label/);

  const token = await createToken(page, { label: "Screenshots (ShareX)", scope: "upload", expires: "30" });
  assert.match(token, /^psr_[A-Za-z0-9]{10}_[A-Za-z0-9]{26}$/);
  assert.match(await page.locator("#new-token .message").textContent(), /shown only this once/);
  await page.locator("#copy-token").click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);

  // The ready-to-paste curl command, and the ShareX uploader built from the same token.
  const curl = await page.locator("#curl-example").textContent();
  assert.ok(curl.includes(`-H 'Authorization: Bearer ${token}'`), curl);
  assert.ok(curl.includes(`'${server.url}/api/entry'`), curl);
  assert.ok(!curl.includes("/api/entries"), "no listing example for an upload token");
  const [download] = await Promise.all([page.waitForEvent("download"), page.locator("#sxcu-download").click()]);
  assert.match(download.suggestedFilename(), /^picoshare-127\.0\.0\.1\.sxcu$/);
  const sxcu = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.deepEqual(
    {
      RequestMethod: sxcu.RequestMethod,
      RequestURL: sxcu.RequestURL,
      Headers: sxcu.Headers,
      Body: sxcu.Body,
      FileFormName: sxcu.FileFormName,
      URL: sxcu.URL,
    },
    {
      RequestMethod: "POST",
      RequestURL: `${server.url}/api/entry`,
      Headers: { Authorization: `Bearer ${token}` },
      Body: "MultipartFormData",
      FileFormName: "file",
      URL: `${server.url}/-{json:id}`,
    },
  );
  const row = page.locator('#tokens-table tr[data-label="Screenshots (ShareX)"]');
  assert.match(await row.innerText(), /Upload only/);
  assert.match(await row.innerText(), /Never used/);
  assert.match(await row.innerText(), /\(30 days\)/);
  await shotSection(page, "tokens-section-new");

  // A script uploads with it, as ShareX would (no expiration: the default lifetime); it may
  // not list files.
  let r = await scriptUpload(token, "shot.png");
  assert.equal(r.status, 200, await r.clone().text());
  const { id } = await r.json();
  r = await fetch(`${server.url}/api/entries`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 403);
  assert.match(await r.text(), /may only upload files/);

  // Done: the token leaves the page, and is not in it after a reload either.
  await page.getByRole("button", { name: "Done, I have copied it" }).click();
  assert.ok(await page.locator("#new-token").isHidden());
  assert.equal(await page.locator("#new-token-value").textContent(), "");
  await page.reload();
  assert.ok(!(await page.content()).includes(token), "never shown again");
  assert.doesNotMatch(await row.innerText(), /Never used/);
  assert.equal(await row.locator(".cell-last-used time").count(), 1);
  await page.goto(`${server.url}/files`);
  assert.equal(await page.locator(`tr:has(a[href="/-${id}"])`).count(), 1, "the script's file is listed");

  // An admin token gets the listing example too; the list shows both, newest first.
  await page.goto(`${server.url}/settings`);
  const admin = await createToken(page, { label: "Backups on the NAS", scope: "admin", expires: "never" });
  assert.match(await page.locator("#curl-example").textContent(), /\/api\/entries/);
  await page.getByRole("button", { name: "Done, I have copied it" }).click();
  const labels = await page.locator("#tokens-table tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.label));
  assert.deepEqual(labels, ["Backups on the NAS", "Screenshots (ShareX)"]);
  r = await fetch(`${server.url}/api/entries`, { headers: { Authorization: `Bearer ${admin}` } });
  assert.equal(r.status, 200);
  await page.reload();
  for (const width of Object.values(WIDTHS)) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
    await shotSection(page, "tokens-section");
  }
  await page.setViewportSize({ width: WIDTHS.desktop, height: 900 });

  // Revoke, after a confirmation naming the token: cancelling keeps it.
  let asked = "";
  page.once("dialog", (d) => {
    asked = d.message();
    d.dismiss();
  });
  await row.getByRole("button", { name: "Revoke" }).click();
  assert.match(asked, /Revoke the token “Screenshots \(ShareX\)”\?/);
  assert.equal(await row.count(), 1, "kept when cancelled");
  assert.equal((await scriptUpload(token, "still.png")).status, 200);
  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.locator("#snackbar").textContent(), "Token revoked");
  assert.equal(await row.count(), 0);
  r = await scriptUpload(token, "late.png");
  assert.equal(r.status, 401);
  assert.equal((await r.text()).trim(), "invalid API token");
  await page.reload();
  assert.equal(await page.locator("#tokens-table tbody tr").count(), 1);
  expectClean();
  await context.close();
});
