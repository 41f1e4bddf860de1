"""RTSP camera pull, continued: a SIGHUP reload reconciles [[sources]] with the running ones;
"auto" falls back from UDP to TCP when the UDP media is blocked (an RTSP proxy in front of the
gst-rtsp-server camera redirects its UDP to dead ports: rtsp_proxy.py), and a forced UDP source
reports it; cameras with AAC, G.711 A-law and mu-law audio are pulled with both tracks aligned;
and two camera quirks: parameter sets only in-band (no sprop-parameter-sets in the SDP) and a
short session timeout that only keep-alives satisfy."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import xl  # noqa: E402
from rtsp_proxy import RtspProxy  # noqa: E402
from test_rtsp_pull import PASSWORD, USER, Camera, source_toml  # noqa: E402


class PullCase(xl.ServerTestCase):
    def sources(self) -> dict:
        return {s["name"]: s for s in self.server.api("/sources")["sources"]}

    def wait_source(self, name: str, cond, timeout: float, what: str = "") -> dict:
        deadline = time.monotonic() + xl.scaled(timeout)
        last = None
        while time.monotonic() < deadline:
            last = self.sources().get(name)
            if cond(last):
                return last
            time.sleep(0.1)
        self.fail(f"source {name}: {what} not reached within {timeout}s: {last}")

    def wait_state(self, name: str, states: tuple[str, ...], timeout: float) -> dict:
        return self.wait_source(name, lambda s: s is not None and s["state"] in states, timeout,
                                f"state in {states}")

    def add_source(self, **body) -> None:
        r = self.server.http("/api/v1/sources", "POST", json.dumps(body).encode())
        self.assertEqual(r.status, 201, r.body)


def packets(url: str, seconds: float, timeout: float = 25) -> list[tuple[str, float, float]]:
    """(codec_type, pts_time, wall-clock arrival) of every packet of `seconds` of a live URL."""
    argv = ["ffprobe", "-v", "error", "-rw_timeout", "15000000", "-read_intervals", f"%+{seconds}",
            "-show_entries", "packet=codec_type,pts_time", "-of", "compact=p=0:nk=1", url]
    if shutil.which("stdbuf"):
        argv = ["stdbuf", "-oL"] + argv
    out = []
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, env=xl.client_env())
    deadline = time.monotonic() + xl.scaled(timeout)
    try:
        for line in p.stdout:
            fields = line.decode(errors="replace").strip().split("|")
            if len(fields) >= 2 and fields[1] not in ("", "N/A"):
                out.append((fields[0], float(fields[1]), time.monotonic()))
            if time.monotonic() > deadline:
                break
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
    return out


class ReloadTest(PullCase):
    """SIGHUP re-reads [[sources]]: each source pulls through its own proxy, whose connection
    count shows which sources kept their camera connection."""

    @classmethod
    def setUpClass(cls):
        xl.require_tools()
        # r/change moves to UDP: it gets a camera of its own (see UdpFallbackTest).
        cls.camera, cls.udp_camera = (Camera(port) for port in xl.free_ports(2))
        cls.proxies = {n: RtspProxy((cls.udp_camera if n == "change" else cls.camera).port)
                       for n in ("keep", "change", "new", "api")}
        cls.base = dict(transport="tcp", retry_min_ms=300, retry_max_ms=1000)
        cls.initial = (source_toml("r/keep", cls.url("keep"), **cls.base) +
                       source_toml("r/change", cls.url("change"), **cls.base))
        cls.server = xl.Server(sources=[], extra=cls.initial).start()
        cls.head = cls.server.config_text[:-len(cls.initial)]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for p in cls.proxies.values():
            p.close()

    @classmethod
    def url(cls, name: str) -> str:
        return cls.proxies[name].url(USER, PASSWORD)

    def reload(self, extra: str) -> None:
        mark = len(self.server.log_text())
        self.server.config_path.write_text(self.head + extra)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + xl.scaled(5)
        while time.monotonic() < deadline:
            tail = self.server.log_text()[mark:]
            if "reload: configuration applied" in tail or "keeping the running configuration" in tail:
                return
            time.sleep(0.1)
        self.fail("no reload outcome in the log")

    def test_1_reload_adds_restarts_and_keeps(self):
        for name in ("r/keep", "r/change"):
            self.wait_state(name, ("live",), 15)
        self.add_source(name="r/api", url=self.url("api"), transport="tcp")
        self.wait_state("r/api", ("live",), 15)
        before = self.sources()
        self.assertEqual([before[n]["origin"] for n in ("r/api", "r/change", "r/keep")],
                         ["api", "config", "config"])
        self.assertEqual(before["r/keep"]["connects"], 1)
        self.assertEqual(before["r/change"]["media_transport"], "tcp")

        # A file with an error changes nothing.
        self.reload(self.initial + source_toml("r/new", self.url("new")) + "[[sources]]\nname = 3\n")
        self.assertIn("keeping the running configuration", self.server.log_text())
        self.assertNotIn("r/new", self.sources())

        # r/change moves to UDP and a shorter no-media timeout; r/new appears; r/keep is as was.
        self.reload(source_toml("r/keep", self.url("keep"), **self.base) +
                    source_toml("r/change", self.url("change"), **{**self.base, "transport": "udp"},
                                no_media_timeout_ms=5000) +
                    source_toml("r/new", self.url("new"), **self.base, on_demand=True))
        change = self.wait_source("r/change", lambda s: s["media_transport"] == "udp" and
                                  s["state"] == "live", 15, "live over UDP")
        self.assertEqual((change["transport"], change["connects"]), ("udp", 1))
        self.assertEqual(self.proxies["change"].connections, 2, "changed source not reconnected")
        self.assertTrue(self.server.wait_log("reload: source r/change changed, restarting it", 1))
        new = self.sources()["r/new"]
        self.assertEqual((new["origin"], new["on_demand"], new["state"]), ("config", True, "idle"))
        self.assertEqual(self.proxies["new"].connections, 0)  # on demand: no viewer yet
        self.assertEqual(xl.probe(self.server.flv_url("r/new"), timeout=20)["video"]["codec_name"],
                         "h264")
        after = self.sources()
        for name in ("r/keep", "r/api"):
            self.assertEqual(after[name]["connects"], 1, name)
            self.assertEqual(after[name]["connected_since"], before[name]["connected_since"], name)
            self.assertEqual(self.proxies[name.split("/")[1]].connections, 1, name)
            self.assertEqual(after[name]["state"], "live", name)
        self.assertEqual(after["r/api"]["origin"], "api")

    def test_2_reload_removes_and_ends_viewers(self):
        self.wait_state("r/change", ("live",), 15)
        viewer = xl.HttpFlvReader(self.server, "r/change")
        viewer.read_for(xl.scaled(10), until=lambda r: r.flv.video_frames >= 5)
        self.assertGreaterEqual(viewer.flv.video_frames, 5)
        # r/change is no longer declared; r/api (not the config's) is not touched either.
        self.reload(source_toml("r/keep", self.url("keep"), **self.base))
        viewer.read_for(xl.scaled(5), until=lambda r: r.closed)
        self.assertTrue(viewer.closed, "the removed source's viewer was not ended")
        self.assertTrue(viewer.ended_cleanly, "viewer not ended with the end of the stream")
        now = self.sources()
        self.assertEqual(sorted(now), ["r/api", "r/keep"])
        self.assertNotIn("r/change", self.server.streams())
        self.assertNotIn("r/new", self.server.streams())
        self.assertTrue(self.server.wait_log("reload: source r/change is no longer declared", 1))
        self.assertEqual((now["r/keep"]["connects"], now["r/api"]["connects"]), (1, 1))
        self.assertEqual(self.proxies["keep"].connections, 1)


class UdpFallbackTest(PullCase):
    """Cameras behind proxies that send their UDP media to ports where nobody listens. Each source
    has its own camera: gst-rtsp-server 1.22 aborts (gst_rtsp_media_get_rates: assertion failed)
    when a second client PLAYs its shared media over UDP while another session is starting."""

    SERVER_CONFIG = {"sources": []}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cameras = [Camera(port) for port in xl.free_ports(2)]
        cls.proxies = [RtspProxy(cam.port, blackhole_udp=True) for cam in cls.cameras]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for proxy in cls.proxies:
            proxy.close()

    def test_auto_falls_back_to_tcp_and_forced_udp_reports(self):
        srv = self.server
        self.proxy = self.proxies[0]
        self.add_source(name="fb/auto", url=self.proxy.url(USER, PASSWORD), transport="auto")
        self.add_source(name="fb/udp", url=self.proxies[1].url(USER, PASSWORD), transport="udp",
                        no_media_timeout_ms=3000, retry_min_ms=500, retry_max_ms=1000)
        auto = self.wait_state("fb/auto", ("live",), 20)
        self.assertEqual(auto["media_transport"], "tcp")
        self.assertEqual(auto["attempts"], 0, "the fallback happens within the first attempt")
        self.assertTrue(srv.wait_log("source fb/auto: no UDP media within 2000 ms; switching to TCP", 1))
        self.assertTrue(srv.wait_log("source fb/auto: playing 1 track(s) over UDP", 1))
        self.assertTrue(srv.wait_log("source fb/auto: playing 1 track(s) over TCP", 1))
        self.assertEqual([p.rewritten >= 1 for p in self.proxies], [True, True],
                         "UDP SETUPs did not go through the proxies")
        self.assertIn("SETUP", self.proxy.methods())
        got = packets(srv.rtsp_url("fb/auto"), 3)
        video = [p for p in got if p[0] == "video"]
        self.assertGreaterEqual(len(video), 40, f"{len(video)} video packets in 3 s over RTSP")
        # Forced UDP behind the same proxy: a clear error and retries, never a crash.
        bad = self.wait_source("fb/udp", lambda s: s["state"] in ("retrying", "connecting") and
                               s["attempts"] >= 1, 15, "retrying")
        self.assertIn("no UDP media", bad["last_error"])
        self.assertIsNone(bad["connected_since"])
        self.assertEqual(bad["frames_in"], 0)
        self.assertServerAlive()
        self.assertEqual(self.sources()["fb/auto"]["state"], "live")
        for cam in self.cameras:
            self.assertTrue(cam.proc.alive(), cam.proc.output()[-2000:])


class AudioCameraTest(PullCase):
    """Cameras with H.264 and AAC, G.711 A-law or mu-law audio, pulled over TCP."""

    SERVER_CONFIG = {"sources": []}
    CODECS = {"aac": "aac", "pcma": "pcm_alaw", "pcmu": "pcm_mulaw"}
    PACKET_RATE = {"aac": 44100 / 1024, "pcma": 50, "pcmu": 50}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cameras = {a: Camera(xl.free_ports(1)[0], extra_args=("--audio", a)) for a in cls.CODECS}

    def check_av(self, url: str, audio: str, seconds: float = 4) -> None:
        got = packets(url, seconds)
        for kind in ("video", "audio"):
            pts = [p[1] for p in got if p[0] == kind]
            self.assertTrue(pts, f"{url}: no {kind} packets")
            back = [i for i in range(1, len(pts)) if pts[i] <= pts[i - 1]]
            self.assertEqual(back, [], f"{url}: {kind} timestamps not increasing")
        audio_pts = [p[1] for p in got if p[0] == "audio"]
        span = audio_pts[-1] - audio_pts[0]
        rate = (len(audio_pts) - 1) / span if span > 0 else 0
        xl.note(f"{url}: {len(audio_pts)} {audio} packets over {span:.2f}s of media ({rate:.1f}/s)")
        self.assertGreater(span, seconds / 2)
        self.assertAlmostEqual(rate, self.PACKET_RATE[audio], delta=self.PACKET_RATE[audio] * 0.15)
        # A/V alignment: in a live stream, media time minus arrival time is the same for both
        # tracks (the earliest-arriving packets, after the cache burst, give each track's offset).
        offset = {k: min(p[1] - p[2] for p in got if p[0] == k) for k in ("video", "audio")}
        skew = offset["audio"] - offset["video"]
        xl.note(f"{url}: audio - video offset {skew * 1000:.0f} ms")
        self.assertLess(abs(skew), 0.2, f"{url}: audio and video {skew * 1000:.0f} ms apart")

    def test_audio_cameras(self):
        srv = self.server
        for audio, cam in self.cameras.items():
            self.add_source(name=f"cam/{audio}", url=cam.url(), transport="tcp")
        for audio in self.CODECS:
            self.wait_state(f"cam/{audio}", ("live",), 20)
        for audio, codec in self.CODECS.items():
            name = f"cam/{audio}"
            self.assertTrue(srv.wait_log(f"source {name}: playing 2 track(s) over TCP", 1))
            info = xl.probe(srv.rtsp_url(name), timeout=20)
            self.assertEqual(info["video"]["codec_name"], "h264", name)
            self.assertEqual(info.get("audio", {}).get("codec_name"), codec, f"{name}: {info}")
            self.assertEqual(int(info["audio"]["sample_rate"]), 44100 if audio == "aac" else 8000)
            self.check_av(srv.rtsp_url(name), audio)
        info = xl.probe(srv.rtmp_url("cam/aac"), timeout=20)
        self.assertEqual((info["video"]["codec_name"], info["audio"]["codec_name"]), ("h264", "aac"))
        self.check_av(srv.rtmp_url("cam/aac"), "aac")


class CameraQuirksTest(PullCase):
    SERVER_CONFIG = {"sources": []}
    SESSION_TIMEOUT = 4

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inband = Camera(xl.free_ports(1)[0], extra_args=("--inband-only",))
        cls.inband_proxy = RtspProxy(cls.inband.port, strip_sprop=True)
        cls.short = Camera(xl.free_ports(1)[0],
                           extra_args=("--session-timeout", str(cls.SESSION_TIMEOUT)))
        cls.short_proxy = RtspProxy(cls.short.port)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.inband_proxy.close()
        cls.short_proxy.close()

    def test_sdp_without_sprop(self):
        srv = self.server
        self.add_source(name="q/inband", url=self.inband_proxy.url(USER, PASSWORD), transport="tcp")
        self.wait_state("q/inband", ("live",), 20)
        self.assertGreaterEqual(self.inband_proxy.stripped, 1, "the camera's SDP kept its sprop")
        for url in (srv.rtsp_url("q/inband"), srv.rtmp_url("q/inband")):
            info = xl.probe(url, timeout=20)
            self.assertEqual(info["video"]["codec_name"], "h264", url)
            self.assertEqual((info["video"]["width"], info["video"]["height"]), (320, 240), url)

    def test_session_timeout_kept_alive(self):
        # UDP: gst-rtsp-server expires an idle UDP session (a TCP one lives with its connection),
        # and the client's RTCP reports (every 5 s) come too rarely for a 4 s timeout.
        self.add_source(name="q/short", url=self.short_proxy.url(USER, PASSWORD), transport="udp")
        src = self.wait_state("q/short", ("live",), 20)
        self.assertTrue(any(f"timeout={self.SESSION_TIMEOUT}" in s for s in self.short_proxy.sessions),
                        self.short_proxy.sessions)
        since = src["connected_since"]
        time.sleep(self.SESSION_TIMEOUT * 2 + 1)
        src = self.sources()["q/short"]
        self.assertEqual(self.short.expired, 0, "the camera expired the session")
        self.assertEqual((src["state"], src["connects"], src["connected_since"]), ("live", 1, since))
        self.assertEqual(self.short_proxy.connections, 1)
        requests = list(self.short_proxy.requests)
        play = [t for t, m, _ in requests if m == "PLAY"]
        self.assertEqual(len(play), 1, self.short_proxy.methods())
        keepalives = play + [t for t, m, _ in requests if t > play[0] and
                             m in ("GET_PARAMETER", "OPTIONS", "SET_PARAMETER")]
        keepalives.append(time.monotonic())  # the last one must not be overdue either
        self.assertGreaterEqual(len(keepalives), 5, self.short_proxy.methods())
        gaps = [b - a for a, b in zip(keepalives, keepalives[1:])]
        self.assertLess(max(gaps), self.SESSION_TIMEOUT, f"keep-alive gaps {gaps}")
        frames = src["frames_in"]
        time.sleep(1)
        self.assertGreater(self.sources()["q/short"]["frames_in"], frames)


if __name__ == "__main__":
    xl.main()
