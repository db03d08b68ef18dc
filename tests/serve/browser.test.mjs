// The page in a real browser: Debian's Chromium driven by Playwright. Sends a
// message, sees the answer stream in and the ring picture change, opens a
// second conversation (a second ring), and saves a screenshot (CI artifact).
// Then a gpt-oss answer's reasoning (reasoning_content), from a scripted stream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { startServer, stories, missing, artifactPath, sleep } from './harness.mjs';

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

// A chat completions endpoint that streams scripted chunks shaped as the server's
// (api.cpp's chat_chunk and usage_chunk); `script(body, send)` writes the deltas.
async function scriptedChat(script) {
  const bodies = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const d of req) body += d;
    bodies.push(JSON.parse(body));
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Sinkstream-Stream': '99' });
    const base = { id: 'chatcmpl-' + bodies.length, object: 'chat.completion.chunk', created: 0, model: 'gpt-oss-test',
                   system_fingerprint: 'sinkstream' };
    const event = (j) => res.write('data: ' + JSON.stringify({ ...base, ...j }) + '\n\n');
    const send = (delta, finish = null) => event({ choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    send({ role: 'assistant', content: '' });
    await script(bodies[bodies.length - 1], send, bodies.length);
    send({}, 'stop');
    event({ choices: [], usage: { prompt_tokens: 20, completion_tokens: 9, total_tokens: 29,
                                  prompt_tokens_details: { cached_tokens: 0 } } });
    res.end('data: [DONE]\n\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, bodies, close: () => new Promise((r) => server.close(r)) };
}

test('reasoning (gpt-oss): streamed into a folding block above the answer, never sent back', { skip }, async () => {
  // The fixture model has no analysis channel: the page's chat requests go to a scripted
  // stream (the page and the rest of the API stay the real server's).
  const reasoning = ['The user greets me.', '\nI should greet them back', ', briefly.'];
  const answer = [' Hello', ' there', '!'];
  let release;
  const answerMayStart = new Promise((r) => { release = r; });
  const chat = await scriptedChat(async (body, send, n) => {
    if (n === 1) {
      for (const r of reasoning) { send({ reasoning_content: r }); await sleep(30); }
      await answerMayStart;  // the test looks at the page while the model "thinks"
      for (const a of answer) { send({ content: a }); await sleep(30); }
    } else {
      send({ content: 'Fine, thanks.' });
    }
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    await page.route('**/v1/chat/completions', (route) => route.continue({ url: chat.url + '/v1/chat/completions' }));
    await page.goto(server.url + '/');
    await page.fill('#input', 'Hi!');
    await page.keyboard.press('Enter');
    const bubble = page.locator('.msg.assistant').last();
    const block = bubble.locator('details.reasoning');
    // While it thinks: the block is open, holds the reasoning as streamed, and there is no answer yet.
    const thought = reasoning.join('');
    await page.waitForFunction((t) => {
      const r = document.querySelector('.msg.assistant:last-of-type .reasoning-text');
      return r && r.textContent === t;
    }, thought, { timeout: 10000 });
    assert.equal(await page.$eval('#stop', (b) => b.disabled), false, 'still streaming');
    assert.equal(await block.evaluate((d) => d.open), true);
    assert.equal((await block.locator('summary').textContent()).trim(), 'Thinking…');
    assert.ok(await bubble.locator('.reasoning-text').isVisible());
    assert.equal(await bubble.locator('.content').textContent(), '');
    // The answer starts: the block folds away and keeps the reasoning; the answer is apart, below it.
    release();
    await page.waitForFunction(() => document.getElementById('send').disabled === false, null, { timeout: 10000 });
    assert.equal(await block.evaluate((d) => d.open), false);
    assert.match(await block.locator('summary').textContent(), /^Thought for \d+\.\d s$/);
    assert.equal(await bubble.locator('.reasoning-text').textContent(), thought);
    assert.equal(await bubble.locator('.reasoning-text').isVisible(), false);
    assert.equal(await bubble.locator('.content').textContent(), 'Hello there!');
    assert.equal(await bubble.evaluate((b) => b.firstElementChild.matches('details.reasoning')), true);
    assert.equal(await bubble.evaluate((b) => b.querySelector('.reasoning').contains(b.querySelector('.content'))), false);
    assert.match(await bubble.locator('.meta').textContent(), /9 tokens/);
    // Its summary toggles it.
    await block.locator('summary').click();
    assert.equal(await block.evaluate((d) => d.open), true);
    assert.ok(await bubble.locator('.reasoning-text').isVisible());
    await page.screenshot({ path: artifactPath('serve-reasoning.png') });
    await block.locator('summary').click();
    assert.equal(await block.evaluate((d) => d.open), false);
    // Drawn again (another tab, then back): the same, still folded.
    await page.keyboard.press('Alt+n');
    await page.click('.tab >> nth=0');
    assert.equal(await page.locator('.msg.assistant').first().locator('.reasoning-text').textContent(), thought);
    assert.equal(await page.locator('.msg.assistant').first().locator('.reasoning').evaluate((d) => d.open), false);
    assert.equal(await page.locator('.msg.assistant').first().locator('.content').textContent(), 'Hello there!');
    // The next request carries the answer only, as the history's content: no reasoning.
    await page.fill('#input', 'How are you?');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant').length === 2 &&
                               document.getElementById('send').disabled === false, null, { timeout: 10000 });
    assert.equal(chat.bodies.length, 2);
    assert.deepEqual(chat.bodies[1].messages, [
      { role: 'user', content: 'Hi!' },
      { role: 'assistant', content: answer.join('') },
      { role: 'user', content: 'How are you?' },
    ]);
    const sent = JSON.stringify(chat.bodies[1]);
    assert.ok(!sent.includes('reasoning') && !sent.includes('greet them back'), sent);
    // An answer without reasoning has no block.
    assert.equal(await page.locator('.msg.assistant').last().locator('.reasoning').count(), 0);
    assert.equal(await page.locator('.msg.assistant').last().locator('.content').textContent(), 'Fine, thanks.');
    assert.deepEqual(errors, []);
  } finally {
    release();
    await page.close();
    await chat.close();
  }
});
