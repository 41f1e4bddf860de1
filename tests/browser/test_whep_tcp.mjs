// ICE-TCP (RFC 6544, passive; RFC 4571 framing) in a real browser: headless Chromium opens a
// WHEP session to live/camera but drops every UDP candidate from the server's answer before
// setRemoteDescription, as if UDP were blocked, so the only way in is the "tcptype passive"
// candidate on the media port's TCP number. Frames decoded must increase, the browser's selected
// candidate pair must be TCP, and the server must list the session as ICE-TCP. Then a second
// session plays over UDP next to it, and closing the TCP page ends its session by consent
// timeout. This server sends Opus in 60 ms packets (`opus_frame_ms = 60`): the built-in player
// page must decode live/demo's AAC, transcoded, at 16-17 packets a second.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, DEMO_CLIP, freePort, until, serverLogTail, assertTools, makeCameraClip,
  fileSource, startWebrtcServer, untilServerReady, streamsListed, webrtcSessions as listWebrtc,
  stopAll,
} from './xl_common.mjs';
import { newRtcPage, playerStats, statsOver, untilPlayer, untilStats } from './webrtc_page.mjs';

const S = {};
const serverLog = () => serverLogTail(S);

const webrtcSessions = () => listWebrtc(S);

// In the page: one WHEP session; with `tcpOnly` the answer's UDP candidates are removed.
async function play({ url, tcpOnly }) {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  window.xlrtc.receiveVideo(pc);
  let tcpLines, sdp;
  await window.xlrtc.offer(pc, url, (answer) => {
    tcpLines = answer.split('\r\n').filter((l) => / tcp .* tcptype passive/.test(l));
    sdp = tcpOnly ? answer.split('\r\n').filter((l) => !/^a=candidate:\S+ 1 udp /i.test(l)).join('\r\n') : answer;
    return sdp;
  });
  return { tcpLines, candidates: sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:')) };
}

// In the page: decoded frames and the selected pair's protocol.
const stats = () => window.xlrtc.inboundStats(window.pc);

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-tcp-'));
  S.clip = makeCameraClip(S, '320x180', 25, 4, ['-profile:v', 'high', '-g', '25']);
  // The media port's number for both UDP and TCP: a free TCP port, hopefully free for UDP too.
  S.mediaPort = await freePort();
  await startWebrtcServer(S, 'test_whep_tcp.mjs',
    [`udp_port = ${S.mediaPort}`, 'ice_tcp = true', 'consent_timeout_ms = 5000',
      'opus_frame_ms = 60'],
    [...fileSource('live/camera', S.clip), ...fileSource('live/demo', DEMO_CLIP)]);
  await untilServerReady(S, 'live/camera and live/demo published', 15000,
    () => streamsListed(S, 'live/camera', 'live/demo'));
  assert.match(fs.readFileSync(S.logPath, 'utf8'), new RegExp(`ICE-TCP \\(passive\\) on TCP port ${S.mediaPort}`));
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
});

after(() => stopAll(S));

test('with the UDP candidates removed, Chromium plays over ICE-TCP', async () => {
  S.tcpPage = await newRtcPage(S.browser);
  await S.tcpPage.goto(`${S.base}/api/v1/streams`);
  const started = Date.now();
  const answer = await S.tcpPage.evaluate(play, { url: `${S.base}/live/camera/whep`, tcpOnly: true });
  assert.ok(answer.tcpLines.length > 0, 'the answer has passive TCP candidates');
  assert.ok(answer.candidates.every((l) => / tcp /.test(l)), `only TCP left: ${answer.candidates}`);
  const first = await untilStats('first frame over ICE-TCP', 15000, () => S.tcpPage.evaluate(stats),
    (s) => s.framesDecoded > 0, serverLog);
  console.log(`# first frame over ICE-TCP after ${Date.now() - started} ms`);
  const [, later] = await statsOver(() => S.tcpPage.evaluate(stats), 2000);
  console.log(`# ${JSON.stringify(later)}`);
  assert.ok(later.framesDecoded - first.framesDecoded >= 25, `frames keep coming: ${first.framesDecoded} -> ${later.framesDecoded}`);
  assert.equal(later.remoteProtocol, 'tcp');
  assert.equal(later.remotePort, S.mediaPort);
  const list = await webrtcSessions();
  assert.equal(list.length, 1);
  assert.match(list[0].peer, /^tcp:/, `the server says ICE-TCP: ${JSON.stringify(list[0])}`);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /ICE-TCP connection from/);
});

test('a UDP session plays beside it; the closed TCP page ends by consent timeout', async () => {
  const udpPage = await newRtcPage(S.browser);
  await udpPage.goto(`${S.base}/api/v1/streams`);
  await udpPage.evaluate(play, { url: `${S.base}/live/camera/whep`, tcpOnly: false });
  const s = await untilStats('first frame over UDP', 15000, () => udpPage.evaluate(stats),
    (x) => x.framesDecoded > 0, serverLog);
  assert.equal(s.remoteProtocol, 'udp', 'UDP is preferred when it works');
  await S.tcpPage.close();
  await until('the ICE-TCP session ends', 12000, async () => {
    const list = await webrtcSessions();
    return list.length === 1 && !list[0].peer.startsWith('tcp:');
  }, 250);
  const log = fs.readFileSync(S.logPath, 'utf8');
  assert.equal((log.match(/closed \(no ICE consent/g) || []).length, 1, 'ended by consent timeout');
  await udpPage.close();
});

test('AAC transcoded to Opus in 60 ms packets: Chromium decodes the audio', async () => {
  const page = await newRtcPage(S.browser);
  try {
    await page.goto(`${S.base}/live/demo/`);
    await untilPlayer(page, 'live/demo: decoded video and audio packets', 20000,
      (s) => s.framesDecoded > 0 && s.audioPackets > 0, serverLog);
    const [a, b] = await statsOver(() => playerStats(page), 3000);
    const packets = b.audioPackets - a.audioPackets;
    const samples = b.audioSamples - a.audioSamples;
    const concealed = b.audioConcealed - a.audioConcealed;
    console.log(`# 3 s: ${packets} Opus packets, ${samples} samples, ${concealed} concealed`);
    assert.equal(b.audioCodec, 'audio/opus');
    // 60 ms packets: 16.7 a second (20 ms packets would be 50).
    assert.ok(packets >= 40 && packets <= 60, `60 ms packets: ${packets} in 3 s`);
    // The decoder's output runs at 48 kHz for the whole interval, little of it concealment.
    assert.ok(samples >= 0.8 * 3 * 48000, `samples decoded: ${samples}`);
    assert.ok(concealed <= 0.2 * samples, `concealed ${concealed} of ${samples}`);
  } finally {
    await page.close();
  }
});
