// Starts and stops `sinkstream serve` for the tests; finds the binary, the
// fixtures and where artifacts (screenshots) go.
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
export const bin = process.env.SINKSTREAM_BIN || join(root, process.env.BUILD_DIR || 'build', 'apps/sinkstream/sinkstream');
export const fixtures = process.env.SINKSTREAM_FIXTURES || resolve(root, '../shared/fixtures');
export const stories = join(fixtures, 'stories260K.gguf');
export const ownModel = join(root, 'models/sinkstream-books-14m.gguf');
export const artifacts = process.env.SERVE_ARTIFACTS || join(root, process.env.BUILD_DIR || 'build', 'serve-artifacts');
export const run = promisify(execFile);

// Why a test is skipped, or false when it can run (node:test prints the reason).
export function missing(...paths) {
  if (!existsSync(bin)) return `no sinkstream binary at ${bin} (build first, or set SINKSTREAM_BIN)`;
  for (const p of paths) if (!existsSync(p)) return `SKIPPED: ${p} is not available (set SINKSTREAM_FIXTURES)`;
  return false;
}

export function artifactPath(name) {
  mkdirSync(artifacts, { recursive: true });
  return join(artifacts, name);
}

// Starts the server on a free port; resolves once it listens.
export async function startServer(args, { env = {} } = {}) {
  const proc = spawn(bin, ['serve', '--port', '0', ...args], {
    env: { ...process.env, SINKSTREAM_PIPELINE_CACHE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise((res) => proc.on('exit', (code, signal) => res({ code, signal })));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the server did not start:\n' + log)), 60000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/[^/\s]+)\//.exec(log);
      if (m) { clearTimeout(timer); res(m[1]); }
    });
    proc.on('exit', () => rej(new Error('the server exited:\n' + log)));
  });
  proc.stdout.on('data', () => {});
  return {
    url, proc, exited,
    log: () => log,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export async function json(url, path, body, headers = {}) {
  const res = await fetch(url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = text; }
  return { status: res.status, data, headers: res.headers };
}

// Reads an SSE response to the end, checking OpenAI's framing; returns the parsed events.
export async function readSse(res) {
  const body = await res.text();
  return parseSse(body);
}

export function parseSse(body) {
  const events = [];
  let at = 0;
  while (at < body.length) {
    const end = body.indexOf('\n\n', at);
    if (end < 0) throw new Error('an event without its blank line: ' + JSON.stringify(body.slice(at, at + 200)));
    const event = body.slice(at, end);
    at = end + 2;
    if (event.startsWith(':')) continue;
    if (!event.startsWith('data: ')) throw new Error('not a data event: ' + JSON.stringify(event));
    const data = event.slice(6);
    events.push(data === '[DONE]' ? '[DONE]' : JSON.parse(data));
  }
  return events;
}

export async function metric(url, name, headers = {}) {
  const text = await (await fetch(url + '/metrics', { headers })).text();
  const m = new RegExp('^' + name + ' (\\S+)$', 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
