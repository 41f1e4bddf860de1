#!/usr/bin/env python3
"""HLS (`http://HOST:PORT/{app}/{stream}/index.m3u8`, RFC 8216) with MPEG-TS segments, served
from memory: playlist shape, segment bytes, HTTP semantics, ffprobe/ffmpeg as players, the first
request waiting for the first segment, discontinuities when a source comes back, 404s, access."""

import http.client
import re
import time

import xl

HLS_TOML = """
[hls]
segment_duration_ms = 2000
window = 6
idle_timeout_ms = 30000

[plugins]
order = ["access_list"]

[plugins.access_list]
play_deny_streams = ["secret/*"]
"""


def parse_playlist(text: str) -> dict:
    """The tags and segments of a media playlist."""
    lines = text.strip("\n").split("\n")
    out = {"lines": lines, "segments": [], "tags": {}}
    pending = {}
    for line in lines[1:]:
        if line.startswith("#EXTINF:"):
            pending["duration"] = float(line[len("#EXTINF:"):].split(",")[0])
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pending["pdt"] = line.split(":", 1)[1]
        elif line == "#EXT-X-DISCONTINUITY":
            pending["discontinuity"] = True
        elif line.startswith("#"):
            k, _, v = line[1:].partition(":")
            out["tags"][k] = v
        elif line:
            # Media URIs carry the viewer's session id (?hls_session=...).
            pending["uri"], _, pending["query"] = line.partition("?")
            out["segments"].append(pending)
            pending = {}
    return out


class HlsTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": HLS_TOML}

    def hls_url(self, name: str, query: str = "") -> str:
        return self.server.http_url(f"/{name}/index.m3u8" + (f"?{query}" if query else ""))

    def get(self, path: str, method: str = "GET", headers: dict | None = None, timeout: float = 15.0):
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=xl.scaled(timeout))
        try:
            conn.request(method, path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def playlist(self, name: str, min_segments: int = 1, timeout: float = 15.0) -> dict:
        deadline = time.monotonic() + xl.scaled(timeout)
        while True:
            status, headers, body = self.get(f"/{name}/index.m3u8")
            self.assertEqual(status, 200, body)
            p = parse_playlist(body.decode())
            p["headers"] = headers
            if len(p["segments"]) >= min_segments or time.monotonic() > deadline:
                return p
            time.sleep(0.5)

    def test_playlist_shape(self):
        p = self.playlist("live/demo", min_segments=3)
        h = p["headers"]
        self.assertEqual(h["content-type"], "application/vnd.apple.mpegurl")
        self.assertEqual(h["cache-control"], "no-cache", "live playlists must not be cached")
        self.assertEqual(p["lines"][0], "#EXTM3U")
        self.assertEqual(p["tags"]["EXT-X-TARGETDURATION"], "2")
        self.assertIn("EXT-X-VERSION", p["tags"])
        self.assertIn("EXT-X-DISCONTINUITY-SEQUENCE", p["tags"])
        self.assertNotIn("EXT-X-ENDLIST", p["tags"])
        segs = p["segments"]
        self.assertGreaterEqual(len(segs), 3)
        self.assertLessEqual(len(segs), 6, "window of 6")
        first = int(p["tags"]["EXT-X-MEDIA-SEQUENCE"])
        for i, s in enumerate(segs):
            self.assertEqual(s["uri"], f"seg{first + i}.ts")
            self.assertRegex(s["query"], r"^hls_session=[\w-]+$")
            self.assertRegex(s["pdt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertLessEqual(round(s["duration"]), 2, "EXTINF rounds to <= TARGETDURATION")
            self.assertAlmostEqual(s["duration"], 2.0, delta=0.25, msg="demo GOP is 2 s")
        xl.note(f"live/demo playlist: {len(segs)} segments from {first}")

    def test_segment_bytes_and_http(self):
        p = self.playlist("live/demo", min_segments=2)
        uri = f"/live/demo/{p['segments'][-1]['uri']}"
        status, h, body = self.get(uri, headers={"Origin": "http://example.test"})
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "video/mp2t")
        self.assertRegex(h["cache-control"], r"max-age=\d+")
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertEqual(int(h["content-length"]), len(body))
        self.assertEqual(len(body) % 188, 0)
        self.assertTrue(all(body[i] == 0x47 for i in range(0, len(body), 188)), "TS sync bytes")
        self.assertEqual(body[1] & 0x1F, 0, "first packet is the PAT")
        # HEAD: same head, no body.
        status, hh, hbody = self.get(uri, method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(hh["content-length"], h["content-length"])
        self.assertEqual(hbody, b"")
        # Range: a single byte range of the same immutable bytes.
        status, rh, part = self.get(uri, headers={"Range": "bytes=188-375"})
        self.assertEqual(status, 206)
        self.assertEqual(part, body[188:376])
        self.assertEqual(rh["content-range"], f"bytes 188-375/{len(body)}")
        status, _, _ = self.get(uri, headers={"Range": f"bytes={len(body) + 10}-"})
        self.assertEqual(status, 416)
        # Keep-alive: playlist and segments on one connection.
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=10)
        try:
            for path in ("/live/demo/index.m3u8", uri, "/live/demo/index.m3u8", uri):
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertFalse(r.will_close)
        finally:
            conn.close()

    def test_ffprobe_reads_rtmp_published_stream(self):
        name = xl.unique("live/hlsprobe")
        self.publish(name)
        s = xl.probe(self.hls_url(name), timeout=30)
        self.assertEqual(s["video"]["codec_name"], "h264")
        self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertEqual(s["audio"]["codec_name"], "aac")
        self.assertEqual(int(s["audio"]["sample_rate"]), xl.DEMO_SAMPLE_RATE)
        self.assertEqual(int(s["audio"]["channels"]), xl.DEMO_CHANNELS)

    def check_frames(self, name: str):
        log = xl.PacketLog(self.hls_url(name))
        first = log.wait_first("video", timeout=15)
        self.assertIsNotNone(first, f"no video from HLS of {name}\n{log.proc.describe()}")
        time.sleep(xl.scaled(7))
        log.stop()
        video, audio = log.video(), log.audio()
        self.assertTrue(video[0].key, "HLS playback starts on a keyframe")
        span = (video[-1].dts - video[0].dts) / 90000.0
        xl.note(f"{name}: {len(video)} video / {len(audio)} audio packets, {span:.2f} s of video")
        self.assertGreaterEqual(span, 5.5, "at least ~6 s of media in 7 s")
        self.assertGreaterEqual(len(video), int(0.95 * xl.DEMO_FPS * 5.5))
        self.assertAlmostEqual(len(video) / (span + 1 / xl.DEMO_FPS), xl.DEMO_FPS, delta=1.0)
        self.assertGreater(len(audio), 0.9 * span * xl.DEMO_SAMPLE_RATE / 1024)
        self.assertEqual(log.dts_problems(), [])

    def test_frames_and_timestamps_demo(self):
        self.check_frames("live/demo")

    def test_frames_and_timestamps_rtmp(self):
        name = xl.unique("live/hlsrate")
        self.publish(name)
        self.check_frames(name)

    def test_first_request_waits_for_first_segment(self):
        name = xl.unique("live/hlsfirst")
        self.publish(name)
        t0 = time.monotonic()
        status, h, body = self.get(f"/{name}/index.m3u8")
        took = time.monotonic() - t0
        xl.note(f"first playlist of a new stream after {took:.2f} s")
        self.assertEqual(status, 200, body)
        self.assertIn(b"seg0.ts", body)
        self.assertLess(took, xl.scaled(5.5), "bounded wait: about two target durations")

    def test_republish_continues_with_discontinuity(self):
        name = xl.unique("live/hlsagain")
        pub = self.publish(name)
        before = self.playlist(name, min_segments=2)
        pub.stop()
        self.publish(name)
        deadline = time.monotonic() + xl.scaled(15)
        while True:
            p = self.playlist(name)
            if any(s.get("discontinuity") for s in p["segments"]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertTrue(any(s.get("discontinuity") for s in p["segments"]),
                        "EXT-X-DISCONTINUITY after the source restarted\n" + "\n".join(p["lines"]))
        last_before = int(before["segments"][-1]["uri"][3:-3])
        numbers = [int(s["uri"][3:-3]) for s in p["segments"]]
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + len(numbers))))
        self.assertGreater(numbers[-1], last_before, "media sequence numbers go on")

    def test_not_found_and_bad_requests(self):
        status, h, body = self.get("/live/nosuchstream/index.m3u8")
        self.assertEqual(status, 404)
        self.assertIn(b"live/nosuchstream", body)
        status, _, body = self.get("/live/nosuchstream/seg0.ts")
        self.assertEqual(status, 404)
        self.playlist("live/demo")
        status, _, body = self.get("/live/demo/seg999999.ts")
        self.assertEqual(status, 404)
        self.assertIn(b"999999", body)
        status, _, _ = self.get("/live/demo/index.m3u8?_HLS_part=1")
        self.assertEqual(status, 400)
        status, _, _ = self.get("/live/demo/index.m3u8?container=flv")
        self.assertEqual(status, 400)
        status, _, _ = self.get("/demo/index.m3u8")
        self.assertEqual(status, 400)

    def test_play_access_check(self):
        name = "secret/cam" + xl.unique("")
        self.publish(name)
        status, _, body = self.get(f"/{name}/index.m3u8")
        self.assertEqual(status, 403, body)

    def test_hls_viewers_share_one_segmenter(self):
        for _ in range(5):
            self.playlist("live/demo")
        self.assertEqual(self.server.log_text().count("hls live/demo (ts): segmenter started"), 1)


class HlsIdleTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": "\n[hls]\nidle_timeout_ms = 1500\n"}

    def test_segmenter_released_when_idle_and_restarted_on_demand(self):
        url = f"http://{xl.HOST}:{self.server.http_port}/live/demo/index.m3u8"
        self.assertEqual(self.server.http("/live/demo/index.m3u8", timeout=10).status, 200, url)
        self.assertTrue(self.server.wait_log("hls live/demo (ts): segmenter released", timeout=6),
                        "segmenter not released after idle_timeout_ms without requests")
        r = self.server.http("/live/demo/index.m3u8", timeout=10)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.server.log_text().count("hls live/demo (ts): segmenter started"), 2)


if __name__ == "__main__":
    xl.main()
