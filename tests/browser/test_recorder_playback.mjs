// Recorder playback in a real browser: the real xueliang binary records a published stream in 4 s
// files, then headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core) plays
// /{app}/{stream}/playback.m3u8?from&to of two files with hls.js, from a page on another origin
// (CORS, byte-range requests), and the test checks that the video plays past the boundary between
// the files (EXT-X-DISCONTINUITY) without a fatal hls.js error.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import {
  DEMO_CLIP, HLS_JS, HOST, sleep, until, httpGet, assertTools, startHttpServer, startHlsBrowser,
  untilServerReady, withHlsPage, stopAll,
} from './xl_common.mjs';

const S = {};

before(async () => {
  assertTools(HLS_JS);
  await startHttpServer(S, 'xl-browser-rec-', 'test_recorder_playback.mjs', (s) => [
    '[plugins]',
    'order = ["recorder"]',
    '',
    '[plugins.recorder]',
    `root = ${JSON.stringify(path.join(s.dir, 'rec'))}`,
    'segment_seconds = 4',
    '',
    '[[plugins.recorder.rules]]',
    'streams = ["vod/*"]',
    'mode = "always"',
    '',
  ]);
  await untilServerReady(S, 'the server', 10000, async () => {
    const r = await httpGet(`${S.base}/api/v1/recordings/status`);
    return r && r.status === 200;
  }, 200);

  // Record 11 s of the demo clip: two full 4 s files and a third closed when publishing stops.
  const pub = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1',
    '-i', DEMO_CLIP, '-c', 'copy', '-f', 'flv', `rtmp://${HOST}:${S.rtmpPort}/vod/cam`], { stdio: 'ignore' });
  await sleep(11000);
  pub.kill('SIGTERM');
  S.segments = await until('three finished recordings', 15000, async () => {
    const r = await httpGet(`${S.base}/api/v1/recordings?stream=vod/cam`);
    const segs = r && r.status === 200 ? JSON.parse(r.body.toString()).segments : [];
    return segs.length >= 3 ? segs : null;
  }, 300);
  S.playlistUrl = `${S.base}/vod/cam/playback.m3u8?from=${encodeURIComponent(S.segments[0].start)}` +
    `&to=${encodeURIComponent(S.segments[1].end)}`;
  await startHlsBrowser(S);
});

after(() => stopAll(S, 'config, server log, recordings'));

test('hls.js plays a recorded range across the boundary between two files', async () => {
  const r = await httpGet(S.playlistUrl);
  assert.equal(r.status, 200, r.body.toString());
  const text = r.body.toString();
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.match(text, /#EXT-X-ENDLIST/);
  const [firstFile] = text.split('#EXT-X-DISCONTINUITY');
  assert.notEqual(firstFile, text, 'the range spans two files');
  // Where the second file starts on the playlist's timeline.
  const boundary = [...firstFile.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((t, m) => t + Number(m[1]), 0);
  const total = [...text.matchAll(/#EXTINF:([0-9.]+),/g)].reduce((t, m) => t + Number(m[1]), 0);
  assert.ok(boundary > 2 && total - boundary > 2, `boundary ${boundary} s of ${total} s`);

  await withHlsPage(S, S.playlistUrl, false, async ({ untilPlayed }) => {
    const t0 = Date.now();
    const s = await untilPlayed(`currentTime > ${(boundary + 1.5).toFixed(1)} s`, 30000,
      (st) => st.snap.currentTime > boundary + 1.5);
    console.log(`# played ${s.snap.currentTime.toFixed(2)} s (boundary at ${boundary.toFixed(2)} s of ` +
      `${total.toFixed(2)} s) in ${Date.now() - t0} ms, ${s.snap.totalVideoFrames} frames, ` +
      `${s.xl.fragsLoaded} fragments, non-fatal errors ${JSON.stringify(s.xl.errors.slice(0, 3))}`);
    assert.equal(s.snap.error, null);
    assert.equal(s.snap.videoWidth, 640);
    assert.equal(s.xl.levels.live, false, 'hls.js sees a VOD playlist');
    assert.ok(s.snap.totalVideoFrames > (boundary + 1) * 25 * 0.8, `decoded ${s.snap.totalVideoFrames} frames`);
  });
});
