// WHEP data channel in a real browser: the real xueliang binary, an RTMP publisher this test
// controls (ffmpeg), and headless Chromium whose page creates a data channel before its WHEP
// offer. The server answers the m=application section (SCTP over DTLS, RFC 8261/8841), ACKs the
// browser's DCEP OPEN and sends the stream's events as JSON: hello with the stream and viewer
// count, a viewers event when a second WHEP viewer joins, pong to ping, an error to unknown
// commands, its own "events" channel when the browser opens none, and stream_end when the
// publisher is killed. live/cam is a camera the server pulls (RTSP, from its own live/dc): when
// the publisher goes, its viewer stays and hears source_lost, then source_resumed once the
// publisher is back and the pull reconnects. The puller is a viewer of live/dc too.
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
  CHROMIUM, CHROMIUM_ARGS, HOST, until, serverLogTail, assertTools, makeCameraClip,
  startWebrtcServer, untilServerReady, streamsListed, stopAll,
} from './xl_common.mjs';
import { newRtcPage } from './webrtc_page.mjs';

const S = {};
const STREAM = 'live/dc';
const serverLog = () => serverLogTail(S);

// In the page: a WHEP viewer (video only). `channel`: 'events' creates a data channel before
// the offer (DCEP), 'negotiated' one the browser will not announce (so the SDP has the
// m=application section but the browser opens nothing), null none at all.
const PAGE_HELPERS = () => {
  window.viewers = {};
  window.whep = async (name, url, channel) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    const v = { pc, messages: [], open: false, label: null };
    window.viewers[name] = v;
    const watch = (ch) => {
      v.ch = ch;
      v.label = ch.label;
      ch.onopen = () => { v.open = true; };
      ch.onclose = () => { v.closed = true; };
      ch.onmessage = (e) => v.messages.push(JSON.parse(e.data));
      if (ch.readyState === 'open') v.open = true;
    };
    if (channel === 'events') watch(pc.createDataChannel('events'));
    if (channel === 'negotiated') pc.createDataChannel('unused', { negotiated: true, id: 0 });
    pc.ondatachannel = (e) => watch(e.channel);
    const { answer, location } = await window.xlrtc.offer(pc, url);
    v.resource = new URL(location, url).href;
    v.answer = answer;
    return answer;
  };
  window.frames = async (name) => (await window.xlrtc.inboundStats(window.viewers[name].pc)).framesDecoded;
};

const messages = (name) => S.page.evaluate((n) => window.viewers[n].messages, name);
async function waitMessage(name, what, pred, ms = 8000) {
  try {
    return await until(what, ms, async () => (await messages(name)).find(pred), 100);
  } catch (e) {
    throw new Error(`${e.message}; messages ${JSON.stringify(await messages(name))}\n${serverLog()}`);
  }
}

// Until the pulled live/cam is live (it pulls live/dc over RTSP, so it is live/dc's viewer).
async function camLive() {
  await until('live/cam pulled', 15000, async () => {
    const r = await fetch(`${S.base}/api/v1/sources`);
    const j = await r.json();
    const list = Array.isArray(j) ? j : j.sources || [];
    return list.some((x) => x.name === 'live/cam' && x.state === 'live');
  }, 200);
}

function startPublisher() {
  S.publisher = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re',
    '-stream_loop', '-1', '-i', S.clip, '-c', 'copy', '-f', 'flv',
    `rtmp://${HOST}:${S.rtmpPort}/${STREAM}`], { stdio: 'ignore' });
  S.publisherExit = new Promise((r) => S.publisher.once('exit', r));
}

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-dc-'));
  // A camera-like clip: H.264 without B-frames, a keyframe a second, no audio.
  S.clip = makeCameraClip(S, '320x180', 25, 4, ['-preset', 'veryfast', '-g', '25']);
  await startWebrtcServer(S, 'test_whep_datachannel.mjs', ['udp_port = 0', 'consent_timeout_ms = 5000'],
    () => ['[[sources]]', 'name = "live/cam"', `url = "rtsp://${HOST}:${S.rtspPort}/${STREAM}"`,
      'retry_min_ms = 300', 'retry_max_ms = 600', '']);
  await untilServerReady(S, 'the server answers', 10000,
    async () => (await fetch(`${S.base}/api/v1/streams`)).ok, 100);
  startPublisher();
  await until(`${STREAM} published`, 10000, () => streamsListed(S, STREAM), 200);
  await camLive();
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  S.page = await newRtcPage(S.browser);
  // Same origin as the WHEP endpoint; the page's content does not matter.
  await S.page.goto(`${S.base}/api/v1/streams`);
  await S.page.evaluate(PAGE_HELPERS);
});

after(async () => {
  if (S.publisher && S.publisher.exitCode === null) S.publisher.kill('SIGKILL');
  await stopAll(S);
});

test('the browser\'s "events" channel opens and gets hello with the stream and its viewers', async () => {
  const url = `${S.base}/${STREAM}/whep`;
  const answer = await S.page.evaluate(([u]) => window.whep('a', u, 'events'), [url]);
  assert.match(answer, /^m=application 9 UDP\/DTLS\/SCTP webrtc-datachannel\r$/m);
  assert.match(answer, /^a=sctp-port:5000\r$/m);
  assert.match(answer, /^a=max-message-size:\d+\r$/m);
  const mid = answer.match(/^m=application[^\n]*\n(?:[^\n]*\n)*?a=mid:(\S+)\r$/m)[1];
  assert.match(answer, new RegExp(`^a=group:BUNDLE .*\\b${mid}\\b`, 'm'), 'the data channel is bundled');
  await until('the channel opens', 8000, () => S.page.evaluate(() => window.viewers.a.open));
  const hello = await waitMessage('a', 'hello', (m) => m.type === 'hello');
  // This viewer and live/cam's RTSP puller.
  assert.deepEqual(hello, { type: 'hello', stream: STREAM, viewers: 2 });
  // Media still plays beside the channel.
  await until('frames decoded', 8000, () => S.page.evaluate(() => window.frames('a')));
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /data channel "events" opened by the browser/);
});

test('ping gets pong; anything else an error', async () => {
  await S.page.evaluate(() => {
    const ch = window.viewers.a.ch;
    ch.send(JSON.stringify({ type: 'ping' }));
    ch.send(JSON.stringify({ type: 'reboot' }));
    ch.send('not json');
  });
  await waitMessage('a', 'pong', (m) => m.type === 'pong');
  const errors = await until('two errors', 5000, async () => {
    const e = (await messages('a')).filter((m) => m.type === 'error');
    return e.length >= 2 ? e : null;
  });
  assert.deepEqual(errors[0], { type: 'error', reason: 'unknown command' });
  assert.equal(errors[1].type, 'error');
  assert.match(errors[1].reason, /JSON/);
});

test('a second WHEP viewer joining brings a viewers event with 3, its leaving one with 2', async () => {
  const url = `${S.base}/${STREAM}/whep`;
  // The second viewer offers no data channel: its answer has none either.
  const answer = await S.page.evaluate(([u]) => window.whep('b', u, null), [url]);
  assert.doesNotMatch(answer, /m=application/);
  await waitMessage('a', 'viewers 3', (m) => m.type === 'viewers' && m.viewers === 3);
  const resource = await S.page.evaluate(() => window.viewers.b.resource);
  assert.equal((await fetch(resource, { method: 'DELETE' })).status, 200);
  await waitMessage('a', 'viewers 2 again', (m) => m.type === 'viewers' && m.viewers === 2);
  const counts = (await messages('a')).filter((m) => m.type === 'viewers').map((m) => m.viewers);
  assert.deepEqual(counts, [3, 2], 'one event per change');
});

test('the server opens its own "events" channel when the browser opens none', async () => {
  const url = `${S.base}/${STREAM}/whep`;
  const answer = await S.page.evaluate(([u]) => window.whep('c', u, 'negotiated'), [url]);
  assert.match(answer, /^m=application /m);
  const hello = await waitMessage('c', 'hello on the server\'s channel', (m) => m.type === 'hello');
  assert.equal(hello.stream, STREAM);
  assert.equal(hello.viewers, 3);
  assert.equal(await S.page.evaluate(() => window.viewers.c.label), 'events');
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /data channel "events" opened by the server/);
  await S.page.evaluate(() => window.viewers.c.ch.send('{"type":"ping"}'));
  await waitMessage('c', 'pong', (m) => m.type === 'pong');
});

test('killing the publisher: stream_end for live/dc viewers, source_lost then source_resumed for the camera\'s', async () => {
  const url = `${S.base}/live/cam/whep`;
  await S.page.evaluate(([u]) => window.whep('d', u, 'events'), [url]);
  const hello = await waitMessage('d', 'hello on live/cam', (m) => m.type === 'hello');
  assert.deepEqual(hello, { type: 'hello', stream: 'live/cam', viewers: 1 });
  S.publisher.kill('SIGKILL');
  await S.publisherExit;
  const end = await waitMessage('a', 'stream_end',
    (m) => m.type === 'stream_end' || m.type === 'source_lost');
  assert.equal(end.type, 'stream_end');
  await waitMessage('c', 'stream_end on the other viewer', (m) => m.type === 'stream_end');
  await until('the sessions close', 5000, () =>
    fs.readFileSync(S.logPath, 'utf8').match(/closed \(stream ended\)/g)?.length >= 2);
  assert.match(fs.readFileSync(S.logPath, 'utf8'), /data channel: \d+ events sent, 0 dropped/);

  // The camera's viewer stays: it hears the loss, and the recovery once the publisher is back.
  await waitMessage('d', 'source_lost', (m) => m.type === 'source_lost');
  assert.equal(await S.page.evaluate(() => window.viewers.d.closed), undefined);
  startPublisher();
  await waitMessage('d', 'source_resumed', (m) => m.type === 'source_resumed', 15000);
  const types = (await messages('d')).map((m) => m.type);
  assert.deepEqual(types.filter((t) => t.startsWith('source_')), ['source_lost', 'source_resumed']);
  assert.ok(!types.includes('stream_end'));
});
