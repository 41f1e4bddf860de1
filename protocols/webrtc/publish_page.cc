#include "webrtc/publish_page.h"

#include <string>

#include "webrtc/page_shell.h"

namespace xl::webrtc {

std::string_view publishPage() {
  // The page POSTs its offer to "whip" next to itself (RFC 9725), with the URL's query (tokens)
  // passed on, and DELETEs the session resource when it is closed or "Stop" is pressed.
  static const std::string kPage = webrtcPage(
      "Xueliang WebRTC publisher",
      R"css(video { display: block; width: 100%; max-height: 80vh; background: #000; }
#bar { padding: 6px 10px; display: flex; gap: 10px; align-items: center; }
)css",
      R"html(<video id="video" autoplay muted playsinline></video>
<div id="bar"><button id="stop">Stop</button><span id="status">starting camera...</span></div>
)html",
      R"js(const name = location.pathname.split("/").slice(1, 3).map(decodeURIComponent).join("/");
window.xl = { state: "new", errors: [] };
async function stop() {
  const x = window.xl;
  if (x.resource) fetch(x.resource, { method: "DELETE", keepalive: true }).catch(() => {});
  x.resource = null;
  if (x.pc) x.pc.close();
  if (x.media) x.media.getTracks().forEach((t) => t.stop());
  show(name + ": stopped");
}
async function publish() {
  const media = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: true });
  window.xl.media = media;
  document.getElementById("video").srcObject = media;
  const pc = new RTCPeerConnection();
  window.xl.pc = pc;
  for (const track of media.getTracks()) {
    const t = pc.addTransceiver(track, { direction: "sendonly", streams: [media] });
    // H.264 first: what the server ingests for every protocol.
    if (track.kind === "video" && t.setCodecPreferences && RTCRtpSender.getCapabilities) {
      const codecs = RTCRtpSender.getCapabilities("video").codecs;
      const h264 = codecs.filter((c) => c.mimeType === "video/H264");
      if (h264.length) t.setCodecPreferences(h264.concat(codecs.filter((c) => c.mimeType !== "video/H264")));
    }
  }
  pc.onconnectionstatechange = () => {
    window.xl.state = pc.connectionState;
    show(name + ": " + pc.connectionState);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch("whip" + location.search, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error("WHIP " + res.status + ": " + body.trim());
  window.xl.resource = new URL(res.headers.get("Location"), location.href).href;
  await pc.setRemoteDescription({ type: "answer", sdp: body });
  addEventListener("pagehide", stop);
}
window.xl.stop = stop;
document.getElementById("stop").onclick = stop;
)js",
      "publish");
  return kPage;
}

}  // namespace xl::webrtc
