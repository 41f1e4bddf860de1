"""An RTSP player that is not ours: GStreamer's rtspsrc through python3-gi. It plays URL over the
lower transports asked for (tcp, udp, udp-mcast), links each pad rtspsrc adds by its caps
(H.264 video: rtph264depay ! h264parse ! avdec_h264; AAC audio: rtpmp4gdepay ! aacparse !
avdec_aac) and counts decoded buffers at a fakesink per track. It exits 0 as soon as every
track has decoded --buffers buffers, 1 on a pipeline error (or a track it cannot decode), 2 when
--seconds pass first. Either way it prints one JSON line on stdout:
    {"video": N, "audio": N, "tracks": ["video", "audio"], "error": ""}
Pads are linked in a pad-added handler rather than by gst-launch's delayed linking, which can
give up on a pad whose caps are not set yet when rtspsrc announces it and then wait forever.
Usage: gst_rtsp_client.py URL [--protocols tcp] [--buffers 50] [--seconds 30] [--latency 200]
"""

import argparse
import json
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

CHAINS = {"H264": ("rtph264depay", "h264parse", "avdec_h264"),
          "MPEG4-GENERIC": ("rtpmp4gdepay", "aacparse", "avdec_aac")}


class Player:
    def __init__(self, args):
        self.args = args
        self.counts: dict[str, int] = {}
        self.error = ""
        self.rc = 2
        self.loop = GLib.MainLoop()
        self.pipe = Gst.Pipeline.new("rtsp")
        src = Gst.ElementFactory.make("rtspsrc", "src")
        src.set_property("location", args.url)
        src.set_property("latency", args.latency)
        Gst.util_set_object_arg(src, "protocols", args.protocols)  # flags, from "tcp" etc.
        src.connect("pad-added", self.on_pad)
        self.pipe.add(src)
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)

    def on_pad(self, _src, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        media, encoding = s.get_string("media"), (s.get_string("encoding-name") or "").upper()
        if media not in ("video", "audio") or encoding not in CHAINS:
            GLib.idle_add(self.fail, f"cannot decode {media} {encoding}")
            return
        elements = [Gst.ElementFactory.make(name) for name in CHAINS[encoding]]
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("signal-handoffs", True)
        sink.set_property("sync", False)
        sink.connect("handoff", self.on_buffer, media)
        elements.append(sink)
        self.counts.setdefault(media, 0)
        for e in elements:
            self.pipe.add(e)
        for a, b in zip(elements, elements[1:]):
            a.link(b)
        for e in elements:
            e.sync_state_with_parent()
        if pad.link(elements[0].get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            GLib.idle_add(self.fail, f"could not link the {media} pad")

    def on_buffer(self, _sink, _buf, _pad, media):
        self.counts[media] += 1  # streaming thread; the main loop reads the counts
        if self.counts[media] == self.args.buffers:
            GLib.idle_add(self.check_done)

    def check_done(self):
        if len(self.counts) == 2 and all(n >= self.args.buffers for n in self.counts.values()):
            self.rc = 0
            self.loop.quit()
        return False

    def fail(self, why):
        self.error = why
        self.rc = 1
        self.loop.quit()
        return False

    def on_error(self, _bus, msg):
        err, debug = msg.parse_error()
        self.fail(f"{msg.src.get_name()}: {err.message} ({debug})")

    def run(self) -> int:
        GLib.timeout_add(int(self.args.seconds * 1000), self.loop.quit)
        self.pipe.set_state(Gst.State.PLAYING)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        print(json.dumps({**{m: 0 for m in ("video", "audio")}, **self.counts,
                          "tracks": sorted(self.counts), "error": self.error}), flush=True)
        return self.rc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--protocols", default="tcp")
    ap.add_argument("--buffers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--latency", type=int, default=200)
    args = ap.parse_args()
    Gst.init(None)
    return Player(args).run()


if __name__ == "__main__":
    sys.exit(main())
