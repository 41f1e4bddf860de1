#!/usr/bin/env python3
"""Low-Latency HLS (draft-pantos-hls-rfc8216bis) and the rest of HLS beyond classic MPEG-TS:
partial segments and their tags, blocking playlist reload (prompt answer, 400 too far ahead,
clean 503 timeout), preload-hint requests held until the part exists, delta playlists,
fMP4/CMAF read by ffprobe/ffmpeg, HLS viewers as sessions (admin API, metrics, expiry), and
2,000 concurrent keep-alive pollers."""

import asyncio
import http.client
import re
import resource
import time

import xl

LL_TOML = """
[hls]
segment_duration_ms = 2000
part_duration_ms = 333
window = 10
session_timeout_ms = 3000
"""

PART_RE = re.compile(r'#EXT-X-PART:DURATION=([\d.]+),URI="([^"]+)"(,INDEPENDENT=YES)?')
SEG_RE = re.compile(r"(?m)^seg(\d+)\.(?:ts|m4s)\?")
HINT_RE = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg(\d+)\.(\d+)\.(ts|m4s)\?hls_session=([\w-]+)"')


def strip_session(uri: str) -> str:
    return uri.split("?", 1)[0]


class LlHlsTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": LL_TOML}

    def get(self, path: str, headers: dict | None = None, timeout: float = 15.0):
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=xl.scaled(timeout))
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def playlist(self, name: str = "live/demo", query: str = "", min_segments: int = 2) -> str:
        deadline = time.monotonic() + xl.scaled(20)
        while True:
            status, _, body = self.get(f"/{name}/index.m3u8" + (f"?{query}" if query else ""))
            self.assertEqual(status, 200, body)
            text = body.decode()
            if text.count("#EXTINF:") >= min_segments or time.monotonic() > deadline:
                return text
            time.sleep(0.5)

    def hint(self, text: str) -> tuple[int, int, str]:
        m = HINT_RE.search(text)
        self.assertIsNotNone(m, "EXT-X-PRELOAD-HINT\n" + text)
        return int(m.group(1)), int(m.group(2)), m.group(4)

    def test_playlist_has_ll_tags_and_classic_segments(self):
        text = self.playlist(min_segments=3)
        lines = text.splitlines()
        self.assertEqual(lines[0], "#EXTM3U")
        self.assertIn("#EXT-X-TARGETDURATION:2", lines)
        self.assertIn("#EXT-X-PART-INF:PART-TARGET=0.333", lines)
        ctl = [l for l in lines if l.startswith("#EXT-X-SERVER-CONTROL:")]
        self.assertEqual(len(ctl), 1)
        self.assertIn("CAN-BLOCK-RELOAD=YES", ctl[0])
        self.assertRegex(ctl[0], r"PART-HOLD-BACK=(\d+\.\d+)")
        hold = float(re.search(r"PART-HOLD-BACK=([\d.]+)", ctl[0]).group(1))
        self.assertGreaterEqual(hold, 2 * 0.333, "PART-HOLD-BACK >= 2 x PART-TARGET")
        skip = float(re.search(r"CAN-SKIP-UNTIL=([\d.]+)", ctl[0]).group(1))
        self.assertGreaterEqual(skip, 6 * 2, "skip boundary >= 6 target durations")
        parts = PART_RE.findall(text)
        self.assertGreater(len(parts), 6)
        for dur, uri, _ in parts:
            self.assertLessEqual(float(dur), 0.333, "part duration <= PART-TARGET")
            self.assertRegex(uri, r"^seg\d+\.\d+\.ts\?hls_session=[\w-]+$")
        self.assertTrue(any(ind for _, uri, ind in parts if re.match(r"seg\d+\.0\.", uri)),
                        "first part of a segment (keyframe) is INDEPENDENT=YES")
        self.hint(text)
        # Classic clients: every segment has EXTINF <= TARGETDURATION when rounded.
        for d in re.findall(r"#EXTINF:([\d.]+),", text):
            self.assertLessEqual(round(float(d)), 2)
        segs = [strip_session(l) for l in lines if l and not l.startswith("#")]
        first = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
        self.assertEqual(segs, [f"seg{first + i}.ts" for i in range(len(segs))])

    def test_parts_make_up_the_segment(self):
        text = self.playlist(min_segments=3)
        # The last complete segment lists all its parts.
        msn = int(SEG_RE.findall(text)[-1])
        last = f"seg{msn}.ts"
        uris = [strip_session(u) for _, u, _ in PART_RE.findall(text) if u.startswith(f"seg{msn}.")]
        self.assertGreaterEqual(len(uris), 5)
        status, h, whole = self.get(f"/live/demo/{last}")
        self.assertEqual(status, 200)
        joined = b""
        for u in uris:
            status, h, body = self.get(f"/live/demo/{u}")
            self.assertEqual(status, 200, u)
            self.assertEqual(h["content-type"], "video/mp2t")
            self.assertRegex(h["cache-control"], r"max-age=\d+")
            self.assertEqual(body[0], 0x47)
            self.assertEqual(body[1] & 0x1F, 0, "each part opens with the PAT")
            joined += body
        self.assertEqual(joined, whole, "a segment is the concatenation of its parts")

    def test_blocking_reload_returns_when_the_part_appears(self):
        text = self.playlist()
        msn, part, sid = self.hint(text)
        t0 = time.monotonic()
        status, h, body = self.get(f"/live/demo/index.m3u8?_HLS_msn={msn}&_HLS_part={part}"
                                   f"&hls_session={sid}")
        took = time.monotonic() - t0
        self.assertEqual(status, 200, body)
        self.assertEqual(h["cache-control"], "no-cache")
        xl.note(f"blocking reload for part {msn}.{part} answered after {took * 1000:.0f} ms")
        self.assertIn(f'URI="seg{msn}.{part}.ts?hls_session={sid}"', body.decode(),
                      "the answer contains the part asked for")
        self.assertLess(took, xl.scaled(1.2), "answered as the part appeared (part ~0.33 s)")
        # Whole-segment form: returns once segment msn is complete.
        t0 = time.monotonic()
        status, _, body = self.get(f"/live/demo/index.m3u8?_HLS_msn={msn + 1}")
        took = time.monotonic() - t0
        self.assertEqual(status, 200)
        self.assertIn(f"\nseg{msn + 1}.ts?", body.decode())
        self.assertLess(took, xl.scaled(5.0))

    def test_blocking_reload_too_far_ahead_is_400(self):
        msn, _, _ = self.hint(self.playlist())
        t0 = time.monotonic()
        status, _, body = self.get(f"/live/demo/index.m3u8?_HLS_msn={msn + 10}")
        self.assertEqual(status, 400, body)
        self.assertLess(time.monotonic() - t0, xl.scaled(1.0), "rejected at once")
        status, _, _ = self.get(f"/live/demo/index.m3u8?_HLS_msn={msn}&_HLS_part=40")
        self.assertEqual(status, 400)

    def test_blocking_reload_times_out_cleanly(self):
        name = xl.unique("live/llstop")
        pub = self.publish(name)
        text = self.playlist(name)
        pub.stop()
        time.sleep(0.5)
        msn, _, _ = self.hint(self.playlist(name, min_segments=1))
        t0 = time.monotonic()
        status, h, body = self.get(f"/{name}/index.m3u8?_HLS_msn={msn + 1}", timeout=20)
        took = time.monotonic() - t0
        xl.note(f"blocking reload on a stopped source answered {status} after {took:.2f} s")
        self.assertEqual(status, 503, body)
        self.assertIn(b"timed out", body)
        self.assertGreater(took, 5.0, "held for three target durations")
        self.assertLess(took, xl.scaled(8.0))
        # The connection-level answer is clean: the server still serves.
        self.assertEqual(self.get("/live/demo/index.m3u8")[0], 200)

    def test_preload_hint_request_is_held_until_the_part_exists(self):
        msn, part, sid = self.hint(self.playlist())
        t0 = time.monotonic()
        status, h, body = self.get(f"/live/demo/seg{msn}.{part}.ts?hls_session={sid}")
        took = time.monotonic() - t0
        self.assertEqual(status, 200, body)
        self.assertEqual(body[0], 0x47)
        self.assertLess(took, xl.scaled(1.2))
        xl.note(f"preload-hint part {msn}.{part} delivered after {took * 1000:.0f} ms")
        status, _, _ = self.get(f"/live/demo/seg{msn + 50}.0.ts")
        self.assertEqual(status, 404, "a part far ahead is not held")

    def test_delta_playlist(self):
        full = self.playlist(min_segments=8)
        status, _, body = self.get("/live/demo/index.m3u8?_HLS_skip=YES")
        self.assertEqual(status, 200)
        d = body.decode()
        self.assertIn("#EXT-X-VERSION:9", d)
        m = re.search(r"#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)", d)
        self.assertIsNotNone(m, d)
        skipped = int(m.group(1))
        self.assertGreaterEqual(skipped, 1, "window of 10 x 2 s exceeds the 12 s skip boundary")
        seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", d).group(1))
        self.assertEqual(int(SEG_RE.findall(d)[0]), seq + skipped)
        self.assertLess(len(d), len(full))

    def test_ffmpeg_reads_fmp4_and_ts(self):
        for query, ext in (("", "ts"), ("container=fmp4", "m4s")):
            text = self.playlist(query=query)
            self.assertIn(f".{ext}?hls_session=", text)
            if ext == "m4s":
                self.assertIn('#EXT-X-MAP:URI="init.mp4?hls_session=', text)
            url = self.server.http_url("/live/demo/index.m3u8" + (f"?{query}" if query else ""))
            s = xl.probe(url, timeout=30)
            self.assertEqual(s["video"]["codec_name"], "h264", query)
            self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
            self.assertEqual(s["audio"]["codec_name"], "aac", query)
            self.assertEqual(int(s["audio"]["sample_rate"]), xl.DEMO_SAMPLE_RATE)
        # Frames and timestamps of the fMP4 form, as a player reads them.
        log = xl.PacketLog(self.server.http_url("/live/demo/index.m3u8?container=fmp4"))
        first = log.wait_first("video", timeout=15)
        self.assertIsNotNone(first, f"no video from fMP4 HLS\n{log.proc.describe()}")
        time.sleep(xl.scaled(5))
        log.stop()
        video, audio = log.video(), log.audio()
        self.assertTrue(video[0].key, "fMP4 HLS starts on a keyframe")
        span = (video[-1].dts - video[0].dts) / 90000.0
        xl.note(f"fMP4 HLS: {len(video)} video / {len(audio)} audio packets over {span:.2f} s")
        self.assertGreaterEqual(span, 3.5)
        self.assertAlmostEqual(len(video) / (span + 1 / xl.DEMO_FPS), xl.DEMO_FPS, delta=1.0)
        self.assertGreater(len(audio), 0.9 * span * xl.DEMO_SAMPLE_RATE / 1024)
        self.assertEqual(log.dts_problems(), [])
        status, h, init = self.get("/live/demo/init.mp4")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "video/mp4")
        self.assertEqual(init[4:8], b"ftyp")

    def test_2000_concurrent_pollers(self):
        """2,000 keep-alive clients, each polling the playlist and fetching the newest part and
        a segment twice, all at once: every answer must be a 200 with the right body."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
        self.playlist(min_segments=2)
        port = self.server.http_port

        async def request(reader, writer, path):
            writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            m = re.search(rb"(?i)content-length: *(\d+)", head)
            body = await reader.readexactly(int(m.group(1))) if m else b""
            if re.search(rb"(?i)connection: *close", head):
                raise AssertionError(f"server closed keep-alive on {path}")
            return status, body

        async def poller(i, errors, counts):
            try:
                reader, writer = await asyncio.open_connection(xl.HOST, port)
            except OSError as e:
                errors.append(f"connect: {e}")
                return
            try:
                for _ in range(2):
                    status, body = await request(reader, writer, "/live/demo/index.m3u8")
                    if status != 200 or not body.startswith(b"#EXTM3U"):
                        errors.append(f"playlist {status}")
                        return
                    text = body.decode()
                    parts = PART_RE.findall(text)
                    segs = [l for l in text.splitlines() if l.startswith("seg")]
                    targets = [parts[-1][1], segs[-1]] if i % 4 == 0 else [parts[-1][1]]
                    for uri in targets:
                        status, body = await request(reader, writer, "/live/demo/" + uri)
                        if status != 200 or not body or body[0] != 0x47:
                            errors.append(f"{uri}: {status}")
                            return
                        counts[0] += 1
                        counts[1] += len(body)
                    await asyncio.sleep(0.2)
            except Exception as e:  # noqa: BLE001 - every failure is counted, not raised
                errors.append(f"{type(e).__name__}: {e}")
            finally:
                writer.close()

        async def run():
            errors, counts = [], [0, 0]
            await asyncio.gather(*(poller(i, errors, counts) for i in range(2000)))
            return errors, counts

        t0 = time.monotonic()
        errors, counts = asyncio.run(asyncio.wait_for(run(), timeout=xl.scaled(90)))
        took = time.monotonic() - t0
        xl.note(f"2000 pollers: {counts[0]} media answers, {counts[1] / 1e6:.0f} MB, "
                f"{took:.1f} s, {len(errors)} errors")
        self.assertEqual(errors[:10], [])
        self.assertEqual(counts[0], 2000 * 2 + 500 * 2)
        self.assertLess(took, xl.scaled(45))
        self.assertTrue(self.server.alive())


class HlsSessionTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": "\n[hls]\nsession_timeout_ms = 2000\n"}

    def get(self, path, ua):
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=xl.scaled(15))
        try:
            conn.request("GET", path, headers={"User-Agent": ua})
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def hls_sessions(self):
        return [s for s in self.server.api("/sessions")["sessions"] if s["protocol"] == "hls"]

    def hls_viewers(self):
        return self.server.streams()["live/demo"]["viewers"].get("hls")

    def test_viewers_are_sessions_and_expire(self):
        self.assertEqual(self.hls_viewers(), 0)
        ids = set()
        for ua in ("tv-one", "tv-two"):
            for _ in range(3):  # reloads without an id keep the client's session
                status, text = self.get("/live/demo/index.m3u8", ua)
                self.assertEqual(status, 200)
                found = set(re.findall(r"hls_session=([\w-]+)", text))
                self.assertEqual(len(found), 1, text)
                ids |= found
            seg = next(l for l in text.splitlines() if l.startswith("seg"))
            status, _ = self.get(f"/live/demo/{seg}", ua)
            self.assertEqual(status, 200)
        self.assertEqual(len(ids), 2, "one session per client")
        sessions = self.hls_sessions()
        self.assertEqual(len(sessions), 2, sessions)
        for s in sessions:
            self.assertEqual(s["stream"], "live/demo")
            self.assertEqual(s["role"], "viewer")
        self.assertGreater(sum(s["bytes_out"] for s in sessions), 0)
        self.assertEqual(self.hls_viewers(), 2)
        self.assertEqual(self.server.metrics().get("xueliang_viewers", protocol="hls"), 2)
        # An explicit id from the URL is the same session.
        sid = sorted(ids)[0]
        self.assertEqual(self.get(f"/live/demo/index.m3u8?hls_session={sid}", "other")[0], 200)
        self.assertEqual(len(self.hls_sessions()), 2)
        status, _ = self.get("/live/demo/index.m3u8?hls_session=bad%20id", "x")
        self.assertEqual(status, 400)
        # No requests for session_timeout_ms: both expire.
        deadline = time.monotonic() + xl.scaled(8)
        while self.hls_sessions() and time.monotonic() < deadline:
            time.sleep(0.5)
        self.assertEqual(self.hls_sessions(), [])
        self.assertEqual(self.hls_viewers(), 0)


if __name__ == "__main__":
    xl.main()
