// Load: N concurrent streaming clients (32) for SERVE_LOAD_SECONDS (120), each
// holding a conversation of a few turns, then starting another. Every response
// must be complete and correctly framed, none lost or duplicated, and memory
// (device and host) flat once every stream exists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stories, missing, parseSse, metric, sleep } from './harness.mjs';

const clients = Number(process.env.SERVE_LOAD_CLIENTS || 32);
const seconds = Number(process.env.SERVE_LOAD_SECONDS || 120);
const skip = missing(stories);
let server;

before(async () => {
  if (!skip) server = await startServer(['--model', stories, '--streams', String(clients), '--window', '60', '--queue-timeout', '120']);
});
after(async () => { if (server) assert.equal((await server.stop()).code, 0); });

// One turn: a streamed chat completion, checked chunk by chunk.
async function turn(messages, maxTokens, seen) {
  const res = await fetch(server.url + '/v1/chat/completions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ messages, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const events = parseSse(await res.text());
  assert.equal(events.at(-1), '[DONE]', 'the stream ends with [DONE]');
  const chunks = events.slice(0, -1);
  const id = chunks[0].id;
  assert.ok(!seen.has(id), `response ${id} came twice`);
  seen.add(id);
  assert.equal(chunks[0].choices[0].delta.role, 'assistant');
  let text = '', finishes = 0;
  for (const c of chunks) {
    assert.equal(c.id, id, 'every chunk of a response has its id');
    if (!c.choices.length) continue;
    text += c.choices[0].delta.content ?? '';
    if (c.choices[0].finish_reason) finishes++;
  }
  assert.equal(finishes, 1, 'one finish_reason per response');
  const usage = chunks.at(-1).usage;
  assert.ok(usage && usage.completion_tokens >= 1 && usage.completion_tokens <= maxTokens);
  return { text, tokens: usage.completion_tokens, cached: usage.prompt_tokens_details.cached_tokens };
}

test(`${clients} concurrent streaming clients for ${seconds} s`, { skip, timeout: (seconds + 300) * 1000 }, async () => {
  const deadline = Date.now() + seconds * 1000;
  const seen = new Set();
  let sent = 0, done = 0, tokens = 0, cached = 0;
  const samples = [];
  const sampler = (async () => {
    while (Date.now() < deadline) {
      samples.push({ t: Date.now(), device: await metric(server.url, 'sinkstream_device_bytes'),
                     rss: await metric(server.url, 'sinkstream_process_resident_bytes') });
      await sleep(2000);
    }
  })();
  const t0 = Date.now();
  const client = async (k) => {
    while (Date.now() < deadline) {
      const messages = [{ role: 'user', content: `Tell me story number ${k}.` }];
      for (let t = 0; t < 3 && Date.now() < deadline; t++) {
        sent++;
        const r = await turn(messages, 4 + ((k + t) % 9), seen);
        done++;
        tokens += r.tokens;
        cached += r.cached;
        messages.push({ role: 'assistant', content: r.text }, { role: 'user', content: 'And then?' });
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  await sampler;
  const elapsed = (Date.now() - t0) / 1000;
  assert.equal(done, sent, 'every request answered');
  assert.equal(seen.size, done, 'no response lost or duplicated');
  assert.ok(cached > 0, 'continued conversations reused their streams');
  // Flat memory once all streams exist: nothing grows from the first half of
  // the run to the second (device bytes dip for a moment while a stream is
  // replaced; host memory within 10%).
  const settled = samples.filter((s) => s.t > t0 + (deadline - t0) * 0.25);
  assert.ok(settled.length >= 6);
  const half = Math.floor(settled.length / 2);
  const max = (xs) => Math.max(...xs);
  const dev = settled.map((s) => s.device), rss = settled.map((s) => s.rss);
  assert.ok(max(dev.slice(half)) <= max(dev.slice(0, half)), `device bytes grew: ${dev}`);
  assert.ok(max(rss.slice(half)) <= max(rss.slice(0, half)) * 1.10,
            `host memory grew: ${rss.map((x) => (x / 1048576).toFixed(1))} MiB`);
  console.log(`# ${done} responses, ${tokens} tokens in ${elapsed.toFixed(1)} s: ${(tokens / elapsed).toFixed(1)} tokens/s ` +
              `aggregate; ${cached} prompt tokens reused; device ${(dev[0] / 1048576).toFixed(1)} MiB, host ` +
              `${(rss[0] / 1048576).toFixed(1)}..${(Math.max(...rss) / 1048576).toFixed(1)} MiB`);
});
