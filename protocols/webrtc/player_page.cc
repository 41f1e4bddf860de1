#include "webrtc/player_page.h"

namespace xl::webrtc {

std::string_view playerPage() {
  // The page POSTs its offer to "whep" next to itself (RFC 9725-style WHEP), plays what comes
  // back, and DELETEs the session resource when it is closed.
  static constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Xueliang WebRTC player</title>
<style>
body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
video { display: block; width: 100%; max-height: 90vh; background: #000; }
#status { padding: 6px 10px; }
</style>
</head>
<body>
<video id="video" autoplay muted playsinline controls></video>
<div id="status">connecting...</div>
<script>
"use strict";
const show = (text) => { document.getElementById("status").textContent = text; };
window.xl = { state: "new", errors: [] };
async function play() {
  const pc = new RTCPeerConnection();
  window.xl.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  const media = new MediaStream();
  pc.ontrack = (e) => {
    media.addTrack(e.track);
    document.getElementById("video").srcObject = media;
  };
  pc.onconnectionstatechange = () => {
    window.xl.state = pc.connectionState;
    show(document.title.replace(" player", "") + ": " + pc.connectionState);
  };
  await pc.setLocalDescription(await pc.createOffer());
  const res = await fetch("whep" + location.search, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error("WHEP " + res.status + ": " + body.trim());
  window.xl.resource = new URL(res.headers.get("Location"), location.href).href;
  await pc.setRemoteDescription({ type: "answer", sdp: body });
  addEventListener("pagehide", () => {
    fetch(window.xl.resource, { method: "DELETE", keepalive: true });
  });
}
play().catch((e) => {
  window.xl.errors.push(String(e));
  show("error: " + e.message);
});
</script>
</body>
</html>
)html";
  return kPage;
}

}  // namespace xl::webrtc
