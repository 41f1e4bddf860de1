#!/usr/bin/env python3
"""HTTP-FLV play (`http://HOST:PORT/{app}/{stream}.flv`) of an RTMP-published stream."""

import http.client
import time

import xl


class HttpFlvTest(xl.ServerTestCase):

    def test_probe_codecs_and_resolution(self):
        name = xl.unique("live/flvprobe")
        self.publish(name)
        s = xl.probe(self.server.flv_url(name))
        self.assertEqual(s["video"]["codec_name"], "h264")
        self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertEqual(s["audio"]["codec_name"], "aac")
        self.assertEqual(int(s["audio"]["sample_rate"]), xl.DEMO_SAMPLE_RATE)
        self.assertEqual(int(s["audio"]["channels"]), xl.DEMO_CHANNELS)

    def test_frame_rate_and_monotonic_dts(self):
        name = xl.unique("live/flvrate")
        self.publish(name)
        seconds = 5.0
        log = xl.play(self.server.flv_url(name), seconds)
        video = log.video()
        self.assertTrue(video, f"no video packets\n{log.proc.describe()}")
        self.assertTrue(video[0].key, "a new viewer must start on a keyframe")
        n = log.count("video", video[0].t, video[0].t + seconds)
        expected = xl.DEMO_FPS * seconds
        self.assertGreaterEqual(n, 0.85 * expected, f"only {n} video frames in {seconds}s")
        self.assertLessEqual(n, expected + 2 * xl.DEMO_FPS + 10)
        self.assertAlmostEqual(xl.steady_fps(log, 3.0), xl.DEMO_FPS, delta=4.0)
        self.assertEqual(log.dts_problems(), [])

    def test_raw_response_headers_and_flv_start(self):
        name = xl.unique("live/flvraw")
        self.publish(name)
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=10)
        try:
            conn.request("GET", f"/{name}.flv", headers={"Origin": "http://example.test"})
            r = conn.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.getheader("Content-Type", "").split(";")[0].strip(), "video/x-flv")
            self.assertIn("chunked", (r.getheader("Transfer-Encoding") or "").lower(),
                          "the live body is sent with chunked transfer coding")
            self.assertIsNone(r.getheader("Content-Length"), "a live stream has no length")
            self.assertEqual(r.getheader("Access-Control-Allow-Origin"), "*")
            parser = xl.FlvParser(keep=64)
            deadline = time.monotonic() + xl.scaled(10)
            while (parser.video_frames < 30 or parser.audio_frames < 10) and time.monotonic() < deadline:
                data = r.read1(65536)  # http.client undoes the chunking
                if not data:
                    break
                parser.feed(data)
        finally:
            conn.close()
        self.assertEqual(parser.errors, [])
        self.assertIsNotNone(parser.header, "no FLV header")
        self.assertEqual(parser.header[:4], b"FLV\x01")
        self.assertEqual(parser.header[4] & 0x05, 0x05, "FLV header must announce audio and video")
        tags = parser.tags
        self.assertGreaterEqual(len(tags), 4)
        # 1. onMetaData script tag
        self.assertEqual(tags[0].type, xl.FLV_SCRIPT, f"first tag must be script data: {tags[0]}")
        self.assertIn(b"onMetaData", tags[0].head)
        # 2. both sequence headers before any coded frame, in either order
        def kind(t):
            if t.type == xl.FLV_VIDEO and t.head[:2] == b"\x17\x00":
                return "avc-seq-header"
            if t.type == xl.FLV_AUDIO and t.head[0] >> 4 == 10 and t.head[1] == 0:
                return "aac-seq-header"
            return f"type {t.type} {t.head[:2].hex()}"
        self.assertEqual(sorted(kind(t) for t in tags[1:3]), ["aac-seq-header", "avc-seq-header"],
                         "tags 2-3 must be the AVC and AAC sequence headers")
        # 3. first coded video frame is a keyframe
        first_video = next(t for t in tags[3:] if t.type == xl.FLV_VIDEO)
        self.assertEqual(first_video.head[:2], b"\x17\x01", "first video frame must be a keyframe")
        self.assertTrue(parser.first_frame_is_key)
        self.assertEqual(parser.ts_regressions, 0, "FLV timestamps went backwards")

    def test_unknown_stream_is_404(self):
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=5)
        try:
            conn.request("GET", f"/live/{xl.unique('nosuch')}.flv")
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 404)
        finally:
            conn.close()

    def test_publisher_disconnect_ends_response(self):
        name = xl.unique("live/flvbye")
        pub = self.publish(name)
        reader = xl.HttpFlvReader(self.server, name)
        reader.read_for(xl.scaled(3.0))
        self.assertEqual(reader.status, 200)
        self.assertGreater(reader.flv.video_frames, 20)
        pub.kill()
        t0 = time.monotonic()
        reader.read_for(xl.scaled(6.0), until=lambda r: r.closed or r._cdone)
        self.assertTrue(reader.closed or reader._cdone,
                        "HTTP-FLV response still open 6 s after the publisher was killed")
        self.assertLess(time.monotonic() - t0, xl.scaled(5.5))
        self.assertEqual(reader.flv.errors, [], "FLV framing broken at the end of the stream")
        reader.close()
        self.assertServerAlive()

    def test_builtin_demo_stream_plays(self):
        s = xl.probe(self.server.flv_url("live/demo"))
        self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertEqual(s["audio"]["codec_name"], "aac")


if __name__ == "__main__":
    xl.main()
