// HLS in a real browser: the real xueliang binary serves live/demo as HLS, headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) plays it with hls.js from a page on
// another origin (CORS), once as classic HLS and once as LL-HLS (lowLatencyMode), and the test
// checks that the video advances and how far behind live it plays: hls.latency (behind the
// playlist's live edge) and the EXT-X-PROGRAM-DATE-TIME of the playing position against the
// wall clock. Classic: < 8 s; LL-HLS (MPEG-TS and fMP4 parts): < 2 s.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  HERE, SERVER_BIN, CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, HOST, sleep, freePort, until, startServer,
  serverLogTail, baseConfig, httpGet, startPageServer,
} from './xl_common.mjs';
const HLS_JS = path.join(HERE, 'node_modules', 'hls.js', 'dist', 'hls.js');

const S = {};

const serverLog = () => serverLogTail(S);

before(async () => {
  assert.ok(fs.existsSync(SERVER_BIN), `xueliang binary not found at ${SERVER_BIN} (set XUELIANG_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: run scripts/install-browser-deps.sh`);
  assert.ok(fs.existsSync(HLS_JS), `${HLS_JS} missing: run npm ci in tests/browser`);
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-browser-hls-'));
  S.rtmpPort = await freePort();
  S.httpPort = await freePort();
  const config = [
    ...baseConfig(S, 'test_hls_js.mjs'),
    '[hls]',
    'segment_duration_ms = 2000',
    'part_duration_ms = 333',
    '',
    '[[sources]]',
    'name = "live/demo"',
    `file = ${JSON.stringify(DEMO_CLIP)}`,
    'loop = true',
    '',
  ].join('\n');
  startServer(S, config);
  S.hlsUrl = `http://${HOST}:${S.httpPort}/live/demo/index.m3u8`;

  // The page's own origin: a tiny static server on another port, so HLS is cross-origin.
  ({ server: S.pageServer, origin: S.pageOrigin } =
    await startPageServer({ '/': 'hls.html', '/hls.js': HLS_JS }));

  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });

  // Ready once the demo source has a segment: the playlist answers 200.
  await until('live/demo over HLS', 20000, async () => {
    if (S.exited) throw new Error(`xueliang exited early ${JSON.stringify(S.exited)}:\n${serverLog()}`);
    const r = await httpGet(S.hlsUrl);
    return r && r.status === 200 && r.body.toString().includes('#EXTINF') ? r : null;
  }, 300);
});

after(async () => {
  if (S.browser) await S.browser.close().catch(() => {});
  if (S.pageServer) S.pageServer.close();
  if (S.server && !S.exited) {
    S.server.kill('SIGTERM');
    await Promise.race([S.serverExit, sleep(3000)]);
    if (!S.exited) S.server.kill('SIGKILL');
  }
  if (S.dir) console.log(`# artifacts: ${S.dir} (config, server log)`);
});

// Plays `url` for a while and returns the latency figures seen once playback settled.
async function play(url, lowLatencyMode) {
  const page = await S.browser.newPage({ viewport: { width: 640, height: 360 } });
  const consoleLines = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(m.text()); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${S.pageOrigin}/`);
    const env = await page.evaluate(() => ({ ua: navigator.userAgent, v: window.xl.hlsVersion, ok: window.xl.supported }));
    console.log(`# ${env.ua}; hls.js ${env.v}`);
    assert.ok(env.ok, 'hls.js: MSE not supported in this browser');
    await page.evaluate(([u, ll]) => window.xlStart(u, ll), [url, lowLatencyMode]);
    const t0 = Date.now();
    const state = () => page.evaluate(() => ({ snap: window.xlSnapshot(), xl: window.xl }));
    try {
      await until('currentTime > 2 s', 15000, async () => {
        const s = await state();
        if (s.xl.fatal) throw new Error(`hls.js fatal error ${s.xl.fatal}: ${JSON.stringify(s.xl.errors)}`);
        return s.snap.currentTime > 2 ? s : null;
      }, 200);
    } catch (e) {
      throw new Error(`${e.message}\nlast state: ${JSON.stringify(await state())}\nconsole: ${consoleLines.join('\n')}`);
    }
    console.log(`# playing after ${Date.now() - t0} ms`);
    // Let the player settle at its target distance from live, then sample.
    await sleep(4000);
    const samples = [];
    for (let i = 0; i < 8; i++) {
      samples.push((await state()).snap);
      await sleep(500);
    }
    const s = await state();
    return { samples, xl: s.xl, first: samples[0], last: samples.at(-1) };
  } finally {
    await page.close();
  }
}

function median(xs) {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.floor(a.length / 2)];
}

test('playlist is served cross-origin with CORS', async () => {
  const r = await httpGet(S.hlsUrl);
  assert.equal(r.status, 200);
  assert.match(r.headers['content-type'], /application\/vnd\.apple\.mpegurl/);
  assert.match(r.body.toString(), /#EXT-X-PART-INF:PART-TARGET=/);
});

test('hls.js plays classic HLS: video advances, latency < 8 s', async () => {
  const r = await play(S.hlsUrl, false);
  const lat = median(r.samples.map((s) => s.latency));
  const pdt = median(r.samples.map((s) => s.pdtLatency));
  console.log(`# classic: currentTime ${r.first.currentTime.toFixed(2)} -> ${r.last.currentTime.toFixed(2)}, ` +
    `hls.latency ${lat.toFixed(2)} s, PDT latency ${pdt.toFixed(2)} s, fragments ${r.last.fragsLoaded}, parts ${r.last.partsLoaded}`);
  assert.equal(r.last.error, null);
  assert.equal(r.last.videoWidth, 640);
  assert.ok(r.last.currentTime - r.first.currentTime > 2.5, 'currentTime advanced > 2.5 s in 3.5 s');
  assert.equal(r.last.partsLoaded, 0, 'classic mode loads whole segments');
  assert.ok(lat > 0 && lat < 8, `hls.latency ${lat}`);
  assert.ok(pdt > 0 && pdt < 8, `program-date-time latency ${pdt}`);
});

test('hls.js plays LL-HLS (lowLatencyMode): parts, blocking reload, latency < 2 s', async () => {
  const r = await play(S.hlsUrl, true);
  const lat = median(r.samples.map((s) => s.latency));
  const pdt = median(r.samples.map((s) => s.pdtLatency));
  console.log(`# LL-HLS: currentTime ${r.first.currentTime.toFixed(2)} -> ${r.last.currentTime.toFixed(2)}, ` +
    `hls.latency ${lat.toFixed(2)} s, PDT latency ${pdt.toFixed(2)} s, parts ${r.last.partsLoaded}, ` +
    `level ${JSON.stringify(r.xl.levels)}, errors ${JSON.stringify(r.xl.errors.slice(0, 3))}`);
  assert.equal(r.last.error, null);
  assert.ok(r.last.currentTime - r.first.currentTime > 2.5, 'currentTime advanced > 2.5 s in 3.5 s');
  assert.ok(r.xl.levels.canBlockReload, 'hls.js saw CAN-BLOCK-RELOAD');
  assert.ok(Math.abs(r.xl.levels.partTarget - 0.333) < 0.01, 'PART-TARGET');
  assert.ok(r.last.partsLoaded > 10, `hls.js loaded parts (${r.last.partsLoaded})`);
  assert.ok(lat > 0 && lat < 2, `hls.latency ${lat}`);
  assert.ok(pdt > 0 && pdt < 2, `program-date-time latency ${pdt}`);
});

test('hls.js plays LL-HLS over fMP4/CMAF (?container=fmp4): latency < 2 s', async () => {
  const r = await play(`${S.hlsUrl}?container=fmp4`, true);
  const lat = median(r.samples.map((s) => s.latency));
  const pdt = median(r.samples.map((s) => s.pdtLatency));
  console.log(`# LL-HLS fMP4: currentTime ${r.first.currentTime.toFixed(2)} -> ${r.last.currentTime.toFixed(2)}, ` +
    `hls.latency ${lat.toFixed(2)} s, PDT latency ${pdt.toFixed(2)} s, parts ${r.last.partsLoaded}, ` +
    `errors ${JSON.stringify(r.xl.errors.slice(0, 3))}`);
  assert.equal(r.last.error, null);
  assert.equal(r.last.videoWidth, 640);
  assert.ok(r.last.currentTime - r.first.currentTime > 2.5, 'currentTime advanced > 2.5 s in 3.5 s');
  assert.ok(r.last.partsLoaded > 10, `hls.js loaded parts (${r.last.partsLoaded})`);
  assert.ok(lat > 0 && lat < 2, `hls.latency ${lat}`);
  assert.ok(pdt > 0 && pdt < 2, `program-date-time latency ${pdt}`);
});
