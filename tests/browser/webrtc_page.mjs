// WebRTC code that runs in the page, written once for every WebRTC browser test. newRtcPage()
// installs it (before any navigation) as window.xlrtc; the node side calls it through
// page.evaluate, e.g. playerStats(page) for the server's own player and publish pages
// (window.xl.pc).
import { sleep, until } from './xl_common.mjs';

// Self-contained: playwright serialises it into the page.
export function installRtcHelpers() {
  // A recvonly video transceiver whose track plays in a muted <video> (tiny when `size` is given).
  const receiveVideo = (pc, size) => {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (e) => {
      const v = document.createElement('video');
      v.muted = true;
      v.autoplay = true;
      if (size) [v.width, v.height] = size;
      v.srcObject = new MediaStream([e.track]);
      document.body.appendChild(v);
    };
  };
  // POSTs the offer to a WHEP/WHIP endpoint: { answer, location }; anything but 201 throws.
  // `editAnswer` may change the answer before setRemoteDescription.
  const offer = async (pc, url, editAnswer = (sdp) => sdp) => {
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
                                 body: pc.localDescription.sdp });
    const answer = await r.text();
    if (r.status !== 201) throw new Error(`POST ${url}: HTTP ${r.status} ${answer}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: editAnswer(answer) });
    return { answer, location: r.headers.get('location') };
  };
  // The receiving side's figures from getStats(): video, audio (with its codec's MIME type),
  // the SRTP cipher and the selected candidate pair's remote end.
  const inboundStats = async (pc) => {
    const o = { state: pc.connectionState, framesDecoded: 0, framesReceived: 0, packetsReceived: 0,
                bytesReceived: 0, audioPackets: 0, audioSamples: 0, audioCodec: '' };
    const report = await pc.getStats();
    let pairId;
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') {
        Object.assign(o, { framesDecoded: r.framesDecoded || 0, framesReceived: r.framesReceived || 0,
                           packetsReceived: r.packetsReceived || 0, bytesReceived: r.bytesReceived || 0,
                           packetsLost: r.packetsLost || 0, codecId: r.codecId,
                           width: r.frameWidth, height: r.frameHeight });
      }
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        o.audioPackets = r.packetsReceived || 0;
        o.audioSamples = r.totalSamplesReceived || 0;
        o.audioConcealed = r.concealedSamples || 0;
        const c = r.codecId && report.get(r.codecId);
        o.audioCodec = c ? c.mimeType : '';
      }
      if (r.type === 'transport') {
        o.srtpCipher = r.srtpCipher;
        pairId = r.selectedCandidatePairId;
      }
    });
    const pair = pairId && report.get(pairId);
    const remote = pair && report.get(pair.remoteCandidateId);
    if (remote) Object.assign(o, { remoteProtocol: remote.protocol, remoteTcpType: remote.tcpType,
                                   remotePort: remote.port });
    return o;
  };
  window.xlrtc = { receiveVideo, offer, inboundStats };
}

// A new page (of a browser or context) with window.xlrtc on every document it loads.
export async function newRtcPage(owner, options) {
  const page = await owner.newPage(options);
  await page.addInitScript(installRtcHelpers);
  return page;
}

// inboundStats of the page's built-in player (window.xl.pc), or null before it has one.
export const playerStats = (page) =>
  page.evaluate(() => (window.xl && window.xl.pc ? window.xlrtc.inboundStats(window.xl.pc) : null));

// Polls `get()` (figures) until `ready(figures)`; a timeout fails with the last figures and
// `context()` (logs). Returns those figures.
export async function untilStats(what, timeoutMs, get, ready, context, intervalMs = 100) {
  try {
    return await until(what, timeoutMs, async () => {
      const s = await get();
      return s && ready(s) ? s : null;
    }, intervalMs);
  } catch (e) {
    const st = await get().catch(() => null);
    throw new Error(`${e.message}\nstats ${JSON.stringify(st)}\n${context()}`);
  }
}

// untilStats on the page's built-in player, where a player error fails at once.
export function untilPlayer(page, what, timeoutMs, ready, context, intervalMs = 50) {
  return untilStats(what, timeoutMs, async () => {
    const errors = await page.evaluate(() => window.xl && window.xl.errors);
    if (errors && errors.length) throw new Error(`player error: ${errors.join('; ')}`);
    return playerStats(page);
  }, ready, context, intervalMs);
}

// Two looks at `stats()` `ms` apart: [before, after].
export async function statsOver(stats, ms) {
  const a = await stats();
  await sleep(ms);
  return [a, await stats()];
}
