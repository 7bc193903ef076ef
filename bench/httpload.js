'use strict';
/*
 * HTTP load for `make bench`: `concurrency` lanes, each requesting the next URL of the list with the
 * token as soon as the previous answer is read, for `seconds`. Prints one JSON line: requests,
 * non-2xx statuses, requests/s and the latency histogram (same buckets as loadgen.js).
 *   node httpload.js config.json   # {"urls": [...], "token": "...", "concurrency": 16, "seconds": 8}
 */
const fs = require('fs');
const http = require('http');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.concurrency });
const HIST_SIZE = 1000 + 990 + 110 + 1;
function bucketOf(us) {
  if (us < 100000) return Math.floor(us / 100);
  if (us < 10000000) return 1000 + Math.floor((us - 100000) / 10000);
  return Math.min(1990 + Math.floor((us - 10000000) / 1000000), HIST_SIZE - 1);
}
function nowUs() {
  const t = process.hrtime();
  return t[0] * 1e6 + t[1] / 1e3;
}

const hist = new Array(HIST_SIZE).fill(0);
const statuses = {};
let next = 0;
let count = 0;
let bytes = 0;
let maxUs = 0;
const t0 = nowUs();
const end = t0 + cfg.seconds * 1e6;

function one() {
  return new Promise((resolve) => {
    const url = cfg.urls[next++ % cfg.urls.length];
    const start = nowUs();
    const req = http.get(url, { agent, headers: { Authorization: 'Token ' + cfg.token } }, (res) => {
      res.on('data', (chunk) => { bytes += chunk.length; });
      res.on('end', () => {
        const lat = nowUs() - start;
        hist[bucketOf(lat)]++;
        if (lat > maxUs) maxUs = lat;
        statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
        count++;
        resolve();
      });
    });
    req.on('error', (err) => {
      statuses[err.code || 'error'] = (statuses[err.code || 'error'] || 0) + 1;
      resolve();
    });
  });
}

async function lane() {
  while (nowUs() < end) await one();
}

Promise.all(Array.from({ length: cfg.concurrency }, lane)).then(() => {
  const wall = (nowUs() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ requests: count, statuses, per_s: count / wall, hist, max_ms: maxUs / 1000,
    bytes }) + '\n');
  agent.destroy();
});
