// Faults: a client that leaves mid-stream, a client that reads nothing, SIGTERM.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, stories, missing, json, parseSse, metric, sleep } from './harness.mjs';

const skip = missing(stories);
let server;

before(async () => {
  if (!skip) server = await startServer(['--model', stories, '--streams', '4', '--window', '60']);
});
after(async () => { if (server) assert.equal((await server.stop()).code, 0); });

const streams = async () => (await json(server.url, '/v1/streams')).data.streams.map((s) => s.id);

test('a client that disconnects mid-stream frees its stream', { skip }, async () => {
  const ac = new AbortController();
  const res = await fetch(server.url + '/v1/chat/completions', {
    method: 'POST', signal: ac.signal, headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a long story.' }], max_tokens: 2000, stream: true }),
  });
  const id = Number(res.headers.get('X-Sinkstream-Stream'));
  const reader = res.body.getReader();
  let got = 0;
  while (got < 3) { await reader.read(); got++; }
  assert.ok((await streams()).includes(id));
  ac.abort();
  let gone = false;
  for (let i = 0; i < 200 && !gone; i++) { await sleep(100); gone = !(await streams()).includes(id); }
  assert.ok(gone, `stream ${id} still live after its client left`);
  assert.equal(await metric(server.url, 'sinkstream_streams_busy'), 0);
});

// A raw HTTP request whose reader never reads: the echo of a 2 MB prompt fills the socket at once.
function stalledClient(url) {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ prompt: 'Once upon a time. '.repeat(120000), echo: true, max_tokens: 20, temperature: 0, stream: true });
  const sock = net.connect(Number(port), hostname);
  const chunks = [];
  sock.on('data', (d) => chunks.push(d));
  sock.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`);
  sock.write(body);
  sock.pause();
  const ended = new Promise((res) => sock.on('end', res));
  return { sock, chunks, ended };
}

test('a client that reads nothing does not stall the others, and gets all of its answer later', { skip }, async () => {
  const slow = stalledClient(server.url);
  await sleep(3000);  // its answer is being generated and its writer is blocked
  const t0 = Date.now();
  const r = await json(server.url, '/v1/completions', { prompt: 'Lily', max_tokens: 10, temperature: 0 });
  assert.equal(r.status, 200);
  assert.equal(r.data.usage.completion_tokens, 10);
  const fast = Date.now() - t0;
  slow.sock.resume();
  await slow.ended;
  const raw = Buffer.concat(slow.chunks).toString();
  assert.match(raw, /^HTTP\/1.1 200/);
  // De-chunk the HTTP body, then check the SSE framing and that every token arrived.
  let body = '', rest = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  for (;;) {
    const nl = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, nl), 16);
    if (!size) break;
    body += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
  const events = parseSse(body);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.at(-2).choices[0].finish_reason, 'length');
  assert.ok(body.length > 2_000_000, 'the echo arrived');
  console.log(`# the other client's 10 tokens took ${fast} ms while one client read nothing`);
});

test('SIGTERM drains running requests, then the server exits cleanly', { skip }, async () => {
  const s = await startServer(['--model', stories, '--window', '60']);
  const res = await fetch(s.url + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 30, stream: true, temperature: 0 }),
  });
  const text = res.text();
  await sleep(300);
  s.proc.kill('SIGTERM');
  await sleep(200);
  const refused = await fetch(s.url + '/v1/completions', { method: 'POST', body: '{"prompt":"x"}' })
    .then((r) => r.status).catch(() => 'refused');
  assert.ok(refused === 503 || refused === 'refused', String(refused));
  const events = parseSse(await text);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.at(-2).choices[0].finish_reason, 'length');
  const exit = await s.exited;
  assert.equal(exit.code, 0);
  assert.match(s.log(), /draining/);
});
