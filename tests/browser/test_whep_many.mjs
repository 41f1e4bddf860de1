// 50 concurrent WHEP sessions against a 2-worker server: two headless Chromium pages open 25
// RTCPeerConnections each (video only) to live/camera, every one must decode frames, and
// /api/v1/sessions must list 50 webrtc sessions on both workers (each worker owns a socket on
// the one UDP port; the ICE ufrag routes a browser's datagrams to its session's worker). Then
// the pages close without DELETE: every session must end by ICE consent timeout, leaving no
// session and no viewer behind.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

import {
  CHROMIUM, CHROMIUM_ARGS, until, serverLogTail, assertTools, makeCameraClip, fileSource,
  startWebrtcServer, untilServerReady, streamsListed, webrtcSessions as listWebrtc, stopAll,
} from './xl_common.mjs';
import { newRtcPage } from './webrtc_page.mjs';

const PAGES = 2;
const PER_PAGE = 25;
const TOTAL = PAGES * PER_PAGE;
// Short, so the cleanup test is quick, but longer than 50 connections take to set up on a busy
// two-core machine (a session with no STUN check yet ends by the same timeout).
const CONSENT_TIMEOUT_MS = 12000;

const S = {};
const serverLog = () => serverLogTail(S);

const webrtcSessions = () => listWebrtc(S);

async function streamViewers(name) {
  const r = await fetch(`${S.base}/api/v1/streams`);
  const j = await r.json();
  const s = (j.streams || []).find((x) => x.name === name);
  if (!s) return null;
  return s.viewers_total;
}

// Runs in the page: opens n WHEP sessions (video only, muted tiny <video> sinks) and keeps them
// in window.pcs.
async function openSessions({ url, n }) {
  window.pcs = [];
  window.errors = [];
  const one = async () => {
    const pc = new RTCPeerConnection();
    window.pcs.push(pc);
    window.xlrtc.receiveVideo(pc, [32, 18]);
    await window.xlrtc.offer(pc, url);
  };
  // In batches, each connected before the next starts: all at once, the last ones would wait
  // behind the others' DTLS handshakes on a loaded machine.
  for (let i = 0; i < n; i += 5) {
    const batch = Array.from({ length: Math.min(5, n - i) }, (_, k) => i + k);
    await Promise.all(batch.map((k) => one().catch((e) => window.errors.push(`session ${k}: ${e}`))));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline &&
           !window.pcs.slice(i).every((pc) => pc.connectionState === 'connected')) {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return window.errors;
}

// Runs in the page: framesDecoded of every connection.
async function framesDecoded() {
  return Promise.all(window.pcs.map(async (pc) => (await window.xlrtc.inboundStats(pc)).framesDecoded));
}

before(async () => {
  assertTools();
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xl-whep-many-'));
  // A small camera-like clip (H.264 without B-frames), so 50 decoders fit on two cores.
  S.clip = makeCameraClip(S, '320x180', 15, 4, ['-profile:v', 'baseline', '-g', '15']);
  await startWebrtcServer(S, 'test_whep_many.mjs',
    ['udp_port = 0', `consent_timeout_ms = ${CONSENT_TIMEOUT_MS}`], fileSource('live/camera', S.clip));
  await untilServerReady(S, 'live/camera published', 15000, () => streamsListed(S, 'live/camera'));
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  S.pages = [];
  for (let i = 0; i < PAGES; ++i) {
    const page = await newRtcPage(S.browser, { viewport: { width: 400, height: 300 } });
    // Any page of the server's origin will do (same origin as the WHEP endpoint, no CORS).
    await page.goto(`${S.base}/api/v1/streams`);
    S.pages.push(page);
  }
});

after(() => stopAll(S));

test(`${TOTAL} concurrent WHEP sessions all decode video, spread over both workers`, async () => {
  const started = Date.now();
  const errors = await Promise.all(S.pages.map((p) =>
    p.evaluate(openSessions, { url: `${S.base}/live/camera/whep`, n: PER_PAGE })));
  assert.deepEqual(errors.flat(), [], 'every offer answered with 201');
  let frames;
  try {
    frames = await until(`all ${TOTAL} connections decoding`, 30000, async () => {
      const f = (await Promise.all(S.pages.map((p) => p.evaluate(framesDecoded)))).flat();
      return f.length === TOTAL && f.every((x) => x > 0) ? f : null;
    }, 500);
  } catch (e) {
    const f = (await Promise.all(S.pages.map((p) => p.evaluate(framesDecoded)))).flat();
    throw new Error(`${e.message}: ${f.filter((x) => x > 0).length} of ${f.length} decoding\n${serverLog()}`);
  }
  console.log(`# ${TOTAL} sessions decoding after ${Date.now() - started} ms; frames min ` +
    `${Math.min(...frames)}, max ${Math.max(...frames)}`);
  const list = await webrtcSessions();
  assert.equal(list.length, TOTAL, `${TOTAL} webrtc sessions listed, got ${list.length}`);
  const perWorker = {};
  for (const s of list) perWorker[s.worker] = (perWorker[s.worker] || 0) + 1;
  console.log(`# sessions per worker: ${JSON.stringify(perWorker)}`);
  assert.ok(perWorker[0] > 0 && perWorker[1] > 0, `sessions on both workers: ${JSON.stringify(perWorker)}`);
  assert.ok(list.every((s) => s.bytes_out > 1000), 'every session sent media');
  assert.equal(await streamViewers('live/camera') >= TOTAL, true, 'the stream counts the viewers');
});

test('closed pages (no DELETE): every session ends by consent timeout, nothing left', async () => {
  for (const page of S.pages) await page.close();
  S.pages = [];
  const closedAt = Date.now();
  await until('every webrtc session gone', CONSENT_TIMEOUT_MS + 10000,
    async () => (await webrtcSessions()).length === 0, 250);
  const took = Date.now() - closedAt;
  console.log(`# sessions gone ${took} ms after the pages closed`);
  // Not before the timeout: the server cannot know the pages went away otherwise.
  assert.ok(took >= CONSENT_TIMEOUT_MS - 1500, `sessions ended by consent timeout, not before (${took} ms)`);
  await until('no viewer left on live/camera', 5000, async () => (await streamViewers('live/camera')) === 0, 250);
  const log = fs.readFileSync(S.logPath, 'utf8');
  const timedOut = (log.match(/closed \(no ICE consent/g) || []).length;
  assert.equal(timedOut, TOTAL, `${TOTAL} sessions closed by consent timeout, log says ${timedOut}`);
  assert.equal(S.exited, undefined, 'the server is still running');
});
