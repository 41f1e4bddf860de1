// Recorder playback in a real browser: the real xueliang binary records a published stream in 4 s
// files, then headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) plays
// /{app}/{stream}/playback.m3u8?from&to of two files with hls.js, from a page on another origin
// (CORS, byte-range requests), and the test checks that the video plays past the boundary between
// the files (EXT-X-DISCONTINUITY) without a fatal hls.js error.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-browser-rec-'));
  S.rtmpPort = await freePort();
  S.httpPort = await freePort();
  const config = [
    ...baseConfig(S, 'test_recorder_playback.mjs'),
    '[plugins]',
    'order = ["recorder"]',
    '',
    '[plugins.recorder]',
    `root = ${JSON.stringify(path.join(S.dir, 'rec'))}`,
    'segment_seconds = 4',
    '',
    '[[plugins.recorder.rules]]',
    'streams = ["vod/*"]',
    'mode = "always"',
    '',
  ].join('\n');
  startServer(S, config);
  const api = `http://${HOST}:${S.httpPort}`;
  await until('the server', 10000, async () => {
    if (S.exited) throw new Error(`xueliang exited early ${JSON.stringify(S.exited)}:\n${serverLog()}`);
    const r = await httpGet(`${api}/api/v1/recordings/status`);
    return r && r.status === 200;
  }, 200);

  // Record 11 s of the demo clip: two full 4 s files and a third closed when publishing stops.
  const pub = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1',
    '-i', DEMO_CLIP, '-c', 'copy', '-f', 'flv', `rtmp://${HOST}:${S.rtmpPort}/vod/cam`], { stdio: 'ignore' });
  await sleep(11000);
  pub.kill('SIGTERM');
  S.segments = await until('three finished recordings', 15000, async () => {
    const r = await httpGet(`${api}/api/v1/recordings?stream=vod/cam`);
    const segs = r && r.status === 200 ? JSON.parse(r.body.toString()).segments : [];
    return segs.length >= 3 ? segs : null;
  }, 300);
  S.playlistUrl = `${api}/vod/cam/playback.m3u8?from=${encodeURIComponent(S.segments[0].start)}` +
    `&to=${encodeURIComponent(S.segments[1].end)}`;

  // The page's own origin: a tiny static server on another port, so playback is cross-origin.
  ({ server: S.pageServer, origin: S.pageOrigin } =
    await startPageServer({ '/': 'hls.html', '/hls.js': HLS_JS }));
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  if (S.browser) await S.browser.close().catch(() => {});
  if (S.pageServer) S.pageServer.close();
  if (S.server && !S.exited) {
    S.server.kill('SIGTERM');
    await Promise.race([S.serverExit, sleep(3000)]);
    if (!S.exited) S.server.kill('SIGKILL');
  }
  if (S.dir) console.log(`# artifacts: ${S.dir} (config, server log, recordings)`);
});

test('hls.js plays a recorded range across the boundary between two files', async () => {
  const r = await httpGet(S.playlistUrl);
  assert.equal(r.status, 200, r.body.toString());
  const text = r.body.toString();
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.match(text, /#EXT-X-ENDLIST/);
  const [firstFile] = text.split('#EXT-X-DISCONTINUITY');
  assert.notEqual(firstFile, text, 'the range spans two files');
  // Where the second file starts on the playlist's timeline.
  const boundary = [...firstFile.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((t, m) => t + Number(m[1]), 0);
  const total = [...text.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((t, m) => t + Number(m[1]), 0);
  assert.ok(boundary > 2 && total - boundary > 2, `boundary ${boundary} s of ${total} s`);

  const page = await S.browser.newPage({ viewport: { width: 640, height: 360 } });
  const consoleLines = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(m.text()); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${S.pageOrigin}/`);
    const env = await page.evaluate(() => ({ ua: navigator.userAgent, v: window.xl.hlsVersion, ok: window.xl.supported }));
    console.log(`# ${env.ua}; hls.js ${env.v}`);
    assert.ok(env.ok, 'hls.js: MSE not supported in this browser');
    await page.evaluate((u) => window.xlStart(u, false), S.playlistUrl);
    const state = () => page.evaluate(() => ({ snap: window.xlSnapshot(), xl: window.xl }));
    const t0 = Date.now();
    let s;
    try {
      s = await until(`currentTime > ${(boundary + 1.5).toFixed(1)} s`, 30000, async () => {
        const st = await state();
        if (st.xl.fatal) throw new Error(`hls.js fatal error ${st.xl.fatal}: ${JSON.stringify(st.xl.errors)}`);
        return st.snap.currentTime > boundary + 1.5 ? st : null;
      }, 200);
    } catch (e) {
      throw new Error(`${e.message}\nlast state: ${JSON.stringify(await state())}\nconsole: ${consoleLines.join('\n')}\n${serverLog()}`);
    }
    console.log(`# played ${s.snap.currentTime.toFixed(2)} s (boundary at ${boundary.toFixed(2)} s of ` +
      `${total.toFixed(2)} s) in ${Date.now() - t0} ms, ${s.snap.totalVideoFrames} frames, ` +
      `${s.xl.fragsLoaded} fragments, non-fatal errors ${JSON.stringify(s.xl.errors.slice(0, 3))}`);
    assert.equal(s.snap.error, null);
    assert.equal(s.snap.videoWidth, 640);
    assert.equal(s.xl.levels.live, false, 'hls.js sees a VOD playlist');
    assert.ok(s.snap.totalVideoFrames > (boundary + 1) * 25 * 0.8, `decoded ${s.snap.totalVideoFrames} frames`);
  } finally {
    await page.close();
  }
});
