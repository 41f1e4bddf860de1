"""xl-load against the real xueliang binary and its demo stream: 50 RTMP and 50 HTTP-FLV viewers
must all connect, none fail, and every viewer must receive media and keyframes (the JSON summary
is read back). Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator)."""

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
        load = os.environ.get("XL_LOAD_BIN", "")
        self.assertTrue(Path(load).is_file(), f"xl-load not found at {load!r}")
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
