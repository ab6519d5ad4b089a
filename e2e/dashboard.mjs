// End-to-end: Debian's Chromium drives the dashboard — log in, open the overview, change the
// period, click a figure down to a conversation — and the figures shown must equal the API's.
// Usage: node dashboard.mjs BASE_URL USER PASSWORD TOKEN FROM TO [SCREENSHOT_DIR]
import { chromium } from "playwright-core";

const [base, user, password, token, from, to, shots] = process.argv.slice(2);
let passed = 0;
let failed = 0;
const check = (ok, what) => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/login?lang=en`);
  await page.fill('input[name="user"]', user);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(`${base}/?lang=en`), page.click('button[type="submit"]')]);
  check(await page.locator('[data-metric="messages_received"]').count() === 1, "logged in, the overview shows its tiles");

  // Change the period with the picker.
  await page.fill('input[name="from"]', from);
  await page.fill('input[name="to"]', to);
  await Promise.all([page.waitForURL(/from=/), page.click('header form[method="get"] button')]);
  const api = await (await fetch(`${base}/api/v1/report?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const tile = async (id) => (await page.locator(`[data-metric="${id}"] .v`).innerText()).trim();
  check(await tile("messages_received") === String(api.total.metrics.messages_received.value),
    `messages received on screen = API (${api.total.metrics.messages_received.value})`);
  const rr = api.total.metrics.response_rate.value;
  check(await tile("response_rate") === `${rr.toFixed(1)}%`, `response rate on screen = API (${rr.toFixed(1)}%)`);
  check(await tile("unanswered_requests") === String(api.total.metrics.unanswered_requests.value), "unanswered requests on screen = API");
  if (shots) await page.screenshot({ path: `${shots}/overview-en.png`, fullPage: false });
  // The heat map's busiest hour and the first recurring theme are the API's figures.
  const peak = api.total.metrics.activity_by_hour.peak;
  const days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const busiest = `${names[days.indexOf(peak.day)]} ${String(peak.hour).padStart(2, "0")}:00 (${peak.messages.toLocaleString("en-US")})`;
  check((await page.locator('[data-section="activity"]').innerText()).includes(`Busiest hour: ${busiest}`),
    `the heat map's busiest hour = API (${busiest})`);
  const theme = api.total.metrics.recurring_themes.themes[0];
  const firstTheme = (await page.locator('[data-list="themes"] li').first().innerText()).trim();
  check(firstTheme.includes(`: ${theme.messages.toLocaleString("en-US")} (`), `the first recurring theme on screen = API (${firstTheme})`);

  // Filter to one channel: the tile equals that channel's group in the API's report.
  const byChannel = await (await fetch(`${base}/api/v1/report?from=${from}&to=${to}&by=channel`, { headers: { authorization: `Bearer ${token}` } })).json();
  const email = byChannel.groups.find((g) => g.key === "email");
  await page.selectOption('select[name="channel"]', "email");
  await Promise.all([page.waitForURL(/channel=email/), page.click('header form[method="get"] button')]);
  check(await tile("messages_received") === String(email.metrics.messages_received.value),
    `filtered to email, messages received = the API's email group (${email.metrics.messages_received.value})`);
  await page.selectOption('select[name="channel"]', "");
  await Promise.all([page.waitForURL((u) => !u.toString().includes("channel=email")), page.click('header form[method="get"] button')]);

  // Click a figure down to its rows, then to a conversation.
  await Promise.all([page.waitForURL(/\/explain\?metric=unanswered_requests/), page.click('[data-metric="unanswered_requests"] a')]);
  const rows = await page.locator("table tr").count() - 1;
  check(rows === api.total.metrics.unanswered_requests.value, `the figure's rows are listed (${rows})`);
  await Promise.all([page.waitForURL(/\/conversations\//), page.locator('a[href^="/conversations/"]').first().click()]);
  check(await page.locator("h1").innerText().then((t) => t.startsWith("Conversation")), "a conversation page opens");

  // French.
  await page.goto(`${base}/?lang=fr&from=${from}&to=${to}`);
  check((await page.content()).includes("Messages reçus"), "the overview speaks French");
  if (shots) await page.screenshot({ path: `${shots}/overview-fr.png`, fullPage: false });
  // A phone.
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, "no sideways scrolling on a phone");
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
