// Test harness for the browser journeys: starts the real picoshare binary on a free port with
// a fresh database, launches Debian's headless Chromium through playwright-core, and gives each
// test pages that fail on page errors, console errors and any request leaving 127.0.0.1.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { before, after } from "node:test";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../..");
export const screenshotDir = path.join(here, "screenshots");
export const SECRET = "browser-test-passphrase";
export const WIDTHS = { desktop: 1280, phone: 390 };

const binary = process.env.PICOSHARE_BIN || path.join(repoRoot, "target/debug/picoshare");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/**
 * Starts picoshare on 127.0.0.1 and a free port, with `args` added to its command line;
 * resolves once it prints its address.
 */
export async function startServer(args = []) {
  const dir = mkdtempSync(path.join(tmpdir(), "picoshare-browser-"));
  const proc = spawn(binary, ["--listen", "127.0.0.1", "--port", "0", "-db", path.join(dir, "store.db"), ...args], {
    env: { ...process.env, PS_SHARED_SECRET: SECRET, TZ: process.env.TZ || "UTC" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log = [];
  const url = await new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => reject(new Error(`picoshare did not start:\n${log.join("")}`)), 20000);
    proc.stdout.setEncoding("utf8");
    // Keep draining stdout (the access log) for the server's whole life.
    proc.stdout.on("data", (chunk) => {
      log.push(chunk);
      if (log.length > 2000) log.splice(0, 1000);
      buffered += chunk;
      const m = buffered.match(/picoshare: listening on (http:\/\/[0-9.]+:\d+)/);
      if (m) {
        clearTimeout(timer);
        buffered = "";
        resolve(m[1]);
      }
    });
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (chunk) => log.push(chunk));
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`picoshare exited with ${code}:\n${log.join("")}`));
    });
  });
  return {
    url,
    log,
    dir,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) proc.kill("SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One server and one browser for a whole test file: started before its first test, stopped
 * after its last. `use(server, browser)` receives them once they are up. `args` go on the
 * server's command line.
 */
export function serverAndBrowser(use, { args = [] } = {}) {
  let server;
  let browser;
  before(async () => {
    server = await startServer(args);
    browser = await launchBrowser();
    use(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}

/** Launches headless Chromium with no network features beyond what the pages ask for. */
export async function launchBrowser() {
  // playwright-core gives every launch its own fresh temporary profile (--user-data-dir).
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * A fresh browser context (no cookies) and page. `problems` collects page errors, console
 * errors and requests to anywhere but 127.0.0.1 (which are aborted); `expectClean()` fails
 * the test if any happened, except console messages matching `allow`.
 */
export async function newPage(browser, { width = WIDTHS.desktop, javaScriptEnabled = true, timezoneId } = {}) {
  const context = await browser.newContext({
    timezoneId,
    viewport: { width, height: width < 600 ? 844 : 900 },
    javaScriptEnabled,
    permissions: ["clipboard-read", "clipboard-write"],
    acceptDownloads: true,
  });
  const problems = [];
  await context.route("**/*", (route) => {
    const u = new URL(route.request().url());
    if (u.hostname !== "127.0.0.1") {
      problems.push(`request left 127.0.0.1: ${u.href}`);
      return route.abort();
    }
    return route.continue();
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on("requestfailed", (r) => {
    const u = new URL(r.url());
    if (u.hostname === "127.0.0.1" && !r.failure()?.errorText.includes("ERR_ABORTED")) {
      problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  return {
    context,
    page,
    problems,
    expectClean(allow = []) {
      const left = problems.filter((p) => !allow.some((re) => re.test(p)));
      assert.deepEqual(left, [], "page errors, console errors or off-host requests");
      problems.length = 0;
    },
  };
}

/** Logs in through the login page. */
export async function login(page, server) {
  await page.goto(`${server.url}/login`);
  await page.getByLabel("Passphrase").fill(SECRET);
  await page.getByRole("button", { name: "Authenticate" }).click();
  await page.waitForURL(`${server.url}/`);
}

/** Saves a full-page screenshot as screenshots/<name>-<width>.png. */
export async function shot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const width = page.viewportSize().width;
  await page.screenshot({ path: path.join(screenshotDir, `${name}-${width}.png`), fullPage: true });
}

/** Saves screenshots of `url` at both widths, in a fresh page sharing `context`'s cookies. */
export async function shotBoth(context, url, name, prepare) {
  for (const width of Object.values(WIDTHS)) {
    const page = await context.newPage();
    await page.setViewportSize({ width, height: width < 600 ? 844 : 900 });
    await page.goto(url);
    if (prepare) await prepare(page);
    await shot(page, name);
    await page.close();
  }
}

/** Uploads through the API directly (for set-up steps that are not the journey under test). */
export async function apiUpload(page, server, name, text, { note, days = 30 } = {}) {
  return page.evaluate(
    async ({ name, text, note, days }) => {
      const data = new FormData();
      data.append("file", new File([text], name, { type: "text/plain" }));
      if (note) data.append("note", note);
      const exp = new Date(Date.now() + days * 86400e3).toISOString();
      const r = await fetch(`/api/entry?expiration=${encodeURIComponent(exp)}`, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
      });
      if (!r.ok) throw new Error(await r.text());
      return (await r.json()).id;
    },
    { name, text, note, days },
  );
}
