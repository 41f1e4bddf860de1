"""xl-load against the real xueliang binary and its demo stream: 50 RTMP and 50 HTTP-FLV viewers,
HLS players, WHEP viewers (ICE, DTLS, SRTP with AES-GCM and AES-CM/HMAC-SHA1) and RTSP players over
UDP must all connect, none fail, and every viewer must receive media and keyframes (the JSON
summary is read back); writev-floor --read must read the HTTP-FLV stream with 20 bare viewers.
Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator), WRITEV_FLOOR_BIN."""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import xl  # noqa: E402


class XlLoadSmoke(unittest.TestCase):
    def test_rtmp_and_flv_viewers_of_the_demo(self):
        load = xl.require_xl_load()
        with xl.Server(workers=1) as srv:
            srv.wait_stream("live/demo")
            out = Path(tempfile.mkdtemp(prefix="xl-load-smoke-")) / "summary.json"
            r = subprocess.run([load, "-u", srv.rtmp_url("live/demo"), "-u", srv.flv_url("live/demo"),
                                "-n", "100", "--ramp", "500", "-d", "6", "-q", "--json", str(out)],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = json.loads(out.read_text())
            self.assertEqual(s["attempted"], 100)
            self.assertEqual(s["failed"], 0, s["fail_reasons"])
            self.assertEqual(s["disconnected"], 0, s["fail_reasons"])
            self.assertEqual(s["connected"], 100)
            self.assertEqual(s["connected_at_end"], 100)
            # Every viewer saw media and a keyframe (the GOP cache starts each on one).
            self.assertEqual(s["ttfb_ms"]["count"], 100)
            self.assertEqual(s["ttfk_ms"]["count"], 100)
            self.assertGreaterEqual(s["keyframes"], 100)
            # The demo is ~0.6 Mbit/s: 100 viewers for ~6 s get well over 10 MB between them.
            self.assertGreater(s["bytes"], 10_000_000)
            self.assertEqual(s["config"]["viewers"], 100)

            # HLS: 10 players polling (blocking reload) and fetching segments.
            hls = out.with_name("hls.json")
            r = subprocess.run([load, "-u", srv.http_url("/live/demo/index.m3u8"), "-n", "10",
                                "-d", "5", "-q", "--json", str(hls)],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            h = json.loads(hls.read_text())
            self.assertEqual(h["failed"] + h["disconnected"], 0, h["fail_reasons"])
            self.assertEqual(h["ttfk_ms"]["count"], 10, "every HLS player found a keyframe")
            self.assertGreater(h["bytes"], 10 * 100_000)

    def test_writev_floor_reads_a_server(self):
        # writev-floor --read: the floor's drain as bare HTTP-FLV viewers (compare.py
        # --flv-reader floor), with the summary names compare.py reads from xl-load's.
        floor = os.environ.get("WRITEV_FLOOR_BIN", "")
        if not floor:
            self.fail("WRITEV_FLOOR_BIN is not set (ctest sets it)")
        out = Path(tempfile.mkdtemp(prefix="xl-floor-read-"))
        with xl.Server(workers=1) as srv:
            srv.wait_stream("live/demo")
            r = subprocess.run([floor, "-n", "20", "--read", str(srv.http_port), "--path",
                                "/live/demo.flv", "--ramp", "100", "--warmup", "0", "-d", "4",
                                "--json", str(out / "r.json"), "--jsonl", str(out / "r.jsonl")],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = json.loads((out / "r.json").read_text())
            self.assertEqual(s["connected_at_end"], 20)
            self.assertEqual(s["disconnected"], 0)
            # The demo (~0.6 Mbit/s) from its cached GOP on, 20 viewers for 2-4 s: far more than
            # the 404 pages a wrong path would give.
            self.assertGreater(s["bytes"], 20 * 100_000)
            lines = [json.loads(l) for l in (out / "r.jsonl").read_text().splitlines()]
            self.assertGreaterEqual(len(lines), 3)
            self.assertEqual([x["bytes"] for x in lines], sorted(x["bytes"] for x in lines))
            self.assertLessEqual(lines[-1]["bytes"], s["bytes"])

    def run_load(self, out: Path, *args: str) -> dict:
        r = subprocess.run([os.environ.get("XL_LOAD_BIN", ""), *args, "-q", "--json", str(out)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(out.read_text())

    def assert_all_played(self, s: dict, n: int):
        self.assertEqual(s["attempted"], n)
        self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
        self.assertEqual(s["connected_at_end"], n)
        self.assertEqual(s["ttfb_ms"]["count"], n, "every viewer received media")
        self.assertEqual(s["ttfk_ms"]["count"], n, "every viewer found a keyframe")

    def test_whep_rtsp_udp_and_llhls_viewers(self):
        load = xl.require_xl_load()
        out = Path(tempfile.mkdtemp(prefix="xl-load-smoke-"))
        with xl.Server(workers=1, webrtc_udp_port=xl.free_udp_ports(1)[0]) as srv:
            srv.wait_stream("live/demo")
            whep = srv.http_url("/live/demo/whep")
            # WHEP with both SRTP profiles offered: the server picks AEAD_AES_128_GCM.
            s = self.run_load(out / "whep.json", "-u", whep, "-n", "10", "-d", "4")
            self.assert_all_played(s, 10)
            self.assertEqual(s["srtp_errors"], 0)
            # 25 fps: over a second of video each (about 3.5 s when the machine is not loaded).
            self.assertGreater(s["video_frames"], 10 * 30)
            self.assertGreater(s["rtp_packets"], s["video_frames"])
            self.assertGreater(s["bytes"], 10 * 150_000)
            self.assertTrue(srv.wait_log("(AEAD_AES_128_GCM), playing live/demo"))
            self.assertNotIn("AES_CM_128_HMAC_SHA1_80", srv.log_text())
            # Only AES-CM/HMAC-SHA1 offered: the server must fall back to it.
            s = self.run_load(out / "whep_cm.json", "-u", whep, "-n", "3", "-d", "3", "--srtp", "cm")
            self.assert_all_played(s, 3)
            self.assertEqual(s["srtp_errors"], 0)
            self.assertTrue(srv.wait_log("(AES_CM_128_HMAC_SHA1_80), playing live/demo"))
            self.assertEqual(s["config"]["srtp"], "cm")

            # RTSP over TCP (interleaved) and with RTP over UDP (SETUP client_port).
            s = self.run_load(out / "rtsp_tcp.json", "-u", srv.rtsp_url("live/demo"), "-n", "5",
                              "-d", "3")
            self.assert_all_played(s, 5)
            self.assertGreater(s["bytes"], 5 * 100_000)
            s = self.run_load(out / "rtsp_udp.json", "-u", srv.rtsp_url("live/demo"), "-n", "10",
                              "-d", "4", "--rtsp-transport", "udp")
            self.assert_all_played(s, 10)
            self.assertGreater(s["video_frames"], 10 * 30)
            self.assertGreater(s["bytes"], 10 * 150_000)
            self.assertTrue(srv.wait_log("playing live/demo over UDP"))

            # LL-HLS: partial segments with blocking reload (_HLS_msn/_HLS_part), part latency.
            s = self.run_load(out / "llhls.json", "-u", srv.http_url("/live/demo/index.m3u8"),
                              "-n", "5", "-d", "5", "--ll-hls")
            self.assert_all_played(s, 5)
            # Parts are ~1/3 s: each player fetches several per second, not one 2 s segment.
            self.assertGreater(s["media_messages"], 5 * 6)
            self.assertGreater(s["part_ms"]["count"], 5 * 3, "parts announced by blocking reloads")
            self.assertLess(s["part_ms"]["p50"], 2000, "a part arrives soon after its media ends")

    def test_merge_write_mode_config(self):
        """[limits] write_mode = "merge" is accepted, and a merge window that is not below half
        the high watermark is refused with the key's line."""
        binary = xl.require_binary()
        tmp = Path(tempfile.mkdtemp(prefix="xl-load-merge-"))
        base = xl.render_config(rtmp_port=1, http_port=2)
        good, _ = xl.insert_after(base, "[limits]", 'write_mode = "merge"')
        bad, line = xl.insert_after(good, "[limits]", "merge_window_ms = 1000")
        (tmp / "good.toml").write_text(good)
        (tmp / "bad.toml").write_text(bad)
        r = subprocess.run([str(binary), "--check", "-c", str(tmp / "good.toml")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = subprocess.run([str(binary), "--check", "-c", str(tmp / "bad.toml")],
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("merge_window_ms", r.stdout + r.stderr)
        self.assertIn(f":{line}", r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
