"""A WHIP publisher that is not a browser: GStreamer's webrtcbin (libnice ICE, DTLS-SRTP) through
python3-gi. It encodes a live test pattern (videotestsrc ! x265enc ! rtph265pay, or x264enc !
rtph264pay) and optionally a tone (audiotestsrc ! opusenc ! rtpopuspay), offers them sendonly,
POSTs the offer to the WHIP URL, applies the answer and publishes for --seconds, then DELETEs the
session's Location. Keyframe requests from the server (RTCP PLI/FIR, which rtpsession turns into
upstream force-key-unit events) are counted at the encoder, and so are the keyframes it makes; the
encoder's own keyframe interval is --keyint frames (large: the keyframes after the first are then
the server's doing). It prints one JSON line on stdout:
    {"status": 201, "answer": "...", "content_type": "application/sdp", "offer": "...",
     "location": "/live/x/whip/ID", "frames": N, "keyframes": N, "keyframe_requests": N,
     "connected": true, "delete_status": 200, "error": ""}
With --offer-only CODECS (comma-separated: H265, H264, VP8) it offers a sendonly video
transceiver with those codecs and no source instead, prints the status and answer (DELETEing a
201's session at once) and exits: the SDP-level checks of codec choice.
Usage: whip_gst_client.py URL [--video H265|H264] [--audio] [--seconds S] [--keyint N]
                          [--offer-only H265,H264] [--local-ip 127.0.0.1]
"""

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstVideo, GstWebRTC  # noqa: E402

# The H.265 / H.264 formats a browser offers, and the offer handling.
from whep_gst_client import CAPS, Viewer  # noqa: E402

OFFER_CAPS = dict(CAPS, VP8="application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,"
                            "payload={pt},rtcp-fb-nack-pli=(boolean)true")
ENCODERS = {
    "H265": "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={keyint} "
            "option-string=\"scenecut=0:min-keyint={keyint}\" ! video/x-h265,profile=main "
            "! rtph265pay config-interval=-1 mtu=1200 ! application/x-rtp,payload=96",
    "H264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={keyint} "
            "! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 mtu=1200 "
            "! application/x-rtp,payload=96,packetization-mode=(string)1",
}


def http(method: str, url: str, body: bytes | None = None) -> tuple[int, str, dict]:
    """(status, body, headers) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/sdp"} if body else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


class Publisher:
    def __init__(self, args):
        self.args = args
        self.result = {"status": 0, "answer": "", "content_type": "", "offer": "",
                       "location": "", "frames": 0, "keyframes": 0, "keyframe_requests": 0,
                       "connected": False, "delete_status": 0, "error": ""}
        self.loop = GLib.MainLoop()
        if args.offer_only:
            self.pipe = Gst.Pipeline.new("whip")
            self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
            self.pipe.add(self.webrtc)
            caps = Gst.Caps.new_empty()
            for i, codec in enumerate(args.offer_only.split(",")):
                caps.append(Gst.Caps.from_string(OFFER_CAPS[codec].format(pt=96 + i)))
            self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY,
                             caps)
        else:
            self.pipe = Gst.parse_launch(self.description())
            self.webrtc = self.pipe.get_by_name("webrtc")
            enc = self.pipe.get_by_name("enc").get_static_pad("src")
            enc.add_probe(Gst.PadProbeType.BUFFER, self.on_frame)
            enc.add_probe(Gst.PadProbeType.EVENT_UPSTREAM, self.on_upstream_event)
            # Request pads make sendrecv transceivers; a WHIP client offers sendonly (RFC 9725).
            for pad in self.webrtc.sinkpads:
                pad.get_property("transceiver").set_property(
                    "direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        if args.local_ip:
            # As in whep_gst_client.py: libnice leaves loopback out unless asked; keep the agent.
            self.ice = self.webrtc.get_property("ice-agent")
            self.ice.emit("add-local-ip-address", args.local_ip)
        self.webrtc.connect("notify::ice-connection-state", self.on_ice_state)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def description(self) -> str:
        a = self.args
        video = ENCODERS[a.video].format(keyint=a.keyint).replace(" ! ", " name=enc ! ", 1)
        desc = ("webrtcbin name=webrtc "
                "videotestsrc is-live=true pattern=ball ! video/x-raw,width=640,height=360,"
                f"framerate=25/1 ! {video} ! webrtc. ")
        if a.audio:
            desc += ("audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample "
                     "! opusenc ! rtpopuspay "
                     "! application/x-rtp,media=audio,payload=111 ! webrtc. ")
        return desc

    def run(self) -> dict:
        self.pipe.set_state(Gst.State.PLAYING)
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)
        GLib.timeout_add(int(self.args.seconds * 1000), self.finish)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        if self.result["location"]:
            url = urllib.parse.urljoin(self.args.url, self.result["location"])
            self.result["delete_status"] = http("DELETE", url)[0]
        return self.result

    def finish(self, why=""):
        if why and not self.result["error"]:
            self.result["error"] = why
        self.loop.quit()
        return False

    def on_error(self, _bus, msg):
        err, dbg = msg.parse_error()
        self.finish(f"{err.message} ({dbg})")

    def on_ice_state(self, webrtc, _pspec):
        state = webrtc.get_property("ice-connection-state")
        if state in (GstWebRTC.WebRTCICEConnectionState.CONNECTED,
                     GstWebRTC.WebRTCICEConnectionState.COMPLETED):
            self.result["connected"] = True

    # The viewer's: sets the offer as the local description, then self.exchange on the main loop.
    on_offer = Viewer.on_offer

    def exchange(self, sdp):
        try:
            status, body, headers = http("POST", self.args.url, sdp.encode())
        except OSError as e:
            return self.finish(f"POST {self.args.url}: {e}")
        self.result.update(status=status, answer=body, offer=sdp,
                           content_type=headers.get("Content-Type", ""))
        if status != 201:
            return self.finish()
        self.result["location"] = headers.get("Location", "")
        if self.args.offer_only:
            return self.finish()
        ok, msg = GstSdp.SDPMessage.new_from_text(body)
        if ok != GstSdp.SDPResult.OK:
            return self.finish("the answer is not SDP")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", answer, None)
        return False

    def on_frame(self, _pad, info):
        self.result["frames"] += 1
        if not info.get_buffer().has_flags(Gst.BufferFlags.DELTA_UNIT):
            self.result["keyframes"] += 1
        return Gst.PadProbeReturn.OK

    def on_upstream_event(self, _pad, info):
        if GstVideo.video_event_is_force_key_unit(info.get_event()):
            self.result["keyframe_requests"] += 1
        return Gst.PadProbeReturn.OK


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--video", default="H265", choices=sorted(ENCODERS))
    ap.add_argument("--audio", action="store_true", help="Opus too")
    ap.add_argument("--seconds", type=float, default=5, help="publish for this long")
    ap.add_argument("--keyint", type=int, default=1000,
                    help="the encoder's own keyframe interval, in frames")
    ap.add_argument("--offer-only", help="offer these codecs without media; print the answer")
    ap.add_argument("--local-ip", help="the only local address ICE gathers (127.0.0.1 for a "
                    "server on loopback)")
    args = ap.parse_args()
    Gst.init(None)
    for codec in (args.offer_only or "").split(","):
        if codec and codec not in OFFER_CAPS:
            sys.exit(f"unknown codec {codec}")
    print(json.dumps(Publisher(args).run()), flush=True)


if __name__ == "__main__":
    main()
