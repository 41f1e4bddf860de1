// What every browser test shares: where the binary, Chromium and the demo clip are, free ports,
// polling, config sections for a test server, and starting the real server binary.
//
// Env: XUELIANG_BIN (default build/xueliang), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const SOURCE_DIR = path.resolve(HERE, '..', '..');
export const SERVER_BIN = path.resolve(SOURCE_DIR, process.env.XUELIANG_BIN || 'build/xueliang');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const DEMO_CLIP = path.join(SOURCE_DIR, 'conf', 'demo', 'demo.mp4');
export const HLS_JS = path.join(HERE, 'node_modules', 'hls.js', 'dist', 'hls.js');
export const HOST = '127.0.0.1';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--autoplay-policy=no-user-gesture-required'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A port nobody listens on, never one this process handed out before: the kernel may give the
// same ephemeral port to two listen(0) calls once the first socket is closed.
const givenPorts = new Set();
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, HOST, () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    if (!givenPorts.has(port)) {
      givenPorts.add(port);
      return port;
    }
  }
}

// Polls fn until it returns something truthy (returned) or timeoutMs passes (throws).
export async function until(what, timeoutMs, fn, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// A whole GET: { status, headers, body }, or null on error or after 5 s.
export function httpGet(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.setTimeout(5000, () => { req.destroy(); resolve(null); });
    req.on('error', () => resolve(null));
  });
}

// Sections that keep a test server off the default RTSP (8554, 8000/8001) and WebRTC (8189)
// ports; a test that serves those protocols writes its own sections instead.
export const QUIET_PROTOCOLS = ['[rtsp]', 'enabled = false', '', '[webrtc]', 'enabled = false', ''];

// The start of a test server's config: two workers, RTMP and HTTP (CORS for any origin) on
// S.rtmpPort and S.httpPort, RTSP and WebRTC off. The test appends its own sections.
export function baseConfig(S, writtenBy) {
  return [
    `# written by tests/browser/${writtenBy}`,
    'workers = 2',
    'log_level = "info"',
    '',
    '[rtmp]',
    `listen = "${HOST}:${S.rtmpPort}"`,
    '',
    '[http]',
    `listen = "${HOST}:${S.httpPort}"`,
    'cors_origin = "*"',
    '',
    ...QUIET_PROTOCOLS,
  ];
}

// Writes the config text to S.dir/xueliang.toml and starts the real server on it. Sets
// S.configPath, S.logPath, S.server (the child), S.serverExit (a promise of its exit) and
// S.exited ({ code, signal, at }) once it has exited.
export function startServer(S, configText) {
  S.configPath = path.join(S.dir, 'xueliang.toml');
  fs.writeFileSync(S.configPath, configText);
  S.logPath = path.join(S.dir, 'xueliang.log');
  const log = fs.openSync(S.logPath, 'w');
  S.server = spawn(SERVER_BIN, ['-c', S.configPath], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  S.serverExit = new Promise((resolve) => S.server.once('exit', (code, signal) => {
    S.exited = { code, signal, at: Date.now() };
    resolve(S.exited);
  }));
}

// The last 40 lines of the server's log, for failure messages.
export function serverLogTail(S) {
  try { return fs.readFileSync(S.logPath, 'utf8').split('\n').slice(-40).join('\n'); } catch { return ''; }
}

// A static server on another port, so that the page's media requests are cross-origin (CORS is
// exercised). `files` maps a URL path to a file under tests/browser (or an absolute path).
// Returns { server, origin }.
export async function startPageServer(files) {
  const server = http.createServer((req, res) => {
    const file = files[new URL(req.url, 'http://x').pathname];
    if (!file) { res.writeHead(404).end(); return; }
    const type = file.endsWith('.html') ? 'text/html' : 'text/javascript';
    res.writeHead(200, { 'Content-Type': `${type}; charset=utf-8`, 'Cache-Control': 'no-store' });
    fs.createReadStream(path.resolve(HERE, file)).pipe(res);
  });
  await new Promise((r) => server.listen(0, HOST, r));
  return { server, origin: `http://${HOST}:${server.address().port}` };
}

// Fails the test at once, with the fix named, when the server binary, Chromium or one of
// `npmFiles` (files of the npm packages, e.g. HLS_JS) is missing.
export function assertTools(...npmFiles) {
  if (!fs.existsSync(SERVER_BIN))
    throw new Error(`xueliang binary not found at ${SERVER_BIN} (set XUELIANG_BIN)`);
  if (!fs.existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run scripts/install-browser-deps.sh`);
  for (const f of npmFiles)
    if (!fs.existsSync(f)) throw new Error(`${f} missing: run npm ci in tests/browser`);
}

// A camera-like clip made with ffmpeg from testsrc2 (H.264 without B-frames, video only) at
// S.dir/camera.mp4; returns its path. `x264` holds the profile/preset/GOP arguments.
export function makeCameraClip(S, size, rate, seconds, x264) {
  const clip = path.join(S.dir, 'camera.mp4');
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi',
    '-i', `testsrc2=size=${size}:rate=${rate}`, '-t', String(seconds),
    '-c:v', 'libx264', ...x264, '-bf', '0', '-pix_fmt', 'yuv420p', clip]);
  if (ff.status !== 0) throw new Error(`ffmpeg could not make the clip: ${ff.stderr}`);
  return clip;
}

// Config lines of a looping file source.
export const fileSource = (name, file) =>
  ['[[sources]]', `name = "${name}"`, `file = ${JSON.stringify(file)}`, 'loop = true', ''];

// Starts the server for a WebRTC test: free RTMP, RTSP (UDP on free ports) and HTTP ports in
// S.rtmpPort, S.rtspPort, S.httpPort, then the [webrtc] section's `webrtc` lines and `extra`
// (plugins, sources; a function of S when they name those ports). Sets S.base to the HTTP
// origin. XL_LOG_LEVEL overrides the log level.
export async function startWebrtcServer(S, writtenBy, webrtc, extra = []) {
  S.httpPort = await freePort();
  S.rtmpPort = await freePort();
  S.rtspPort = await freePort();
  startServer(S, [
    `# written by tests/browser/${writtenBy}`,
    'workers = 2',
    `log_level = "${process.env.XL_LOG_LEVEL || 'info'}"`,
    '',
    '[rtmp]', `listen = "${HOST}:${S.rtmpPort}"`, '',
    '[rtsp]', `listen = "${HOST}:${S.rtspPort}"`, 'udp_rtp_port = 0', 'udp_rtcp_port = 0', '',
    '[http]', `listen = "${HOST}:${S.httpPort}"`, '',
    '[webrtc]', ...webrtc, '',
    ...(typeof extra === 'function' ? extra(S) : extra),
  ].join('\n'));
  S.base = `http://${HOST}:${S.httpPort}`;
}

// Polls `ready` (errors count as not ready) until it is truthy; fails at once with the server's
// log if the server has exited.
export async function untilServerReady(S, what, timeoutMs, ready, intervalMs = 200) {
  return until(what, timeoutMs, async () => {
    if (S.exited) throw new Error(`xueliang exited early ${JSON.stringify(S.exited)}:\n${serverLogTail(S)}`);
    try { return await ready(); } catch { return false; }
  }, intervalMs);
}

// Whether the stream list names every one of `names`.
export async function streamsListed(S, ...names) {
  const r = await fetch(`${S.base}/api/v1/streams`);
  const t = r.ok ? await r.text() : '';
  return names.every((n) => t.includes(n));
}

// The webrtc entries of /api/v1/sessions.
export async function webrtcSessions(S) {
  const j = await (await fetch(`${S.base}/api/v1/sessions`)).json();
  return (Array.isArray(j) ? j : j.sessions || []).filter((s) => s.protocol === 'webrtc');
}

// The end of a test file: closes the browser and the page server, stops the server (SIGKILL
// after 3 s) and names the directory kept for inspection (holding `kept`).
export async function stopAll(S, kept = 'config, server log') {
  if (S.browser) await S.browser.close().catch(() => {});
  if (S.pageServer) S.pageServer.close();
  if (S.server && !S.exited) {
    S.server.kill('SIGTERM');
    const r = await Promise.race([S.serverExit, sleep(3000).then(() => null)]);
    if (!r) { S.server.kill('SIGKILL'); await S.serverExit; }
  }
  if (S.dir) console.log(`# artifacts: ${S.dir} (${kept})`);
}

// Starts the server for an RTMP/HTTP test in a new temp dir (S.dir, prefix `tmpPrefix`): free
// RTMP and HTTP ports, baseConfig() and then `sections` (lines, or a function of S when they
// name S.dir). Sets S.base to the HTTP origin.
export async function startHttpServer(S, tmpPrefix, writtenBy, sections) {
  S.dir = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  S.rtmpPort = await freePort();
  S.httpPort = await freePort();
  const extra = typeof sections === 'function' ? sections(S) : sections;
  startServer(S, [...baseConfig(S, writtenBy), ...extra].join('\n'));
  S.base = `http://${HOST}:${S.httpPort}`;
}

// For the hls.js tests: serves hls.html and hls.js from another origin (S.pageServer,
// S.pageOrigin), so media requests are cross-origin, and launches Chromium (S.browser).
export async function startHlsBrowser(S) {
  ({ server: S.pageServer, origin: S.pageOrigin } =
    await startPageServer({ '/': 'hls.html', '/hls.js': HLS_JS }));
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

// Opens hls.html in a new page, checks that hls.js can play here (MSE), starts `url`
// (lowLatencyMode as given) and runs fn(p) with p.state() (the page's { snap, xl }) and
// p.untilPlayed(what, timeoutMs, pred): polls until pred(state) and returns that state, fails at
// once on a fatal hls.js error, and on timeout with the last state, the page's console errors and
// the server's log. Closes the page afterwards; returns what fn returns.
export async function withHlsPage(S, url, lowLatencyMode, fn) {
  const page = await S.browser.newPage({ viewport: { width: 640, height: 360 } });
  const consoleLines = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleLines.push(m.text()); });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(`${S.pageOrigin}/`);
    const env = await page.evaluate(() => ({ ua: navigator.userAgent, v: window.xl.hlsVersion, ok: window.xl.supported }));
    console.log(`# ${env.ua}; hls.js ${env.v}`);
    assert.ok(env.ok, 'hls.js: MSE not supported in this browser');
    await page.evaluate(([u, ll]) => window.xlStart(u, ll), [url, lowLatencyMode]);
    const state = () => page.evaluate(() => ({ snap: window.xlSnapshot(), xl: window.xl }));
    const untilPlayed = async (what, timeoutMs, pred) => {
      try {
        return await until(what, timeoutMs, async () => {
          const st = await state();
          if (st.xl.fatal) throw new Error(`hls.js fatal error ${st.xl.fatal}: ${JSON.stringify(st.xl.errors)}`);
          return pred(st) ? st : null;
        }, 200);
      } catch (e) {
        throw new Error(`${e.message}\nlast state: ${JSON.stringify(await state())}\n` +
          `console: ${consoleLines.join('\n')}\n${serverLogTail(S)}`);
      }
    };
    return await fn({ page, state, untilPlayed });
  } finally {
    await page.close();
  }
}
