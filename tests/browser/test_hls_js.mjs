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

import {
  DEMO_CLIP, HLS_JS, sleep, httpGet, assertTools, fileSource, startHttpServer, startHlsBrowser,
  untilServerReady, withHlsPage, stopAll,
} from './xl_common.mjs';

const S = {};

before(async () => {
  assertTools(HLS_JS);
  await startHttpServer(S, 'xl-browser-hls-', 'test_hls_js.mjs', [
    '[hls]',
    'segment_duration_ms = 2000',
    'part_duration_ms = 333',
    '',
    ...fileSource('live/demo', DEMO_CLIP),
  ]);
  S.hlsUrl = `${S.base}/live/demo/index.m3u8`;
  await startHlsBrowser(S);

  // Ready once the demo source has a segment: the playlist answers 200.
  await untilServerReady(S, 'live/demo over HLS', 20000, async () => {
    const r = await httpGet(S.hlsUrl);
    return r && r.status === 200 && r.body.toString().includes('#EXTINF') ? r : null;
  }, 300);
});

after(() => stopAll(S));

// Plays `url` for a while and returns the latency figures seen once playback settled.
async function play(url, lowLatencyMode) {
  return withHlsPage(S, url, lowLatencyMode, async ({ state, untilPlayed }) => {
    const t0 = Date.now();
    await untilPlayed('currentTime > 2 s', 15000, (s) => s.snap.currentTime > 2);
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
  });
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
