"""xl-load as RTSP cameras and as RTSP/UDP viewers that send RTCP, against independent peers.

1. The real xueliang binary: two ffmpeg publishers started by xl-load push over RTSP
   (ANNOUNCE/RECORD, TCP interleaved, then UDP) while RTSP/UDP and RTMP viewers of xl-load play
   them. The server must list the streams as published over RTSP with both kinds of viewers, every
   viewer must get keyframes, and the viewers' receiver reports must reach the server's RTCP port
   as reports of known viewers (its unknown-source drop counter stays at zero).
2. GStreamer's RTSP server (tests/integration/rtsp_camera.py, gst-rtsp-server) with a 2 s session
   timeout: it keeps a UDP session alive on the client's RTCP alone, so the sessions of xl-load's
   viewers (an OPTIONS keep-alive only every 20 s) must not expire in 9 s; with --no-rtsp-rtcp
   both do.
3. A minimal RTSP server written here sends RTP with known gaps across a sequence wrap and sender
   reports, and checks every field of the receiver reports that come back (RFC 3550 §6.4.2).
Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator)."""

import json
import os
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import xl  # noqa: E402

LOAD = os.environ.get("XL_LOAD_BIN", "")


def start_load(out: Path, *args: str) -> subprocess.Popen:
    """xl-load in the background, writing its JSON summary to `out`."""
    return subprocess.Popen([LOAD, *args, "-q", "--json", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish_load(proc: subprocess.Popen, out: Path, timeout: float = 40) -> dict:
    """Waits for xl-load (killed after `timeout`), asserts success, returns its summary."""
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise AssertionError(f"xl-load exited {proc.returncode}: {err[-2000:]}")
    return json.loads(out.read_text())


class RtspCameras(unittest.TestCase):
    def setUp(self):
        self.assertTrue(Path(LOAD).is_file(), f"xl-load not found at {LOAD!r}")
        self.out = Path(tempfile.mkdtemp(prefix="xl-load-rtsp-"))

    def assert_played(self, s: dict, n: int):
        self.assertEqual(s["attempted"], n)
        self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
        self.assertEqual(s["ttfk_ms"]["count"], n, "every viewer found a keyframe")

    def test_rtsp_publishers_with_udp_and_rtmp_viewers(self):
        with xl.Server(workers=2) as srv:
            drops = "xueliang_rtsp_udp_unknown_source_drops_total"
            self.assertEqual(srv.metrics().get(drops), 0)
            for transport, cams, seconds in (("tcp", 2, 6), ("udp", 1, 5)):
                with self.subTest(publish_transport=transport):
                    names = [f"{transport}/cam{i}" for i in range(cams)]
                    out = self.out / f"{transport}.json"
                    proc = start_load(
                        out, "--publish", str(cams), "--publish-file", str(xl.DEMO_CLIP),
                        "--publish-url", srv.rtsp_url(f"{transport}/cam{{i}}"),
                        "--publish-transport", transport, "--publish-wait", "2.5",
                        "-u", srv.rtsp_url(f"{transport}/cam{{i}}"),
                        "-u", srv.rtmp_url(f"{transport}/cam{{i}}"), "--streams", str(cams),
                        "-n", str(4 * cams), "--rtsp-transport", "udp", "-d", str(seconds),
                        "--rtsp-rtcp-interval", "1")
                    try:
                        seen = self.wait_viewers(srv, names, proc)
                    except BaseException:
                        proc.kill()
                        raise
                    s = finish_load(proc, out)
                    for name in names:
                        self.assertEqual(seen[name]["publisher"]["protocol"], "rtsp")
                        self.assertEqual(seen[name]["viewers"]["rtsp"], 2, seen[name])
                        self.assertEqual(seen[name]["viewers"]["rtmp"], 2, seen[name])
                    xl.note(f"{transport}: {s['rtsp_rtcp']} publishers {s['publishers']}")
                    self.assert_played(s, 4 * cams)
                    self.assertEqual(s["publishers"]["count"], cams)
                    self.assertEqual(s["publishers"]["restarts"], 0)
                    self.assertGreater(s["publishers"]["cpu_s"], 0)
                    self.assertEqual(s["config"]["publish_transport"], transport)
                    rtcp = s["rtsp_rtcp"]
                    # 2 RTSP viewers per camera, 2 tracks each, one report a second per track.
                    self.assertGreaterEqual(rtcp["receiver_reports_sent"],
                                            cams * 2 * 2 * (seconds - 3))
                    self.assertGreater(rtcp["sender_reports_received"], 0)
                    self.assertGreater(rtcp["reports_with_lsr"], 0)
                    self.assertEqual(rtcp["malformed"], 0)
                    # Each report reached the server's RTCP port as one from a viewer it knows.
                    self.assertEqual(srv.metrics().get(drops), 0,
                                     "receiver reports counted as unknown-source datagrams")
            self.assertNotIn("dropping UDP datagrams from unknown source", srv.log_text())
            # The counter is live: an SDES alone from an unknown port is one drop.
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray:
                stray.sendto(bytes.fromhex("81ca00021234567801000000"),
                            (xl.HOST, srv.rtsp_udp_ports[1]))
            deadline = time.monotonic() + 3
            while srv.metrics().get(drops) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertEqual(srv.metrics().get(drops), 1)

    def wait_viewers(self, srv, names, proc) -> dict:
        """Polls /api/v1/streams while xl-load runs until every stream has its 4 viewers."""
        deadline = time.monotonic() + xl.scaled(20)
        last = {}
        while time.monotonic() < deadline and proc.poll() is None:
            last = srv.streams()
            if all(n in last and last[n]["viewers_total"] >= 4 for n in names):
                sessions = srv.api("/sessions")["sessions"]
                publishers = [x for x in sessions
                              if x["role"] == "publisher" and x["stream"] in names]
                self.assertEqual(sorted(x["stream"] for x in publishers), sorted(names))
                self.assertTrue(all(x["protocol"] == "rtsp" for x in publishers), publishers)
                return last
            time.sleep(0.2)
        raise AssertionError(f"viewers of {names} not all seen: {last}")

    def test_gstreamer_keeps_udp_sessions_alive_on_receiver_reports(self):
        """Two cameras side by side, one player pair each: with and without receiver reports.
        gst-rtsp-server expires a session 5 s after its timeout: 2 + 5 < 9 s of playing."""
        # Debian's python3 has the gst-rtsp-server bindings (python3-gi).
        python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
        runs = []
        try:
            for reports in (True, False):
                port = xl.free_ports(1)[0]
                camera = xl.Proc([python, str(xl.HERE / "rtsp_camera.py"), "--port", str(port),
                                  "--session-timeout", "2", "--unshared"], name="camera")
                runs.append((reports, camera, port, self.out / f"gst_{reports}.json"))
            for reports, camera, port, out in runs:
                self.assertTrue(xl.wait_port(port, xl.scaled(15)), camera.describe())
            loads = [start_load(out, "-u", f"rtsp://{xl.HOST}:{port}/cam", "-n", "2", "-d", "9",
                                "--ramp", "0", "--rtsp-transport", "udp", "--rtsp-rtcp-interval", "1",
                                *([] if reports else ["--no-rtsp-rtcp"]))
                     for reports, camera, port, out in runs]
            for (reports, camera, port, out), load in zip(runs, loads):
                s = finish_load(load, out)
                self.assert_played(s, 2)
                sent = s.get("rtsp_rtcp", {}).get("receiver_reports_sent", 0)
                if reports:
                    self.assertGreaterEqual(sent, 2 * 7)
                    self.assertNotIn("SESSION-EXPIRED", camera.output())
                else:  # the control: without receiver reports both sessions expire
                    self.assertEqual(sent, 0)
                    self.assertIn("SESSION-EXPIRED 2", camera.output())
        finally:
            for _, camera, _, _ in runs:
                camera.stop()


class FakeRtspServer:
    """One H.264 track over UDP, or interleaved on the RTSP connection (channels 0-1) when the
    player asks for TCP: RTP every 20 ms from sequence number 65500 (it wraps), every tenth packet
    left out, a sender report every 400 ms; records the RTCP that comes back."""

    SSRC = 0x5EED1234
    FIRST_SEQ = 65500

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((xl.HOST, 0))
        self.tcp.listen()
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((xl.HOST, 0))
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind((xl.HOST, 0))
        self.port = self.tcp.getsockname()[1]
        self.client_ports = None
        self.interleaved = False  # SETUP asked for RTP/AVP/TCP
        self.sent = []     # (monotonic time, extended sequence number) of each RTP packet sent
        self.skipped = []  # extended sequence numbers left out
        self.srs = {}      # middle 32 bits of each sender report's NTP time -> monotonic send time
        self.reports = []  # (monotonic arrival, source address or ("tcp", channel), packet)

    def close(self):
        for s in (self.tcp, self.rtp, self.rtcp):
            s.close()

    def serve(self, proc: subprocess.Popen):
        """Answers one player and streams to it until `proc` exits."""
        sel = selectors.DefaultSelector()
        sel.register(self.tcp, selectors.EVENT_READ, "accept")
        sel.register(self.rtcp, selectors.EVENT_READ, "rtcp")
        conn, buf, playing, i = None, b"", False, 0
        next_rtp = next_sr = 0.0
        while proc.poll() is None:
            now = time.monotonic()
            timeout = max(0.0, min(next_rtp, next_sr) - now) if playing else 0.05
            for key, _ in sel.select(min(timeout, 0.05)):
                if key.data == "accept":
                    conn, _ = self.tcp.accept()
                    sel.register(conn, selectors.EVENT_READ, "rtsp")
                elif key.data == "rtcp":
                    data, addr = self.rtcp.recvfrom(2048)
                    self.reports.append((time.monotonic(), addr, data))
                else:
                    chunk = conn.recv(4096)
                    if not chunk:
                        sel.unregister(conn)
                        conn.close()
                        playing = False  # the player left
                        continue
                    buf += chunk
                    while buf:
                        if buf[:1] == b"$":  # RFC 2326 §10.12: "$", channel, length, packet
                            if len(buf) < 4 or len(buf) < 4 + struct.unpack("!H", buf[2:4])[0]:
                                break
                            end = 4 + struct.unpack("!H", buf[2:4])[0]
                            self.reports.append((time.monotonic(), ("tcp", buf[1]), buf[4:end]))
                            buf = buf[end:]
                            continue
                        if b"\r\n\r\n" not in buf:
                            break
                        head, buf = buf.split(b"\r\n\r\n", 1)
                        playing |= self.answer(conn, head.decode())
                        if playing and not next_rtp:
                            next_rtp = next_sr = time.monotonic()
            now = time.monotonic()
            if playing and now >= next_rtp:
                ext = self.FIRST_SEQ + i
                if i % 10 == 9:
                    self.skipped.append(ext)
                else:
                    nal = b"\x65" if i % 25 == 0 else b"\x41"  # IDR, then non-IDR slices
                    pkt = struct.pack("!BBHII", 0x80, 0x80 | 96, ext & 0xFFFF, i * 1800,
                                      self.SSRC) + nal + b"\x00" * 100
                    self.send(conn, 0, pkt)
                    self.sent.append((now, ext))
                i += 1
                next_rtp += 0.02
            if playing and now >= next_sr:
                wall = time.time() + 2208988800  # NTP epoch (1900)
                ntp = int(wall * (1 << 32))
                self.srs[(ntp >> 16) & 0xFFFFFFFF] = now
                sr = struct.pack("!BBHIQIII", 0x80, 200, 6, self.SSRC, ntp, i * 1800, i, i * 100)
                self.send(conn, 1, sr)
                next_sr += 0.4
        # Reports sent in xl-load's last moments (over TCP they were read before the close).
        self.rtcp.settimeout(0.3)
        try:
            while True:
                data, addr = self.rtcp.recvfrom(2048)
                self.reports.append((time.monotonic(), addr, data))
        except OSError:
            pass
        if conn:
            conn.close()

    def send(self, conn, channel: int, packet: bytes):
        if self.interleaved:
            conn.sendall(struct.pack("!BBH", 0x24, channel, len(packet)) + packet)
        else:
            sock = self.rtp if channel == 0 else self.rtcp
            sock.sendto(packet, (xl.HOST, self.client_ports[channel]))

    def answer(self, conn, head: str) -> bool:
        lines = head.split("\r\n")
        method, url = lines[0].split(" ")[:2]
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:])}
        extra, body = "", ""
        if method == "DESCRIBE":
            body = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fake\r\nt=0 0\r\n"
                    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:trackID=0\r\n")
            extra = f"Content-Base: {url}/\r\nContent-Type: application/sdp\r\n"
        elif method == "SETUP" and "interleaved=" in headers["transport"]:
            self.interleaved = True
            extra = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 4711;timeout=60\r\n"
        elif method == "SETUP":
            ports = headers["transport"].split("client_port=")[1].split(";")[0]
            self.client_ports = [int(p) for p in ports.split("-")]
            extra = (f"Transport: RTP/AVP;unicast;client_port={ports};server_port="
                     f"{self.rtp.getsockname()[1]}-{self.rtcp.getsockname()[1]}\r\n"
                     "Session: 4711;timeout=60\r\n")
        conn.sendall((f"RTSP/1.0 200 OK\r\nCSeq: {headers['cseq']}\r\n{extra}"
                      f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
        return method == "PLAY"


class ReceiverReportFields(unittest.TestCase):
    def test_receiver_reports_describe_what_arrived(self):
        self.check_reports("udp")

    def test_receiver_reports_over_tcp_interleaved(self):
        self.check_reports("tcp")

    def check_reports(self, transport: str):
        self.assertTrue(Path(LOAD).is_file(), f"xl-load not found at {LOAD!r}")
        out = Path(tempfile.mkdtemp(prefix="xl-load-rr-")) / "rr.json"
        srv = FakeRtspServer()
        proc = start_load(out, "-u", f"rtsp://{xl.HOST}:{srv.port}/cam", "-n", "1", "-d", "5",
                          "--rtsp-transport", transport, "--rtsp-rtcp-interval", "1")
        try:
            srv.serve(proc)
        except BaseException:
            proc.kill()
            raise
        finally:
            srv.close()
        s = finish_load(proc, out, timeout=20)
        self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
        self.assertGreater(s["keyframes"], 0)
        rtcp = s["rtsp_rtcp"]
        self.assertEqual(rtcp["receiver_reports_sent"], len(srv.reports), "every report arrived")
        self.assertGreaterEqual(len(srv.reports), 3, "about one a second over 5 s")
        self.assertGreaterEqual(rtcp["sender_reports_received"], 8)
        self.assertEqual(rtcp["malformed"], 0)
        self.assertGreater(rtcp["reports_with_lsr"], 0)

        ours, jitters = None, []
        for k, (at, addr, d) in enumerate(srv.reports):
            if transport == "tcp":
                self.assertEqual(addr, ("tcp", 1), "on the track's RTCP channel")
            else:
                self.assertEqual(addr[1], srv.client_ports[1], "sent from the RTCP port of SETUP")
            self.assertEqual(len(d), 52, d.hex())
            # RR with one report block (§6.4.2), then SDES with the CNAME (§6.5.1).
            b0, pt, words, sender = struct.unpack("!BBHI", d[:8])
            self.assertEqual((b0, pt, words), (0x81, 201, 7))
            ours = ours or sender
            self.assertEqual(sender, ours, "one SSRC for the receiver")
            ssrc, lost_word, ext, jitter, lsr, dlsr = struct.unpack("!IIIIII", d[8:32])
            self.assertEqual(ssrc, srv.SSRC)
            fraction, cumulative = lost_word >> 24, lost_word & 0xFFFFFF
            self.assertEqual(d[32:34], b"\x81\xca")
            self.assertEqual(struct.unpack("!I", d[36:40])[0], sender)
            self.assertEqual(d[40:52], b"\x01\x07xl-load\x00\x00\x00", "CNAME, zero-padded")
            # Extended highest sequence number: one the server had sent by then, at most 3 behind.
            sent_by_then = [e for t, e in srv.sent if t <= at]
            self.assertIn(ext, sent_by_then)
            self.assertGreaterEqual(ext, sent_by_then[-1] - 3)
            # Cumulative loss: exactly the packets left out up to that number.
            self.assertEqual(cumulative, sum(1 for e in srv.skipped if e < ext))
            if k > 0:  # a tenth lost in each interval: 25.6/256, give or take a packet
                self.assertTrue(15 <= fraction <= 40, fraction)
            # Sent on a 20 ms cadence: jitter is this script's timing noise, far under 50 ms.
            self.assertLess(jitter, 4500)
            jitters.append(jitter)
            if lsr:
                self.assertIn(lsr, srv.srs, "LSR is the middle of a sender report's NTP time")
                held = at - srv.srs[lsr]
                self.assertAlmostEqual(dlsr / 65536, held, delta=0.15)
        self.assertGreaterEqual(struct.unpack("!I", srv.reports[-1][2][16:20])[0], 65536,
                                "the sequence wrap counted in the extended number")
        self.assertGreater(max(jitters), 0, "jitter measured with the a=rtpmap clock (90 kHz)")
        gaps = [b[0] - a[0] for a, b in zip(srv.reports, srv.reports[1:])]
        self.assertTrue(all(0.4 <= g <= 1.7 for g in gaps), gaps)


if __name__ == "__main__":
    unittest.main()
