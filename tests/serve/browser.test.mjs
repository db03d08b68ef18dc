// The page in a real browser: Debian's Chromium driven by Playwright. Sends a
// message, sees the answer stream in and the ring picture change, opens a
// second conversation (a second ring), and saves a screenshot (CI artifact).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startServer, stories, missing, artifactPath } from './harness.mjs';

const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const skip = missing(stories) || (!existsSync(browserPath) && `SKIPPED: no browser at ${browserPath} (apt-get install chromium)`);
let server, browser;

before(async () => {
  if (skip) return;
  server = await startServer(['--model', stories, '--streams', '4', '--window', '60']);
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
});
after(async () => {
  if (browser) await browser.close();
  if (server) assert.equal((await server.stop()).code, 0);
});

async function ring(page, stream) {
  return page.$eval(`.ring[data-stream="${stream}"]`, (e) => ({ position: Number(e.dataset.position), evicted: Number(e.dataset.evicted) }));
}

test('chat in the page: streamed text, the ring fills and wraps, two conversations, two rings', { skip }, async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(server.url + '/');
  await page.waitForFunction(() => document.getElementById('model').textContent.includes('stories260K'));
  await page.fill('#maxtokens', '40');
  await page.fill('#input', 'Tell me about a little dog.');
  await page.keyboard.press('Enter');
  // Text appears while the answer is still running (the Stop button is enabled).
  await page.waitForFunction(() => {
    const m = document.querySelectorAll('.msg.assistant');
    return m.length && m[m.length - 1].textContent.length > 0 && !document.getElementById('stop').disabled;
  }, null, { timeout: 60000 });
  await page.waitForFunction(() => document.getElementById('send').disabled === false, null, { timeout: 120000 });
  const stream = await page.$eval('.tab[aria-selected="true"]', (t) => Number(t.textContent.split('#')[1]));
  await page.waitForSelector(`.ring[data-stream="${stream}"]`);
  const first = await ring(page, stream);
  assert.ok(first.position > 0);
  // A second turn fills past the 4 sink + 60 window slots: the ring wraps, tokens are evicted.
  await page.fill('#input', 'And then what happened?');
  await page.click('#send');
  await page.waitForFunction(() => document.getElementById('send').disabled === false, null, { timeout: 120000 });
  await page.waitForFunction(([s, p]) => Number(document.querySelector(`.ring[data-stream="${s}"]`).dataset.position) > p,
                             [stream, first.position], { timeout: 10000 });
  const second = await ring(page, stream);
  assert.ok(second.evicted > 0, JSON.stringify(second));
  // A second conversation from the keyboard: Alt+N, then its own ring.
  await page.keyboard.press('Alt+n');
  await page.fill('#input', 'Hello!');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('send').disabled === false, null, { timeout: 120000 });
  await page.waitForFunction(() => document.querySelectorAll('.ring').length >= 2, null, { timeout: 10000 });
  const last = await page.$eval('.msg.assistant:last-of-type', (e) => e.textContent);
  assert.ok(last.length > 0);
  await page.waitForTimeout(1000);  // a few more samples in the charts
  const file = artifactPath('serve-page.png');
  await page.screenshot({ path: file });
  console.log('# screenshot: ' + file);
  assert.deepEqual(errors, []);
});
