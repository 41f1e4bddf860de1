#include "webrtc/player_page.h"

#include <string>

#include "webrtc/page_shell.h"

namespace xl::webrtc {

std::string_view playerPage() {
  // The page POSTs its offer to "whep" next to itself (RFC 9725-style WHEP), plays what comes
  // back, and DELETEs the session resource when it is closed.
  static const std::string kPage =
      webrtcPage("Xueliang WebRTC player",
                 R"css(video { display: block; width: 100%; max-height: 90vh; background: #000; }
#status { padding: 6px 10px; }
)css",
                 R"html(<video id="video" autoplay muted playsinline controls></video>
<div id="status">connecting...</div>
)html",
                 R"js(window.xl = { state: "new", errors: [] };
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
)js",
                 "play");
  return kPage;
}

}  // namespace xl::webrtc
