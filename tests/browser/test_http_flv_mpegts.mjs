// HTTP-FLV in a real browser: the real xueliang binary serves live/demo, headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) plays it with mpegts.js from a page on another
// origin (so CORS is exercised), and the test checks that video really plays: MediaSource accepts
// H.264+AAC, mpegts.js reports the right codecs, currentTime advances, frames are decoded, the
// picture is the test pattern. Then SIGTERM must stop the server within 2 s with a viewer attached.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium),
//      XL_SCREENSHOT (default <temp dir>/demo.png). Run with `node --test` or plainly with node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  HERE, SERVER_BIN, CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, HOST, sleep, freePort, until, startServer,
  serverLogTail, baseConfig, startPageServer,
} from './xl_common.mjs';
const MPEGTS_JS = path.join(HERE, 'node_modules', 'mpegts.js', 'dist', 'mpegts.js');

// First bytes and headers of a GET, sent with an Origin header as a browser would; then hang up.
function peek(url, origin) {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { Origin: origin } }, (res) => {
      res.once('data', (chunk) => {
        resolve({ status: res.statusCode, headers: res.headers, head: chunk.subarray(0, 16) });
        req.destroy();
      });
      res.once('end', () => resolve({ status: res.statusCode, headers: res.headers, head: Buffer.alloc(0) }));
    });
    req.setTimeout(3000, () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
  });
}

const S = {}; // shared state: tests run in order and build on each other

before(async () => {
  assert.ok(fs.existsSync(SERVER_BIN), `xueliang binary not found at ${SERVER_BIN} (set XUELIANG_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: run scripts/install-browser-deps.sh`);
  assert.ok(fs.existsSync(MPEGTS_JS), `${MPEGTS_JS} missing: run npm ci in tests/browser`);
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-browser-'));
  S.screenshot = process.env.XL_SCREENSHOT || path.join(S.dir, 'demo.png');
  S.rtmpPort = await freePort();
  S.httpPort = await freePort();
  const config = [
    ...baseConfig(S, 'test_http_flv_mpegts.mjs'),
    '[[sources]]',
    'name = "live/demo"',
    `file = ${JSON.stringify(DEMO_CLIP)}`,
    'loop = true',
    '',
  ].join('\n');
  startServer(S, config);
  S.flvUrl = `http://${HOST}:${S.httpPort}/live/demo.flv`;

  // The page's own origin: a tiny static server on another port, so the FLV is cross-origin.
  ({ server: S.pageServer, origin: S.pageOrigin } =
    await startPageServer({ '/': 'index.html', '/mpegts.js': MPEGTS_JS }));

  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  S.page = await S.browser.newPage({ viewport: { width: 640, height: 360 } });
  S.console = [];
  S.page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') S.console.push(m.text()); });
  S.page.on('pageerror', (e) => S.console.push(`pageerror: ${e.message}`));

  // Ready once the demo source has published: the FLV URL answers 200 with data.
  await until('live/demo over HTTP-FLV', 15000, async () => {
    if (S.exited) throw new Error(`xueliang exited early ${JSON.stringify(S.exited)}:\n${serverLog()}`);
    const r = await peek(S.flvUrl, S.pageOrigin);
    return r && r.status === 200 && r.head.length >= 3 ? (S.firstPeek = r) : null;
  }, 200);
});

const serverLog = () => serverLogTail(S);

after(async () => {
  if (S.browser) await S.browser.close().catch(() => {});
  if (S.pageServer) S.pageServer.close();
  if (S.server && !S.exited) {
    S.server.kill('SIGKILL');
    await S.serverExit;
  }
  if (S.dir) console.log(`# artifacts: ${S.dir} (config, server log${fs.existsSync(S.screenshot || '') ? `, screenshot ${S.screenshot}` : ''})`);
});

test('HTTP-FLV answers cross-origin with FLV bytes and CORS', () => {
  const r = S.firstPeek;
  assert.equal(r.status, 200);
  assert.equal(r.head.subarray(0, 3).toString('latin1'), 'FLV');
  assert.equal(r.headers['access-control-allow-origin'], '*');
  assert.match(r.headers['content-type'] || '', /video\/x-flv/);
});

test('Chromium MediaSource supports H.264 High + AAC-LC', async () => {
  await S.page.goto(`${S.pageOrigin}/`);
  S.env = await S.page.evaluate(() => ({ ua: navigator.userAgent, mpegts: window.xl.mpegtsVersion,
                                         features: window.xl.features, mse: window.xl.mse }));
  console.log(`# ${S.env.ua}; mpegts.js ${S.env.mpegts}; MSE ${JSON.stringify(S.env.mse)}`);
  assert.ok(S.env.features.mseLivePlayback, 'mpegts.js: no MSE live playback in this browser');
  assert.ok(S.env.mse.h264aac,
    `this Chromium build cannot play H.264+AAC through MSE (${JSON.stringify(S.env.mse)}): video playback is untestable here`);
});

test('mpegts.js parses the stream: MEDIA_INFO H.264 High 640x360 + AAC-LC 44.1 kHz stereo', async () => {
  await S.page.evaluate((url) => window.xlStart(url), S.flvUrl);
  S.startedAt = Date.now();
  const mi = await until('MEDIA_INFO', 5000, () => S.page.evaluate(() => window.xl.mediaInfo));
  console.log(`# MEDIA_INFO after ${Date.now() - S.startedAt} ms: ${JSON.stringify(mi)}`);
  assert.equal(mi.hasVideo, true);
  assert.equal(mi.hasAudio, true);
  assert.match(mi.videoCodec, /^avc1\.64/, 'H.264 High profile');
  assert.equal(mi.audioCodec, 'mp4a.40.2');
  assert.equal(mi.width, 640);
  assert.equal(mi.height, 360);
  assert.equal(mi.audioSampleRate, 44100);
  assert.equal(mi.audioChannelCount, 2);
  S.mediaInfo = mi;
});

// mpegts.js takes the frame rate from the SPS only when its VUI says fixed_frame_rate (x264 does
// not), else from onMetaData.framerate, else it assumes 23.976: this checks our onMetaData.
test('MEDIA_INFO frame rate is 25 fps (from onMetaData)', () => {
    assert.ok(S.mediaInfo, 'no MEDIA_INFO');
    assert.ok(Math.abs(S.mediaInfo.fps - 25) < 0.5, `fps ${S.mediaInfo.fps}`);
  });

test('video plays: currentTime > 2 s within 10 s, 640x360, > 40 frames decoded', async () => {
  let snap;
  try {
    snap = await until('currentTime > 2 s and > 40 decoded frames', 10000 - (Date.now() - S.startedAt), async () => {
      const s = await S.page.evaluate(() => window.xlSnapshot());
      const errors = await S.page.evaluate(() => window.xl.errors);
      if (errors.length) throw new Error(`player error: ${JSON.stringify(errors)}`);
      return s.currentTime > 2 && s.totalVideoFrames > 40 ? s : null;
    }, 200);
  } catch (e) {
    const s = await S.page.evaluate(() => ({ snap: window.xlSnapshot(), xl: window.xl }));
    throw new Error(`${e.message}\nlast state: ${JSON.stringify(s)}\nconsole: ${S.console.join('\n')}`);
  }
  S.playedAfterMs = Date.now() - S.startedAt;
  S.playSnap = snap;
  const events = await S.page.evaluate(() => window.xl.events);
  console.log(`# after ${S.playedAfterMs} ms: ${JSON.stringify(snap)}; video events ${JSON.stringify(events.map((e) => e.name))}`);
  assert.equal(snap.videoWidth, 640);
  assert.equal(snap.videoHeight, 360);
  assert.ok(snap.currentTime > 2);
  assert.ok(snap.totalVideoFrames > 40);
  assert.equal(snap.error, null);
  assert.ok(!snap.paused, 'video paused');
});

test('playback keeps going: data keeps arriving and decoded frames keep increasing', async () => {
  const a = await S.page.evaluate(() => window.xlSnapshot());
  await sleep(1500);
  const b = await S.page.evaluate(() => window.xlSnapshot());
  const stats = await S.page.evaluate(() => window.xl.stats);
  const errors = await S.page.evaluate(() => window.xl.errors);
  const speeds = stats.map((s) => s.speed);
  const frames = stats.map((s) => s.decodedFrames);
  console.log(`# 1.5 s: currentTime ${a.currentTime.toFixed(2)} -> ${b.currentTime.toFixed(2)}, frames ` +
    `${a.totalVideoFrames} -> ${b.totalVideoFrames} (dropped ${b.droppedVideoFrames}), buffered ahead ` +
    `${(b.bufferedEnd - b.currentTime).toFixed(2)} s; mpegts.js speed KB/s ${speeds.map((x) => x.toFixed(0)).join(',')}; ` +
    `loader ${stats.at(-1)?.loaderType}`);
  assert.deepEqual(errors, []);
  assert.ok(b.currentTime - a.currentTime > 1.0, 'currentTime advanced by > 1 s in 1.5 s');
  assert.ok(b.totalVideoFrames - a.totalVideoFrames >= 25, 'at least 25 more frames in 1.5 s');
  assert.ok(speeds.some((s) => s > 0), 'mpegts.js saw bytes arriving');
  assert.ok(frames.at(-1) > frames[0], 'STATISTICS_INFO decodedFrames increasing');
});

test('the picture is the test pattern (screenshot + pixel check)', async () => {
  await S.page.locator('#video').screenshot({ path: S.screenshot });
  assert.ok(fs.statSync(S.screenshot).size > 10000, 'screenshot is not a blank image');
  // Sample the decoded frame itself. The demo clip is ffmpeg's testsrc2: six static vertical bars,
  // red, green, yellow, blue, magenta, cyan, under a few moving shapes. The dominant colour
  // (each channel above or below 128) of a strip in the middle of each bar must be that bar's.
  const px = await S.page.evaluate(() => {
    const v = document.getElementById('video');
    const c = document.createElement('canvas');
    c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d', { willReadFrequently: true });
    g.drawImage(v, 0, 0);
    const bars = [];
    for (let i = 0; i < 6; i++) {
      const x0 = Math.round(((i + 0.5) * c.width) / 6) - 8;
      const d = g.getImageData(x0, 0, 16, c.height).data;
      const count = new Map();
      for (let j = 0; j < d.length; j += 4) {
        const k = `${d[j] >> 7}${d[j + 1] >> 7}${d[j + 2] >> 7}`;
        count.set(k, (count.get(k) || 0) + 1);
      }
      const [colour, n] = [...count].sort((a, b) => b[1] - a[1])[0];
      bars.push({ colour, share: n / (d.length / 4) });
    }
    return bars;
  });
  const expected = ['100', '010', '110', '001', '101', '011']; // RGB bits per bar
  console.log(`# screenshot ${S.screenshot}; bar colours ${px.map((b) => `${b.colour}:${(b.share * 100).toFixed(0)}%`).join(' ')}`);
  assert.deepEqual(px.map((b) => b.colour), expected, 'testsrc2 colour bars red..cyan');
  assert.ok(px.every((b) => b.share > 0.5), 'each bar is mostly its colour');
});

test('SIGTERM with a browser viewer attached: server exits 0 within 2 s', async () => {
  assert.equal(S.exited, undefined, 'server still running before SIGTERM');
  const sent = Date.now();
  S.server.kill('SIGTERM');
  const r = await Promise.race([S.serverExit, sleep(2000).then(() => null)]);
  assert.ok(r, `xueliang still running 2 s after SIGTERM:\n${serverLog()}`);
  console.log(`# exited ${r.at - sent} ms after SIGTERM, code ${r.code}, signal ${r.signal}`);
  assert.equal(r.signal, null, 'exited by its own shutdown, not killed by the signal');
  assert.equal(r.code, 0);
});
