// WHIP over ICE-TCP (RFC 6544 passive, RFC 4571 framing): headless Chromium publishes its fake
// camera and microphone over WHIP but drops every UDP candidate from the server's answer before
// applying it, as if its network blocked UDP, so the only way in is the answer's "tcptype
// passive" candidate on the media port's TCP number. The browser's selected pair must be TCP,
// the server must list the publisher as ICE-TCP, and ffprobe must read the stream over RTSP.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  HOST, freePort, until, serverLogTail, assertTools, startWebrtcServer,
  untilServerReady, webrtcSessions as listWebrtc, stopAll,
} from './xl_common.mjs';
import { launchPublisherBrowser, publishFrom, outboundStats, probe, streamInfo } from './whip_page.mjs';

const S = {};
const serverLog = () => serverLogTail(S);

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whip-tcp-'));
  // The media port's number for both UDP and TCP: a free TCP port, hopefully free for UDP too.
  S.mediaPort = await freePort();
  await startWebrtcServer(S, 'test_whip_tcp.mjs',
    [`udp_port = ${S.mediaPort}`, 'ice_tcp = true', 'whip_keyframe_interval_ms = 1000']);
  await untilServerReady(S, 'ICE-TCP listening', 15000,
    () => fs.readFileSync(S.logPath, 'utf8').includes(`ICE-TCP (passive) on TCP port ${S.mediaPort}`));
  await launchPublisherBrowser(S);
});

after(() => stopAll(S));

test('with the UDP candidates removed, Chromium publishes over ICE-TCP and ffprobe reads it', async () => {
  const r = await publishFrom(S, 'live/tcpcam', { tcpOnly: true });
  const { page } = r;
  assert.ok(r.tcpLines.length > 0, 'the WHIP answer has passive TCP candidates');
  assert.ok(r.candidates.length > 0 && r.candidates.every((l) => / tcp /.test(l)), `only TCP left: ${r.candidates}`);
  const st = await until('the publisher connected and live/tcpcam has H.264', 20000, async () => {
    const s = await outboundStats(page);
    if (!s || s.state !== 'connected') return false;
    return JSON.stringify(await streamInfo(S.base, 'live/tcpcam')).includes('h264') ? s : false;
  }).catch(async (e) => { throw new Error(`${e.message}\n${JSON.stringify(await outboundStats(page))}\n${serverLog()}`); });
  console.log(`# publisher: ${JSON.stringify(st)}`);
  assert.equal(st.remoteProtocol, 'tcp', 'the browser selected the TCP pair');
  const pubs = (await listWebrtc(S)).filter((s) => s.role === 'publisher');
  assert.equal(pubs.length, 1, JSON.stringify(pubs));
  assert.match(pubs[0].peer, /^tcp:/, `the server says ICE-TCP: ${JSON.stringify(pubs[0])}`);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /ICE-TCP connection from/);
  const p = await probe(`rtsp://${HOST}:${S.rtspPort}/live/tcpcam`, ['-rtsp_transport', 'tcp']);
  console.log(`# RTSP: ${JSON.stringify(p)}`);
  const later = await outboundStats(page);
  assert.equal(p.video?.codec_name, 'h264');
  // What the browser sends (its encoder may scale with its bandwidth estimate).
  const sizes = [st, later].map((s) => `${s.width}x${s.height}`);
  assert.ok(sizes.includes(`${p.video.width}x${p.video.height}`), `${p.video.width}x${p.video.height} in ${sizes}`);
  assert.ok(Number(p.video.nb_read_frames) >= 10, `video frames decoded in 3 s: ${p.video.nb_read_frames}`);
  // Still over TCP, and the server asked for keyframes over it (RTCP PLI).
  assert.equal(later.remoteProtocol, 'tcp');
  assert.ok(later.pliCount >= 1, `PLIs received over ICE-TCP: ${later.pliCount}`);
  const del = await fetch(`${S.base}${r.location}`, { method: 'DELETE' });
  assert.equal(del.status, 200, await del.text());
  await until('live/tcpcam ended', 5000, async () => (await streamInfo(S.base, 'live/tcpcam')) === null);
});
