#!/usr/bin/env python3
"""H.265 ingest over WHIP (RFC 9725, RFC 7798) from a publisher that is not ours: GStreamer's
webrtcbin (whip_gst_client.py) encodes a live pattern with x265enc and Opus, offers H265/90000
only, and publishes. The stream must show in /api/v1/streams as H.265, and independent readers
must decode it: ffprobe over RTSP (interleaved TCP) and HLS, GStreamer's webrtcbin over WHEP
(whep_gst_client.py); HTTP-FLV must carry it as Enhanced RTMP hvc1. The encoder's own keyframe
interval is far longer than the test, so every keyframe after its first is one the server asked
for with PLI/FIR (the first is made before the connection is up and never arrives). At the SDP
level, from webrtcbin's own offers: H.264 and H.265 offered gives H.264 (every WHEP viewer
decodes it), VP8 alone gets a 406 that says why."""

import json
import subprocess
import urllib.request
from pathlib import Path

import xl
from test_whep_h265 import webrtc_python

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "whip_gst_client.py"
VIEWER = HERE / "whep_gst_client.py"
PUBLISH_SECONDS = 18


def encoders_present(python: str) -> bool:
    probe = ("import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; "
             "Gst.init(None); assert all(Gst.ElementFactory.find(e) for e in ('x265enc', "
             "'rtph265pay', 'x264enc', 'opusenc', 'rtpopuspay', 'videotestsrc'))")
    return subprocess.run([python, "-c", probe], capture_output=True, env=xl.client_env(),
                          stdin=subprocess.DEVNULL).returncode == 0


class WhipH265Test(xl.ServerTestCase):
    SERVER_CONFIG = {"webrtc_udp_port": xl.free_udp_ports(1)[0]}

    @classmethod
    def setUpClass(cls):
        cls.python = webrtc_python()
        if cls.python is None or not encoders_present(cls.python):
            raise AssertionError("no python3 with GStreamer webrtcbin, libnice, x265enc, x264enc "
                                 "and opusenc: run scripts/install-deps.sh")
        super().setUpClass()

    def client(self, name: str, *args: str) -> list[str]:
        return [self.python, str(CLIENT), self.server.http_url(f"/{name}/whip"),
                "--local-ip", xl.HOST, *args]

    def offer(self, name: str, codecs: str) -> dict:
        """webrtcbin's sendonly offer of `codecs`, POSTed: the client's JSON report."""
        p = subprocess.run(self.client(name, "--offer-only", codecs, "--seconds", "10"),
                           capture_output=True, timeout=xl.scaled(30), env=xl.client_env(),
                           stdin=subprocess.DEVNULL)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-2000:])
        return json.loads(p.stdout.decode().strip().splitlines()[-1])

    def test_h265_publisher_is_read_back_over_rtsp_hls_flv_and_whep(self):
        name = "live/whip265"
        pub = self.track(xl.Proc(self.client(name, "--video", "H265", "--audio", "--seconds",
                                             str(xl.scaled(PUBLISH_SECONDS))), name="whip-h265"))
        self.server.wait_stream(name, timeout=15, publisher=pub)
        info = self.server.streams()[name]
        self.assertEqual(info["publisher"]["protocol"], "webrtc", info)
        self.assertEqual(info["video"]["codec"], "h265", info)
        self.assertEqual((info["video"]["width"], info["video"]["height"]), (640, 360), info)

        # RTSP over TCP: ffprobe decodes every frame of 3 s (hevc needs the server's hvcC, built
        # from the in-band VPS/SPS/PPS, in its SDP).
        r = subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-count_frames",
             "-read_intervals", "%+3", "-show_entries",
             "stream=codec_type,codec_name,width,height,nb_read_frames", "-of", "json",
             self.server.rtsp_url(name)],
            capture_output=True, timeout=xl.scaled(30), env=xl.client_env(),
            stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-1000:])
        streams = {s["codec_type"]: s for s in json.loads(r.stdout)["streams"]}
        video = streams["video"]
        xl.note(f"RTSP read-back: {video.get('nb_read_frames')} hevc frames decoded in 3 s, "
                f"audio {streams.get('audio', {}).get('codec_name')}")
        self.assertEqual(video["codec_name"], "hevc")
        self.assertEqual((video["width"], video["height"]), (640, 360))
        self.assertGreaterEqual(int(video["nb_read_frames"]), 25)  # 75 at 25 fps; a noisy box
        # The browser's Opus reaches RTSP as the AAC it is transcoded to at ingest.
        self.assertEqual(streams["audio"]["codec_name"], "aac")

        # HLS (MPEG-TS segments cut at the requested keyframes) decodes as well.
        r = subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-read_intervals", "%+2", "-select_streams",
             "v:0", "-show_entries", "stream=codec_name,nb_read_frames", "-of", "json",
             self.server.http_url(f"/{name}/index.m3u8")],
            capture_output=True, timeout=xl.scaled(30), env=xl.client_env(),
            stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-1000:])
        hls = json.loads(r.stdout)["streams"][0]
        self.assertEqual(hls["codec_name"], "hevc")
        self.assertGreater(int(hls["nb_read_frames"]), 0)
        # HTTP-FLV: Enhanced RTMP video tags (FourCC hvc1). Debian's ffmpeg 5.1 cannot read them,
        # so the bytes are looked at.
        with urllib.request.urlopen(self.server.http_url(f"/{name}.flv"), timeout=10) as f:
            head = f.read(16384)
        self.assertTrue(head.startswith(b"FLV"), head[:16])
        self.assertIn(b"hvc1", head)

        # Back out over WebRTC: webrtcbin offers H.265 to WHEP and decodes what it gets.
        v = subprocess.run(
            [self.python, str(VIEWER), self.server.http_url(f"/{name}/whep"), "--codecs",
             "H265", "--frames", "25", "--local-ip", xl.HOST, "--seconds", str(xl.scaled(10))],
            capture_output=True, timeout=xl.scaled(30), env=xl.client_env(),
            stdin=subprocess.DEVNULL)
        self.assertEqual(v.returncode, 0, v.stderr.decode(errors="replace")[-2000:])
        view = json.loads(v.stdout.decode().strip().splitlines()[-1])
        self.assertEqual(view["status"], 201, view["answer"])
        self.assertEqual(view["error"], "", view)
        self.assertEqual(view["encoding"], "H265")
        self.assertGreaterEqual(view["decoded"], 25, view)
        self.assertEqual((view["width"], view["height"]), (640, 360))

        self.assertIsNotNone(pub.wait(xl.scaled(PUBLISH_SECONDS + 15)), "the publisher hung")
        self.assertEqual(pub.returncode, 0, pub.describe())
        rep = json.loads(pub.output().strip().splitlines()[-1])
        xl.note(f"WHIP H.265 publisher: {rep['frames']} frames encoded, {rep['keyframes']} "
                f"keyframes, {rep['keyframe_requests']} keyframe requests from the server")
        self.assertEqual(rep["status"], 201, rep["answer"])
        self.assertEqual(rep["error"], "", rep)
        self.assertTrue(rep["connected"], rep)
        self.assertIn("a=rtpmap:96 H265/90000\r\n", rep["answer"])
        self.assertIn("a=rtpmap:111 opus/48000/2\r\n", rep["answer"])
        for fb in ("nack", "nack pli", "ccm fir"):
            self.assertIn(f"a=rtcp-fb:96 {fb}\r\n", rep["answer"])
        # Keyframe requests reached the encoder (at start, then by the keyframe interval and
        # for the viewers), and each brought an IRAP picture: the encoder makes no other.
        self.assertGreaterEqual(rep["keyframe_requests"], 2, rep)
        self.assertGreaterEqual(rep["keyframes"], 3, rep)
        self.assertLessEqual(rep["keyframes"], rep["keyframe_requests"] + 1, rep)
        self.assertEqual(rep["delete_status"], 200, rep)
        self.assertTrue(xl.wait_until(lambda: name not in self.server.streams(), 5),
                        "the stream outlived the DELETE")

    def test_h264_is_kept_when_both_are_offered(self):
        for codecs in ("H264,H265", "H265,H264"):
            with self.subTest(codecs=codecs):
                r = self.offer("live/both", codecs)
                self.assertEqual(r["status"], 201, r["answer"])
                self.assertIn("H265/90000", r["offer"])
                h264 = 96 + codecs.split(",").index("H264")
                self.assertIn(f"m=video 9 UDP/TLS/RTP/SAVPF {h264}\r\n", r["answer"])
                self.assertIn(f"a=rtpmap:{h264} H264/90000\r\n", r["answer"])
                self.assertIn("a=recvonly\r\n", r["answer"])
                self.assertNotIn("H265", r["answer"])
                self.assertEqual(r["delete_status"], 200, r)
        # H.265 alone is answered with its fmtp (Chrome's, as whep_gst_client.py offers it).
        r = self.offer("live/only265", "H265")
        self.assertEqual(r["status"], 201, r["answer"])
        self.assertIn("a=rtpmap:96 H265/90000\r\n", r["answer"])
        self.assertIn("a=fmtp:96 profile-id=1;tier-flag=0;level-id=180;tx-mode=SRST\r\n",
                      r["answer"])
        self.assertEqual(r["delete_status"], 200, r)

    def test_vp8_only_offer_is_refused(self):
        r = self.offer("live/vp8", "VP8")
        self.assertIn("VP8/90000", r["offer"])
        self.assertEqual(r["status"], 406, r)
        self.assertEqual(r["content_type"], "text/plain", r)
        for words in ("H.264", "H.265", "VP8"):
            self.assertIn(words, r["answer"])
        self.assertEqual(r["location"], "")
        self.assertNotIn("live/vp8", self.server.streams())
        self.assertServerAlive()


if __name__ == "__main__":
    xl.main()
