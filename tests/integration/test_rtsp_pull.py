"""RTSP camera pull: the server pulls an independent camera (GStreamer's gst-rtsp-server, through
python3-gi, with a Digest-protected live H.264 test pattern: rtsp_camera.py) on demand, serves it
to 100 HTTP-FLV viewers over one camera connection, reconnects when the camera is killed and
restarted while the viewers keep receiving, reports a wrong password in GET /api/v1/sources, and
takes sources added and removed through POST/DELETE /api/v1/sources."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import xl  # noqa: E402

CAMERA_SCRIPT = Path(__file__).resolve().parent / "rtsp_camera.py"
USER, PASSWORD = "admin", "s3cret"


def camera_python() -> str | None:
    """A python3 that has the gst-rtsp-server bindings (Debian's, from python3-gi)."""
    return xl.gi_python("import gi; gi.require_version('GstRtspServer', '1.0'); "
                        "from gi.repository import GstRtspServer")


class Camera:
    """rtsp_camera.py as a process; counts the RTSP clients it saw (its client-connected)."""

    def __init__(self, port: int, *, password: str = PASSWORD, extra_args: tuple = ()):
        exe = camera_python()
        if exe is None:
            raise AssertionError("gst-rtsp-server Python bindings missing "
                                    "(scripts/install-deps.sh installs gir1.2-gst-rtsp-server-1.0)")
        self.port = port
        self.clients = 0
        self.expired = 0  # sessions the camera timed out (with --session-timeout)
        self.ready = threading.Event()
        self.proc = xl.Proc([exe, str(CAMERA_SCRIPT), "--port", str(port), "--user", USER,
                             "--password", password, *extra_args], stdout_pipe=True, name="camera")
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(xl.scaled(10)):
            raise AssertionError(f"camera did not start:\n{self.proc.describe()}")

    def _read(self):
        for line in self.proc.popen.stdout:
            text = line.decode(errors="replace").strip()
            if text.startswith("READY"):
                self.ready.set()
            elif text.startswith("CLIENT-CONNECTED"):
                self.clients = int(text.split()[1])
            elif text.startswith("SESSION-EXPIRED"):
                self.expired = int(text.split()[1])

    def url(self, password: str = PASSWORD) -> str:
        return f"rtsp://{USER}:{password}@{xl.HOST}:{self.port}/cam"

    def kill(self):
        self.proc.kill()


def source_toml(name: str, url: str, **keys) -> str:
    lines = ["", "[[sources]]", f"name = {json.dumps(name)}", f"url = {json.dumps(url)}"]
    for k, v in keys.items():
        lines.append(f"{k} = {xl._toml_value(v)}")
    return "\n".join(lines) + "\n"


class RtspPullTest(xl.ServerTestCase):
    """One server with two pulled sources: town1/gate (on demand, right password) and
    town1/badpass (always on, wrong password); each on its own camera."""

    @classmethod
    def setUpClass(cls):
        xl.require_tools()
        cls.cam_port, cls.bad_cam_port = xl.free_ports(2)
        cls.camera = Camera(cls.cam_port)
        cls.bad_camera = Camera(cls.bad_cam_port)
        extra = source_toml("town1/gate", cls.camera.url(), transport="tcp", on_demand=True,
                            retry_min_ms=300, retry_max_ms=1000, no_media_timeout_ms=3000,
                            idle_timeout_ms=6000)
        extra += source_toml("town1/badpass", cls.bad_camera.url("wrong"), on_demand=False,
                             retry_min_ms=500, retry_max_ms=2000)
        cls.server = xl.Server(sources=[], extra=extra).start()

    # -- helpers --
    def sources(self) -> dict:
        return {s["name"]: s for s in self.server.api("/sources")["sources"]}

    def wait_state(self, name: str, states: tuple[str, ...], timeout: float) -> dict:
        deadline = time.monotonic() + xl.scaled(timeout)
        last = None
        while time.monotonic() < deadline:
            last = self.sources().get(name)
            if last is not None and last["state"] in states:
                return last
            time.sleep(0.1)
        self.fail(f"source {name} not in {states} within {timeout}s: {last}")

    # -- tests, in order --
    def test_1_on_demand_pull_starts_with_first_viewer(self):
        gate = self.sources()["town1/gate"]
        self.assertEqual(gate["state"], "idle")
        self.assertEqual(gate["url"], f"rtsp://{USER}:***@{xl.HOST}:{self.cam_port}/cam")
        self.assertNotIn(PASSWORD, json.dumps(self.server.api("/sources")))
        self.assertEqual(self.camera.clients, 0, "an on-demand source connected before a viewer")
        # The viewer asks for a stream that is not being pulled yet: it waits for the camera.
        t0 = time.monotonic()
        first = xl.HttpFlvReader(self.server, "town1/gate")
        first.read_for(xl.scaled(10), until=lambda r: r.flv.video_frames >= 1)
        xl.note(f"first HTTP-FLV viewer of an idle camera: first video frame after "
                f"{time.monotonic() - t0:.2f}s")
        self.assertEqual(first.status, 200)
        self.assertGreaterEqual(first.flv.video_frames, 1)
        self.assertTrue(first.flv.first_frame_is_key)
        first.close()
        info = xl.probe(self.server.flv_url("town1/gate"), timeout=20)
        self.assertEqual(info["video"]["codec_name"], "h264")
        self.assertEqual((info["video"]["width"], info["video"]["height"]), (320, 240))
        gate = self.wait_state("town1/gate", ("live",), 5)
        self.assertIsNotNone(gate["connected_since"])
        self.assertGreater(gate["bytes_in"], 0)
        self.assertEqual(self.camera.clients, 1)
        # Also over RTMP, still the same camera connection.
        info = xl.probe(self.server.rtmp_url("town1/gate"), timeout=15)
        self.assertEqual(info["video"]["codec_name"], "h264")
        self.assertEqual(self.camera.clients, 1)

    def test_2_hundred_viewers_one_camera_connection_and_restart(self):
        readers = [xl.HttpFlvReader(self.server, "town1/gate") for _ in range(100)]
        loop = xl.ViewerLoop(readers).start()
        try:
            deadline = time.monotonic() + xl.scaled(15)
            while time.monotonic() < deadline and not all(r.flv.video_frames >= 10 for r in readers):
                time.sleep(0.2)
            starved = [i for i, r in enumerate(readers) if r.flv.video_frames < 10]
            self.assertEqual(starved, [], "viewers without 10 video frames")
            self.assertTrue(all(r.status == 200 for r in readers))
            self.assertEqual(self.camera.clients, 1, "100 viewers must share one camera connection")
            first = self.sources()["town1/gate"]["connected_since"]

            # Kill the camera: the source retries; the viewers stay connected.
            self.camera.kill()
            gate = self.wait_state("town1/gate", ("retrying", "connecting"), 10)
            xl.note(f"after the camera died: state {gate['state']}, error {gate['last_error']!r}")
            time.sleep(1.0)
            self.assertEqual([i for i, r in enumerate(readers) if r.closed], [],
                             "viewers were dropped while the camera was away")
            before = [r.flv.video_frames for r in readers]

            type(self).camera = Camera(self.cam_port)  # a new camera process on the same port
            t0 = time.monotonic()
            gate = self.wait_state("town1/gate", ("live",), 15)
            xl.note(f"source live again {time.monotonic() - t0:.2f}s after the camera restarted")
            self.assertNotEqual(gate["connected_since"], first)
            self.assertEqual(self.camera.clients, 1)
            deadline = time.monotonic() + xl.scaled(15)
            while time.monotonic() < deadline and not all(
                    r.flv.video_frames >= b + 25 for r, b in zip(readers, before)):
                time.sleep(0.2)
            stalled = [i for i, (r, b) in enumerate(zip(readers, before)) if r.flv.video_frames < b + 25]
            self.assertEqual(stalled, [], "viewers did not resume after the camera came back")
            self.assertEqual([i for i, r in enumerate(readers) if r.closed], [])
            self.assertEqual([i for i, r in enumerate(readers) if r.flv.errors], [])
            # The new connection continues the timeline: no timestamp goes backwards.
            self.assertEqual([i for i, r in enumerate(readers) if r.flv.ts_regressions], [])
        finally:
            loop.stop()
            for r in readers:
                r.close()

    def test_3_wrong_password_is_reported(self):
        bad = self.wait_state("town1/badpass", ("retrying",), 10)
        self.assertIn("401", bad["last_error"] or "")
        self.assertIn("password", bad["last_error"])
        self.assertIsNotNone(bad["next_attempt"])
        self.assertIsNone(bad["connected_since"])
        # The stream is held but carries nothing.
        self.assertIsNone(self.server.streams()["town1/badpass"]["video"])

    def test_4_sources_api_add_and_remove(self):
        srv = self.server
        body = {"name": "town2/door", "url": self.camera.url(), "on_demand": True,
                "transport": "tcp", "idle_timeout_ms": 5000}
        r = srv.http("/api/v1/sources", "POST", json.dumps(body).encode())
        self.assertEqual(r.status, 201, r.body)
        door = self.sources()["town2/door"]
        self.assertEqual((door["state"], door["on_demand"], door["transport"]), ("idle", True, "tcp"))
        self.assertEqual(srv.http("/api/v1/sources", "POST", json.dumps(body).encode()).status, 409)
        for bad, why in ((b"{not json", "JSON"), (b'{"name": "x", "url": "rtsp://h/a"}', "name"),
                         (b'{"name": "a/b", "url": "gopher://h/a"}', "scheme"),
                         (b'{"name": "a/b", "url": "rtsp://h/a", "colour": 1}', "colour"),
                         (b'{"name": "a/b", "url": "rtsp://h/a", "on_demand": "yes"}', "on_demand")):
            r = srv.http("/api/v1/sources", "POST", bad)
            self.assertEqual(r.status, 400, bad)
            self.assertIn(why, r.json()["error"], bad)
        # The added source pulls like a configured one.
        info = xl.probe(srv.flv_url("town2/door"), timeout=20)
        self.assertEqual(info["video"]["codec_name"], "h264")
        self.assertEqual(srv.http("/api/v1/sources/town2/door", "DELETE").status, 200)
        self.assertNotIn("town2/door", self.sources())
        self.assertNotIn("town2/door", srv.streams())
        self.assertEqual(srv.http("/api/v1/sources/town2/door", "DELETE").status, 404)

    def test_5_on_demand_source_is_released_when_idle(self):
        # No viewers since the previous tests: after idle_timeout_ms (6 s) the camera is let go.
        gate = self.wait_state("town1/gate", ("idle",), 15)
        self.assertIsNone(gate["connected_since"])
        self.assertTrue(xl.wait_port(self.cam_port, 1))

    def test_5b_rtsp_viewer_starts_an_idle_camera(self):
        # DESCRIBE of an idle on-demand source waits for the camera's tracks instead of
        # answering an SDP without media.
        self.wait_state("town1/gate", ("idle",), 15)
        before = self.camera.clients
        info = xl.probe(self.server.rtsp_url("town1/gate"), timeout=20)
        self.assertEqual(info["video"]["codec_name"], "h264")
        self.assertEqual((info["video"]["width"], info["video"]["height"]), (320, 240))
        self.assertEqual(self.camera.clients, before + 1)

    def test_6_udp_and_auto_transports(self):
        srv = self.server
        # The UDP source gets a camera of its own: Debian's gst-rtsp-server 1.22 aborts
        # (gst_rtsp_media_get_rates assertion) when a UDP PLAY of shared media overlaps another
        # session, which town1/gate may hold on the class's camera.
        udp_cam_port, tcp_only_port = xl.free_ports(2)
        udp_cam = Camera(udp_cam_port)
        tcp_only = Camera(tcp_only_port, extra_args=("--tcp-only",))
        try:
            for name, url, transport in (("town3/udp", udp_cam.url(), "udp"),
                                         ("town3/auto", tcp_only.url(), "auto")):
                body = {"name": name, "url": url, "transport": transport}
                r = srv.http("/api/v1/sources", "POST", json.dumps(body).encode())
                self.assertEqual(r.status, 201, r.body)
            # UDP: the RTP arrives on the client ports and the stream plays.
            self.wait_state("town3/udp", ("live",), 15)
            self.assertEqual(xl.probe(srv.flv_url("town3/udp"), timeout=20)["video"]["codec_name"], "h264")
            self.assertTrue(srv.wait_log("source town3/udp: playing 1 track(s) over UDP", 1))
            # auto: the camera refuses UDP (461), the same attempt switches to TCP interleaved.
            auto = self.wait_state("town3/auto", ("live",), 15)
            self.assertEqual(auto["attempts"], 0)
            self.assertTrue(srv.wait_log("source town3/auto: playing 1 track(s) over TCP", 1))
            self.assertTrue(srv.wait_log("switching to TCP", 1))
            self.assertEqual(xl.probe(srv.flv_url("town3/auto"), timeout=20)["video"]["codec_name"], "h264")
            self.assertTrue(udp_cam.proc.alive(), udp_cam.proc.describe())
        finally:
            for name in ("town3/udp", "town3/auto"):
                srv.http(f"/api/v1/sources/{name}", "DELETE")
            udp_cam.kill()
            tcp_only.kill()


    def test_7_viewer_of_a_dead_camera_waits_bounded(self):
        srv = self.server
        dead_port = xl.free_ports(1)[0]  # nobody listens there
        body = {"name": "town4/dead", "url": f"rtsp://{xl.HOST}:{dead_port}/cam", "on_demand": True,
                "retry_min_ms": 500, "retry_max_ms": 1000}
        self.assertEqual(srv.http("/api/v1/sources", "POST", json.dumps(body).encode()).status, 201)
        try:
            reader = xl.HttpFlvReader(srv, "town4/dead")
            t0 = time.monotonic()
            reader.read_for(xl.scaled(15), until=lambda r: r.closed)
            waited = time.monotonic() - t0
            xl.note(f"viewer of an unreachable camera released after {waited:.1f}s")
            self.assertEqual(reader.status, 200)  # not a 404: it waited for the camera
            self.assertTrue(reader.closed, "viewer still waiting after 15 s")
            self.assertGreater(waited, 8.0)
            self.assertEqual(reader.flv.video_frames, 0)
            dead = self.sources()["town4/dead"]
            self.assertIn(dead["state"], ("retrying", "connecting"))
            self.assertIn("cannot connect", dead["last_error"])
            self.assertIn("refused", dead["last_error"])
        finally:
            srv.http("/api/v1/sources/town4/dead", "DELETE")


if __name__ == "__main__":
    xl.main()
