// What the WHIP browser tests share: a WHIP client written in the test page (Chromium's fake
// camera and microphone, H.264 preferred, the answer editable before it is applied), the
// publisher's outbound figures, and ffprobe reading a stream back.
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS } from './xl_common.mjs';
import { newRtcPage } from './webrtc_page.mjs';

// Chromium flags for a fake camera and microphone that need no permission prompt.
export const FAKE_MEDIA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

// ffprobe a live URL for a few seconds, decoding every frame: { video, audio } streams.
export function probe(url, extra = []) {
  return new Promise((resolve, reject) => {
    const argv = ['-v', 'error', '-rw_timeout', '10000000', ...extra, '-count_frames',
      '-read_intervals', '%+3', '-show_entries',
      'stream=codec_type,codec_name,profile,width,height,sample_rate,channels,nb_read_frames',
      '-of', 'json', url];
    const p = spawn('ffprobe', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 20000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`ffprobe ${url} failed (${code}): ${err.slice(-600)}`));
      const r = {};
      for (const s of JSON.parse(out).streams || []) r[s.codec_type] ??= s;
      resolve(r);
    });
  });
}

// In a page from newRtcPage (window.xlrtc): publishes the fake camera (width x height) and
// microphone to the WHIP endpoint `url`. With `tcpOnly` the answer's UDP candidates are removed
// before it is applied, as if the network blocked UDP. Keeps the connection in window.pub.
// Returns { location, tcpLines (the answer's passive TCP candidates), candidates (applied) }.
export async function publishInPage({ url, width, height, tcpOnly }) {
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: { exact: width }, height: { exact: height }, frameRate: 15 }, audio: true });
  const pc = new RTCPeerConnection();
  window.pub = pc;
  for (const track of media.getTracks()) {
    const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    if (track.kind === 'video') {
      const codecs = RTCRtpSender.getCapabilities('video').codecs;
      t.setCodecPreferences(codecs.filter((c) => c.mimeType === 'video/H264')
        .concat(codecs.filter((c) => c.mimeType !== 'video/H264')));
    }
  }
  let tcpLines, applied;
  const { location } = await window.xlrtc.offer(pc, url, (answer) => {
    tcpLines = answer.split('\r\n').filter((l) => / tcp .* tcptype passive/.test(l));
    applied = tcpOnly ? answer.split('\r\n').filter((l) => !/^a=candidate:\S+ 1 udp /i.test(l)).join('\r\n')
      : answer;
    return applied;
  });
  return { location, tcpLines, candidates: applied.split('\r\n').filter((l) => l.startsWith('a=candidate:')) };
}

// Headless Chromium whose fake camera and microphone the server's origin may use: S.browser and
// S.context.
export async function launchPublisherBrowser(S) {
  S.browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
                                      args: [...CHROMIUM_ARGS, ...FAKE_MEDIA_ARGS] });
  S.context = await S.browser.newContext();
  await S.context.grantPermissions(['camera', 'microphone'], { origin: S.base });
}

// A new page on the server's origin that publishes 320x240 to `name` over WHIP (publishInPage;
// `options` may add tcpOnly): publishInPage's result and the page.
export async function publishFrom(S, name, options = {}) {
  const page = await newRtcPage(S.context);
  await page.goto(`${S.base}/api/v1/streams`);  // same origin as the endpoint
  const r = await page.evaluate(publishInPage,
    { url: `${S.base}/${name}/whip`, width: 320, height: 240, ...options });
  return { page, ...r };
}

// The outbound figures of a page's publishing connection (window.pub, else the built-in publish
// page's window.xl.pc), with the selected candidate pair's remote protocol; null before it has one.
export function outboundStats(page) {
  return page.evaluate(async () => {
    const pc = window.pub || (window.xl && window.xl.pc);
    if (!pc) return null;
    const out = { state: pc.connectionState, framesEncoded: 0, audioPackets: 0 };
    const report = await pc.getStats();
    let pairId;
    report.forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') {
        out.framesEncoded = r.framesEncoded || 0;
        out.width = r.frameWidth;
        out.height = r.frameHeight;
        out.keyFramesEncoded = r.keyFramesEncoded || 0;
        out.pliCount = r.pliCount || 0;
      }
      if (r.type === 'outbound-rtp' && r.kind === 'audio') out.audioPackets = r.packetsSent || 0;
      if (r.type === 'codec' && /video/.test(r.mimeType)) out.videoCodec = r.mimeType;
      if (r.type === 'transport') pairId = r.selectedCandidatePairId;
    });
    const pair = pairId && report.get(pairId);
    const remote = pair && report.get(pair.remoteCandidateId);
    if (remote) out.remoteProtocol = remote.protocol;
    return out;
  });
}

// The live stream `name` from /api/v1/streams, or null.
export async function streamInfo(base, name) {
  const r = await fetch(`${base}/api/v1/streams`);
  if (!r.ok) return null;
  const j = await r.json();
  return (Array.isArray(j) ? j : j.streams || []).find((s) => s.name === name) || null;
}

// The value of an unlabelled metric in /metrics, or NaN.
export async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}
