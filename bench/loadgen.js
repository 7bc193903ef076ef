'use strict';
/*
 * One load-generator worker for `make bench` (bench/__main__.py starts several).
 *
 * Why node's `ws`: on a 2-core machine the generator shares the CPU with the server it measures, so
 * it must cost far less per delivery than the server does (STACK-NOTES: the raw Python broadcaster
 * costs ~4 µs per delivery; a Python client costs more than that to receive).
 *
 * Protocol with the orchestrator: the config file (argv[2]) lists this worker's clients; the worker
 * connects them all and prints one JSON line {"event":"connected",...}. It then reads commands, one
 * JSON line each, from stdin:
 *   {"cmd":"run", phase, start_at_us, rate, total, senders:[[localIndex, senderIndex]], S, drain_ms, body}
 *     → sends its share of `total` messages (message g goes out at start + g/rate seconds, from
 *       sender g % S), counts every delivery on every client, prints {"event":"result",...}
 *     With "mix": {root, every} (the hub's threads-and-reactions row), of every `every` messages one
 *     goes as a threaded reply to `root` (a message like any other, counted the same, plus a
 *     `thread.updated` frame to every client) and one is followed by its sender toggling a 👍
 *     reaction on `root` over HTTP (a `message.reactions` frame to every client, not a message) when
 *     `react` is true (the fixed-rate phases).
 *   {"cmd":"close"} → closes every socket and exits.
 * Times are CLOCK_MONOTONIC microseconds (process.hrtime, the same clock as Python's
 * time.monotonic_ns), so send and receive stamps from different processes compare directly.
 *
 * Each message's `client_id` is "b<phase>-<g>-<send µs>": the receiver needs nothing else to
 * compute its latency and to count it, per client, as new or duplicate.
 */
const fs = require('fs');
const readline = require('readline');
const WebSocket = require('ws');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const clients = cfg.clients; // [{url, ticket_url?, token?}]
const N = clients.length;

function nowUs() {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// --- latency histogram: 0.1 ms buckets to 100 ms, 10 ms to 10 s, 1 s to 120 s -------------------
const HIST_SIZE = 1000 + 990 + 110 + 1;
function bucketOf(us) {
  if (us < 0) us = 0;
  if (us < 100000) return Math.floor(us / 100);
  if (us < 10000000) return 1000 + Math.floor((us - 100000) / 10000);
  return Math.min(1990 + Math.floor((us - 10000000) / 1000000), HIST_SIZE - 1);
}

// --- per-phase state ----------------------------------------------------------------------------
let phase = null; // {id, total, counts: Uint8Array[N*total], unique, dup, hist, max, lastRecv, ...}
const closes = {};
const errorFrames = {};
let errorSample = null;
let openCount = 0;

function onFrame(i, data) {
  const now = nowUs();
  const s = typeof data === 'string' ? data : data.toString();
  // Every WebSocket frame is one write of the server to this socket; the threads-and-reactions row
  // also counts the `message.reactions` frames in them (one each, or several in a `batch`).
  const cur = phase;
  if (cur !== null) {
    cur.frames++;
    if (cur.mix) for (let r = s.indexOf('"message.reactions"'); r >= 0; r = s.indexOf('"message.reactions"', r + 19)) cur.reactionFrames++;
  }
  // A hub `batch` frame (clients connect with ?batch=1) carries several message frames: every
  // client_id in the frame is one delivery.
  let at = s.indexOf('"client_id"');
  if (at < 0) {
    if (s.indexOf('"error"') >= 0) {
      const m = /"code"\s*:\s*"([^"]*)"/.exec(s);
      const code = m ? m[1] : 'unknown';
      errorFrames[code] = (errorFrames[code] || 0) + 1;
      if (!errorSample) errorSample = s.slice(0, 300);
    }
    return;
  }
  for (; at >= 0; at = s.indexOf('"client_id"', at + 11)) count(i, s, at, now);
}

function count(i, s, at, now) {
  const q1 = s.indexOf('"', s.indexOf(':', at + 11) + 1);
  const q2 = s.indexOf('"', q1 + 1);
  const id = s.slice(q1 + 1, q2);
  if (id.charCodeAt(0) !== 98 /* b */) return;
  const d1 = id.indexOf('-');
  const d2 = id.indexOf('-', d1 + 1);
  const ph = +id.slice(1, d1);
  const p = phase;
  if (p === null || ph !== p.id) {
    if (p !== null) p.stale++;
    return;
  }
  const g = +id.slice(d1 + 1, d2);
  const sent = +id.slice(d2 + 1);
  const k = i * p.total + g;
  const c = p.counts[k];
  if (c === 0) {
    p.unique++;
    const lat = now - sent;
    p.hist[bucketOf(lat)]++;
    if (lat > p.max) p.max = lat;
    p.lastRecv = now;
    if (lat < p.first[g]) p.first[g] = lat;
    if (lat > p.last[g]) p.last[g] = lat;
  } else {
    p.dup++;
  }
  if (c < 255) p.counts[k] = c + 1;
  if (p.unique === p.expected && p.finish) p.finish();
}

// --- connecting ---------------------------------------------------------------------------------
// A ticket request or a handshake that has not finished by then counts as refused (and is retried).
const HANDSHAKE_MS = cfg.handshake_timeout_ms || 15000;
const sockets = new Array(N).fill(null);

async function ticketFor(c) {
  const res = await fetch(c.ticket_url, {
    method: 'POST', headers: { Authorization: 'Token ' + c.token }, signal: AbortSignal.timeout(HANDSHAKE_MS),
  });
  if (res.status !== 201) throw new Error('ticket: HTTP ' + res.status + ' ' + (await res.text()).slice(0, 200));
  return (await res.json()).ticket;
}

async function connectOne(i) {
  const c = clients[i];
  let url = c.url;
  if (c.ticket_url) url += (url.includes('?') ? '&' : '?') + 'ticket=' + encodeURIComponent(await ticketFor(c));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: !!cfg.per_message_deflate, maxPayload: 1 << 20, handshakeTimeout: HANDSHAKE_MS });
    let opened = false;
    ws.on('open', () => {
      opened = true;
      openCount++;
      sockets[i] = ws;
      resolve();
    });
    ws.on('message', (data) => onFrame(i, data));
    ws.on('close', (code) => {
      if (opened) {
        openCount--;
        if (!closing) closes[code] = (closes[code] || 0) + 1;
      } else {
        reject(new Error('closed before open: ' + code));
      }
    });
    ws.on('error', (err) => {
      if (!opened) reject(err);
    });
  });
}

async function connectAll() {
  // First every client at once (cfg.handshake_concurrency in flight: the "connect storm" a restart
  // causes), then up to three calmer retry rounds for those that failed, so that a server which
  // refuses part of a storm is still measured on fan-out; both counts are reported.
  const t0 = nowUs();
  const deadline = t0 + (cfg.connect_deadline_ms || 120000) * 1000;
  async function pass(indices, conc) {
    const failures = {};
    const failed = [];
    let next = 0;
    async function lane() {
      while (next < indices.length) {
        const i = indices[next++];
        if (nowUs() > deadline) {
          failures['not attempted again: connect deadline passed'] = (failures['not attempted again: connect deadline passed'] || 0) + 1;
          failed.push(i);
          continue;
        }
        try {
          await connectOne(i);
        } catch (err) {
          const key = String(err && err.message ? err.message : err).slice(0, 120);
          failures[key] = (failures[key] || 0) + 1;
          failed.push(i);
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(Math.max(1, conc), indices.length) }, lane));
    return { failures, failed };
  }
  const first = await pass([...Array(N).keys()], cfg.handshake_concurrency || N);
  const stormMs = (nowUs() - t0) / 1000;
  let failed = first.failed;
  let last = first;
  for (let round = 0; round < 3 && failed.length && nowUs() < deadline; round++) {
    await new Promise((r) => setTimeout(r, 1000));
    last = await pass(failed, cfg.retry_concurrency || 10);
    failed = last.failed;
  }
  emit({
    event: 'connected', open: openCount, wanted: N, storm_failures: first.failures, storm_ms: stormMs,
    failures: failed.length ? last.failures : {}, connect_ms: (nowUs() - t0) / 1000,
  });
}

// --- a measured phase ---------------------------------------------------------------------------
function runPhase(cmd) {
  const total = cmd.total;
  const p = {
    id: cmd.phase,
    total,
    counts: new Uint8Array(N * total),
    expected: openCount * total,
    unique: 0,
    dup: 0,
    stale: 0,
    hist: new Uint32Array(HIST_SIZE),
    // Per message, over this worker's clients: the earliest and latest arrival (µs after sending).
    first: new Float64Array(total).fill(Infinity),
    last: new Float64Array(total),
    max: 0,
    lastRecv: 0,
    finish: null,
    mix: !!cmd.mix,
    frames: 0,
    reactionFrames: 0,
  };
  for (const code of Object.keys(closes)) delete closes[code];
  for (const code of Object.keys(errorFrames)) delete errorFrames[code];
  errorSample = null;
  const openAtStart = openCount;
  const cpu0 = process.cpuUsage();
  phase = p;

  // This worker's sends, in time order: message g from sender g % S at start + g / rate.
  const mine = new Map(cmd.senders.map(([local, s]) => [s, local]));
  const schedule = [];
  for (let g = 0; g < total; g++) {
    const local = mine.get(g % cmd.S);
    if (local !== undefined) schedule.push([cmd.start_at_us + (g * 1e6) / cmd.rate, local, g]);
  }
  const pad = cmd.body || '';
  const mix = cmd.mix || null;
  let idx = 0;
  let sent = 0;
  let sendFailures = 0;
  let reactions = 0;
  // The sender toggles its reaction on the thread's root (HTTP, as the web UI does); a refusal
  // counts as a failed send, so a row whose reactions failed is not reported clean.
  function react(local) {
    const c = clients[local];
    const url = c.ticket_url.replace('/api/v1/ws-tickets', '') + '/api/v1/topics/' + mix.topic + '/messages/' +
      mix.root + '/reactions';
    fetch(url, {
      method: 'POST', body: '{"emoji":"👍"}', signal: AbortSignal.timeout(30000),
      headers: { Authorization: 'Token ' + c.token, 'Content-Type': 'application/json' },
    }).then((res) => {
      if (res.status === 200) reactions++; else sendFailures++;
      return res.arrayBuffer();
    }).catch(() => { sendFailures++; });
  }
  let maxLagUs = 0;
  const lastDue = cmd.start_at_us + ((total - 1) * 1e6) / cmd.rate;

  return new Promise((resolve) => {
    let done = false;
    let deadlineTimer = null;
    function finish() {
      if (done) return;
      done = true;
      if (deadlineTimer) clearTimeout(deadlineTimer);
      // Let duplicates that are already in flight arrive before counting.
      setTimeout(() => {
        const cpu = process.cpuUsage(cpu0);
        phase = null;
        resolve({
          event: 'result',
          phase: p.id,
          open_at_start: openAtStart,
          open_at_end: openCount,
          expected: p.expected,
          unique: p.unique,
          lost: p.expected - p.unique,
          dup: p.dup,
          stale: p.stale,
          sent,
          send_failures: sendFailures,
          reactions,
          frames: p.frames,
          reaction_frames: p.reactionFrames,
          max_send_lag_ms: maxLagUs / 1000,
          hist: Array.from(p.hist),
          max_ms: p.max / 1000,
          first_ms: Array.from(p.first, (us) => (Number.isFinite(us) ? Math.round(us / 10) / 100 : null)),
          last_ms: Array.from(p.last, (us) => Math.round(us / 10) / 100),
          last_recv_us: p.lastRecv,
          closes: { ...closes },
          error_frames: { ...errorFrames },
          error_sample: errorSample,
          cpu_user_ms: cpu.user / 1000,
          cpu_system_ms: cpu.system / 1000,
        });
      }, cmd.settle_ms || 300);
    }
    p.finish = () => {
      if (idx >= schedule.length) finish();
    };
    function tick() {
      const now = nowUs();
      while (idx < schedule.length && schedule[idx][0] <= now) {
        const [due, local, g] = schedule[idx++];
        const lag = now - due;
        if (lag > maxLagUs) maxLagUs = lag;
        const ws = sockets[local];
        if (ws && ws.readyState === WebSocket.OPEN) {
          const t = nowUs();
          const kind = mix ? g % mix.every : -1;
          const reply = kind === 1 ? ',"reply_to":' + mix.root : '';
          ws.send('{"type":"message.send","body":"bench message ' + g + pad + '","client_id":"b' + p.id + '-' + g + '-' + Math.round(t) + '"' + reply + '}');
          sent++;
          if (kind === 2 && mix.react) react(local);
        } else {
          sendFailures++;
        }
      }
      if (idx < schedule.length) {
        setTimeout(tick, Math.max(0, (schedule[idx][0] - nowUs()) / 1000));
      } else if (p.unique === p.expected) {
        finish();
      }
    }
    const wait = Math.max(0, (cmd.start_at_us - nowUs()) / 1000);
    setTimeout(tick, wait);
    deadlineTimer = setTimeout(finish, Math.max(0, (lastDue - nowUs()) / 1000) + cmd.drain_ms);
  });
}

// --- main ---------------------------------------------------------------------------------------
let closing = false;
const rl = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;

async function pump() {
  if (busy) return;
  busy = true;
  while (queue.length) {
    const cmd = queue.shift();
    if (cmd.cmd === 'run') {
      emit(await runPhase(cmd));
    } else if (cmd.cmd === 'close') {
      closing = true;
      for (const ws of sockets) if (ws) ws.terminate();
      emit({ event: 'closed' });
      setTimeout(() => process.exit(0), 50);
      return;
    }
  }
  busy = false;
}

rl.on('line', (line) => {
  if (!line.trim()) return;
  queue.push(JSON.parse(line));
  pump();
});
rl.on('close', () => process.exit(0));

connectAll().catch((err) => {
  emit({ event: 'fatal', error: String(err) });
  process.exit(1);
});
