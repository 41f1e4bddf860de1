#!/usr/bin/env python3
"""The recorder plugin with the real binary: fragmented MP4 files checked with ffprobe, on-demand
start/stop through the API, quota retention, a crash (kill -9) mid-recording, and an unwritable
recording root that raises the alert while an RTMP viewer keeps playing."""

import hashlib
import json
import os
import sqlite3
import subprocess
import tempfile
import time
import unittest
from contextlib import closing, contextmanager
from pathlib import Path

import xl

GOP_S = 2.0  # conf/demo/demo.mp4 has a keyframe every 2 s


def recorder_toml(root: Path, *, segment_seconds=4, rules="", max_bytes=0) -> str:
    text = ("\n[plugins]\norder = [\"recorder\"]\n\n[plugins.recorder]\n"
            f"root = {json.dumps(str(root))}\nsegment_seconds = {segment_seconds}\n"
            f"retry_seconds = 1\n")
    if max_bytes:
        text += f"max_bytes = {max_bytes}\n"
    return text + rules


@contextmanager
def temp_root(prefix: str):
    """A recording root of its own; every client is killed and the root removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        xl.kill_all()
        subprocess.run(["rm", "-rf", str(root)])


@contextmanager
def recorder_server(root: Path, **toml):
    """A started server without file sources, recording into `root` (recorder_toml's keys; rule
    cam/* unless `rules` is given). Stopped (its exit checked) unless it has died or been killed;
    cleaned up in any case."""
    toml.setdefault("rules", rule(["cam/*"]))
    srv = xl.Server(sources=[], extra=recorder_toml(root, **toml))
    srv.start()
    try:
        yield srv
        if srv.alive():
            srv.stop()
    finally:
        srv.cleanup()


def rule(streams, mode="always", **keys) -> str:
    text = "\n[[plugins.recorder.rules]]\n" + f"streams = {json.dumps(streams)}\nmode = \"{mode}\"\n"
    return text + "".join(f"{k} = {v}\n" for k, v in keys.items())


def ffprobe_file(path: Path) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                        "stream=codec_type,codec_name:format=duration", "-of", "json", str(path)],
                       capture_output=True, timeout=20)
    if r.returncode != 0:
        raise AssertionError(f"ffprobe {path} failed: {r.stderr.decode(errors='replace')[-400:]}")
    doc = json.loads(r.stdout)
    codecs = {s["codec_type"]: s["codec_name"] for s in doc.get("streams", [])}
    return {"codecs": codecs, "duration": float(doc.get("format", {}).get("duration") or 0)}


def counted_duration(path: Path) -> float:
    """Decoded video duration by counting frames (independent of the container's header)."""
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-count_packets",
                        "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError(f"ffprobe {path} failed: {r.stderr.decode(errors='replace')[-400:]}")
    return int(r.stdout.decode().strip().split(",")[0]) / xl.DEMO_FPS


def files_of(root: Path, stream: str) -> list[Path]:
    return sorted((root / stream).rglob("*.mp4"))


def post(server, path, body):
    return server.http(path, "POST", json.dumps(body).encode())


def status(server) -> dict:
    r = server.http("/api/v1/recordings/status")
    assert r.status == 200, r.status
    return {s["stream"]: s for s in r.json()["streams"]}


class RecorderTest(xl.ServerTestCase):
    ROOT = Path(tempfile.mkdtemp(prefix="xl-rec-"))
    SERVER_CONFIG = {"sources": [], "extra": recorder_toml(
        ROOT, rules=rule(["town1/*"], segment_seconds=4) + rule(["quota/*"], segment_seconds=2,
                                                               max_bytes=400000)
        + rule(["ondemand/*"], mode="on_demand", segment_seconds=60))}

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if not getattr(cls, "_failed", False):
            subprocess.run(["rm", "-rf", str(cls.ROOT)])

    def wait_closed(self, name):
        self.assertTrue(xl.wait_until(lambda: not status(self.server).get(name, {}).get("writing"), 10),
                        f"{name} still writing: {status(self.server).get(name)}")

    def test_1_continuous_recording_in_segments(self):
        pub = self.publish("town1/gate")
        time.sleep(20)
        pub.stop()
        self.wait_closed("town1/gate")
        files = files_of(self.ROOT, "town1/gate")
        # 20 s in 4 s segments cut at 2 s keyframes: 5 or 6 files.
        self.assertGreaterEqual(len(files), 4, files)
        self.assertLessEqual(len(files), 7, files)
        total = 0.0
        for f in files:
            rel = f.relative_to(self.ROOT / "town1/gate").parts
            self.assertRegex("/".join(rel), r"^\d{4}/\d{2}/\d{2}/\d{6}(-\d+)?\.mp4$")
            info = ffprobe_file(f)
            self.assertEqual(info["codecs"], {"video": "h264", "audio": "aac"}, f)
            total += counted_duration(f)
        for f in files[:-1]:  # every full segment: its length, to one GOP
            self.assertAlmostEqual(counted_duration(f), 4.0, delta=GOP_S + 0.1, msg=str(f))
        # What was published, to one GOP (the first keyframe and the end).
        self.assertAlmostEqual(total, 20.0, delta=GOP_S + 1.0)
        st = status(self.server)["town1/gate"]
        self.assertEqual(st["frames_dropped"], 0)
        self.assertFalse(st["failed"])
        self.assertEqual(st["files_written"], len(files))
        # The index lists the same files, in order, without gaps between them.
        t0 = time.time()
        r = self.server.http(f"/api/v1/recordings?stream=town1/gate&from={int(t0 - 120)}&to={int(t0 + 60)}")
        self.assertEqual(r.status, 200, r.body)
        doc = r.json()
        self.assertEqual([Path(x["path"]) for x in doc["segments"]], files)
        self.assertEqual(len(doc["gaps"]), 2, doc["gaps"])  # before the first and after the last
        self.assertEqual(doc["gaps"][0]["to_ms"], doc["segments"][0]["start_ms"])
        span = (doc["segments"][-1]["end_ms"] - doc["segments"][0]["start_ms"]) / 1000
        self.assertAlmostEqual(span, 20.0, delta=GOP_S + 1.5)
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 - 120))
        r = self.server.http(f"/api/v1/recordings?stream=town1/gate&from={iso}")
        self.assertEqual(len(r.json()["segments"]), len(files))
        for bad in ("stream=town1/gate&from=yesterday", "stream=../x", "from=1",
                    "stream=town1/gate&from=20&to=10"):
            self.assertEqual(self.server.http("/api/v1/recordings?" + bad).status, 400, bad)
        # Export 8 s across the first file boundary: one MP4, remuxed, with its SHA-256.
        start = doc["segments"][0]["start_ms"] / 1000 + 1
        r = self.server.http(f"/api/v1/recordings/export?stream=town1/gate&from={start:.3f}"
                             f"&to={start + 8:.3f}", timeout=30)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.headers.get("content-type"), "video/mp4")
        self.assertEqual(r.headers.get("x-content-sha256"), hashlib.sha256(r.body).hexdigest())
        clip = self.make_tmpdir() / "export.mp4"
        clip.write_bytes(r.body)
        self.assertEqual(ffprobe_file(clip)["codecs"], {"video": "h264", "audio": "aac"})
        got = counted_duration(clip)
        # From the keyframe at or before `from` (up to one GOP earlier) to `to`.
        self.assertGreaterEqual(got, 8.0 - 0.2)
        self.assertLessEqual(got, 8.0 + GOP_S + 0.2)
        self.assertEqual(self.server.http("/api/v1/recordings/export?stream=town1/gate&from=100&to=200").status, 404)
        self.assertEqual(self.server.http("/api/v1/recordings/export?stream=town1/gate&from=100").status, 400)

    def test_2_on_demand_start_and_stop(self):
        pub = self.publish("ondemand/cam")
        time.sleep(3)
        self.assertEqual(files_of(self.ROOT, "ondemand/cam"), [], "on_demand records before start")
        r = post(self.server, "/api/v1/recordings/start", {"stream": "ondemand/cam"})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.json()["live"])
        time.sleep(8)
        r = post(self.server, "/api/v1/recordings/stop", {"stream": "ondemand/cam"})
        self.assertEqual(r.status, 200, r.body)
        self.wait_closed("ondemand/cam")
        files = files_of(self.ROOT, "ondemand/cam")
        self.assertEqual(len(files), 1, files)
        got = counted_duration(files[0])
        self.assertAlmostEqual(got, 8.0, delta=GOP_S + 0.5)
        size = files[0].stat().st_size
        time.sleep(3)
        self.assertEqual(files[0].stat().st_size, size, "file grew after stop")
        self.assertEqual(len(files_of(self.ROOT, "ondemand/cam")), 1)
        pub.stop()
        # Malformed requests.
        self.assertEqual(post(self.server, "/api/v1/recordings/start", {"x": 1}).status, 400)
        self.assertEqual(post(self.server, "/api/v1/recordings/start", {"stream": "../x"}).status, 400)
        self.assertEqual(self.server.http("/api/v1/recordings/start", "POST", b"{nope").status, 400)
        self.assertEqual(post(self.server, "/api/v1/recordings/stop", {"stream": "no/such"}).status, 404)

    def test_3_quota_deletes_oldest(self):
        pub = self.publish("quota/cam")
        seen = set()
        deadline = time.monotonic() + 16
        while time.monotonic() < deadline:
            seen.update(files_of(self.ROOT, "quota/cam"))
            time.sleep(0.2)
        pub.stop()
        self.wait_closed("quota/cam")
        time.sleep(0.5)
        now = files_of(self.ROOT, "quota/cam")
        seen.update(now)
        ordered = sorted(seen)
        self.assertGreaterEqual(len(ordered), 5, ordered)
        self.assertLess(len(now), len(ordered), "nothing was deleted")
        # The survivors are the newest files; the quota holds (the open file is not counted).
        self.assertEqual(now, ordered[-len(now):])
        self.assertLessEqual(sum(f.stat().st_size for f in now), 400000)
        self.assertTrue(self.server.wait_log("retention: deleted"), self.server.log_tail())
        m = xl.Metrics(self.server.http("/metrics/recorder").body.decode())
        self.assertGreaterEqual(m.get("xl_recorder_retention_deleted_files_total"), 1)

    def test_4_event_clip_with_pre_event_buffer(self):
        pub = self.publish("event/cam")  # no rule: not recorded continuously
        time.sleep(9)
        r = post(self.server, "/api/v1/recordings/event",
                 {"stream": "event/cam", "pre_seconds": 4, "post_seconds": 4})
        self.assertEqual(r.status, 200, r.body)
        clip = Path(r.json()["path"])
        self.assertTrue(str(clip).startswith(str(self.ROOT / "event/cam/events")), clip)
        self.assertTrue(xl.wait_until(lambda: status(self.server)["event/cam"]["clips_written"] >= 1, 10),
                        status(self.server).get("event/cam"))
        pub.stop()
        self.assertEqual(files_of(self.ROOT, "event/cam"), [clip], "only the clip was written")
        info = ffprobe_file(clip)
        self.assertEqual(info["codecs"], {"video": "h264", "audio": "aac"})
        # 4 s before (from the keyframe at or before, so up to one GOP more) + 4 s after.
        got = counted_duration(clip)
        self.assertGreaterEqual(got, 8.0 - 0.5)
        self.assertLessEqual(got, 8.0 + GOP_S + 0.5)
        # Bad requests.
        self.assertEqual(post(self.server, "/api/v1/recordings/event", {"stream": "no/such"}).status, 404)
        self.assertEqual(post(self.server, "/api/v1/recordings/event",
                              {"stream": "event/cam", "pre_seconds": 999}).status, 400)
        self.assertEqual(post(self.server, "/api/v1/recordings/event",
                              {"stream": "event/cam", "post_seconds": "x"}).status, 400)


class RecorderCrashTest(unittest.TestCase):
    def test_kill_9_leaves_playable_fragments(self):
        xl.require_tools()
        with temp_root("xl-rec-crash-") as root:
            with recorder_server(root, segment_seconds=600) as srv:
                pub = xl.publish(srv, "cam/one")
                time.sleep(9)
                srv.kill()
                pub.cleanup()
            files = files_of(root, "cam/one")
            self.assertEqual(len(files), 1, files)
            info = ffprobe_file(files[0])
            self.assertEqual(info["codecs"].get("video"), "h264")
            # Fragments are cut at each keyframe (2 s) and at least every second: everything but
            # the last fragment is on disk.
            self.assertGreaterEqual(counted_duration(files[0]), 9 - GOP_S - 1.5)
            # A new server indexes the file from the disk, with its probed duration.
            with recorder_server(root) as again:
                r = again.http("/api/v1/recordings?stream=cam/one")
                self.assertEqual(r.status, 200, r.body)
                segs = r.json()["segments"]
                self.assertEqual([Path(x["path"]) for x in segs], files)
                self.assertAlmostEqual((segs[0]["end_ms"] - segs[0]["start_ms"]) / 1000,
                                       counted_duration(files[0]), delta=1.0)


def index_rows(root: Path) -> list[tuple]:
    """The index read with Python's own sqlite3 (not our code): (stream, path, start, end, bytes)."""
    with closing(sqlite3.connect(f"file:{root / 'index.sqlite3'}?mode=ro", uri=True)) as db:
        return db.execute("SELECT stream, path, start_ms, end_ms, bytes FROM segments "
                          "ORDER BY stream, start_ms").fetchall()


def disk_rows(root: Path) -> list[tuple]:
    """What the index should hold: every recording on disk as (stream, path, bytes)."""
    out = [("/".join(f.relative_to(root).parts[:2]), f.relative_to(root).as_posix(), f.stat().st_size)
           for f in root.rglob("*.mp4") if "events" not in f.parts]
    return sorted(out)


class RecorderIndexTest(unittest.TestCase):
    """The SQLite index survives restarts, is rebuilt from the files when deleted, and forgets
    files deleted outside the server."""

    def listing(self, root: Path, stream: str) -> list[dict]:
        with recorder_server(root) as srv:
            r = srv.http(f"/api/v1/recordings?stream={stream}")
            self.assertEqual(r.status, 200, r.body)
            self.assertTrue((root / "index.sqlite3").exists())
            return r.json()["segments"]

    def test_index_persists_and_is_rebuilt(self):
        xl.require_tools()
        with temp_root("xl-rec-index-") as root:
            with recorder_server(root, segment_seconds=2) as srv:
                pub = xl.publish(srv, "cam/idx")
                time.sleep(7)
                pub.stop()
                self.assertTrue(xl.wait_until(
                    lambda: not status(srv).get("cam/idx", {}).get("writing"), 10))
                first = srv.http("/api/v1/recordings?stream=cam/idx").json()["segments"]
            self.assertGreaterEqual(len(first), 2, first)
            # The rows, read independently, are the files on disk, with their sizes.
            rows = index_rows(root)
            self.assertEqual([(s, p, b) for s, p, _, _, b in rows], disk_rows(root))
            self.assertEqual([str(root / p) for _, p, _, _, _ in rows], [x["path"] for x in first])
            # A restart answers from the database: the same listing.
            self.assertEqual(self.listing(root, "cam/idx"), first)
            # Deleted between runs: rebuilt from the files with the same segments. A start time
            # then comes from the file name (whole seconds), the duration is probed again.
            for side in ("", "-wal", "-shm"):
                Path(str(root / "index.sqlite3") + side).unlink(missing_ok=True)
            rebuilt = self.listing(root, "cam/idx")
            key = lambda segs: [(x["path"], x["start_ms"] // 1000, x["bytes"]) for x in segs]
            self.assertEqual(key(rebuilt), key(first))
            for a, b in zip(rebuilt, first):
                self.assertEqual(a["start_ms"] % 1000, 0)
                self.assertAlmostEqual(a["end_ms"] - a["start_ms"], b["end_ms"] - b["start_ms"],
                                       delta=500)
            self.assertEqual([(s, p, b) for s, p, _, _, b in index_rows(root)], disk_rows(root))
            # A file deleted outside the server leaves the index at the next start.
            Path(first[0]["path"]).unlink()
            self.assertEqual(key(self.listing(root, "cam/idx")), key(first[1:]))
            self.assertEqual([(s, p, b) for s, p, _, _, b in index_rows(root)], disk_rows(root))


class RecorderDiskErrorTest(unittest.TestCase):
    def test_unwritable_root_alerts_and_viewers_keep_playing(self):
        xl.require_tools()
        with temp_root("xl-rec-bad-") as tmp:
            blocker = tmp / "not-a-dir"
            blocker.write_text("a regular file where the root's parent should be\n")
            # Running as root, permissions do not stop writes: a root under a regular file fails
            # with ENOTDIR for anyone, which is the same path through the code as EACCES/EROFS.
            with recorder_server(blocker / "rec") as srv:
                pub = xl.publish(srv, "cam/bad")
                log = xl.PacketLog(srv.rtmp_url("cam/bad"))
                self.assertIsNotNone(log.wait_first("video"), "viewer got no video")
                recorder_metrics = lambda: xl.Metrics(srv.http("/metrics/recorder").body.decode())
                self.assertTrue(xl.wait_until(
                    lambda: recorder_metrics().get("xl_recorder_failed", stream="cam/bad") == 1, 10),
                    srv.log_tail())
                self.assertIn("ALERT recorder: cam/bad: recording failed", srv.log_text())
                t = time.monotonic()
                time.sleep(4)
                log.stop()
                # The viewer kept its frame rate meanwhile.
                self.assertGreater(log.count("video", t, t + 4), 4 * xl.DEMO_FPS * 0.8)
                self.assertGreaterEqual(
                    recorder_metrics().get("xl_recorder_disk_errors_total", stream="cam/bad"), 2,
                    "no periodic retry")
                self.assertEqual(srv.log_text().count("ALERT recorder: cam/bad: recording failed"),
                                 1, "one alert per incident")
                # Space returns: the recording resumes by itself.
                blocker.unlink()
                self.assertTrue(srv.wait_log("recording resumed", timeout=6), srv.log_tail())
                self.assertTrue(xl.wait_until(lambda: files_of(blocker / "rec", "cam/bad"), 5))
                pub.stop()


if __name__ == "__main__":
    xl.main()
