// Drives headless Chromium against two ws-demo processes sharing one redis-server (`--redis`): a page on
// each process, and the two chat with each other; presence shows the total over both processes.
// Usage: node test-redis.mjs http://127.0.0.1:PORT_A/ http://127.0.0.1:PORT_B/
// Prints "ok - ..." / "not ok - ..." per check; run.sh counts them.
import { check, counts, launch, openAs as open, waitLog, waitStatus } from "./common.mjs";

const [baseA, baseB] = process.argv.slice(2);

const watchdog = setTimeout(() => { console.log("not ok - watchdog: redis test took longer than 60 s"); process.exit(1); }, 60_000);

const browser = await launch();

const users = (page) => page.locator("#users").textContent();

try {
  let erin, frank;
  await check("erin connects to process A", async () => {
    erin = await open(browser, baseA, "erin");
    await waitStatus(erin, "open");
    await waitLog(erin, "erin joined (1 online)");
  });
  await check("frank connects to process B and erin (on A) sees him join, 2 online", async () => {
    frank = await open(browser, baseB, "frank");
    await waitStatus(frank, "open");
    for (const page of [erin, frank]) await waitLog(page, "frank joined (2 online)");
    for (const page of [erin, frank]) {
      const n = await users(page);
      if (n !== "2") throw new Error(`#users is ${JSON.stringify(n)}`);
    }
  });
  await check("erin's message typed on A shows on B", async () => {
    await erin.fill("#input", "hello from process A");
    await erin.click("#send");
    for (const page of [erin, frank]) await waitLog(page, "erin:hello from process A");
  });
  await check("frank's message typed on B shows on A", async () => {
    await frank.fill("#input", "hi from process B");
    await frank.press("#input", "Enter");
    for (const page of [erin, frank]) await waitLog(page, "frank:hi from process B");
  });
  await check("a second page on A: the total is 3 on both processes", async () => {
    const gina = await open(browser, baseA, "gina");
    await waitStatus(gina, "open");
    for (const page of [erin, frank, gina]) await waitLog(page, "gina joined (3 online)");
    await gina.context().close();
    await waitLog(frank, "gina left (2 online)");
  });
} finally {
  await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
console.log(`# browser (two processes, redis): ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
