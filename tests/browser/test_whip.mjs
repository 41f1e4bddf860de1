// WebRTC WHIP ingest in a real browser: headless Chromium with a fake camera and microphone
// (--use-fake-device-for-media-stream) opens the server's built-in publish page, which POSTs a
// sendonly H.264 + Opus offer to /{app}/{stream}/whip and sends over ICE-lite, DTLS-SRTP and RTP
// on 127.0.0.1. Independent clients then read the stream back: ffprobe over RTSP (H.264 at the
// browser's resolution, frames counted) and over RTMP (H.264 and AAC: the publisher's Opus is
// transcoded at ingest), and a WHEP page in the same browser plays it (frames decoded increase).
// The HTTP side: 409 for a live name, 403 when the access plugin denies, bad offers, trickle ICE
// PATCH (204, 412, 415, 501, 404) on WHIP and WHEP resources, and DELETE ending the publish.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  SOURCE_DIR, CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, HOST, sleep, until, serverLogTail, assertTools,
  fileSource, startWebrtcServer, untilServerReady, webrtcSessions as listWebrtc, stopAll,
} from './xl_common.mjs';
import { newRtcPage, playerStats, untilPlayer, statsOver } from './webrtc_page.mjs';
import { FAKE_MEDIA_ARGS, outboundStats, probe, streamInfo as streamInfoOf } from './whip_page.mjs';

const WHIP_OFFER = path.join(SOURCE_DIR, 'tests', 'data', 'webrtc', 'offer_chrome_whip.sdp');
const TRICKLE = 'application/trickle-ice-sdpfrag';
const S = {};
const serverLog = () => serverLogTail(S);

const sendStats = outboundStats;

// The publisher's current encoded size ("WxH"), in a list to which a later look can be added:
// Chromium raises the resolution as its bandwidth estimate grows.
async function senderSizes() {
  const st = await sendStats(S.publisher);
  return [`${st.width}x${st.height}`];
}

const streamInfo = (name) => streamInfoOf(S.base, name);

const webrtcSessions = () => listWebrtc(S);

const post = (url, body, type = 'application/sdp') =>
  fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body });
const patch = (url, body, headers) =>
  fetch(url, { method: 'PATCH', headers: { 'Content-Type': TRICKLE, ...headers }, body });

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whip-'));
  await startWebrtcServer(S, 'test_whip.mjs', ['udp_port = 0  # a free port; the answer names it',
    'consent_timeout_ms = 5000', 'whip_keyframe_interval_ms = 1000'], [
    '[plugins]', 'order = ["access_list"]', '',
    '[plugins.access_list]', 'publish_deny_streams = ["live/forbidden"]', '',
    ...fileSource('live/demo', DEMO_CLIP),
  ]);
  await untilServerReady(S, 'live/demo published', 15000, async () => Boolean(await streamInfo('live/demo')));
  S.browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: [...CHROMIUM_ARGS, ...FAKE_MEDIA_ARGS],
  });
  S.context = await S.browser.newContext({ viewport: { width: 640, height: 400 } });
  await S.context.grantPermissions(['camera', 'microphone'], { origin: S.base });
  S.console = [];
  S.publisher = await S.context.newPage();
  S.publisher.on('console', (m) => { if (m.type() === 'error') S.console.push(m.text()); });
  S.publisher.on('pageerror', (e) => S.console.push(`pageerror: ${e.message}`));
});

after(() => stopAll(S));

test('WHIP in Chromium: the publish page sends the fake camera, live/phone goes live', async () => {
  const started = Date.now();
  await S.publisher.goto(`${S.base}/live/phone/publish`);
  try {
    await until('the publisher connected and the stream has H.264', 15000, async () => {
      const errors = await S.publisher.evaluate(() => window.xl && window.xl.errors);
      if (errors && errors.length) throw new Error(`publish page error: ${errors.join('; ')}`);
      const st = await sendStats(S.publisher);
      if (!st || st.state !== 'connected') return false;
      const info = await streamInfo('live/phone');
      return info && JSON.stringify(info).includes('h264') ? info : false;
    }, 100);
  } catch (e) {
    throw new Error(`${e.message}\nstats ${JSON.stringify(await sendStats(S.publisher))}\n` +
      `console: ${S.console.join('\n')}\n${serverLog()}`);
  }
  console.log(`# live over WHIP after ${Date.now() - started} ms (page, getUserMedia, POST, ICE, DTLS, first keyframe)`);
  await sleep(1500);
  const st = await sendStats(S.publisher);
  console.log(`# publisher: ${JSON.stringify(st)}`);
  assert.equal(st.state, 'connected');
  assert.match(st.videoCodec || '', /H264/);
  assert.ok(st.framesEncoded > 20, `frames encoded: ${st.framesEncoded}`);
  assert.ok(st.audioPackets > 20, `audio packets sent: ${st.audioPackets}`);
  // The server asked for keyframes (at start, then every whip_keyframe_interval_ms).
  assert.ok(st.pliCount >= 1, `PLIs received by the browser: ${st.pliCount}`);
  S.width = st.width;
  S.height = st.height;
  const pubs = (await webrtcSessions()).filter((s) => s.role === 'publisher');
  assert.equal(pubs.length, 1, JSON.stringify(pubs));
  assert.equal(pubs[0].stream, 'live/phone');
  S.resource = await S.publisher.evaluate(() => window.xl.resource);
  assert.match(S.resource, /\/live\/phone\/whip\/[0-9a-f]{16}$/);
  S.localSdp = await S.publisher.evaluate(() => window.xl.pc.localDescription.sdp);
});

test('ffprobe reads the WHIP stream over RTSP: H.264 at the browser\'s resolution, frames counted', async () => {
  assert.ok(S.width, 'no publish from the first test');
  const sizes = await senderSizes();
  const r = await probe(`rtsp://${HOST}:${S.rtspPort}/live/phone`, ['-rtsp_transport', 'tcp']);
  sizes.push(...await senderSizes());
  console.log(`# RTSP: ${JSON.stringify(r)}`);
  assert.equal(r.video?.codec_name, 'h264');
  assert.ok(sizes.includes(`${r.video.width}x${r.video.height}`), `${r.video.width}x${r.video.height} is what the browser sent (${sizes})`);
  assert.ok(Number(r.video.nb_read_frames) >= 20, `video frames decoded in 3 s: ${r.video.nb_read_frames}`);
});

test('ffprobe reads it over RTMP: H.264 and AAC (the browser\'s Opus transcoded at ingest)', async () => {
  assert.ok(S.width, 'no publish from the first test');
  const sizes = await senderSizes();
  const r = await probe(`rtmp://${HOST}:${S.rtmpPort}/live/phone`);
  sizes.push(...await senderSizes());
  console.log(`# RTMP: ${JSON.stringify(r)}`);
  assert.equal(r.video?.codec_name, 'h264');
  assert.ok(sizes.includes(`${r.video.width}x${r.video.height}`), `${r.video.width}x${r.video.height} is what the browser sent (${sizes})`);
  assert.ok(Number(r.video.nb_read_frames) >= 20, `video frames in 3 s: ${r.video.nb_read_frames}`);
  assert.equal(r.audio?.codec_name, 'aac', JSON.stringify(r));
  assert.equal(Number(r.audio.sample_rate), 48000);
  // 3 s of 1024-sample frames at 48 kHz is ~140.
  assert.ok(Number(r.audio.nb_read_frames) >= 70, `AAC frames in 3 s: ${r.audio.nb_read_frames}`);
});

test('a WHEP page in the same browser plays the WHIP stream: frames decoded increase', async () => {
  assert.ok(S.width, 'no publish from the first test');
  S.viewer = await newRtcPage(S.context);
  await S.viewer.goto(`${S.base}/live/phone/`);
  await untilPlayer(S.viewer, 'first decoded frame', 15000, (s) => s.framesDecoded > 0, serverLog, 100);
  const [a, b] = await statsOver(() => playerStats(S.viewer), 2000);
  console.log(`# WHEP of the WHIP stream: framesDecoded ${a.framesDecoded} -> ${b.framesDecoded}, ` +
    `${b.width} wide, audio packets ${b.audioPackets}`);
  assert.ok(b.framesDecoded - a.framesDecoded >= 10, `frames decoded in 2 s: ${a.framesDecoded} -> ${b.framesDecoded}`);
  // The browser's encoder raises the resolution as its bandwidth estimate grows: compare with
  // what it sends now.
  assert.equal(b.width, (await sendStats(S.publisher)).width);
  S.whepResource = await S.viewer.evaluate(() => window.xl.resource);
});

test('WHIP HTTP: 409 for a live name, 403 denied, bad offers, OPTIONS', async () => {
  const offer = fs.readFileSync(WHIP_OFFER, 'utf8');
  let r = await post(`${S.base}/live/demo/whip`, offer);
  assert.equal(r.status, 409);
  assert.match(await r.text(), /already being published/);
  r = await post(`${S.base}/live/phone/whip`, offer);
  assert.equal(r.status, 409, 'the WHIP stream itself is live');
  await r.text();
  r = await post(`${S.base}/live/forbidden/whip`, offer);
  assert.equal(r.status, 403);
  await r.text();
  r = await post(`${S.base}/live/new/whip`, 'not SDP');
  assert.equal(r.status, 400);
  assert.match(await r.text(), /not valid SDP/);
  r = await post(`${S.base}/live/new/whip`, offer, 'text/plain');
  assert.equal(r.status, 415);
  await r.text();
  // A playback (recvonly) offer has nothing to ingest.
  r = await post(`${S.base}/live/new/whip`, offer.replace(/a=sendonly/g, 'a=recvonly'));
  assert.equal(r.status, 400);
  assert.match(await r.text(), /send media/);
  r = await fetch(`${S.base}/live/new/whip`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('accept-post'), 'application/sdp');
  assert.equal(await streamInfo('live/new'), null, 'no refused offer published anything');
});

test('trickle ICE PATCH: 204 with the ETag, 412 wrong ETag, 415, 501 ICE restart, 404 unknown', async () => {
  assert.ok(S.resource && S.localSdp, 'no publish from the first test');
  const ufrag = S.localSdp.match(/a=ice-ufrag:(\S+)/)[1];
  const pwd = S.localSdp.match(/a=ice-pwd:(\S+)/)[1];
  const frag = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n` +
    'a=candidate:1 1 udp 2122194687 127.0.0.1 50000 typ host\r\na=end-of-candidates\r\n';
  const etag = `"${S.resource.split('/').pop()}"`;
  let r = await patch(S.resource, frag, { 'If-Match': etag });
  assert.equal(r.status, 204, await r.text());
  r = await patch(S.resource, frag, { 'If-Match': '"nope"' });
  assert.equal(r.status, 412);
  await r.text();
  r = await fetch(S.resource, { method: 'PATCH', headers: { 'Content-Type': 'application/sdp' }, body: frag });
  assert.equal(r.status, 415);
  await r.text();
  r = await patch(S.resource, 'a=candidate:broken\r\n', { 'If-Match': etag });
  assert.equal(r.status, 400);
  await r.text();
  r = await patch(S.resource, frag.replace(ufrag, 'Zz9Y').replace(pwd, 'abcdefghijklmnopqrstuvwx'), { 'If-Match': '*' });
  assert.equal(r.status, 501);
  assert.match(await r.text(), /ICE restart/);
  r = await patch(S.resource.replace(/[0-9a-f]{4}$/, 'ffff'), frag, { 'If-Match': etag });
  assert.equal(r.status, 404);
  await r.text();
  // WHEP resources take trickle too.
  assert.ok(S.whepResource, 'no WHEP session from the playback test');
  const wsdp = await S.viewer.evaluate(() => window.xl.pc.localDescription.sdp);
  const wfrag = `a=ice-ufrag:${wsdp.match(/a=ice-ufrag:(\S+)/)[1]}\r\na=ice-pwd:${wsdp.match(/a=ice-pwd:(\S+)/)[1]}\r\n` +
    'a=end-of-candidates\r\n';
  r = await patch(S.whepResource, wfrag, { 'If-Match': `"${S.whepResource.split('/').pop()}"` });
  assert.equal(r.status, 204, await r.text());
  r = await patch(S.whepResource, wfrag, { 'If-Match': '"other"' });
  assert.equal(r.status, 412);
  await r.text();
  // Still publishing and playing after all that.
  assert.equal((await sendStats(S.publisher)).state, 'connected');
});

test('DELETE on the WHIP resource ends the publish: 200, the stream is gone, then 404', async () => {
  assert.ok(S.resource, 'no publish from the first test');
  const r = await fetch(S.resource, { method: 'DELETE' });
  assert.equal(r.status, 200, await r.text());
  await until('live/phone unpublished', 5000, async () => (await streamInfo('live/phone')) === null);
  await until('the WHIP session and its viewer gone', 5000, async () => (await webrtcSessions()).length === 0);
  const again = await fetch(S.resource, { method: 'DELETE' });
  assert.equal(again.status, 404);
  await again.text();
  const log = fs.readFileSync(S.logPath, 'utf8');
  assert.match(log, /WHIP publish of live\/phone closed \(DELETE by the client\)/);
  // The name is free again.
  const offer = fs.readFileSync(WHIP_OFFER, 'utf8');
  const again201 = await post(`${S.base}/live/phone/whip`, offer);
  assert.equal(again201.status, 201, 'the name can be published again');
  const loc = again201.headers.get('location');
  assert.match(loc, /^\/live\/phone\/whip\//);
  assert.match(await again201.text(), /a=recvonly/);
  const del = await fetch(`${S.base}${loc}`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  await del.text();
});

test('a WHIP publisher that never connects is closed by the consent timeout and frees the name', async () => {
  const offer = fs.readFileSync(WHIP_OFFER, 'utf8');
  const r = await post(`${S.base}/live/ghost/whip`, offer);
  assert.equal(r.status, 201);
  await r.text();
  assert.ok(await streamInfo('live/ghost'), 'the name is taken at once');
  // consent_timeout_ms = 5000 here; sessions are checked once a second.
  await until('live/ghost unpublished', 9000, async () => (await streamInfo('live/ghost')) === null, 250);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /WHIP publish of live\/ghost closed \(no ICE consent/);
  assert.equal((await webrtcSessions()).length, 0);
});
