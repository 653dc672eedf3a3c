// Settings (the default expiration), system information and download history.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shotBoth, apiUpload } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

async function setDefault(page, { number, unit = "Days", forever = false }) {
  await page.goto(`${server.url}/settings`);
  const save = page.getByRole("button", { name: "Save" });
  assert.ok(await save.isDisabled(), "Save waits for a change");
  const box = page.getByLabel("Store files forever");
  if (forever) {
    await box.check();
  } else {
    if (await box.isChecked()) await box.uncheck();
    await page.locator("#time-unit").selectOption({ label: unit });
    await page.locator("#default-expiration").fill(String(number));
  }
  await save.click();
  await page.locator("#snackbar.show").waitFor();
  assert.equal(await page.locator("#snackbar").textContent(), "Settings saved");
}

async function uploadOptions(page) {
  await page.goto(`${server.url}/`);
  return {
    all: await page.locator("#expiration-select option").allTextContents(),
    selected: await page.locator("#expiration-select option:checked").textContent(),
  };
}

test("the default expiration in settings is preselected on the upload page", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.goto(`${server.url}/settings`);
  assert.equal(await page.title(), "PicoShare - Settings");
  assert.equal(await page.locator("#default-expiration").inputValue(), "30");
  assert.equal(await page.locator("#time-unit").inputValue(), "days");
  await shotBoth(context, `${server.url}/settings`, "settings");

  await setDefault(page, { number: 5 });
  let o = await uploadOptions(page);
  assert.equal(o.selected, "5 days");
  assert.deepEqual(o.all, ["1 hour", "6 hours", "1 day", "5 days", "7 days", "30 days", "1 year", "Never", "Custom"]);

  await setDefault(page, { number: 1, unit: "Years" });
  o = await uploadOptions(page);
  assert.equal(o.selected, "1 year");
  assert.deepEqual(o.all, ["1 hour", "6 hours", "1 day", "7 days", "30 days", "1 year", "Never", "Custom"]);

  await setDefault(page, { number: 10, unit: "Years" });
  assert.equal((await uploadOptions(page)).selected, "10 years");

  await setDefault(page, { forever: true });
  await page.reload();
  assert.ok(await page.getByLabel("Store files forever").isChecked());
  assert.ok(await page.locator("#default-expiration").isDisabled());
  assert.equal(await page.locator("#default-expiration").inputValue(), "30");
  assert.equal(await page.locator("#time-unit").inputValue(), "days");
  o = await uploadOptions(page);
  assert.equal(o.selected, "Never");
  assert.deepEqual(o.all, ["1 hour", "6 hours", "1 day", "7 days", "30 days", "1 year", "Never", "Custom"]);
  expectClean();
  await context.close();
});

test("system information shows disk, database and version", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  await page.getByText("System").click();
  await page.getByRole("link", { name: "Information" }).click();
  await page.waitForURL(`${server.url}/information`);
  assert.equal(await page.title(), "PicoShare - System Information");
  const text = await page.locator("main").innerText();
  assert.match(text, /Version: [^v\s]\S*/);
  assert.match(text, /Server disk usage: [\d.]+ [kMGTPE]?B \(\d+%\) used of [\d.]+ [kMGTPE]?B total/);
  assert.match(text, /Database files/);
  await shotBoth(context, `${server.url}/information`, "information");
  expectClean();
  await context.close();
});

test("download history with the unique-IP filter", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const id = await apiUpload(page, server, "history.txt", "history");
  await page.goto(`${server.url}/files/${id}/info`);
  assert.match(await page.locator(".downloads").textContent(), /^0 \(History\)$/);
  await page.getByRole("link", { name: "History", exact: true }).click();
  await page.waitForURL(`${server.url}/files/${id}/downloads`);
  assert.equal(await page.title(), "PicoShare - Downloads");
  assert.ok(await page.getByText("No downloads yet.").isVisible());

  // Two downloads from this address by two browsers (the same browser again within a minute
  // would count once), Firefox first.
  const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
  const earlier = await page.request.get(`${server.url}/-${id}`, { headers: { "User-Agent": firefox } });
  assert.equal(earlier.status(), 200);
  await page.goto(`${server.url}/-${id}/history.txt`);
  // History rows are written just after the downloads' answers.
  for (let tries = 0; ; tries++) {
    await page.goto(`${server.url}/files/${id}/info`);
    if ((await page.locator(".downloads").textContent()) === "2 (History)" || tries === 50) break;
    await page.waitForTimeout(100);
  }
  assert.match(await page.locator(".downloads").textContent(), /^2 \(History\)$/);
  await page.goto(`${server.url}/files/${id}/downloads`);
  const rows = page.locator(".history-table tbody tr");
  assert.equal(await rows.count(), 2);
  assert.equal(await rows.first().locator("td").first().textContent(), "2");
  assert.match(await rows.first().innerText(), /Chrome/);
  assert.match(await rows.first().innerText(), /127\.0\.0\.1/);
  assert.match(await rows.nth(1).innerText(), /Firefox/);
  assert.match(await page.locator("#history-summary").textContent(), /^2 downloads from 1 address$/);
  assert.match(await rows.first().locator("time").textContent(), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}$/);
  await shotBoth(context, page.url(), "downloads");
  await page.getByLabel("Unique IPs only").check();
  await page.waitForURL(`${server.url}/files/${id}/downloads?unique=true`);
  assert.equal(await rows.count(), 1);
  assert.equal(await rows.first().locator("td").first().textContent(), "1");
  await page.getByLabel("Unique IPs only").uncheck();
  await page.waitForURL(`${server.url}/files/${id}/downloads`);
  assert.equal(await rows.count(), 2);
  expectClean();
  await context.close();
});
