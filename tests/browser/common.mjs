// What both browser tests share: the check counter, Chromium's launch, and waits on the chat page.
import { chromium } from "playwright-core";

export const STEP = 10_000; // per wait, ms

export const counts = { passed: 0, failed: 0 };

// Runs one named check and prints "ok - name" or "not ok - name: why" (run.sh counts these lines).
export async function check(name, fn) {
  try {
    await fn();
    counts.passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    counts.failed++;
    console.log(`not ok - ${name}: ${String(e && e.message || e).split("\n")[0]}`);
  }
}

// Headless Chromium (CHROMIUM or /usr/bin/chromium) with the test's extra arguments.
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", ...extraArgs],
    timeout: 30_000,
  });
}

export const waitLog = (page, text) =>
  page.waitForFunction((t) => document.getElementById("log").textContent.includes(t), text, { timeout: STEP });
export const waitStatus = (page, prefix) =>
  page.waitForFunction((p) => document.getElementById("status").textContent.startsWith(p), prefix, { timeout: STEP });

// A fresh browser context on the chat page at `base`, connected as `name`.
export async function openAs(browser, base, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.log(`# ${name} page error: ${e.message}`));
  await page.goto(base, { timeout: STEP });
  await page.fill("#name", name);
  await page.click("#connect");
  return page;
}
