// Drives headless Chromium against a running ws-demo: two users chat, close codes reach the page.
// Usage: node test.mjs http://127.0.0.1:PORT/ SERVER_PID
// Prints "ok - ..." / "not ok - ..." per check; run.sh counts them.
import { check, counts, launch, openAs as open, waitLog, waitStatus } from "./common.mjs";

const [base, serverPid] = process.argv.slice(2);

// Hard bound for the whole run, whatever hangs.
const watchdog = setTimeout(() => { console.log("not ok - watchdog: test took longer than 90 s"); process.exit(1); }, 90_000);

const browser = await launch();

const status = (page) => page.locator("#status").textContent();
const logText = (page) => page.locator("#log").textContent();

const openAs = (name) => open(browser, base, name);

try {
  let alice, bob;
  await check("page loads and alice connects", async () => {
    alice = await openAs("alice");
    await waitStatus(alice, "open");
  });
  await check("alice's #protocol shows chat", async () => {
    const p = await alice.locator("#protocol").textContent();
    if (p !== "chat") throw new Error(`#protocol is ${JSON.stringify(p)}`);
  });
  await check("bob connects and alice sees him join", async () => {
    bob = await openAs("bob");
    await waitStatus(bob, "open");
    await waitLog(alice, "bob joined (2 online)");
    const p = await bob.locator("#protocol").textContent();
    if (p !== "chat") throw new Error(`bob's #protocol is ${JSON.stringify(p)}`);
  });
  await check("alice's message reaches both pages", async () => {
    await alice.fill("#input", "hello bob <b>not bold</b>");
    await alice.click("#send");
    for (const page of [alice, bob]) await waitLog(page, "alice:hello bob <b>not bold</b>");
    if (await bob.locator("#log b").count() !== 0) throw new Error("chat text was rendered as HTML");
  });
  await check("bob's reply reaches both pages", async () => {
    await bob.fill("#input", "hi alice");
    await bob.press("#input", "Enter");
    for (const page of [alice, bob]) await waitLog(page, "bob:hi alice");
  });
  await check("a 5 KiB message: alice's page shows closed 1009", async () => {
    await alice.evaluate(() => {
      document.getElementById("input").value = "x".repeat(5 * 1024);
    });
    await alice.click("#send");
    await waitLog(alice, "closed 1009");
    if (!(await logText(bob)).includes("alice left")) await waitLog(bob, "alice left (1 online)");
  });
  await check("alice reconnects by herself (backoff) and chats again", async () => {
    await waitStatus(alice, "open");
    await waitLog(bob, "alice joined (2 online)");
    await alice.fill("#input", "back again");
    await alice.click("#send");
    await waitLog(bob, "alice:back again");
  });
  await check("server shutdown: both pages show closed 1001", async () => {
    process.kill(Number(serverPid), "SIGTERM");
    for (const page of [alice, bob]) await waitLog(page, "closed 1001: server shutting down");
  });
  await check("after shutdown the pages are not connected", async () => {
    for (const page of [alice, bob]) {
      const s = await status(page);
      if (s === "open") throw new Error(`status still ${s}`);
    }
  });
} finally {
  await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
console.log(`# browser: ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
