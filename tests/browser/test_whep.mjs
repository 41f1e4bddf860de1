// WebRTC WHEP playback in a real browser: the real xueliang binary serves live/demo and
// live/camera, headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) opens the
// server's built-in player page, which POSTs its offer to /{app}/{stream}/whep and plays the
// answer over ICE-lite, DTLS-SRTP and RTP on 127.0.0.1. The test reads the browser's own
// getStats(): frames decoded must keep increasing. Then DELETE on the session resource ends it,
// and bad offers are refused with a reason.
//
// live/camera is what IP cameras send: H.264 High without B-frames (made here with ffmpeg from
// testsrc2, video only). live/demo (the demo clip) and an RTMP-published copy of it carry AAC,
// which browsers cannot play: the server transcodes it to Opus once per stream, so the browser
// must decode video and receive Opus audio; three viewers of one stream share one transcoder
// (the xueliang_webrtc_transcoders gauge), which stops when the last viewer leaves.
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
  SOURCE_DIR, CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, HOST, sleep, until, serverLogTail, assertTools,
  makeCameraClip, fileSource, startWebrtcServer, untilServerReady, streamsListed, webrtcSessions,
  stopAll,
} from './xl_common.mjs';
import { newRtcPage, playerStats, untilPlayer, statsOver } from './webrtc_page.mjs';
const CHROME_OFFER = path.join(SOURCE_DIR, 'tests', 'data', 'webrtc', 'offer_chrome.sdp');

const S = {};

const serverLog = () => serverLogTail(S);

// The browser's figures, from its own RTCPeerConnection.
const videoStats = () => playerStats(S.page);


// A numeric sample of the server's /metrics.
async function metric(name) {
  const t = await (await fetch(`${S.base}/metrics`)).text();
  const m = t.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

// Opens the player page for `stream` and waits for decoded video and received Opus audio; the
// time to the first decoded frame is measured from the page load.
async function playWithAudio(stream) {
  const page = await newRtcPage(S.browser);
  const started = Date.now();
  await page.goto(`${S.base}/${stream}/`);
  let firstFrameMs;
  try {
    const first = await untilPlayer(page, `${stream}: first decoded frame and audio packets`, 20000, (s) => {
      if (s.framesDecoded > 0 && !firstFrameMs) firstFrameMs = Date.now() - started;
      return s.framesDecoded > 0 && s.audioPackets > 0;
    }, serverLog);
    return { page, first, firstFrameMs };
  } catch (e) {
    await page.close();
    throw e;
  }
}

// Over `ms`, video frames keep decoding (at least `fps` a second) and Opus audio keeps arriving.
async function assertPlaysWithAudio(page, what, ms = 2000, fps = 12) {
  const [a, b] = await statsOver(() => playerStats(page), ms);
  console.log(`# ${what}: ${ms / 1000} s: framesDecoded ${a.framesDecoded} -> ${b.framesDecoded}, ` +
    `audio packets ${a.audioPackets} -> ${b.audioPackets} (${b.audioCodec}), samples ` +
    `${b.audioSamples} (concealed ${b.audioConcealed})`);
  assert.equal(b.state, 'connected', what);
  assert.ok(b.framesDecoded - a.framesDecoded >= Math.max(1, (ms / 1000) * fps),
    `${what}: video keeps decoding (${a.framesDecoded} -> ${b.framesDecoded})`);
  // 20 ms Opus packets: 50 a second.
  assert.ok(b.audioPackets - a.audioPackets >= (ms / 1000) * 35,
    `${what}: Opus packets keep arriving (${a.audioPackets} -> ${b.audioPackets})`);
  assert.equal(b.audioCodec, 'audio/opus', `${what}: audio codec`);
  assert.ok(b.audioSamples > a.audioSamples, `${what}: the audio decoder produces samples`);
  assert.equal(b.width, 640);
  assert.equal(b.height, 360);
}

const sessions = () => webrtcSessions(S);

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-'));
  S.cameraClip = makeCameraClip(S, '640x360', 25, 6, ['-profile:v', 'high', '-g', '50']);
  await startWebrtcServer(S, 'test_whep.mjs',
    ['udp_port = 0  # a free port; the answer names it', 'consent_timeout_ms = 5000'], [
      '[plugins]', 'order = ["access_list"]', '',
      '[plugins.access_list]', 'play_deny_streams = ["live/secret"]', '',
      ...fileSource('live/secret', DEMO_CLIP), ...fileSource('live/demo', DEMO_CLIP),
      ...fileSource('live/camera', S.cameraClip),
    ]);
  // Ready once both sources are published (the stream list names them).
  await untilServerReady(S, 'live/demo and live/camera published', 15000,
    () => streamsListed(S, 'live/demo', 'live/camera'));
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  S.page = await newRtcPage(S.browser, { viewport: { width: 640, height: 400 } });
  S.console = [];
  S.page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') S.console.push(m.text()); });
  S.page.on('pageerror', (e) => S.console.push(`pageerror: ${e.message}`));
});

after(async () => {
  if (S.publisher) S.publisher.kill('SIGKILL');
  await stopAll(S);
});

test('WHEP in Chromium: the built-in page plays live/camera, frames decoded increase', async () => {
  const started = Date.now();
  await S.page.goto(`${S.base}/live/camera/`);
  await untilPlayer(S.page, 'first decoded video frame', 10000, (s) => s.framesDecoded > 0,
    () => `console: ${S.console.join('\n')}\n${serverLog()}`);
  S.firstFrameMs = Date.now() - started;
  console.log(`# time to first frame: ${S.firstFrameMs} ms (page load, offer, WHEP POST, ICE, DTLS, first GOP)`);
  const [a, b] = await statsOver(videoStats, 2000);
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
  const [a, b] = await statsOver(videoStats, 1500);
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
  // (Audio: G.722 only; the demo's AAC is sent as Opus.)
  const vp8 = chrome.replace(/^m=video 9 UDP\/TLS\/RTP\/SAVPF [0-9 ]+$/m, 'm=video 9 UDP/TLS/RTP/SAVPF 96')
    .replace(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF [0-9 ]+$/m, 'm=audio 9 UDP/TLS/RTP/SAVPF 9');
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

test('live/demo over WHEP: video decodes and its AAC arrives as Opus', async () => {
  const { page, firstFrameMs } = await playWithAudio('live/demo');
  try {
    console.log(`# live/demo: time to first frame ${firstFrameMs} ms (page load, WHEP, ICE, DTLS, first GOP)`);
    await assertPlaysWithAudio(page, 'live/demo');
    assert.equal(await metric('xueliang_webrtc_transcoders'), 1, 'one transcoder for live/demo');
  } finally {
    await page.close();
  }
});

test('RTMP-published AAC stream: three WHEP viewers, Opus audio, one transcoder', async () => {
  const name = 'live/rtmpaac';
  S.publisher = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1',
    '-i', DEMO_CLIP, '-c', 'copy', '-f', 'flv', `rtmp://${HOST}:${S.rtmpPort}/${name}`], { stdio: 'ignore' });
  await until(`${name} published`, 10000, async () => {
    const r = await fetch(`${S.base}/api/v1/streams`);
    return r.ok && (await r.text()).includes(name);
  }, 200);
  // The demo page of the previous test is gone: its muxer, and its transcoder, with it.
  await until('live/demo transcoder stopped', 8000, async () => (await metric('xueliang_webrtc_transcoders')) === 0, 200);
  const viewers = [];
  try {
    for (let i = 0; i < 3; ++i) viewers.push(await playWithAudio(name));
    console.log(`# ${name} (RTMP, AAC): time to first frame ${viewers.map((v) => v.firstFrameMs).join(', ')} ms`);
    // Three players decoding at once on a small, busy CI machine lose packets and wait for the
    // next keyframe (2 s GOP): over 3 s each must still decode frames, at a lower bar than a
    // single viewer, and get all its audio.
    for (const [i, v] of viewers.entries()) await assertPlaysWithAudio(v.page, `${name} viewer ${i + 1}`, 3000, 1);
    const info = await (await fetch(`${S.base}/api/v1/streams/${name}`)).json();
    assert.equal(info.viewers.webrtc, 3, `three WebRTC viewers: ${JSON.stringify(info.viewers)}`);
    assert.equal(await metric('xueliang_webrtc_transcoders'), 1, 'three viewers, one transcoder');
    assert.equal(await metric('xueliang_webrtc_transcoders_started_total'), 2,
      'live/demo and this stream each started one transcoder');
  } finally {
    for (const v of viewers) {
      const resource = await v.page.evaluate(() => window.xl.resource).catch(() => null);
      if (resource) await fetch(resource, { method: 'DELETE' }).catch(() => {});
      await v.page.close();
    }
  }
  await until('the transcoder stops with the last viewer', 8000,
    async () => (await metric('xueliang_webrtc_transcoders')) === 0, 200);
  S.publisher.kill('SIGKILL');
  S.publisher = null;
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
