// WHIP publishers spread over the workers, and WHEP viewers of a WHIP stream without a double
// transcode. Headless Chromium (fake camera and microphone) publishes two streams over WHIP to
// a 2-worker server: /api/v1/sessions must place them on both workers, with each resource id
// naming its worker, and ffprobe must read every one back over RTSP (H.264) and RTMP (H.264 +
// AAC from the browser's Opus). A WHEP viewer of one of them must receive the browser's own Opus
// (decoded audio, video frames decoded) while /metrics shows no AAC-to-Opus transcoder, live or
// ever started. PATCH and DELETE must find each publisher on its worker.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  HOST, until, serverLogTail, assertTools, startWebrtcServer,
  untilServerReady, webrtcSessions as listWebrtc, stopAll,
} from './xl_common.mjs';
import { newRtcPage, untilPlayer, statsOver } from './webrtc_page.mjs';
import { launchPublisherBrowser, publishFrom, metric, outboundStats, probe, streamInfo } from './whip_page.mjs';

const S = {};
const serverLog = () => serverLogTail(S);
// Two publishers: WHIP sessions go to the workers in turn, so they land on both.
const NAMES = ['live/pub0', 'live/pub1'];

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whip-workers-'));
  await startWebrtcServer(S, 'test_whip_workers.mjs',
    ['udp_port = 0  # a free port; the answer names it', 'whip_keyframe_interval_ms = 1000']);
  await untilServerReady(S, 'the API answers', 15000, async () => (await fetch(`${S.base}/api/v1/streams`)).ok);
  await launchPublisherBrowser(S);
});

after(() => stopAll(S));

test('two WHIP publishers land on both workers; each id names its worker', async () => {
  S.pages = [];
  S.locations = [];
  for (const name of NAMES) {
    const r = await publishFrom(S, name);
    S.pages.push(r.page);
    S.locations.push(r.location);
  }
  await until('every publisher connected and its stream has H.264', 20000, async () => {
    for (let i = 0; i < NAMES.length; ++i) {
      const st = await outboundStats(S.pages[i]);
      if (!st || st.state !== 'connected') return false;
      if (!JSON.stringify(await streamInfo(S.base, NAMES[i])).includes('h264')) return false;
    }
    return true;
  }).catch(async (e) => { throw new Error(`${e.message}\n${serverLog()}`); });
  const pubs = (await listWebrtc(S)).filter((s) => s.role === 'publisher');
  console.log(`# publishers: ${JSON.stringify(pubs.map((p) => [p.stream, p.worker]))}`);
  assert.equal(pubs.length, NAMES.length, JSON.stringify(pubs));
  assert.deepEqual(new Set(pubs.map((p) => p.worker)), new Set([0, 1]), 'both workers have publishers');
  for (let i = 0; i < NAMES.length; ++i) {
    const pub = pubs.find((p) => p.stream === NAMES[i]);
    assert.ok(pub, `${NAMES[i]} listed`);
    const id = S.locations[i].split('/').pop();
    assert.equal(parseInt(id.slice(0, 2), 16), pub.worker, `resource ${id} names worker ${pub.worker}`);
  }
});

test('ffprobe reads every WHIP stream over RTSP and RTMP', async () => {
  assert.equal(S.locations?.length, NAMES.length, 'no publishers from the first test');
  const rtsp = await Promise.all(NAMES.map((n) => probe(`rtsp://${HOST}:${S.rtspPort}/${n}`, ['-rtsp_transport', 'tcp'])));
  const rtmp = await Promise.all(NAMES.map((n) => probe(`rtmp://${HOST}:${S.rtmpPort}/${n}`)));
  for (let i = 0; i < NAMES.length; ++i) {
    console.log(`# ${NAMES[i]}: RTSP ${JSON.stringify(rtsp[i])} RTMP ${JSON.stringify(rtmp[i])}`);
    assert.equal(rtsp[i].video?.codec_name, 'h264', NAMES[i]);
    assert.ok(Number(rtsp[i].video.nb_read_frames) >= 10, `${NAMES[i]} RTSP frames: ${rtsp[i].video.nb_read_frames}`);
    assert.equal(rtmp[i].video?.codec_name, 'h264', NAMES[i]);
    assert.ok(Number(rtmp[i].video.nb_read_frames) >= 10, `${NAMES[i]} RTMP frames: ${rtmp[i].video.nb_read_frames}`);
    // RTMP keeps the AAC transcoded at ingest.
    assert.equal(rtmp[i].audio?.codec_name, 'aac', JSON.stringify(rtmp[i]));
    assert.ok(Number(rtmp[i].audio.nb_read_frames) >= 40, `${NAMES[i]} AAC frames: ${rtmp[i].audio.nb_read_frames}`);
  }
});

test('a WHEP viewer of a WHIP stream gets the browser\'s Opus: no transcoder runs', async () => {
  assert.equal(S.locations?.length, NAMES.length, 'no publishers from the first test');
  const viewer = await newRtcPage(S.context);
  await viewer.goto(`${S.base}/${NAMES[1]}/`);
  await untilPlayer(viewer, 'video and audio', 15000, (s) => s.framesDecoded > 0 && s.audioPackets > 0, serverLog);
  const stats = () => viewer.evaluate(() => window.xlrtc.inboundStats(window.xl.pc));
  const [a, b] = await statsOver(stats, 3000);
  console.log(`# WHEP of ${NAMES[1]}: ${JSON.stringify(b)}`);
  // The fake camera sends 15 fps; a loaded 2-core machine decodes fewer, but they keep coming.
  assert.ok(b.framesDecoded - a.framesDecoded >= 8, `frames decoded in 3 s: ${a.framesDecoded} -> ${b.framesDecoded}`);
  assert.equal(b.audioCodec, 'audio/opus');
  assert.ok(b.audioPackets - a.audioPackets >= 75, `Opus packets in 3 s: ${a.audioPackets} -> ${b.audioPackets}`);
  const heard = (s) => s.audioSamples - (s.audioConcealed || 0);
  assert.ok(heard(b) > heard(a), `decoded (not concealed) audio samples grow: ${heard(a)} -> ${heard(b)}`);
  assert.equal(await metric(S.base, 'xueliang_webrtc_transcoders'), 0, 'no live transcoder');
  assert.equal(await metric(S.base, 'xueliang_webrtc_transcoders_started_total'), 0, 'none ever started');
  const viewers = (await listWebrtc(S)).filter((s) => s.role === 'viewer');
  assert.equal(viewers.length, 1);
  await viewer.close();
});

test('PATCH and DELETE find each publisher on its worker', async () => {
  assert.equal(S.locations?.length, NAMES.length, 'no publishers from the first test');
  for (let i = 0; i < NAMES.length; ++i) {
    const url = `${S.base}${S.locations[i]}`;
    const sdp = await S.pages[i].evaluate(() => window.pub.localDescription.sdp);
    const frag = `a=ice-ufrag:${sdp.match(/a=ice-ufrag:(\S+)/)[1]}\r\na=ice-pwd:${sdp.match(/a=ice-pwd:(\S+)/)[1]}\r\n` +
      'a=end-of-candidates\r\n';
    let r = await fetch(url, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' }, body: frag });
    assert.equal(r.status, 204, `PATCH ${url}: ${await r.text()}`);
    // An id naming the other worker is unknown there.
    const id = url.split('/').pop();
    const other = `${id.slice(0, 2) === '00' ? '01' : '00'}${id.slice(2)}`;
    r = await fetch(url.replace(id, other), { method: 'DELETE' });
    assert.equal(r.status, 404, 'the session lives on the worker its id names only');
    await r.text();
    r = await fetch(url, { method: 'DELETE' });
    assert.equal(r.status, 200, await r.text());
  }
  await until('every WHIP stream ended', 5000, async () => {
    for (const n of NAMES) if (await streamInfo(S.base, n)) return false;
    return (await listWebrtc(S)).length === 0;
  });
});
