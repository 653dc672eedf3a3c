// Logging in and out, the redirect of anonymous visitors, the 404 page and static files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, login, shotBoth, SECRET } from "../harness.mjs";

let server;
let browser;
serverAndBrowser((s, b) => {
  server = s;
  browser = b;
});

test("anonymous visitors see the introduction and a Log In button", async () => {
  const { page, context, expectClean } = await newPage(browser);
  const r = await page.goto(`${server.url}/`);
  assert.match(r.headers()["content-security-policy"], /script-src 'self' 'nonce-[^']+'/);
  assert.equal(await page.title(), "PicoShare");
  assert.ok(await page.getByRole("heading", { name: "What is PicoShare?" }).isVisible());
  await page.getByRole("link", { name: "Log In", exact: true }).click();
  await page.waitForURL(`${server.url}/login`);
  assert.equal(await page.title(), "PicoShare - Log in");
  await shotBoth(context, `${server.url}/`, "intro");
  await shotBoth(context, `${server.url}/login`, "login");
  expectClean();
  await context.close();
});

test("an admin page sends an anonymous visitor to log in, then back", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await page.goto(`${server.url}/files?x=1`);
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.equal(new URL(page.url()).searchParams.get("next"), "/files?x=1");
  // A wrong passphrase shows the server's reason.
  await page.getByLabel("Passphrase").fill("wrong");
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.locator("#login-error:not([hidden])").waitFor();
  assert.equal(await page.locator("#login-error").textContent(), "incorrect shared secret");
  await page.getByLabel("Passphrase").fill(SECRET);
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.waitForURL(`${server.url}/files?x=1`);
  assert.equal(await page.title(), "PicoShare - Files");
  expectClean([/status of 401/]);
  await context.close();
});

test("logging in and out works without JavaScript too", async () => {
  const { page, context, expectClean } = await newPage(browser, { javaScriptEnabled: false });
  await page.goto(`${server.url}/files`);
  assert.equal(new URL(page.url()).pathname, "/login");
  await page.getByLabel("Passphrase").fill("wrong");
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.waitForLoadState();
  assert.equal(await page.locator("#login-error").textContent(), "incorrect shared secret");
  assert.ok(await page.locator("#login-error").isVisible());
  await page.getByLabel("Passphrase").fill(SECRET);
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.waitForURL(`${server.url}/files`);
  assert.equal(await page.title(), "PicoShare - Files");
  // The System menu opens without JavaScript, and Log Out is a form post.
  await page.locator("summary", { hasText: "System" }).click();
  await page.getByRole("button", { name: "Log Out" }).click();
  await page.waitForURL(`${server.url}/`);
  await page.getByRole("link", { name: "Log In", exact: true }).waitFor();
  await page.goto(`${server.url}/files`);
  assert.equal(new URL(page.url()).pathname, "/login");
  expectClean([/status of 401/]);
  await context.close();
});

test("the login page refuses to send anyone to another site", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await page.goto(`${server.url}/login?next=//evil.example/`);
  await page.getByLabel("Passphrase").fill(SECRET);
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.waitForURL(`${server.url}/`);
  expectClean();
  await context.close();
});

test("log out from the System menu, by keyboard", async () => {
  const { page, context, expectClean } = await newPage(browser);
  await login(page, server);
  const system = page.locator("summary", { hasText: "System" });
  await system.focus();
  await page.keyboard.press("Enter");
  assert.ok(await page.getByRole("link", { name: "Information" }).isVisible());
  await page.keyboard.press("Escape");
  assert.ok(await page.getByRole("link", { name: "Information" }).isHidden());
  await system.click();
  await page.getByRole("button", { name: "Log Out" }).click();
  await page.waitForURL(`${server.url}/`);
  await page.getByRole("link", { name: "Log In", exact: true }).waitFor();
  const r = await page.goto(`${server.url}/files`);
  assert.equal(new URL(page.url()).pathname, "/login");
  assert.equal(r.status(), 200);
  expectClean();
  await context.close();
});

test("unknown pages get a friendly 404; files that do not exist too", async () => {
  const { page, context, expectClean } = await newPage(browser);
  let r = await page.goto(`${server.url}/no/such/page`);
  assert.equal(r.status(), 404);
  assert.ok(await page.getByRole("heading", { name: "Page not found" }).isVisible());
  await shotBoth(context, `${server.url}/no/such/page`, "not-found");
  await login(page, server);
  r = await page.goto(`${server.url}/files/AAAAAAAAAA/info`);
  assert.equal(r.status(), 404);
  assert.ok(await page.getByRole("heading", { name: "File not found" }).isVisible());
  r = await page.goto(`${server.url}/files/bad/info`);
  assert.equal(r.status(), 400);
  expectClean([/status of (400|404)/]);
  await context.close();
});

test("static files: icons, manifest, caching, no listings", async () => {
  const { page, context, expectClean } = await newPage(browser);
  for (const p of ["/favicon.ico", "/android-chrome-192x192.png", "/apple-touch-icon.png", "/site.webmanifest", "/css/style.css", "/js/common.js"]) {
    const r = await page.request.get(`${server.url}${p}`);
    assert.equal(r.status(), 200, p);
    assert.equal(r.headers()["cache-control"], "max-age=3600", p);
    const etag = r.headers()["etag"];
    assert.ok(etag, p);
    const again = await page.request.get(`${server.url}${p}`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status(), 304, p);
  }
  const css = await page.request.get(`${server.url}/css/style.css`);
  assert.match(css.headers()["content-type"], /^text\/css/);
  for (const p of ["/css/", "/js/", "/css"]) {
    const r = await page.request.get(`${server.url}${p}`);
    assert.equal(r.status(), 404, p);
  }
  expectClean();
  await context.close();
});
