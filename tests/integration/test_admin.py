#!/usr/bin/env python3
"""Admin REST API (/api/v1/...) and Prometheus /metrics."""

import time

import xl

REQUIRED_METRICS = {
    # name: Prometheus type
    "xueliang_streams": "gauge",
    "xueliang_viewers": "gauge",
    "xueliang_bytes_out_total": "counter",
    "xueliang_bytes_in_total": "counter",
    "xueliang_viewer_drops_total": "counter",
    "xueliang_slow_disconnects_total": "counter",
}


class AdminTest(xl.ServerTestCase):

    def _wait_viewers(self, name, rtmp=0, flv=0, timeout=10.0):
        deadline = time.monotonic() + xl.scaled(timeout)
        s = None
        while time.monotonic() < deadline:
            s = self.server.streams().get(name)
            if s and s.get("viewers", {}).get("rtmp", 0) >= rtmp and s.get("viewers", {}).get("flv", 0) >= flv:
                return s
            time.sleep(0.2)
        self.fail(f"{name} never showed {rtmp} rtmp / {flv} flv viewers: {s}")

    def _assert_stream_object(self, s, name):
        self.assertEqual(s["name"], name)
        v, a = s["video"], s["audio"]
        self.assertEqual(v["codec"], "h264")
        self.assertEqual((v["width"], v["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertAlmostEqual(float(v["fps"]), xl.DEMO_FPS, delta=1.0)
        self.assertEqual(a["codec"], "aac")
        self.assertEqual(a["sample_rate"], xl.DEMO_SAMPLE_RATE)
        self.assertEqual(a["channels"], xl.DEMO_CHANNELS)
        self.assertEqual(s["publisher"]["protocol"], "rtmp")
        self.assertRegex(s["publisher"]["peer"], r"^127\.0\.0\.1:\d+$")
        self.assertGreater(float(s["uptime_s"]), 0.0)
        # The demo clip is ~650 kbit/s (video + audio); a generous band around it.
        self.assertTrue(200 <= float(s["bitrate_kbps"]) <= 3000, f"bitrate_kbps {s['bitrate_kbps']}")

    def test_list_streams(self):
        name = xl.unique("live/adm")
        self.publish(name)
        self.track(xl.null_viewer(self.server.rtmp_url(name)))
        reader = xl.HttpFlvReader(self.server, name)
        self.addCleanup(reader.close)
        loop = xl.ViewerLoop([reader]).start()
        self.addCleanup(loop.stop)
        time.sleep(xl.scaled(2.0))  # bitrate and fps need a moment of media
        s = self._wait_viewers(name, rtmp=1, flv=1)
        self._assert_stream_object(s, name)
        self.assertEqual((s["viewers"]["rtmp"], s["viewers"]["flv"]), (1, 1), s["viewers"])
        self.assertIn("live/demo", self.server.streams(), "the built-in demo stream is listed")

    def test_get_one_stream_and_404(self):
        name = xl.unique("live/one")
        self.publish(name)
        time.sleep(xl.scaled(2.0))
        doc = self.server.api(f"/streams/{name}")
        # The stream object itself; a {"stream": {...}} envelope is accepted too.
        s = doc.get("stream", doc)
        self._assert_stream_object(s, name)
        self.assertEqual((s["viewers"]["rtmp"], s["viewers"]["flv"]), (0, 0), s["viewers"])
        r = self.server.http(f"/api/v1/streams/live/{xl.unique('nosuch')}")
        self.assertEqual(r.status, 404)

    def test_delete_kicks_publisher(self):
        name = xl.unique("live/kick")
        pub = self.publish(name)
        viewer = self.track(xl.null_viewer(self.server.rtmp_url(name)))
        time.sleep(xl.scaled(1.0))
        r = self.server.http(f"/api/v1/streams/{name}", method="DELETE")
        self.assertIn(r.status, (200, 202, 204), f"DELETE -> {r.status} {r.body[:200]!r}")
        self.assertIsNotNone(pub.wait(xl.scaled(5.0)), "publisher still running 5 s after DELETE")
        self.assertIsNotNone(viewer.wait(xl.scaled(5.0)), "viewer still running 5 s after DELETE")
        deadline = time.monotonic() + xl.scaled(5.0)
        while name in self.server.streams() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertNotIn(name, self.server.streams())
        r = self.server.http(f"/api/v1/streams/live/{xl.unique('nosuch')}", method="DELETE")
        self.assertEqual(r.status, 404)

    def test_metrics(self):
        name = xl.unique("live/met")
        self.publish(name)
        self.track(xl.null_viewer(self.server.rtmp_url(name)))
        reader = xl.HttpFlvReader(self.server, name)
        self.addCleanup(reader.close)
        loop = xl.ViewerLoop([reader]).start()
        self.addCleanup(loop.stop)
        self._wait_viewers(name, rtmp=1, flv=1)

        m1 = self.server.metrics()
        self.assertTrue(m1.content_type.startswith("text/plain"), m1.content_type)
        self.assertEqual(m1.bad_lines, [], "lines that are not Prometheus text format")
        for metric, mtype in REQUIRED_METRICS.items():
            self.assertTrue(m1.has(metric), f"/metrics has no {metric}\n{m1.text[:2000]}")
            self.assertEqual(m1.types.get(metric), mtype, f"# TYPE {metric} {mtype}")
        self.assertGreaterEqual(m1.get("xueliang_streams"), 2, "live/demo and the test stream")
        self.assertGreaterEqual(m1.get("xueliang_viewers", protocol="rtmp"), 1)
        self.assertGreaterEqual(m1.get("xueliang_viewers", protocol="flv"), 1)

        time.sleep(xl.scaled(1.5))
        m2 = self.server.metrics()
        self.assertGreater(m2.get("xueliang_bytes_in_total"), m1.get("xueliang_bytes_in_total"))
        self.assertGreater(m2.get("xueliang_bytes_out_total"), m1.get("xueliang_bytes_out_total"))
        # Two viewers of a ~650 kbit/s stream for 1.5 s: at least ~100 kB more out.
        self.assertGreater(m2.get("xueliang_bytes_out_total") - m1.get("xueliang_bytes_out_total"), 100_000)
        for metric in ("xueliang_viewer_drops_total", "xueliang_slow_disconnects_total"):
            self.assertGreaterEqual(m2.get(metric), m1.get(metric), f"{metric} is a counter")


if __name__ == "__main__":
    xl.main()
