#!/usr/bin/env python3
"""RTSP play (`rtsp://HOST:PORT/{app}/{stream}`, RFC 2326) of an RTMP-published stream: ffprobe,
ffmpeg and GStreamer over TCP interleaved and UDP, and a raw-socket client that checks the wire."""

import json
import shutil
import socket
import subprocess
import threading
import time

import xl



class RtspPacketLog(xl.PacketLog):
    """xl.PacketLog (a streaming ffprobe -show_packets viewer) over RTSP with a chosen lower
    transport."""

    def __init__(self, url: str, transport: str, media: str = ""):
        argv = ["ffprobe", "-v", "warning", "-rtsp_transport", transport, "-timeout", "15000000",
                *(["-allowed_media_types", media] if media else []), "-show_entries", "packet=codec_type,dts,pts,flags,size", "-of", "compact=p=0", url]
        if shutil.which("stdbuf"):
            argv = ["stdbuf", "-oL"] + argv
        self.url, self.packets = url, []
        self.proc = xl.Proc(argv, stdout_pipe=True, name="ffprobe-rtsp")
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()


def rtsp_play_log(server, name, transport, seconds, media=""):
    """As xl.play: `seconds` of wall-clock time after the first video packet (of the first packet
    of `media`, the only track the player sets up, when given)."""
    log = RtspPacketLog(server.rtsp_url(name), transport, media)
    first = log.wait_first(media or "video", timeout=10.0)
    if first is not None:
        time.sleep(max(0.0, first + seconds - time.monotonic()))
    return log.stop()


def dts_problems(log):
    """As PacketLog.dts_problems, except that an RTP receiver cannot know the dts of the first
    frames of a stream with B-frames (reorder delay): up to 3 leading video packets may lack it."""
    out = []
    for kind in ("video", "audio"):
        pkts = [p for p in log.packets if p.kind == kind]
        lead = 0
        while kind == "video" and lead < len(pkts) and lead < 3 and pkts[lead].dts is None:
            lead += 1
        prev = None
        for i, p in enumerate(pkts[lead:], lead):
            if p.dts is None:
                out.append(f"{kind} packet {i}: no dts")
            elif prev is not None and p.dts <= prev:
                out.append(f"{kind} packet {i}: dts {p.dts} after {prev}")
            prev = p.dts if p.dts is not None else prev
    return out


class RtspClient:
    """A minimal RTSP/1.0 client on a raw socket: requests, responses and interleaved frames."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection((xl.HOST, port), timeout=timeout)
        self.buf = b""
        self.cseq = 0
        self.session = None
        self.frames = []  # (channel, bytes) seen while waiting for responses

    def request(self, method, url, headers=None):
        self.cseq += 1
        h = {"CSeq": str(self.cseq), "User-Agent": "xl-it"}
        if self.session:
            h["Session"] = self.session
        h.update(headers or {})
        self.sock.sendall((f"{method} {url} RTSP/1.0\r\n" +
                           "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n").encode())
        while True:
            item = self.read_item()
            if item[0] == "response":
                _, status, headers, body = item
                if "session" in headers:
                    self.session = headers["session"].split(";")[0]
                return status, headers, body
            self.frames.append(item[1:])

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def read_item(self):
        """("frame", channel, payload) or ("response", status, headers, body)."""
        while True:
            if self.buf[:1] == b"$":
                if len(self.buf) >= 4:
                    n = int.from_bytes(self.buf[2:4], "big")
                    if len(self.buf) >= 4 + n:
                        ch, payload, self.buf = self.buf[1], self.buf[4:4 + n], self.buf[4 + n:]
                        return ("frame", ch, payload)
            else:
                end = self.buf.find(b"\r\n\r\n")
                if end >= 0:
                    lines = self.buf[:end].decode("latin-1").split("\r\n")
                    headers = {}
                    for l in lines[1:]:
                        k, _, v = l.partition(":")
                        headers[k.strip().lower()] = v.strip()
                    n = int(headers.get("content-length", "0"))
                    if len(self.buf) >= end + 4 + n:
                        body = self.buf[end + 4:end + 4 + n]
                        self.buf = self.buf[end + 4 + n:]
                        return ("response", int(lines[0].split(" ")[1]), headers, body)
            self._fill()

    def close(self):
        self.sock.close()


class RtspTest(xl.ServerTestCase):

    def setUp(self):
        super().setUp()
        self.name = xl.unique("live/rtsp")
        self.publish(self.name)

    def test_probe_codecs_over_tcp_and_udp(self):
        for transport in ("tcp", "udp"):
            with self.subTest(transport=transport):
                argv = ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-show_entries",
                        "stream=codec_type,codec_name,width,height,sample_rate,channels",
                        "-of", "json", self.server.rtsp_url(self.name)]
                r = subprocess.run(argv, capture_output=True, timeout=xl.scaled(20),
                                   env=xl.client_env(), stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-500:])
                streams = {s["codec_type"]: s for s in json.loads(r.stdout)["streams"]}
                xl.assert_demo_streams(self, streams)

    def test_frame_rate_and_monotonic_dts_over_tcp_and_udp(self):
        seconds = 5.0
        for transport in ("tcp", "udp"):
            with self.subTest(transport=transport):
                log = rtsp_play_log(self.server, self.name, transport, seconds)
                video = log.video()
                self.assertTrue(video, f"no video packets\n{log.proc.describe()}")
                self.assertTrue(video[0].key, "a new viewer must start on a keyframe")
                n = log.count("video", video[0].t, video[0].t + seconds)
                expected = xl.DEMO_FPS * seconds
                xl.note(f"rtsp/{transport}: {n} video frames in {seconds}s, "
                        f"{len(log.audio())} audio frames")
                self.assertGreaterEqual(n, 0.85 * expected, f"only {n} video frames in {seconds}s")
                self.assertLessEqual(n, expected + 2 * xl.DEMO_FPS + 10)
                self.assertAlmostEqual(xl.steady_fps(log, 3.0), xl.DEMO_FPS, delta=4.0)
                self.assertGreater(len(log.audio()), 30)
                self.assertEqual(dts_problems(log), [])

    def test_one_track_viewers_get_only_that_track(self):
        # The stream sends audio with the next video frame in one buffer; a player that set up
        # one track must get that track's packets, and all of them, and nothing of the other.
        seconds = 3.0
        for transport in ("tcp", "udp"):
            for media, other in (("video", "audio"), ("audio", "video")):
                with self.subTest(transport=transport, media=media):
                    log = rtsp_play_log(self.server, self.name, transport, seconds, media)
                    mine = [p for p in log.packets if p.kind == media]
                    self.assertTrue(mine, f"no {media} packets\n{log.proc.describe()}")
                    self.assertEqual([p for p in log.packets if p.kind == other], [])
                    n = log.count(media, mine[0].t, mine[0].t + seconds)
                    xl.note(f"rtsp/{transport} {media} only: {n} packets in {seconds}s")
                    if media == "video":
                        self.assertTrue(mine[0].key, "a new viewer must start on a keyframe")
                        self.assertGreaterEqual(n, 0.85 * xl.DEMO_FPS * seconds)
                    else:
                        self.assertGreaterEqual(n, 30 * seconds)  # AAC: 43-47 frames a second
                    self.assertEqual(dts_problems(log), [])

    def test_ffmpeg_plays_both_tracks_in_sync(self):
        for transport in ("tcp", "udp"):
            with self.subTest(transport=transport):
                argv = ["ffprobe", "-v", "error", "-rtsp_transport", transport,
                        "-read_intervals", "%+4", "-show_entries", "packet=codec_type,pts_time",
                        "-of", "csv=p=0", self.server.rtsp_url(self.name)]
                r = subprocess.run(argv, capture_output=True, timeout=xl.scaled(30),
                                   env=xl.client_env(), stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-500:])
                last = {}
                for line in r.stdout.decode().splitlines():
                    kind, _, t = line.partition(",")
                    t = t.strip(",")
                    if t not in ("", "N/A"):
                        last[kind] = float(t)
                self.assertIn("video", last)
                self.assertIn("audio", last)
                # Sender reports put both tracks on one timeline.
                self.assertLess(abs(last["video"] - last["audio"]), 0.5, last)
                rc, took, err = xl.run_client(
                    xl.FFMPEG + ["-rtsp_transport", transport, "-i", self.server.rtsp_url(self.name),
                                 "-t", "3", "-map", "0", "-c", "copy", "-f", "null", "-"],
                    timeout=xl.scaled(20))
                self.assertEqual(rc, 0, err)

    def test_gstreamer_rtspsrc_decodes_both_tracks(self):
        self.assertTrue(xl.gst_python(), "GStreamer or python3-gi missing (scripts/install-deps.sh)")
        for proto in ("tcp", "udp"):
            with self.subTest(protocols=proto):
                rc, took, out = xl.gst_rtsp_decode(self.server.rtsp_url(self.name), proto)
                self.assertEqual(rc, 0, f"GStreamer rc={rc} after {took:.1f}s\n{out[-1500:]}")

    def test_unknown_stream_is_404(self):
        c = RtspClient(self.server.rtsp_port)
        try:
            status, _, _ = c.request("DESCRIBE", self.server.rtsp_url("live/nosuchstream"),
                                     {"Accept": "application/sdp"})
            self.assertEqual(status, 404)
            status, _, _ = c.request("SETUP", self.server.rtsp_url("live/nosuchstream") + "/trackID=0",
                                     {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
            self.assertEqual(status, 404)
        finally:
            c.close()
        rc, took, err = xl.run_client(["ffprobe", "-v", "error", self.server.rtsp_url("live/nope")],
                                      timeout=xl.scaled(15))
        self.assertNotEqual(rc, 0)
        self.assertIn("404", err)

    def test_multicast_setup_is_461_when_disabled(self):
        # [rtsp] multicast is off by default: a multicast-only SETUP is refused (RFC 2326
        # §11.3.11), while a preference list falls through to the next, unicast, transport.
        url = self.server.rtsp_url(self.name)
        c = RtspClient(self.server.rtsp_port)
        try:
            status, _, _ = c.request("SETUP", f"{url}/trackID=0",
                                     {"Transport": "RTP/AVP;multicast"})
            self.assertEqual(status, 461)
            status, _, _ = c.request("SETUP", f"{url}/trackID=0",
                                     {"Transport": "RTP/AVP/UDP;multicast;ttl=4"})
            self.assertEqual(status, 461)
            status, h, _ = c.request("SETUP", f"{url}/trackID=0",
                                     {"Transport": "RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=0-1"})
            self.assertEqual(status, 200)
            self.assertEqual(h["transport"], "RTP/AVP/TCP;unicast;interleaved=0-1")
        finally:
            c.close()

    def test_raw_session_over_tcp(self):
        url = self.server.rtsp_url(self.name)
        c = RtspClient(self.server.rtsp_port)
        try:
            status, h, _ = c.request("OPTIONS", url)
            self.assertEqual(status, 200)
            for m in ("DESCRIBE", "SETUP", "PLAY", "TEARDOWN", "GET_PARAMETER"):
                self.assertIn(m, h["public"])
            status, h, body = c.request("DESCRIBE", url, {"Accept": "application/sdp"})
            self.assertEqual(status, 200)
            self.assertEqual(h["content-type"], "application/sdp")
            self.assertEqual(h["content-base"], url + "/")
            sdp = body.decode()
            self.assertIn("m=video 0 RTP/AVP 96", sdp)
            self.assertIn("a=rtpmap:96 H264/90000", sdp)
            self.assertIn("sprop-parameter-sets=", sdp)
            self.assertIn("a=rtpmap:97 MPEG4-GENERIC/44100/2", sdp)
            self.assertIn("a=control:trackID=1", sdp)
            for track in (0, 1):
                status, h, _ = c.request("SETUP", f"{url}/trackID={track}",
                                         {"Transport": f"RTP/AVP/TCP;unicast;interleaved={2 * track}-{2 * track + 1}"})
                self.assertEqual(status, 200)
                self.assertEqual(h["transport"], f"RTP/AVP/TCP;unicast;interleaved={2 * track}-{2 * track + 1}")
            self.assertTrue(c.session)
            status, h, _ = c.request("PLAY", url + "/", {"Range": "npt=0.000-"})
            self.assertEqual(status, 200)
            info = h["rtp-info"]
            self.assertIn(f"url={url}/trackID=0;seq=", info)
            first_seq = {0: int(info.split("seq=")[1].split(";")[0])}
            seqs, reports, keyframe = {0: [], 2: []}, {1: 0, 3: 0}, None
            deadline = time.monotonic() + xl.scaled(3)
            while time.monotonic() < deadline:
                _, ch, payload = c.read_item()
                if ch in seqs:
                    self.assertEqual(payload[0] >> 6, 2, "RTP version 2")
                    seqs[ch].append(int.from_bytes(payload[2:4], "big"))
                    if ch == 0 and keyframe is None:
                        nal = payload[12] & 0x1F
                        keyframe = nal in (5, 7, 8) or (nal == 28 and payload[13] & 0x1F == 5)
                elif ch in reports:
                    self.assertEqual(payload[1], 200, "RTCP sender report")
                    reports[ch] += 1
            self.assertEqual(seqs[0][0], first_seq[0], "RTP-Info names the first packet")
            self.assertTrue(keyframe, "video starts with parameter sets or an IDR")
            for ch, s in seqs.items():
                self.assertGreater(len(s), 20, f"channel {ch}")
                gaps = [(a, b) for a, b in zip(s, s[1:]) if (b - a) % 65536 != 1]
                self.assertEqual(gaps, [], f"channel {ch} sequence gaps")
            self.assertGreater(reports[1], 0, "video sender reports")
            self.assertGreater(reports[3], 0, "audio sender reports")
            status, _, _ = c.request("GET_PARAMETER", url + "/")  # keep-alive while playing
            self.assertEqual(status, 200)
            status, _, _ = c.request("PAUSE", url + "/")
            self.assertEqual(status, 200)
            status, h, _ = c.request("PLAY", url + "/")  # resumes on the latest keyframe
            self.assertEqual(status, 200)
            self.assertIn("seq=", h.get("rtp-info", ""))
            status, _, _ = c.request("PLAY", url + "/", {"Session": "not-this-one"})
            self.assertEqual(status, 454)
            status, _, _ = c.request("TEARDOWN", url + "/")
            self.assertEqual(status, 200)
        finally:
            c.close()
        self.assertServerAlive()


class RtspAccessTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": "\n[plugins]\norder = [\"access_list\"]\n\n[plugins.access_list]\n"
                              "play_deny_streams = [\"secret/*\"]\n"}

    def test_play_check_denies_with_403(self):
        self.publish("secret/cam")
        c = RtspClient(self.server.rtsp_port)
        try:
            status, _, body = c.request("DESCRIBE", self.server.rtsp_url("secret/cam") + "?token=x")
            self.assertEqual(status, 403, body)
            status, _, _ = c.request("DESCRIBE", self.server.rtsp_url("live/demo"))
            self.assertEqual(status, 200)
        finally:
            c.close()
        self.assertTrue(self.server.wait_log("denied"), self.server.log_tail())


if __name__ == "__main__":
    xl.main()
