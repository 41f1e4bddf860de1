"""A WHEP viewer that is not a browser: GStreamer's webrtcbin (libnice ICE, DTLS-SRTP) through
python3-gi. It offers one recvonly video transceiver with the codecs asked for (H.265 with RFC 7798
fmtp, H.264 packetization-mode=1), POSTs the offer to the WHEP URL, applies the answer, then
depayloads, parses and decodes what arrives (rtph265depay ! h265parse ! avdec_h265, or the H.264
chain). Optionally it asks for a keyframe (an upstream force-key-unit event, which rtpsession
sends as RTCP PLI) once some frames are decoded. It prints one JSON line on stdout:
    {"status": 201, "answer": "...", "encoding": "H265", "access_units": N, "keyframes": N,
     "decoded": N, "width": W, "height": H, "keyframes_after_pli": N,
     "au_at_pli": N, "au_at_pli_keyframe": N, "error": ""}
(access units counted at h265parse's output; au_at_pli*: that count when the PLI went out and
when the first keyframe after it arrived, -1 if never).
With an answer other than 201 it prints the status and the body and exits at once.
Usage: whep_gst_client.py URL [--codecs H265,H264] [--seconds S] [--frames N] [--pli-after N]
                          [--local-ip 127.0.0.1]
"""

import argparse
import json
import sys
import urllib.error
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstVideo, GstWebRTC  # noqa: E402

# What a browser that decodes H.265 offers (Chrome 136+), and Chrome's H.264 High.
CAPS = {
    "H265": "application/x-rtp,media=video,encoding-name=H265,clock-rate=90000,payload={pt},"
            "profile-id=(string)1,tier-flag=(string)0,level-id=(string)180,"
            "tx-mode=(string)SRST,rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true",
    "H264": "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload={pt},"
            "packetization-mode=(string)1,profile-level-id=(string)640032,"
            "level-asymmetry-allowed=(string)1,rtcp-fb-nack-pli=(boolean)true",
}
CHAINS = {"H265": ("rtph265depay", "h265parse", "avdec_h265"),
          "H264": ("rtph264depay", "h264parse", "avdec_h264")}


class Viewer:
    def __init__(self, args):
        self.args = args
        self.result = {"status": 0, "answer": "", "encoding": "", "access_units": 0,
                       "keyframes": 0, "decoded": 0, "width": 0, "height": 0,
                       "keyframes_after_pli": 0, "au_at_pli": -1, "au_at_pli_keyframe": -1,
                       "error": ""}
        self.loop = GLib.MainLoop()
        self.pipe = Gst.Pipeline.new("whep")
        self.webrtc = Gst.ElementFactory.make("webrtcbin", "webrtc")
        self.webrtc.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.webrtc)
        if args.local_ip:
            # libnice leaves loopback out of its host candidates; a server on 127.0.0.1 needs it.
            # GStreamer 1.22's getter hands out webrtcbin's own reference: the wrapper kept here
            # keeps the agent alive.
            self.ice = self.webrtc.get_property("ice-agent")
            self.ice.emit("add-local-ip-address", args.local_ip)
        self.depay_sink = None
        self.pli_sent = False
        caps = Gst.Caps.new_empty()
        for i, codec in enumerate(args.codecs.split(",")):
            caps.append(Gst.Caps.from_string(CAPS[codec].format(pt=96 + i)))
        self.webrtc.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         caps)
        self.webrtc.connect("pad-added", self.on_pad)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def run(self) -> dict:
        self.pipe.set_state(Gst.State.PLAYING)
        promise = Gst.Promise.new_with_change_func(self.on_offer, None)
        self.webrtc.emit("create-offer", None, promise)
        GLib.timeout_add(int(self.args.seconds * 1000), self.finish, "time is up")
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        return self.result

    def finish(self, why=""):
        if why and not self.result["error"] and self.result["decoded"] < self.args.frames:
            self.result["error"] = why
        self.loop.quit()
        return False

    def on_error(self, _bus, msg):
        err, dbg = msg.parse_error()
        self.result["error"] = f"{err.message} ({dbg})"
        self.finish()

    def on_offer(self, promise, _data):
        # On webrtcbin's thread: the exchange runs on the main loop.
        # The offer lives as long as the reply structure: keep the reply while using it.
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, None)
        GLib.idle_add(self.exchange, offer.sdp.as_text())

    def exchange(self, sdp):
        req = urllib.request.Request(self.args.url, data=sdp.encode(), method="POST",
                                     headers={"Content-Type": "application/sdp"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                self.result["status"], body = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            self.result["status"], body = e.code, e.read().decode()
        except OSError as e:
            self.result["error"] = f"POST {self.args.url}: {e}"
            return self.finish()
        self.result["answer"] = body
        if self.result["status"] != 201:
            return self.finish()
        ok, msg = GstSdp.SDPMessage.new_from_text(body)
        if ok != GstSdp.SDPResult.OK:
            self.result["error"] = "the answer is not SDP"
            return self.finish()
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.webrtc.emit("set-remote-description", answer, None)
        return False

    def on_pad(self, _webrtc, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        s = pad.get_current_caps().get_structure(0)
        encoding = s.get_string("encoding-name") or ""
        self.result["encoding"] = encoding
        if encoding not in CHAINS:
            self.result["error"] = f"unexpected RTP encoding {encoding!r}"
            GLib.idle_add(self.finish)
            return
        depay, parse, dec = (Gst.ElementFactory.make(n) for n in CHAINS[encoding])
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        for e in (depay, parse, dec, sink):
            self.pipe.add(e)
        depay.link(parse)
        parse.link(dec)
        dec.link(sink)
        for e in (depay, parse, dec, sink):
            e.sync_state_with_parent()
        pad.link(depay.get_static_pad("sink"))
        self.depay_sink = depay.get_static_pad("sink")
        parse.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_access_unit)
        dec.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, self.on_decoded)

    def on_access_unit(self, pad, info):
        buf = info.get_buffer()
        r = self.result
        if not buf.has_flags(Gst.BufferFlags.DELTA_UNIT):
            r["keyframes"] += 1
            if self.pli_sent:
                r["keyframes_after_pli"] += 1
                if r["au_at_pli_keyframe"] < 0:
                    r["au_at_pli_keyframe"] = r["access_units"]
        r["access_units"] += 1
        return Gst.PadProbeReturn.OK

    def on_decoded(self, pad, info):
        r = self.result
        r["decoded"] += 1
        if not r["width"]:
            s = pad.get_current_caps().get_structure(0)
            r["width"], r["height"] = s.get_int("width")[1], s.get_int("height")[1]
        if self.args.pli_after and r["decoded"] == self.args.pli_after and not self.pli_sent:
            # rtpsession turns an upstream force-key-unit into RTCP PLI (RFC 4585 §6.3.1).
            self.pli_sent = True
            r["au_at_pli"] = r["access_units"]
            ev = GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
            GLib.idle_add(lambda: self.depay_sink.push_event(ev) and False)
        done = r["decoded"] >= self.args.frames
        if done and (not self.args.pli_after or r["keyframes_after_pli"] > 0):
            GLib.idle_add(self.finish)
        return Gst.PadProbeReturn.OK


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--codecs", default="H265", help="comma-separated, in offer order")
    ap.add_argument("--seconds", type=float, default=15, help="give up after this long")
    ap.add_argument("--frames", type=int, default=50, help="stop after this many decoded")
    ap.add_argument("--pli-after", type=int, default=0,
                    help="ask for a keyframe after this many decoded frames; then wait for one")
    ap.add_argument("--local-ip", help="the only local address ICE gathers (127.0.0.1 for a "
                    "server on loopback)")
    args = ap.parse_args()
    Gst.init(None)
    for codec in args.codecs.split(","):
        if codec not in CAPS:
            sys.exit(f"unknown codec {codec}")
    print(json.dumps(Viewer(args).run()), flush=True)


if __name__ == "__main__":
    main()
