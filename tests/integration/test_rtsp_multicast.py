#!/usr/bin/env python3
"""RTSP UDP multicast play (RFC 2326 §12.39 "multicast", `[rtsp] multicast = true`): a SETUP with
"RTP/AVP;multicast" gets its stream's group (destination, ports, ttl); every multicast viewer of a
stream shares that group and the server sends each packet once to it, whatever the number of
viewers; the sender stops when the last viewer leaves. ffprobe (-rtsp_transport udp_multicast) and
GStreamer (rtspsrc protocols=udp-mcast) play it at the same time; raw sockets check the wire.

Host setup: clients join a group on the interface the routing table picks for it. A fresh
container with no default route has none, so the module adds `239.0.0.0/8 dev lo` (only when no
route exists; needs root, as in CI); with a default route the kernel loops multicast back to local
members by itself (IP_MULTICAST_LOOP)."""

import json
import random
import re
import socket
import struct
import subprocess
import time

import xl
from test_rtsp import RtspClient, RtspPacketLog

STREAM = "live/demo"  # the default config's looping file source
TRANSPORT_RE = re.compile(r"^RTP/AVP;multicast;destination=([0-9.]+);port=(\d+)-(\d+);ttl=(\d+)$")


def _loopback_multicast_works(group: str, port: int) -> bool:
    """Joins `group` as ffmpeg does (any interface) and sends one datagram to it from this host."""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        r.bind((group, port))
        r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("0.0.0.0")))
        r.settimeout(1.0)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        s.sendto(b"probe", (group, port))
        return r.recv(16) == b"probe"
    except OSError:
        return False
    finally:
        r.close()
        s.close()


def ensure_multicast_route(group: str, port: int) -> None:
    if _loopback_multicast_works(group, port):
        return
    probe = subprocess.run(["ip", "route", "get", group], capture_output=True, text=True)
    if probe.returncode != 0:  # no route at all: give the administratively scoped range to lo
        add = subprocess.run(["ip", "route", "add", "239.0.0.0/8", "dev", "lo"],
                             capture_output=True, text=True)
        xl.note(f"added route 239.0.0.0/8 dev lo (rc={add.returncode} {add.stderr.strip()})")
    if not _loopback_multicast_works(group, port):
        raise AssertionError(f"multicast to {group} does not loop back on this host; the test "
                             f"needs a route for 239.0.0.0/8 (e.g. `ip route add 239.0.0.0/8 dev "
                             f"lo`, as root). `ip route get {group}`: {probe.stdout or probe.stderr}")


class GroupListener:
    """A raw member of a multicast group on one port."""

    def __init__(self, group: str, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((group, port))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                             struct.pack("4s4s", socket.inet_aton(group), socket.inet_aton("0.0.0.0")))

    def collect(self, seconds: float) -> list[bytes]:
        out, deadline = [], time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                out.append(self.sock.recv(65536))
            except socket.timeout:
                break
        return out

    def drain(self) -> None:
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(65536)
        except BlockingIOError:
            pass

    def close(self):
        self.sock.close()


class RtspMulticastTest(xl.ServerTestCase):
    TTL = 3

    @classmethod
    def setUpClass(cls):
        xl.require_tools()
        # A group range and port of this run's own, so parallel runs on one host do not mix.
        cls.range_base = f"239.255.{random.randint(1, 254)}.{16 * random.randint(0, 15)}"
        cls.port_base = 2 * random.randint(10000, 30000)
        ensure_multicast_route(cls.range_base, cls.port_base - 2)
        srv = xl.Server()
        text = srv.config_text
        for line in (f"multicast_ttl = {cls.TTL}", f"multicast_port = {cls.port_base}",
                     f'multicast_range = "{cls.range_base}/28"', "multicast = true"):
            text, _ = xl.insert_after(text, "[rtsp]", line)
        srv.config_text = text
        srv.config_path.write_text(text)
        cls.server = srv.start()
        cls.server.wait_stream(STREAM)

    def url(self):
        return self.server.rtsp_url(STREAM)

    def senders_started(self):
        return len(re.findall(rf"rtsp: multicast {STREAM} to \S+ ports ", self.server.log_text()))

    def senders_stopped(self):
        return len(re.findall(rf"rtsp: multicast {STREAM} to \S+ stopped", self.server.log_text()))

    def setup_multicast(self, c: RtspClient):
        transports = []
        for track in (0, 1):
            status, h, body = c.request("SETUP", f"{self.url()}/trackID={track}",
                                        {"Transport": "RTP/AVP;multicast"})
            self.assertEqual(status, 200, body)
            m = TRANSPORT_RE.match(h["transport"])
            self.assertIsNotNone(m, h["transport"])
            transports.append((m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4))))
        return transports

    def test_raw_setup_shares_one_group_and_sends_each_packet_once(self):
        started = self.senders_started()
        a, b = RtspClient(self.server.rtsp_port), RtspClient(self.server.rtsp_port)
        listeners = []
        try:
            status, _, _ = a.request("DESCRIBE", self.url(), {"Accept": "application/sdp"})
            self.assertEqual(status, 200)
            ta = self.setup_multicast(a)
            (group, vport, vrtcp, ttl), (agroup, aport, artcp, _) = ta
            base = struct.unpack("!I", socket.inet_aton(self.range_base))[0]
            self.assertTrue(base <= struct.unpack("!I", socket.inet_aton(group))[0] < base + 16,
                            f"{group} outside {self.range_base}/28")
            self.assertEqual(agroup, group, "both tracks of a stream share its group")
            self.assertEqual((vport % 2, vrtcp, aport, artcp), (0, vport + 1, vport + 2, vport + 3))
            self.assertGreaterEqual(vport, self.port_base)
            self.assertEqual(ttl, self.TTL)
            self.assertEqual(self.setup_multicast(b), ta, "a second viewer gets the same group")

            video, rtcp, audio = (GroupListener(group, p) for p in (vport, vrtcp, aport))
            listeners = [video, rtcp, audio]
            for c in (a, b):
                status, h, _ = c.request("PLAY", self.url() + "/", {"Range": "npt=0.000-"})
                self.assertEqual(status, 200)
            packets = video.collect(xl.scaled(2.5))
            self.assertGreater(len(packets), 30, "video RTP on the group")
            self.assertTrue(all(p[0] >> 6 == 2 and p[1] & 0x7F == 96 for p in packets))
            self.assertEqual(len({p[8:12] for p in packets}), 1, "one SSRC")
            seqs = [int.from_bytes(p[2:4], "big") for p in packets]
            # Two viewers, yet every packet once: sent per stream, not per viewer.
            self.assertEqual(len(seqs), len(set(seqs)), "a sequence number arrived twice")
            gaps = [(x, y) for x, y in zip(seqs, seqs[1:]) if (y - x) % 65536 != 1]
            self.assertLessEqual(len(gaps), 2, f"sequence gaps {gaps[:5]}")
            reports = rtcp.collect(xl.scaled(1.5))
            self.assertTrue(any(r[1] == 200 and r[4:8] == packets[0][8:12] for r in reports),
                            "no RTCP sender report for the video SSRC on the group's RTCP port")
            apkts = audio.collect(1.0)
            self.assertGreater(len(apkts), 10, "audio RTP on the group")
            self.assertTrue(all(p[1] & 0x7F == 97 for p in apkts))
            self.assertEqual(self.senders_started(), started + 1, "one sender for both viewers")

            # The first viewer leaves: the other keeps the group going.
            status, _, _ = a.request("TEARDOWN", self.url() + "/")
            self.assertEqual(status, 200)
            time.sleep(0.3)
            video.drain()
            self.assertGreater(len(video.collect(1.0)), 10, "stopped while a viewer remains")
            # The last one goes away without TEARDOWN (as on a session timeout): sending stops.
            stopped = self.senders_stopped()
            b.close()
            deadline = time.monotonic() + xl.scaled(3)
            while self.senders_stopped() == stopped and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(self.senders_stopped(), stopped + 1, self.server.log_tail())
            time.sleep(0.2)
            video.drain()
            self.assertEqual(video.collect(1.0), [], "packets after the last viewer left")
        finally:
            a.close()
            b.close()
            for l in listeners:
                l.close()
        self.assertServerAlive()

    def probe_streams(self):
        argv = ["ffprobe", "-v", "error", "-rtsp_transport", "udp_multicast", "-show_entries",
                "stream=codec_type,codec_name,width,height,sample_rate,channels",
                "-of", "json", self.url()]
        r = subprocess.run(argv, capture_output=True, timeout=xl.scaled(20), env=xl.client_env(),
                           stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-500:])
        return {s["codec_type"]: s for s in json.loads(r.stdout)["streams"]}

    def test_two_ffprobe_viewers_share_the_group(self):
        started = self.senders_started()
        seconds = 4.0
        logs = [RtspPacketLog(self.url(), "udp_multicast") for _ in range(2)]
        try:
            firsts = [log.wait_first("video", timeout=15.0) for log in logs]
            self.assertTrue(all(firsts), "\n".join(l.proc.describe() for l in logs))
            streams = self.probe_streams()  # a third viewer, meanwhile
            time.sleep(max(0.0, max(firsts) + seconds - time.monotonic()))
        finally:
            for log in logs:
                log.stop()
        xl.assert_demo_streams(self, streams)
        for i, (log, first) in enumerate(zip(logs, firsts)):
            n = log.count("video", first, first + seconds)
            xl.note(f"multicast viewer {i}: {n} video frames in {seconds}s, "
                    f"{len(log.audio())} audio frames")
            self.assertGreaterEqual(n, 0.8 * xl.DEMO_FPS * seconds, f"viewer {i}")
            # At most the cached GOP the group starts with on top of the live rate (a stream
            # sent once per viewer would show about twice the frames).
            self.assertLessEqual(n, xl.DEMO_FPS * (seconds + 3) + 10, f"viewer {i}")
            self.assertAlmostEqual(xl.steady_fps(log, 2.0), xl.DEMO_FPS, delta=4.0)
            self.assertGreater(len(log.audio()), 20 * (seconds - 1), f"viewer {i}")
        self.assertEqual(self.senders_started(), started + 1,
                         "three viewers at once must share one group sender")

    def test_gstreamer_and_ffmpeg_at_once(self):
        self.assertTrue(xl.gst_python(), "GStreamer or python3-gi missing (scripts/install-deps.sh)")
        started = self.senders_started()
        viewer = self.track(xl.Proc(xl.FFMPEG + [
            "-rtsp_transport", "udp_multicast", "-i", self.url(), "-map", "0", "-c", "copy",
            "-f", "null", "-"], name="ffmpeg-multicast"))
        deadline = time.monotonic() + xl.scaled(10)
        while self.senders_started() == started and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.senders_started(), started + 1, viewer.describe())
        rc, took, out = xl.gst_rtsp_decode(self.url(), "udp-mcast")
        self.assertEqual(rc, 0, f"GStreamer rc={rc} after {took:.1f}s\n{out[-1500:]}")
        self.assertTrue(viewer.alive(), viewer.describe())
        self.assertEqual(self.senders_started(), started + 1, "one sender for both clients")


class RtspMulticastShutdownTest(xl.ServerTestCase):
    def test_server_stops_with_multicast_viewers_on_every_worker(self):
        # Stopping with groups still held by viewers on several workers: a quick, clean exit
        # (the server checks its exit code and sanitizer reports).
        srv = xl.Server()
        text, _ = xl.insert_after(srv.config_text, "[rtsp]", "multicast = true")
        srv.config_path.write_text(text)
        srv.start()
        clients = []
        try:
            srv.wait_stream(STREAM)
            for _ in range(6):
                c = RtspClient(srv.rtsp_port)
                clients.append(c)
                status, _, _ = c.request("SETUP", srv.rtsp_url(STREAM) + "/trackID=0",
                                         {"Transport": "RTP/AVP;multicast"})
                self.assertEqual(status, 200)
                status, _, _ = c.request("PLAY", srv.rtsp_url(STREAM) + "/")
                self.assertEqual(status, 200)
            viewers = set(re.findall(r"\[(\d+)\] rtsp 127\.0\.0\.1:\d+: playing", srv.log_text()))
            xl.note(f"multicast viewers on {len(viewers)} worker thread(s)")
            t0 = time.monotonic()
            srv.stop(timeout=xl.scaled(10))
            self.assertLess(time.monotonic() - t0, xl.scaled(5))
        finally:
            for c in clients:
                c.close()
            srv.cleanup()

    @classmethod
    def setUpClass(cls):
        xl.require_tools()

    @classmethod
    def tearDownClass(cls):
        xl.kill_all()

    def setUp(self):
        self.procs = []


if __name__ == "__main__":
    xl.main()
