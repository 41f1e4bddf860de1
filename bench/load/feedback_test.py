"""WebRTC feedback end to end: the real xueliang binary and xl-load's WHEP viewers, which speak RTCP
as browsers do (SRTCP receiver reports every second) and send PLIs and REMB estimates on demand
(a browser cannot be made to). The stream is a looping test clip with a known GOP, so that a
keyframe that arrives right after a PLI can only be the server's restart on its cached keyframe.
Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator)."""

import json
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import xl  # noqa: E402

FPS = 25


class WebrtcFeedback(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.load = xl.require_xl_load()
        cls.tmp = Path(tempfile.mkdtemp(prefix="xl-feedback-"))
        # 8 s GOPs for the PLI tests, 1 s GOPs for the REMB test (many decisions in a short run).
        long_gop = xl.make_clip(cls.tmp / "gop8s.mp4", width=320, height=240, fps=FPS, seconds=8,
                                gop=8 * FPS)
        short_gop = xl.make_clip(cls.tmp / "gop1s.mp4", width=320, height=240, fps=FPS, seconds=8,
                                 gop=FPS)
        cls.server = xl.Server(workers=2, webrtc_udp_port=xl.free_udp_ports(1)[0],
                               sources=[("live/gop8", long_gop), ("live/gop1", short_gop)])
        cls.server.start()
        cls.server.wait_stream("live/gop8")
        cls.server.wait_stream("live/gop1")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def start_load(self, name: str, out: Path, *args: str) -> subprocess.Popen:
        return subprocess.Popen([self.load, "-u", self.server.http_url(f"/{name}/whep"), *args,
                                 "-q", "--json", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish_load(self, p: subprocess.Popen, out: Path) -> dict:
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        s = json.loads(out.read_text())
        self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
        self.assertEqual(s["srtp_errors"], 0)
        return s

    def webrtc_sessions(self) -> list:
        return [s for s in self.server.api("/sessions")["sessions"]
                if s["protocol"] == "webrtc"]

    def counter(self, name: str) -> float:
        v = self.server.metrics().get(name)
        self.assertIsNotNone(v, f"{name} missing from /metrics")
        return v

    def test_pli_restarts_on_the_cached_keyframe(self):
        out = self.tmp / "pli.json"
        restarts0 = self.counter("xueliang_webrtc_keyframe_restarts_total")
        # One PLI each, 2.5 s after keying: the GOP is 8 s, so a keyframe within half a second
        # is the server's restart (which its counter confirms), not the stream's next one.
        p = self.start_load("live/gop8", out, "-n", "2", "-d", "6", "--whep-pli-after", "2500")
        # While it plays: the receiver reports show in the viewer's session.
        time.sleep(xl.scaled(4.5))
        sessions = self.webrtc_sessions()
        self.assertEqual(len(sessions), 2, sessions)
        for sess in sessions:
            self.assertGreaterEqual(sess.get("receiver_reports", 0), 2, sess)
            self.assertIn("video_jitter_ms", sess)
            self.assertIn("video_loss_fraction", sess)
            self.assertEqual(sess["video_lost"], 0, "loopback loses nothing")
            self.assertIn("video_rtt_ms", sess, "reports echo our sender reports (LSR/DLSR)")
            self.assertGreaterEqual(sess["video_rtt_ms"], 0)
            self.assertLess(sess["video_rtt_ms"], 1000)
            self.assertEqual(sess["keyframe_requests"], 1, sess)
            self.assertEqual(sess["keyframe_restarts"], 1, sess)
        s = self.finish_load(p, out)
        self.assertEqual(len(s["whep_viewers"]), 2)
        for v in s["whep_viewers"]:
            self.assertEqual(v["plis"], 1, v)
            self.assertEqual(len(v["pli_to_keyframe_ms"]), 1, v)
            self.assertLess(v["pli_to_keyframe_ms"][0], 500, v)
        self.assertEqual(self.counter("xueliang_webrtc_keyframe_restarts_total") - restarts0, 2)
        self.assertGreaterEqual(s["rtcp_reports"], 2 * 4)
        self.assertGreater(self.counter("xueliang_webrtc_receiver_reports_total"), 0)

        # xl-load DELETEd its resources: the sessions are gone at once, not after consent.
        self.assertEqual(s["whep_deleted"], 2)
        self.assertEqual(s["whep_delete_failed"], 0)
        self.assertEqual(self.webrtc_sessions(), [])
        self.assertTrue(self.server.wait_log("closed (DELETE by the client)"))

    def test_pli_storm_restarts_at_most_once_a_second(self):
        out = self.tmp / "pli_storm.json"
        requests0 = self.counter("xueliang_webrtc_keyframe_requests_total")
        restarts0 = self.counter("xueliang_webrtc_keyframe_restarts_total")
        # A PLI every 100 ms from 1.5 s on: ~40 in 4 s.
        p = self.start_load("live/gop8", out, "-n", "2", "-d", "5.5", "--whep-pli-after", "1500",
                            "--whep-pli-interval", "100")
        s = self.finish_load(p, out)
        for v in s["whep_viewers"]:
            self.assertGreaterEqual(v["plis"], 25, v)
            # The join's keyframe, about one restart a second, perhaps the stream's own one.
            self.assertGreaterEqual(v["keyframes"], 1 + 3, v)
            self.assertLessEqual(v["keyframes"], 1 + 5 + 1, v)
            # Every restart answers a PLI at once (a PLI left unanswered waits < 1 s).
            self.assertLess(max(v["pli_to_keyframe_ms"]), 1200, v)
        requests = self.counter("xueliang_webrtc_keyframe_requests_total") - requests0
        restarts = self.counter("xueliang_webrtc_keyframe_restarts_total") - restarts0
        self.assertGreaterEqual(requests, s["plis_sent"] - 4)  # the last may not have arrived
        self.assertGreaterEqual(restarts, 2 * 3)
        self.assertLessEqual(restarts, 2 * 5)

    def test_low_remb_sends_keyframes_only_until_it_rises(self):
        out = self.tmp / "remb.json"
        skipped0 = self.counter("xueliang_webrtc_congestion_skipped_frames_total")
        # 10 kbit/s for 9 s (the stream is well above), then 100 Mbit/s.
        p = self.start_load("live/gop1", out, "-n", "1", "-d", "15", "--whep-remb", "10000",
                            "--whep-remb-for", "9000")
        time.sleep(xl.scaled(7))
        sessions = self.webrtc_sessions()
        self.assertEqual(len(sessions), 1, sessions)
        self.assertEqual(sessions[0]["remb_bps"], 10000)
        self.assertGreater(sessions[0]["congestion_skipped_frames"], 0, sessions[0])
        s = self.finish_load(p, out)
        self.assertGreater(s["rembs_sent"], 10)
        gops = s["whep_viewers"][0]["gops"]  # [ms since keyed, frames]
        # An estimate counts after a 3 s settling time. While it is low, GOPs go keyframe only,
        # each followed by one sent whole (the receiver measures what arrives: a probe lets a
        # real browser's estimate climb back).
        low = [f for t, f in gops if 3500 <= t < 8500]
        self.assertGreaterEqual(low.count(1), 2, gops)
        self.assertTrue(all(f == 1 or f >= FPS - 2 for f in low), gops)
        # From the first keyframe after the REMB rose, every GOP is whole again.
        high = [f for t, f in gops if t >= 10500]
        self.assertGreaterEqual(len(high), 2, gops)
        self.assertTrue(all(f >= FPS - 2 for f in high), gops)
        self.assertGreater(self.counter("xueliang_webrtc_congestion_skipped_frames_total"),
                           skipped0 + 2 * (FPS - 2))
        self.assertTrue(self.server.wait_log("frames skipped for the link's estimate"))


if __name__ == "__main__":
    unittest.main()
