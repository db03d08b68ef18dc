// The OpenAI API as real clients use it: the official `openai` package and
// curl, greedy answers identical to `sinkstream generate`, continuity, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, stories, ownModel, missing, run, json, bin, parseSse } from './harness.mjs';

const skip = missing(stories);
let server, client;

before(async () => {
  if (skip) return;
  server = await startServer(['--model', stories, '--streams', '4', '--window', '124', '--max-body', String(16 << 20)]);
  client = new OpenAI({ baseURL: server.url + '/v1', apiKey: 'unused' });
});
after(async () => { if (server) assert.equal((await server.stop()).code, 0); });

async function generate(model, prompt, tokens, window = ['--window', '124']) {
  const { stdout } = await run(bin, ['generate', '--model', model, '--prompt', prompt, '--tokens', String(tokens),
                                     '--temperature', '0', '--json', ...window], { env: { ...process.env, SINKSTREAM_PIPELINE_CACHE: 'off' } });
  return JSON.parse(stdout.trim().split('\n').pop());
}

test('openai client: completion, greedy, identical to sinkstream generate', { skip }, async () => {
  for (const prompt of ['Once upon a time', 'The little dog']) {
    const ref = await generate(stories, prompt, 48);
    const c = await client.completions.create({ model: 'stories260K', prompt, max_tokens: 48, temperature: 0 });
    assert.equal(c.choices[0].text, ref.text, `prompt ${prompt}`);
    assert.equal(c.usage.completion_tokens, ref.tokens);
    assert.equal(c.usage.prompt_tokens, ref.prompt_tokens);
  }
});

test('openai client: streamed completion gives the same text as the whole one', { skip }, async () => {
  const whole = await client.completions.create({ model: 'stories260K', prompt: 'Lily and Ben', max_tokens: 40, temperature: 0 });
  const stream = await client.completions.create({ model: 'stories260K', prompt: 'Lily and Ben', max_tokens: 40,
                                                   temperature: 0, stream: true });
  let text = '', finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.text ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
});

test('openai client: chat, streaming with usage, and the continued conversation reuses its stream', { skip }, async () => {
  const messages = [{ role: 'system', content: 'You tell short stories.' }, { role: 'user', content: 'Tell me about a cat.' }];
  const stream = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 30, temperature: 0,
                                                        stream: true, stream_options: { include_usage: true } });
  let text = '', usage = null, role = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const d = chunk.choices[0]?.delta;
    if (d?.role) role = d.role;
    text += d?.content ?? '';
  }
  assert.equal(role, 'assistant');
  assert.ok(text.length > 0);
  assert.equal(usage.completion_tokens, 30);
  messages.push({ role: 'assistant', content: text }, { role: 'user', content: 'And then?' });
  const next = await client.chat.completions.create({ model: 'stories260K', messages, max_tokens: 10, temperature: 0 });
  assert.equal(next.object, 'chat.completion');
  assert.ok(next.choices[0].message.content.length > 0);
  // Only the new turn was computed: the rest of the prompt was already in the stream.
  assert.ok(next.usage.prompt_tokens_details.cached_tokens >= usage.prompt_tokens + 29,
            JSON.stringify(next.usage));
  const whole = await client.chat.completions.create({ model: 'stories260K', messages: messages.slice(0, 2), max_tokens: 30, temperature: 0 });
  assert.equal(whole.choices[0].message.content, text);
});

test('openai client: models list and OpenAI errors', { skip }, async () => {
  const models = await client.models.list();
  assert.equal(models.data[0].id, 'stories260K');
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
                       (e) => e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(client.completions.create({ model: 'stories260K', prompt: 'x', max_tokens: -5 }),
                       (e) => e.status === 400 && e.param === 'max_tokens');
});

test('curl: completion, SSE stream, and bad input', { skip }, async () => {
  const { stdout } = await run('curl', ['-sS', server.url + '/v1/completions', '-H', 'Content-Type: application/json',
                                        '-d', '{"prompt":"Once upon a time","max_tokens":16,"temperature":0}']);
  const ref = await generate(stories, 'Once upon a time', 16);
  assert.equal(JSON.parse(stdout).choices[0].text, ref.text);
  const sse = await run('curl', ['-sSN', server.url + '/v1/chat/completions', '-d',
                                 '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":8,"stream":true}']);
  const events = parseSse(sse.stdout);
  assert.equal(events.at(-1), '[DONE]');
  assert.equal(events.at(-2).choices[0].finish_reason, 'length');
  const bad = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', server.url + '/v1/chat/completions',
                                 '-d', '{"messages": [}']);
  assert.equal(bad.stdout, '400');
});

test('bad input: wrong types, invalid UTF-8, huge bodies, 10^6-token prompts; the server keeps serving', { skip }, async () => {
  const u = server.url;
  assert.equal((await json(u, '/v1/chat/completions', '{"messages":"x"}')).status, 400);
  assert.equal((await json(u, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], max_tokens: 1e12 })).status, 400);
  assert.equal((await json(u, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], temperature: 'hot' })).status, 400);
  const utf8 = await fetch(u + '/v1/completions', { method: 'POST', body: Buffer.from([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) });
  assert.equal(utf8.status, 400);
  assert.equal((await utf8.json()).error.type, 'invalid_request_error');
  const big = await json(u, '/v1/completions', { prompt: 'a'.repeat(17 << 20) });
  assert.equal(big.status, 413);
  assert.equal(big.data.error.code, 'request_too_large');
  // About 10^6 tokens in 3 MB of text: cut to sinks + window, answered, never a crash.
  // (The body goes as curl -d sends it: form-urlencoded, read as JSON all the same.)
  const huge = await json(u, '/v1/completions', { prompt: 'a b '.repeat(500000).slice(0, 3000000), max_tokens: 4, temperature: 0 });
  assert.equal(huge.status, 200, JSON.stringify(huge.data).slice(0, 300));
  assert.ok(huge.data.usage.prompt_tokens >= 1000000, String(huge.data.usage.prompt_tokens));
  const after = await json(u, '/v1/completions', { prompt: 'Once', max_tokens: 4 });
  assert.equal(after.status, 200);
  const health = await json(u, '/health');
  assert.equal(health.data.status, 'ok');
});

test("the project's own model through the API is identical to generate", { skip: skip || missing(ownModel) }, async () => {
  const own = await startServer(['--model', ownModel, '--streams', '2']);
  try {
    const c = new OpenAI({ baseURL: own.url + '/v1', apiKey: 'unused' });
    const prompt = 'The old house at the end of the road';
    const ref = await generate(ownModel, prompt, 12, []);
    const r = await c.completions.create({ model: 'sinkstream-books-14m', prompt, max_tokens: 12, temperature: 0 });
    assert.equal(r.choices[0].text, ref.text);
    assert.equal(r.usage.completion_tokens, ref.tokens);
  } finally {
    assert.equal((await own.stop()).code, 0);
  }
});

test('with --api-key, API routes answer 401 without the key', { skip }, async () => {
  const locked = await startServer(['--model', stories, '--api-key', 'sesame']);
  try {
    assert.equal((await json(locked.url, '/v1/models')).status, 401);
    assert.equal((await json(locked.url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }] })).status, 401);
    assert.equal((await json(locked.url, '/metrics')).status, 401);
    const c = new OpenAI({ baseURL: locked.url + '/v1', apiKey: 'wrong' });
    await assert.rejects(c.models.list(), (e) => e.status === 401);
    const ok = new OpenAI({ baseURL: locked.url + '/v1', apiKey: 'sesame' });
    assert.equal((await ok.models.list()).data[0].id, 'stories260K');
  } finally {
    await locked.stop();
  }
});
