#!/usr/bin/env python3
"""H.265 over WHEP (RFC 7798 in WebRTC), watched by a viewer that is not ours: GStreamer's
webrtcbin (whep_gst_client.py). ffmpeg publishes a libx265 camera-like clip over RTSP; the
viewer offers H265/90000, gets it answered, and depayloads, parses and decodes the pictures
(rtph265depay ! h265parse ! avdec_h265), so broken H.265 RTP fails the test. A PLI restarts the
viewer on the cached IRAP picture at once (the clip's GOP is 4 s, so that keyframe is not the
GOP's own). An offer without H.265 gets a
406 that says why; an H.264 stream stays H.264 when the offer lists H.265 first.
Debian's Chromium offers no H.265 (RTCRtpReceiver.getCapabilities has none, even with
--enable-features=WebRtcAllowH265Receive,PlatformHEVCDecoderSupport), hence GStreamer."""

import json
import subprocess
from pathlib import Path

import xl

CLIENT = Path(__file__).resolve().parent / "whep_gst_client.py"
GOP = 100  # frames: 4 s at 25 fps, so a keyframe within a second of a PLI is the PLI's doing


def webrtc_python() -> str | None:
    """A python3 with GStreamer's WebRTC bindings (python3-gi, gir1.2-gst-plugins-bad-1.0) and
    libnice's GStreamer plugin (gstreamer1.0-nice)."""
    probe = ("import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstWebRTC', '1.0'); "
             "from gi.repository import Gst, GstWebRTC; Gst.init(None); "
             "assert Gst.ElementFactory.find('webrtcbin') and Gst.ElementFactory.find('nicesrc') "
             "and Gst.ElementFactory.find('avdec_h265')")
    return xl.gi_python(probe)


class WhepH265Test(xl.ServerTestCase):
    SERVER_CONFIG = {"webrtc_udp_port": xl.free_udp_ports(1)[0]}  # and the demo (H.264) stream

    @classmethod
    def setUpClass(cls):
        cls.python = webrtc_python()
        if cls.python is None:
            raise AssertionError("no python3 with GStreamer webrtcbin, libnice and avdec_h265: "
                                 "run scripts/install-deps.sh")
        super().setUpClass()
        cls.tmp = Path(cls.server.tmp)
        clip = cls.tmp / "h265.mp4"
        subprocess.run(xl.FFMPEG + [
            "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8",
            "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-x265-params", f"keyint={GOP}:min-keyint={GOP}:bframes=0:scenecut=0:log-level=error",
            str(clip)], check=True, timeout=120, env=xl.client_env(), stdin=subprocess.DEVNULL)
        cls.name = "live/h265"
        cls.publisher = xl.Proc(xl.FFMPEG + [
            "-re", "-stream_loop", "-1", "-i", str(clip), "-c", "copy", "-f", "rtsp",
            "-rtsp_transport", "tcp", cls.server.rtsp_url(cls.name)], name="rtsp-publisher-h265")
        cls.server.wait_stream(cls.name, publisher=cls.publisher)

    def view(self, name: str, *args: str) -> dict:
        """Runs the webrtcbin viewer on `name` to the end; its JSON report."""
        argv = [self.python, str(CLIENT), self.server.http_url(f"/{name}/whep"),
                "--local-ip", xl.HOST, "--seconds", str(xl.scaled(20)), *args]
        try:
            p = subprocess.run(argv, capture_output=True, timeout=xl.scaled(40),
                               env=xl.client_env(), stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"whep_gst_client.py hung:\n{(e.stderr or b'').decode()[-2000:]}")
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, f"whep_gst_client.py failed:\n{err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    def test_h265_stream_plays_in_webrtcbin(self):
        self.assertEqual(self.server.streams()[self.name]["video"]["codec"], "h265")
        # The PLI goes out once the joining GOP's burst has played and the next GOP is live (the
        # client holds what a burst brought), so the keyframe it brings is easy to tell apart.
        r = self.view(self.name, "--codecs", "H265", "--frames", str(GOP + 20),
                      "--pli-after", str(GOP + 10))
        xl.note(f"H.265 over WHEP: {r['decoded']} frames decoded, {r['access_units']} access "
                f"units, PLI at {r['au_at_pli']}, keyframe at {r['au_at_pli_keyframe']}")
        self.assertEqual(r["status"], 201, r["answer"])
        self.assertIn("a=rtpmap:96 H265/90000", r["answer"])
        # The offer's fmtp comes back, and the feedback a browser needs for H.264 as well.
        self.assertIn("a=fmtp:96 profile-id=1;tier-flag=0;level-id=180;tx-mode=SRST", r["answer"])
        for fb in ("nack", "nack pli", "ccm fir", "goog-remb"):
            self.assertIn(f"a=rtcp-fb:96 {fb}\r\n", r["answer"])
        self.assertEqual(r["error"], "", r)
        self.assertEqual(r["encoding"], "H265")
        self.assertGreaterEqual(r["decoded"], GOP + 20, r)
        self.assertEqual((r["width"], r["height"]), (640, 360))
        # Keyframes: the joining one, the GOP's next, and the PLI's, which arrives within a few
        # frames (restarted on the cached IRAP picture) rather than a GOP later.
        self.assertGreaterEqual(r["keyframes"], 3, r)
        self.assertGreaterEqual(r["au_at_pli"], GOP + 10, r)
        self.assertGreaterEqual(r["au_at_pli_keyframe"], r["au_at_pli"], r)
        self.assertLess(r["au_at_pli_keyframe"] - r["au_at_pli"], 20, r)

    def test_offer_without_h265_is_refused(self):
        r = self.view(self.name, "--codecs", "H264")
        self.assertEqual(r["status"], 406, r)
        self.assertIn(f"stream {self.name}", r["answer"])
        self.assertIn("H.265", r["answer"])
        self.assertIn("cannot receive H.265", r["answer"])
        self.assertEqual(r["decoded"], 0)
        self.assertServerAlive()

    def test_h264_stream_keeps_h264_when_h265_comes_first(self):
        r = self.view("live/demo", "--codecs", "H265,H264", "--frames", "25")
        self.assertEqual(r["status"], 201, r["answer"])
        self.assertIn("a=rtpmap:97 H264/90000", r["answer"])
        self.assertNotIn("H265", r["answer"])
        self.assertEqual(r["error"], "", r)
        self.assertEqual(r["encoding"], "H264")
        self.assertGreaterEqual(r["decoded"], 25, r)
        self.assertEqual((r["width"], r["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))


if __name__ == "__main__":
    xl.main()
