// Drives headless Chromium against ws-demo serving TLS (a self-signed certificate Chromium is told to
// trust by its public key): the page loads over HTTP/2 and the chat WebSocket opens over the same HTTP/2
// connection (RFC 8441). The server's log says which HTTP version each WebSocket came over.
// Usage: node test-tls.mjs https://127.0.0.1:PORT/ SPKI_SHA256_BASE64 SERVER_STDERR_FILE
// Prints "ok - ..." / "not ok - ..." per check; run.sh counts them.
import { readFileSync } from "node:fs";
import { STEP, check, counts, launch, openAs as open, waitLog, waitStatus } from "./common.mjs";

const [base, spki, serverLog] = process.argv.slice(2);

const watchdog = setTimeout(() => { console.log("not ok - watchdog: TLS test took longer than 60 s"); process.exit(1); }, 60_000);

// Trust exactly this certificate's key, nothing else.
const browser = await launch([`--ignore-certificate-errors-spki-list=${spki}`]);

const openAs = (name) => open(browser, base, name);

// Waits until the server's stderr has a line containing `text`.
async function waitServerLog(text) {
  const deadline = Date.now() + STEP;
  for (;;) {
    const log = readFileSync(serverLog, "utf8");
    if (log.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`server log lacks ${JSON.stringify(text)}: ${JSON.stringify(log)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

try {
  let carol, dave;
  await check("https page loads over HTTP/2 and carol connects", async () => {
    carol = await openAs("carol");
    const protocol = await carol.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
    if (protocol !== "h2") throw new Error(`page loaded over ${JSON.stringify(protocol)}`);
    await waitStatus(carol, "open");
    const p = await carol.locator("#protocol").textContent();
    if (p !== "chat") throw new Error(`#protocol is ${JSON.stringify(p)}`);
  });
  await check("server: carol's WebSocket came over HTTP/2 (extended CONNECT)", async () => {
    await waitServerLog("ws-demo: carol joined over HTTP/2");
  });
  await check("dave connects over HTTP/2 and carol sees him join", async () => {
    dave = await openAs("dave");
    await waitStatus(dave, "open");
    await waitLog(carol, "dave joined (2 online)");
    await waitServerLog("ws-demo: dave joined over HTTP/2");
  });
  await check("messages cross both ways over HTTP/2 WebSockets", async () => {
    await carol.fill("#input", "hello over h2");
    await carol.click("#send");
    for (const page of [carol, dave]) await waitLog(page, "carol:hello over h2");
    await dave.fill("#input", "ünïcode back");
    await dave.press("#input", "Enter");
    for (const page of [carol, dave]) await waitLog(page, "dave:ünïcode back");
  });
  await check("a 5 KiB message over HTTP/2: carol's page shows closed 1009", async () => {
    await carol.evaluate(() => {
      document.getElementById("input").value = "x".repeat(5 * 1024);
    });
    await carol.click("#send");
    await waitLog(carol, "closed 1009");
    await waitLog(dave, "carol left (1 online)");
  });
} finally {
  await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
console.log(`# browser (TLS, HTTP/2): ${counts.passed} passed, ${counts.failed} failed`);
process.exit(counts.failed ? 1 : 0);
