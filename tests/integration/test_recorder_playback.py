#!/usr/bin/env python3
"""Recorder playback as HLS VOD with the real binary: a published stream is recorded in 4 s files,
then /{app}/{stream}/playback.m3u8?from&to of a range spanning two files is played by ffmpeg
(decoded, no error) and probed by ffprobe (codecs, duration within a GOP); the media URLs answer
byte ranges that match the files on disk, over one keep-alive connection; bad requests get 400,
ranges without recordings 404, unsatisfiable byte ranges 416, and the access hooks (access_list)
refuse playback of a denied stream with 403."""

import http.client
import json
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path
from urllib.parse import quote

import xl

GOP_S = 2.0  # conf/demo/demo.mp4 has a keyframe every 2 s
ROOT = Path(tempfile.mkdtemp(prefix="xl-rec-vod-"))
RECORDER = ("\n[plugins]\norder = [\"access_list\", \"recorder\"]\n\n"
            "[plugins.access_list]\nplay_deny_streams = [\"vod/secret\"]\n\n[plugins.recorder]\n"
            f"root = {json.dumps(str(ROOT))}\nsegment_seconds = 4\n\n"
            "[[plugins.recorder.rules]]\nstreams = [\"vod/*\"]\nmode = \"always\"\n")


def iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


class RecorderPlaybackTest(xl.ServerTestCase):
    SERVER_CONFIG = {"sources": [], "extra": RECORDER}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pub = xl.publish(cls.server, "vod/cam")
        try:
            time.sleep(11)
        finally:
            pub.cleanup()

        def finished():
            r = cls.server.http("/api/v1/recordings?stream=vod/cam")
            segs = r.json()["segments"] if r.status == 200 else []
            return segs if len(segs) >= 3 else None
        cls.segments = xl.wait_until(finished, 15) or []

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(ROOT, ignore_errors=True)

    def playlist_url(self, from_ms: int, to_ms: int) -> str:
        return self.server.http_url(
            f"/vod/cam/playback.m3u8?from={quote(iso(from_ms))}&to={quote(iso(to_ms))}")

    def spanning_range(self) -> tuple[int, int]:
        """From 1 s into the first file to 1 s before the end of the second."""
        self.assertGreaterEqual(len(self.segments), 3, self.segments)
        return self.segments[0]["start_ms"] + 1000, self.segments[1]["end_ms"] - 1000

    def test_playlist_is_vod_across_files(self):
        frm, to = self.spanning_range()
        r = self.server.http(self.playlist_url(frm, to)[len(self.server.http_url("")):])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("content-type"), "application/vnd.apple.mpegurl")
        text = r.body.decode()
        self.assertTrue(text.startswith("#EXTM3U\n"), text)
        self.assertIn("#EXT-X-PLAYLIST-TYPE:VOD\n", text)
        self.assertTrue(text.endswith("#EXT-X-ENDLIST\n"), text)
        maps = re.findall(r'#EXT-X-MAP:URI="playback/([0-9-]+)\.mp4",BYTERANGE="(\d+)@0"', text)
        self.assertEqual(len(maps), 2, text)  # two files
        self.assertEqual(text.count("#EXT-X-DISCONTINUITY\n"), 1, text)
        target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
        extinf = [float(x) for x in re.findall(r"#EXTINF:([0-9.]+),", text)]
        self.assertTrue(extinf, text)
        self.assertTrue(all(0 < d <= target for d in extinf), (extinf, target))
        # Whole GOPs around the range: it starts at the keyframe at or before `from`.
        self.assertGreaterEqual(sum(extinf), (to - frm) / 1000 - 0.1)
        self.assertLessEqual(sum(extinf), (to - frm) / 1000 + 2 * GOP_S + 0.2)
        # Each file's init part is its ftyp+moov, as the file on disk says.
        for file_id, init in maps:
            path = self.file_of(file_id)
            data = path.read_bytes()
            self.assertEqual(data[4:8], b"ftyp")
            self.assertEqual(data[int(init) + 4:int(init) + 8], b"moof", file_id)

    def file_of(self, file_id: str) -> Path:
        m = re.fullmatch(r"(\d{4})(\d\d)(\d\d)-(\d{6}(?:-\d+)?)", file_id)
        self.assertIsNotNone(m, file_id)
        path = ROOT / "vod" / "cam" / m[1] / m[2] / m[3] / f"{m[4]}.mp4"
        self.assertTrue(path.is_file(), path)
        return path

    def test_ffmpeg_decodes_the_range_without_error(self):
        frm, to = self.spanning_range()
        url = self.playlist_url(frm, to)
        r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", url,
                            "-f", "null", "-"], capture_output=True, timeout=xl.scaled(60))
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-2000:])
        self.assertEqual(r.stderr.decode(errors="replace").strip(), "", "decode errors")
        p = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                            "stream=codec_type,codec_name,nb_read_packets", "-of", "json", url],
                           capture_output=True, timeout=xl.scaled(60))
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-2000:])
        streams = {s["codec_type"]: s for s in json.loads(p.stdout)["streams"]}
        self.assertEqual(streams["video"]["codec_name"], "h264")
        self.assertEqual(streams["audio"]["codec_name"], "aac")
        played = int(streams["video"]["nb_read_packets"]) / xl.DEMO_FPS
        want = (to - frm) / 1000
        print(f"\n# range {want:.2f} s: ffprobe counted {played:.2f} s of video", flush=True)
        # Starts at the keyframe at or before `from`, ends at the end of the GOP holding `to`.
        self.assertGreaterEqual(played, want - 0.2, played)
        self.assertLessEqual(played, want + 2 * GOP_S + 0.2, played)

    def test_media_byte_ranges_match_the_file_on_keep_alive(self):
        frm, to = self.spanning_range()
        text = self.server.http(self.playlist_url(frm, to)[len(self.server.http_url("")):]) \
            .body.decode()
        file_id = re.search(r'#EXT-X-MAP:URI="playback/([0-9-]+)\.mp4"', text).group(1)
        seg = re.search(r"#EXT-X-BYTERANGE:(\d+)@(\d+)\nplayback/" + file_id, text)
        length, offset = int(seg[1]), int(seg[2])
        data = self.file_of(file_id).read_bytes()
        conn = http.client.HTTPConnection(xl.HOST, self.server.http_port, timeout=10)
        try:
            path = f"/vod/cam/playback/{file_id}.mp4"
            conn.request("GET", path, headers={"Range": f"bytes={offset}-{offset + length - 1}"})
            r = conn.getresponse()
            body = r.read()
            self.assertEqual(r.status, 206)
            self.assertEqual(r.getheader("Content-Range"),
                             f"bytes {offset}-{offset + length - 1}/{len(data)}")
            self.assertEqual(body, data[offset:offset + length])
            self.assertEqual(body[4:8], b"moof")  # a segment starts with its fragment
            # Same connection: the whole file, then an unsatisfiable range.
            conn.request("GET", path)
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, data))
            conn.request("GET", path, headers={"Range": f"bytes={len(data)}-"})
            r = conn.getresponse()
            r.read()
            self.assertEqual(r.status, 416)
            self.assertEqual(r.getheader("Content-Range"), f"bytes */{len(data)}")
        finally:
            conn.close()

    def test_errors(self):
        frm, to = self.spanning_range()
        base = "/vod/cam/playback.m3u8"
        for query in ("", f"?from={frm // 1000}", f"?from={to // 1000}&to={frm // 1000}",
                      "?from=yesterday&to=today", f"?from=0&to={to // 1000}"):
            r = self.server.http(base + query)
            self.assertEqual(r.status, 400, query)
            self.assertIn("from", r.json()["error"])
        # No recording there: a range long before, and a stream never recorded.
        r = self.server.http(base + "?from=946684800&to=946684900")
        self.assertEqual(r.status, 404, r.body)
        self.assertIn("nothing recorded", r.json()["error"])
        r = self.server.http(f"/vod/other/playback.m3u8?from={frm // 1000}&to={to // 1000}")
        self.assertEqual(r.status, 404)
        for bad in ("/vod/cam/playback/..%2F..%2Fetc.mp4", "/vod/cam/playback/2026.mp4",
                    "/vod/cam/playback/20261130-040506-x.mp4", "/vod/../playback/20261130-040506.mp4"):
            r = self.server.http(bad)
            self.assertEqual(r.status, 400, bad)
        self.assertEqual(self.server.http("/vod/cam/playback/20000101-000000.mp4").status, 404)

    def test_access_hooks_apply_to_playback(self):
        frm, to = self.spanning_range()
        for path in (f"/vod/secret/playback.m3u8?from={frm // 1000}&to={to // 1000}",
                     "/vod/secret/playback/20261130-040506.mp4"):
            r = self.server.http(path)
            self.assertEqual(r.status, 403, path)
            self.assertIn("error", r.json())
        self.assertEqual(
            self.server.http(f"/vod/cam/playback.m3u8?from={frm // 1000}&to={to // 1000}").status,
            200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
