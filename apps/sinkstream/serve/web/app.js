// sinkstream serve's page: chat with streamed answers, and beside it a live
// picture of every stream's cache (sinks pinned, the window filling and
// wrapping), tokens/s and device memory over time. Plain JS, no framework.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { conversations: [], active: -1, controller: null, model: null, history: [], last: null };

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('apikey').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function newConversation() {
  const c = { title: 'Chat ' + (state.conversations.length + 1), messages: [], stream: null, log: [] };
  state.conversations.push(c);
  select(state.conversations.length - 1);
}

function select(i) {
  state.active = i;
  renderTabs();
  renderMessages();
  $('input').focus();
}

function renderTabs() {
  const tabs = $('tabs');
  tabs.querySelectorAll('.tab').forEach((t) => t.remove());
  state.conversations.forEach((c, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'tab';
    b.setAttribute('role', 'tab');
    b.setAttribute('aria-selected', String(i === state.active));
    b.textContent = c.title + (c.stream !== null ? ' · #' + c.stream : '');
    b.onclick = () => select(i);
    tabs.insertBefore(b, $('new'));
  });
}

// A message: its text in .content; an answer's reasoning (gpt-oss) in a block above it.
function addBubble(role, text) {
  const d = document.createElement('div');
  d.className = 'msg ' + role;
  const body = document.createElement('span');
  body.className = 'content';
  body.textContent = text;
  d.appendChild(body);
  $('messages').appendChild(d);
  $('messages').scrollTop = $('messages').scrollHeight;
  return d;
}

function setText(bubble, text) { bubble.querySelector('.content').textContent = text; }

// The model's reasoning (reasoning_content), apart from its answer: a collapsible block
// above it, open while the model thinks and closed when the answer starts; its summary
// toggles it. Only shown: never part of the answer, nor of the next request's messages.
function reasoningBlock(bubble, entry) {
  let r = bubble.querySelector('.reasoning');
  if (!r) {
    r = document.createElement('details');
    r.className = 'reasoning';
    r.open = entry.open !== false;
    r.addEventListener('toggle', () => { entry.open = r.open; });  // kept when the tab is drawn again
    const summary = document.createElement('summary');
    const text = document.createElement('div');
    text.className = 'reasoning-text';
    r.append(summary, text);
    bubble.insertBefore(r, bubble.firstChild);
  }
  return r;
}

function showReasoning(bubble, entry) {
  const r = reasoningBlock(bubble, entry);
  r.querySelector('.reasoning-text').textContent = entry.reasoning.replace(/^\s+/, '');
  r.querySelector('summary').textContent =
    entry.thought === undefined ? 'Thinking…' : 'Thought for ' + entry.thought.toFixed(1) + ' s';
  return r;
}

function renderMessages() {
  $('messages').innerHTML = '';
  const c = state.conversations[state.active];
  if (!c) return;
  for (const m of c.log) {
    const d = addBubble(m.role, m.role === 'assistant' ? m.content.replace(/^\s+/, '') : m.content);
    if (m.reasoning) showReasoning(d, m);
    if (m.meta) addMeta(d, m.meta);
  }
}

function addMeta(bubble, text) {
  const s = document.createElement('span');
  s.className = 'meta';
  s.textContent = text;
  bubble.appendChild(s);
}

// Reads OpenAI's server-sent events: calls onData with each event's JSON.
async function readEvents(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let at;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      onData(JSON.parse(data));
    }
  }
}

async function send(text) {
  const c = state.conversations[state.active];
  const system = $('system').value.trim();
  if (system && c.messages.length === 0) c.messages.push({ role: 'system', content: system });
  c.messages.push({ role: 'user', content: text });
  c.log.push({ role: 'user', content: text });
  addBubble('user', text);
  const bubble = addBubble('assistant', '');
  const entry = { role: 'assistant', content: '', reasoning: '' };
  c.log.push(entry);
  state.controller = new AbortController();
  setBusy(true);
  const t0 = performance.now();
  let usage = null, finish = null, tokens = 0, thinking = 0;
  try {
    const res = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers(), signal: state.controller.signal,
      body: JSON.stringify({ model: state.model, messages: c.messages, stream: true,
                             stream_options: { include_usage: true },
                             max_tokens: Number($('maxtokens').value) || 256,
                             temperature: Number($('temperature').value) }),
    });
    if (!res.ok) throw new Error((await res.json()).error.message);
    c.stream = Number(res.headers.get('X-Sinkstream-Stream'));
    renderTabs();
    await readEvents(res, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      const delta = choice.delta || {};
      if (delta.reasoning_content) {  // gpt-oss thinking, before its answer: shown, never sent back
        if (!entry.reasoning) thinking = performance.now();
        entry.reasoning += delta.reasoning_content;
        tokens++;
        showReasoning(bubble, entry);
        $('messages').scrollTop = $('messages').scrollHeight;
      }
      if (delta.content) {
        entry.content += delta.content;
        tokens++;
        if (entry.reasoning && entry.thought === undefined) {  // the answer starts: the reasoning folds away
          entry.thought = (performance.now() - thinking) / 1000;
          showReasoning(bubble, entry).open = entry.open = false;
        }
        // Shown without the leading space a SentencePiece reply starts with; sent back as returned.
        setText(bubble, entry.content.replace(/^\s+/, ''));
        $('messages').scrollTop = $('messages').scrollHeight;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
    // History carries only the answer (OpenAI's convention): the reasoning stays on the page.
    c.messages.push({ role: 'assistant', content: entry.content });
    const s = (performance.now() - t0) / 1000;
    entry.meta = `${usage ? usage.completion_tokens : tokens} tokens, ${s.toFixed(1)} s` +
      (usage ? `, prompt ${usage.prompt_tokens} (${usage.prompt_tokens_details.cached_tokens} already in the stream)` : '') +
      (finish ? `, ${finish}` : '');
    addMeta(bubble, entry.meta);
  } catch (e) {
    bubble.className = 'msg error';
    entry.role = 'error';
    entry.content += (entry.content ? '\n' : '') + (e.name === 'AbortError' ? '[stopped]' : 'error: ' + e.message);
    setText(bubble, entry.content);
    if (e.name === 'AbortError' && entry.content) c.messages.push({ role: 'assistant', content: entry.content.replace(/\n?\[stopped\]$/, '') });
  } finally {
    if (entry.reasoning && entry.thought === undefined) {  // it ended (or stopped) while thinking
      entry.thought = (performance.now() - thinking) / 1000;
      showReasoning(bubble, entry);
    }
    setBusy(false);
    state.controller = null;
  }
}

function setBusy(busy) {
  $('send').disabled = busy;
  $('stop').disabled = !busy;
}

// --- the streams' caches -------------------------------------------------

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function drawRing(canvas, s) {
  const dpr = window.devicePixelRatio || 1, size = 200;
  if (canvas.width !== size * dpr) { canvas.width = size * dpr; canvas.height = size * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, size, size);
  const n = Math.max(1, s.capacity), r = 80, cx = size / 2, cy = size / 2;
  const step = (2 * Math.PI) / n, gap = n > 256 ? 0 : step * 0.15;
  const colors = { sink: css('--sink'), used: css('--used'), newest: css('--newest'), free: css('--free') };
  for (let i = 0; i < n; i++) {
    const a0 = -Math.PI / 2 + i * step;
    let color = colors.free;
    if (i < s.slots_used) color = i < s.sinks ? colors.sink : colors.used;
    if (i < s.sinks && i >= s.slots_used) color = '#4a3a66';
    const newest = i === s.newest_slot;
    g.beginPath();
    g.strokeStyle = newest ? colors.newest : color;
    g.lineWidth = newest ? 22 : 14;
    g.arc(cx, cy, r, a0, a0 + Math.max(step - gap, step * 0.5));
    g.stroke();
  }
  if (s.newest_slot >= 0) {  // a pointer, so the newest slot shows even among thousands
    const a = -Math.PI / 2 + (s.newest_slot + 0.5) * step;
    g.beginPath();
    g.strokeStyle = colors.newest;
    g.lineWidth = 3;
    g.moveTo(cx + Math.cos(a) * (r - 30), cy + Math.sin(a) * (r - 30));
    g.lineTo(cx + Math.cos(a) * (r - 12), cy + Math.sin(a) * (r - 12));
    g.stroke();
  }
  g.fillStyle = css('--fg');
  g.textAlign = 'center';
  g.font = 'bold 15px system-ui, sans-serif';
  g.fillText('#' + s.id + (s.busy ? ' ●' : ''), cx, cy - 12);
  g.font = '12px system-ui, sans-serif';
  g.fillText('pos ' + s.position, cx, cy + 6);
  g.fillText('evicted ' + s.evicted, cx, cy + 22);
}

function renderRings(data) {
  const box = $('rings');
  const mine = new Map(state.conversations.filter((c) => c.stream !== null).map((c) => [c.stream, c.title]));
  const seen = new Set();
  for (const s of data.streams) {
    seen.add(String(s.id));
    let card = box.querySelector(`[data-stream="${s.id}"]`);
    if (!card) {
      card = document.createElement('div');
      card.className = 'ring';
      card.dataset.stream = s.id;
      card.innerHTML = '<canvas role="img"></canvas><div class="stats"></div>';
      box.appendChild(card);
    }
    card.classList.toggle('mine', mine.has(s.id));
    card.dataset.position = s.position;
    card.dataset.evicted = s.evicted;
    const canvas = card.querySelector('canvas');
    canvas.setAttribute('aria-label', `stream ${s.id}: ${s.slots_used} of ${s.capacity} slots, ${s.evicted} evicted`);
    drawRing(canvas, s);
    card.querySelector('.stats').textContent = (mine.get(s.id) ? mine.get(s.id) + ' · ' : '') +
      `${s.sinks} sinks + ${s.window} window · ${s.slots_used}/${s.capacity} used · ` +
      `${s.tokens_per_s.toFixed(1)} tok/s · ${(s.device_bytes / 1048576).toFixed(1)} MiB`;
  }
  box.querySelectorAll('.ring').forEach((card) => { if (!seen.has(card.dataset.stream)) card.remove(); });
}

function drawChart(canvas, values, color, format) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth || 400, h = 70;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = h * dpr; }
  const g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  if (values.length < 2) return;
  const max = Math.max(...values) * 1.15 || 1;
  g.strokeStyle = color;
  g.lineWidth = 2;
  g.beginPath();
  values.forEach((v, i) => {
    const x = (i / (values.length - 1)) * w, y = h - 4 - (v / max) * (h - 18);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = css('--dim');
  g.font = '11px system-ui, sans-serif';
  g.fillText('max ' + format(max / 1.15), 4, 12);
}

async function poll() {
  try {
    const res = await fetch('/v1/streams', { headers: headers() });
    if (res.ok) {
      const data = await res.json();
      const now = performance.now();
      if (state.last) {
        const dt = (now - state.last.t) / 1000;
        const tps = Math.max(0, (data.generated_tokens - state.last.generated) / dt);
        state.history.push({ tps, mem: data.device_bytes });
        if (state.history.length > 240) state.history.shift();
      }
      state.last = { t: now, generated: data.generated_tokens };
      $('model').textContent = `${data.model} on ${data.device}`;
      $('summary').textContent = `${data.streams.length} of ${data.max_streams} live`;
      const h = state.history, last = h[h.length - 1];
      if (last) {
        $('tps').textContent = last.tps.toFixed(1) + ' now';
        $('mem').textContent = (last.mem / 1048576).toFixed(1) + ' MiB';
      }
      renderRings(data);
      drawChart($('tpschart'), h.map((x) => x.tps), css('--used'), (v) => v.toFixed(1));
      drawChart($('memchart'), h.map((x) => x.mem), css('--sink'), (v) => (v / 1048576).toFixed(1) + ' MiB');
    } else if (res.status === 401) {
      $('model').textContent = 'API key required';
    }
  } catch (e) {
    $('model').textContent = 'server unreachable';
  }
  setTimeout(poll, 300);
}

async function loadModel() {
  try {
    const res = await fetch('/v1/models', { headers: headers() });
    if (res.ok) state.model = (await res.json()).data[0].id;
  } catch (e) { /* poll() reports it */ }
}

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('input').value;
  if (!text.trim() || state.controller) return;
  $('input').value = '';
  send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    $('composer').requestSubmit();
  }
});
$('stop').onclick = () => state.controller && state.controller.abort();
$('new').onclick = newConversation;
document.addEventListener('keydown', (e) => {
  if (e.altKey && e.key.toLowerCase() === 'n') { e.preventDefault(); newConversation(); }
  if (e.key === 'Escape' && state.controller) state.controller.abort();
});
$('apikey').value = localStorage.getItem('sinkstream-key') || '';
$('apikey').addEventListener('change', () => { localStorage.setItem('sinkstream-key', $('apikey').value); loadModel(); });

newConversation();
loadModel();
poll();
