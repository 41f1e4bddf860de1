// WebRTC WHEP playback in a real browser: the real xueliang binary serves live/demo and
// live/camera, headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens the
// server's built-in player page, which POSTs its offer to /{app}/{stream}/whep and plays the
// answer over ICE-lite, DTLS-SRTP and RTP on 127.0.0.1. The test reads the browser's own
// getStats(): frames decoded must keep increasing. Then DELETE on the session resource ends it,
// and bad offers are refused with a reason.
//
// live/camera is what IP cameras send: H.264 High without B-frames (made here with ffmpeg from
// testsrc2). The demo clip has B-frames, which browsers' WebRTC receivers do not decode (they
// receive the frames and ask for keyframes): for live/demo the test checks that media flows.
// Audio is video-only here: the streams carry AAC, which needs the AAC-to-Opus transcoder.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  SOURCE_DIR, SERVER_BIN, CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, HOST, sleep, freePort, until,
  startServer, serverLogTail,
} from './xl_common.mjs';
const CHROME_OFFER = path.join(SOURCE_DIR, 'tests', 'data', 'webrtc', 'offer_chrome.sdp');

const S = {};

const serverLog = () => serverLogTail(S);

// The browser's inbound video figures, from its own RTCPeerConnection.
async function videoStats() {
  return S.page.evaluate(async () => {
    const pc = window.xl && window.xl.pc;
    if (!pc) return null;
    const out = { state: pc.connectionState, framesDecoded: 0, packetsReceived: 0, bytesReceived: 0 };
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        out.framesDecoded = r.framesDecoded || 0;
        out.packetsReceived = r.packetsReceived || 0;
        out.bytesReceived = r.bytesReceived || 0;
        out.packetsLost = r.packetsLost || 0;
        out.codecId = r.codecId;
        out.width = r.frameWidth;
        out.height = r.frameHeight;
      }
      if (r.type === 'transport') out.srtpCipher = r.srtpCipher;
    });
    return out;
  });
}

async function sessions() {
  const r = await fetch(`${S.base}/api/v1/sessions`);
  const j = await r.json();
  return (Array.isArray(j) ? j : j.sessions || []).filter((s) => s.protocol === 'webrtc');
}

before(async () => {
  assert.ok(fs.existsSync(SERVER_BIN), `xueliang binary not found at ${SERVER_BIN} (set XUELIANG_BIN)`);
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} missing: run scripts/install-browser-deps.sh`);
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-'));
  S.cameraClip = path.join(S.dir, 'camera.mp4');
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25',
    '-t', '6', '-c:v', 'libx264', '-profile:v', 'high', '-bf', '0', '-g', '50', '-pix_fmt', 'yuv420p',
    S.cameraClip]);
  assert.equal(ff.status, 0, `ffmpeg could not make the camera clip: ${ff.stderr}`);
  S.httpPort = await freePort();
  S.rtmpPort = await freePort();
  S.rtspPort = await freePort();
  const config = [
    '# written by tests/browser/test_whep.mjs',
    'workers = 2',
    'log_level = "info"',
    '',
    '[rtmp]', `listen = "${HOST}:${S.rtmpPort}"`, '',
    '[rtsp]', `listen = "${HOST}:${S.rtspPort}"`, 'udp_rtp_port = 0', 'udp_rtcp_port = 0', '',
    '[http]', `listen = "${HOST}:${S.httpPort}"`, '',
    '[webrtc]', 'udp_port = 0  # a free port; the answer names it', 'consent_timeout_ms = 5000', '',
    '[plugins]', 'order = ["access_list"]', '',
    '[plugins.access_list]', 'play_deny_streams = ["live/secret"]', '',
    '[[sources]]', 'name = "live/secret"', `file = ${JSON.stringify(DEMO_CLIP)}`, 'loop = true', '',
    '[[sources]]', 'name = "live/demo"', `file = ${JSON.stringify(DEMO_CLIP)}`, 'loop = true', '',
    '[[sources]]', 'name = "live/camera"', `file = ${JSON.stringify(S.cameraClip)}`, 'loop = true', '',
  ].join('\n');
  startServer(S, config);
  S.base = `http://${HOST}:${S.httpPort}`;
  // Ready once both sources are published (the stream list names them).
  await until('live/demo and live/camera published', 15000, async () => {
    if (S.exited) throw new Error(`xueliang exited early ${JSON.stringify(S.exited)}:\n${serverLog()}`);
    try {
      const r = await fetch(`${S.base}/api/v1/streams`);
      const t = r.ok ? await r.text() : '';
      return t.includes('live/demo') && t.includes('live/camera');
    } catch { return false; }
  }, 200);
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  S.page = await S.browser.newPage({ viewport: { width: 640, height: 400 } });
  S.console = [];
  S.page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') S.console.push(m.text()); });
  S.page.on('pageerror', (e) => S.console.push(`pageerror: ${e.message}`));
});

after(async () => {
  if (S.browser) await S.browser.close().catch(() => {});
  if (S.server && !S.exited) {
    S.server.kill('SIGTERM');
    const r = await Promise.race([S.serverExit, sleep(3000).then(() => null)]);
    if (!r) { S.server.kill('SIGKILL'); await S.serverExit; }
  }
  if (S.dir) console.log(`# artifacts: ${S.dir} (config, server log)`);
});

test('WHEP in Chromium: the built-in page plays live/camera, frames decoded increase', async () => {
  const started = Date.now();
  await S.page.goto(`${S.base}/live/camera/`);
  let first;
  try {
    first = await until('first decoded video frame', 10000, async () => {
      const errors = await S.page.evaluate(() => window.xl && window.xl.errors);
      if (errors && errors.length) throw new Error(`player error: ${errors.join('; ')}`);
      const s = await videoStats();
      return s && s.framesDecoded > 0 ? s : null;
    }, 50);
  } catch (e) {
    throw new Error(`${e.message}\nstats ${JSON.stringify(await videoStats())}\nconsole: ${S.console.join('\n')}\n${serverLog()}`);
  }
  S.firstFrameMs = Date.now() - started;
  console.log(`# time to first frame: ${S.firstFrameMs} ms (page load, offer, WHEP POST, ICE, DTLS, first GOP)`);
  const a = await videoStats();
  await sleep(2000);
  const b = await videoStats();
  console.log(`# 2 s: framesDecoded ${a.framesDecoded} -> ${b.framesDecoded}, packets ${b.packetsReceived} ` +
    `(lost ${b.packetsLost}), ${b.width}x${b.height}, SRTP ${b.srtpCipher}, state ${b.state}`);
  assert.equal(b.state, 'connected');
  assert.ok(b.framesDecoded - a.framesDecoded >= 25, `at least 25 frames (1 s of 25 fps) decoded in 2 s: ${a.framesDecoded} -> ${b.framesDecoded}`);
  assert.equal(b.width, 640);
  assert.equal(b.height, 360);
  assert.match(b.srtpCipher || '', /AEAD_AES_128_GCM/, 'GCM is preferred when the browser offers it');
  const list = await sessions();
  assert.equal(list.length, 1, `one webrtc session listed: ${JSON.stringify(list)}`);
  assert.equal(list[0].stream, 'live/camera');
  assert.ok(list[0].bytes_out > 10000 || list[0].bytesOut > 10000, `bytes out: ${JSON.stringify(list[0])}`);
  S.resource = await S.page.evaluate(() => window.xl.resource);
  assert.match(S.resource, /\/live\/camera\/whep\/[0-9a-f]{16}$/);
});

test('DELETE on the session resource ends it: 200, then 404, no more frames', async () => {
  assert.ok(S.resource, 'no session from the previous test');
  const r = await fetch(S.resource, { method: 'DELETE' });
  assert.equal(r.status, 200, await r.text());
  await until('the session leaves /api/v1/sessions', 3000, async () => (await sessions()).length === 0);
  await sleep(1000);  // the jitter buffer drains
  const a = await videoStats();
  await sleep(1500);
  const b = await videoStats();
  console.log(`# after DELETE: framesDecoded ${a.framesDecoded} -> ${b.framesDecoded}, state ${b.state}`);
  assert.equal(b.framesDecoded, a.framesDecoded, 'no frame decoded after the session ended');
  const again = await fetch(S.resource, { method: 'DELETE' });
  assert.equal(again.status, 404);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /closed \(DELETE by the client\)/);
});

test('bad offers are refused: 400 with a reason, 406 without a common codec, 404 unknown stream, 403 denied', async () => {
  const post = (url, body, type = 'application/sdp') =>
    fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body });
  let r = await post(`${S.base}/live/demo/whep`, 'this is not SDP');
  assert.equal(r.status, 400);
  assert.match(await r.text(), /not valid SDP/);

  const chrome = fs.readFileSync(CHROME_OFFER, 'utf8');
  r = await post(`${S.base}/live/demo/whep`, chrome.replace(/a=fingerprint:[^\r\n]*\r?\n/g, ''));
  assert.equal(r.status, 400);
  assert.match(await r.text(), /fingerprint/);

  // Only VP8 offered: nothing in common with an H.264 stream.
  const vp8 = chrome.replace(/^m=video 9 UDP\/TLS\/RTP\/SAVPF [0-9 ]+$/m, 'm=video 9 UDP/TLS/RTP/SAVPF 96')
    .replace(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF [0-9 ]+$/m, 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
  r = await post(`${S.base}/live/demo/whep`, vp8);
  assert.equal(r.status, 406);
  assert.match(await r.text(), /no codec in common/);

  r = await post(`${S.base}/live/demo/whep`, chrome, 'text/plain');
  assert.equal(r.status, 415);

  r = await post(`${S.base}/live/nosuch/whep`, chrome);
  assert.equal(r.status, 404);

  // The play access check (plugin chain, protocol "webrtc") runs before anything else.
  r = await post(`${S.base}/live/secret/whep`, chrome);
  assert.equal(r.status, 403, await r.text());

  // A good offer from outside the browser is answered: ICE-lite, passive DTLS, our candidates.
  r = await post(`${S.base}/live/demo/whep`, chrome);
  assert.equal(r.status, 201);
  assert.match(r.headers.get('location'), /^\/live\/demo\/whep\/[0-9a-f]{16}$/);
  assert.ok(r.headers.get('etag'));
  const answer = await r.text();
  assert.match(answer, /^a=ice-lite\r$/m);
  assert.match(answer, /^a=setup:passive\r$/m);
  assert.match(answer, /^a=candidate:\d+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host\r$/m);
  const del = await fetch(`${S.base}${r.headers.get('location')}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
});

test('live/demo (H.264 High with B-frames) over WHEP: connected, frames keep arriving', async () => {
  const page = await S.browser.newPage();
  try {
    await page.goto(`${S.base}/live/demo/`);
    const stats = () => page.evaluate(async () => {
      const pc = window.xl && window.xl.pc;
      if (!pc) return null;
      const o = { state: pc.connectionState, framesReceived: 0, framesDecoded: 0, pliCount: 0 };
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video')
          Object.assign(o, { framesReceived: r.framesReceived || 0, framesDecoded: r.framesDecoded || 0,
                             pliCount: r.pliCount || 0 });
      });
      return o;
    });
    const a = await until('live/demo frames arriving', 10000, async () => {
      const s = await stats();
      return s && s.framesReceived > 0 ? s : null;
    }, 100);
    await sleep(1500);
    const b = await stats();
    console.log(`# live/demo: framesReceived ${a.framesReceived} -> ${b.framesReceived}, framesDecoded ` +
      `${b.framesDecoded}, PLI ${b.pliCount} (B-frames: not decodable by WebRTC receivers)`);
    assert.equal(b.state, 'connected');
    assert.ok(b.framesReceived - a.framesReceived >= 25, 'at least 25 frames received in 1.5 s');
    assert.ok(b.framesDecoded >= 1, 'the keyframe decodes');
  } finally {
    await page.close();
  }
});

test('a peer that never connects is closed by the consent timeout (5 s here)', async () => {
  const chrome = fs.readFileSync(CHROME_OFFER, 'utf8');
  const r = await fetch(`${S.base}/live/camera/whep`, {
    method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: chrome });
  assert.equal(r.status, 201);
  const id = r.headers.get('location').split('/').pop();
  const camera = async () => (await sessions()).filter((x) => x.stream === 'live/camera').length;
  await until('the session is listed', 2000, async () => (await camera()) === 1);
  const t0 = Date.now();
  await until('the session is closed by the consent timeout', 9000, async () => (await camera()) === 0, 250);
  console.log(`# closed ${Date.now() - t0} ms after it was listed`);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), new RegExp(`webrtc ${id}: closed \\(no ICE consent`));
  const del = await fetch(`${S.base}${r.headers.get('location')}`, { method: 'DELETE' });
  assert.equal(del.status, 404, 'the resource is gone with the session');
});

test('SIGTERM with a WHEP viewer playing: the server exits 0 within 2 s', async () => {
  await S.page.goto(`${S.base}/live/camera/`);
  await until('frames decoded again', 10000, async () => {
    const s = await videoStats();
    return s && s.framesDecoded > 5;
  }, 100);
  assert.equal(S.exited, undefined, 'server still running before SIGTERM');
  const sent = Date.now();
  S.server.kill('SIGTERM');
  const r = await Promise.race([S.serverExit, sleep(2000).then(() => null)]);
  assert.ok(r, `xueliang still running 2 s after SIGTERM:\n${serverLog()}`);
  console.log(`# exited ${Date.now() - sent} ms after SIGTERM, code ${r.code}, signal ${r.signal}`);
  assert.equal(r.signal, null);
  assert.equal(r.code, 0);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /closed \((server shutdown|stream ended)\)/);
});
