// WebRTC over IPv6 in a real browser. With `[webrtc] listen_ip = "::1"` the server's answer has
// IPv6 host candidates only: headless Chromium must play over IPv6, its selected candidate pair
// IPv6 at both ends (getStats()), frames decoded. With `listen_ip = "::"` one dual-stack socket
// per worker serves both families at once: one page keeps only the answer's IPv6 candidates, a
// second only its IPv4 ones, and both play from the same server and port; ICE-TCP listens on the
// same dual-stack address (a page keeping only the IPv6 TCP candidates plays over it). A WHIP
// publisher (Chromium's fake camera) reaches the "::1" server over IPv6 too; ffprobe reads it.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, HOST, freePort, until, serverLogTail, assertTools, makeCameraClip, fileSource,
  startWebrtcServer, untilServerReady, streamsListed, webrtcSessions, stopAll,
} from './xl_common.mjs';
import { newRtcPage, statsOver, untilStats } from './webrtc_page.mjs';
import { launchPublisherBrowser, publishFrom, outboundStats, probe, streamInfo } from './whip_page.mjs';

const V6 = {}; // the server on ::1
const DUAL = {}; // the server on ::
let browser;

// In the page: one WHEP session keeping the answer's candidates of `family` (4, 6 or 0: all),
// of TCP alone with `tcp`, else of UDP.
async function play({ url, family, tcp }) {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  window.xlrtc.receiveVideo(pc);
  let candidates;
  await window.xlrtc.offer(pc, url, (answer) => {
    const lines = answer.split('\r\n');
    const f = (l) => l.split(' ');
    const keep = (l) => !l.startsWith('a=candidate:') ||
      ((family === 0 || f(l)[4].includes(':') === (family === 6)) && (f(l)[2] === 'tcp') === !!tcp);
    candidates = lines.filter((l) => l.startsWith('a=candidate:'));
    return lines.filter(keep).join('\r\n');
  });
  return candidates;
}

// In the page: decoded frames and both ends of the selected candidate pair.
async function pairStats() {
  const o = await window.xlrtc.inboundStats(window.pc);
  const report = await window.pc.getStats();
  report.forEach((r) => {
    if (r.type !== 'transport' || !r.selectedCandidatePairId) return;
    const pair = report.get(r.selectedCandidatePairId);
    const local = pair && report.get(pair.localCandidateId);
    const remote = pair && report.get(pair.remoteCandidateId);
    o.localAddress = local && (local.address || local.ip);
    o.remoteAddress = remote && (remote.address || remote.ip);
  });
  return o;
}

const isV6 = (a) => typeof a === 'string' && a.includes(':');

// ICE-TCP on the media port's number: a free TCP port, hopefully free for UDP too.
async function startServer(S, listenIp, clip, iceTcp) {
  S.dir = S.dir || fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-ipv6-'));
  S.mediaPort = iceTcp ? await freePort() : 0;
  await startWebrtcServer(S, 'test_whep_ipv6.mjs',
    [`listen_ip = "${listenIp}"`, `udp_port = ${S.mediaPort}`, `ice_tcp = ${iceTcp}`],
    fileSource('live/camera', clip));
  await untilServerReady(S, 'live/camera published', 15000, () => streamsListed(S, 'live/camera'));
}

// A page playing live/camera from S with the answer's candidates of `family` (over TCP with
// `tcp`); resolves when frames decode, with the answer's candidate lines and the first stats.
async function playPage(S, family, tcp = false) {
  const page = await newRtcPage(browser);
  await page.goto(`${S.base}/api/v1/streams`);
  const candidates = await page.evaluate(play, { url: `${S.base}/live/camera/whep`, family, tcp });
  const first = await untilStats(`first frame (IPv${family || 'any'})`, 15000,
    () => page.evaluate(pairStats), (s) => s.framesDecoded > 0, () => serverLogTail(S));
  return { page, candidates, first };
}

before(async () => {
  assertTools();
  V6.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-ipv6-'));
  const clip = makeCameraClip(V6, '320x180', 25, 4, ['-profile:v', 'high', '-g', '25']);
  await startServer(V6, '::1', clip, false);
  await startServer(DUAL, '::', clip, true);
  // Without mDNS host candidates getStats() names the browser's own end of the pair.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns'] });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopAll(V6);
  await stopAll(DUAL);
});

test('listen_ip "::1": IPv6 candidates only, Chromium plays over IPv6', async () => {
  const { page, candidates, first } = await playPage(V6, 0);
  assert.ok(candidates.length > 0);
  assert.ok(candidates.every((l) => / ::1 \d+ typ host/.test(l)), `only ::1: ${candidates}`);
  const [, later] = await statsOver(() => page.evaluate(pairStats), 2000);
  console.log(`# ${JSON.stringify(later)}`);
  assert.ok(later.framesDecoded - first.framesDecoded >= 25, `frames keep coming: ${first.framesDecoded} -> ${later.framesDecoded}`);
  assert.equal(later.remoteAddress, '::1', 'the selected pair ends at ::1');
  assert.ok(isV6(later.localAddress), `the browser's end is IPv6: ${later.localAddress}`);
  const list = await webrtcSessions(V6);
  assert.equal(list.length, 1);
  assert.match(list[0].peer, /^\[[0-9a-f:]+\]:\d+$/, `the server's peer is IPv6: ${list[0].peer}`);
  await page.close();
});

test('listen_ip "::": an IPv4 and an IPv6 page play from one dual-stack port', async () => {
  const log = fs.readFileSync(DUAL.logPath, 'utf8');
  const listed = /host candidates ([^)]*)\)/.exec(log)[1].split(', ');
  assert.ok(listed.includes('::1') && listed.includes('127.0.0.1'), `both families: ${listed}`);
  const six = await playPage(DUAL, 6);
  const four = await playPage(DUAL, 4);
  const [, s6] = await statsOver(() => six.page.evaluate(pairStats), 1000);
  const s4 = await four.page.evaluate(pairStats);
  console.log(`# IPv6 page ${JSON.stringify(s6)}\n# IPv4 page ${JSON.stringify(s4)}`);
  assert.ok(isV6(s6.remoteAddress) && isV6(s6.localAddress), `IPv6 pair: ${s6.localAddress} -> ${s6.remoteAddress}`);
  assert.ok(!isV6(s4.remoteAddress) && !isV6(s4.localAddress), `IPv4 pair: ${s4.localAddress} -> ${s4.remoteAddress}`);
  assert.equal(s6.remotePort, s4.remotePort, 'one port for both families');
  assert.ok(s6.framesDecoded > six.first.framesDecoded, 'the IPv6 page keeps decoding');
  const peers = (await webrtcSessions(DUAL)).map((s) => s.peer);
  assert.equal(peers.length, 2);
  assert.equal(peers.filter((p) => p.startsWith('[')).length, 1, `one IPv6 peer: ${peers}`);
  assert.equal(peers.filter((p) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(p)).length, 1, `one IPv4 peer, not ::ffff: ${peers}`);
  await six.page.close();
  await four.page.close();
});

test('listen_ip "::": ICE-TCP on the same address, an IPv6 TCP-only page plays', async () => {
  const { page, candidates, first } = await playPage(DUAL, 6, true);
  assert.ok(candidates.some((l) => / tcp \d+ ::1 \d+ typ host tcptype passive/.test(l)), `${candidates}`);
  const [, later] = await statsOver(() => page.evaluate(pairStats), 1000);
  console.log(`# IPv6 ICE-TCP page ${JSON.stringify(later)}`);
  assert.equal(later.remoteProtocol, 'tcp');
  assert.equal(later.remotePort, DUAL.mediaPort);
  assert.ok(isV6(later.remoteAddress) && isV6(later.localAddress), `IPv6 pair: ${later.localAddress} -> ${later.remoteAddress}`);
  assert.ok(later.framesDecoded > first.framesDecoded, 'frames keep coming');
  const tcp = (await webrtcSessions(DUAL)).filter((s) => s.peer.startsWith('tcp:'));
  assert.equal(tcp.length, 1, 'the server lists it as ICE-TCP');
  await page.close();
});

test('listen_ip "::1": a WHIP publisher comes in over IPv6, ffprobe reads it over RTSP', async () => {
  await launchPublisherBrowser(V6);  // V6.browser, closed by stopAll
  const r = await publishFrom(V6, 'live/v6cam');
  assert.ok(r.candidates.length > 0 && r.candidates.every((l) => / ::1 \d+ typ host/.test(l)), `${r.candidates}`);
  await until('live/v6cam has H.264', 20000, async () =>
    JSON.stringify(await streamInfo(V6.base, 'live/v6cam')).includes('h264'))
    .catch(async (e) => { throw new Error(`${e.message}\n${JSON.stringify(await outboundStats(r.page))}\n${serverLogTail(V6)}`); });
  const pubs = (await webrtcSessions(V6)).filter((s) => s.role === 'publisher');
  assert.equal(pubs.length, 1, JSON.stringify(pubs));
  assert.match(pubs[0].peer, /^\[[0-9a-f:]+\]:\d+$/, `the publisher's peer is IPv6: ${pubs[0].peer}`);
  const p = await probe(`rtsp://${HOST}:${V6.rtspPort}/live/v6cam`, ['-rtsp_transport', 'tcp']);
  assert.equal(p.video?.codec_name, 'h264');
  assert.ok(Number(p.video.nb_read_frames) >= 10, `video frames decoded in 3 s: ${p.video.nb_read_frames}`);
  await r.page.close();
});
