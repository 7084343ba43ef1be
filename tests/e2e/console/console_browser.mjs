// Drives the operator console in Debian's headless Chromium (playwright-core, no browser
// download): signs in through the form, waits until ALERT_ID's row is done at 100 % and the
// map shows its area, saves a screenshot.
//   node console_browser.mjs API_URL ADMIN_TOKEN ALERT_ID SCREENSHOT.png
import { chromium } from "playwright-core";

const [api, token, alertId, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const fail = async (why) => {
  console.error("console: " + why);
  await page.screenshot({ path: shot.replace(/\.png$/, "-failed.png"), fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
};
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const offsite = [];
page.on("request", (r) => { if (!r.url().startsWith(api)) offsite.push(r.url()); });
await page.goto(api + "/");
await page.waitForSelector("#login:not([hidden])", { timeout: 15000 }).catch(() => fail("no login form"));
// A wrong token is refused.
await page.fill("#token", "not-the-token");
await page.click("#login button[type=submit]");
await page.waitForSelector("#login-error:not([hidden])", { timeout: 10000 }).catch(() => fail("wrong token accepted"));
await page.fill("#token", token);
await page.click("#login button[type=submit]");
await page.waitForSelector("#console:not([hidden])", { timeout: 15000 }).catch(() => fail("sign-in failed"));
if (page.url().includes(token)) await fail("the token ended up in the URL");
const row = `#alerts tr[data-id="${alertId}"]`;
await page.waitForSelector(`${row}[data-status="done"] .bar[data-label="all"][data-percent="100"]`,
                           { timeout: 30000 }).catch(() => fail("the alert's progress never reached 100 %"));
await page.click(row);
await page.waitForSelector("#area path.area", { timeout: 30000 }).catch(() => fail("no area on the map"));
await page.waitForSelector("#lands path.land", { timeout: 30000 }).catch(() => fail("no Länder on the map"));
const lands = await page.locator("#lands path.land").count();
const area = await page.locator("#area path.area").getAttribute("data-key");
const live = await page.waitForFunction(() => document.getElementById("live").textContent.startsWith("live"),
                                        null, { timeout: 15000 }).then(() => true, () => false);
if (!live) await fail("no server-sent event arrived");
await page.screenshot({ path: shot, fullPage: true });
console.log(`  console: signed in, ${alertId} at 100 %, area ${area} drawn over ${lands} Länder shapes, live updates on`);
if (offsite.length) await fail("requests outside the region: " + offsite.join(", "));
if (lands < 16 || area !== "091620000000") await fail(`map: ${lands} Länder shapes, area ${area}`);
await browser.close();
