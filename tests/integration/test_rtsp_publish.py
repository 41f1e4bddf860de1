#!/usr/bin/env python3
"""RTSP publishing (ANNOUNCE/RECORD, RFC 2326 §10.3/§10.11): ffmpeg and GStreamer's rtspclientsink
push over TCP interleaved and UDP; ffprobe reads the stream back over RTMP, HTTP-FLV and RTSP.
H.265 goes end to end. Bad SDPs, unsupported codecs and a second publisher are refused."""

import shutil
import socket
import subprocess
import time
import unittest

import xl
from test_rtsp import RtspClient, dts_problems, rtsp_play_log

GST = shutil.which("gst-launch-1.0")


def rtsp_publisher(server, name, transport="tcp", src=xl.DEMO_CLIP, loop=True):
    argv = xl.FFMPEG + ["-re"] + (["-stream_loop", "-1"] if loop else []) + [
        "-i", str(src), "-map", "0", "-c", "copy", "-f", "rtsp", "-rtsp_transport", transport,
        server.rtsp_url(name)]
    return xl.Proc(argv, name=f"rtsp-publisher-{transport}")


def bframe_clip(tmpdir):
    """A 4 s clip shaped like the demo (640x360 25 fps H.264 High, AAC 44.1 kHz stereo) but with
    B-frames, which the demo clip does not have (cameras and WebRTC don't use them)."""
    clip = tmpdir / "bframes.mp4"
    r = subprocess.run(xl.FFMPEG + [
        "-f", "lavfi", "-i", f"testsrc2=size={xl.DEMO_WIDTH}x{xl.DEMO_HEIGHT}:rate=25:duration=4",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={xl.DEMO_SAMPLE_RATE}:duration=4",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-bf", "2", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-c:a", "aac", "-ac", str(xl.DEMO_CHANNELS), str(clip)], capture_output=True, timeout=60,
        env=xl.client_env(), stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        raise AssertionError(f"ffmpeg cannot make a B-frame clip: {r.stderr.decode(errors='replace')[-300:]}")
    return clip


def has_gst_element(name):
    if not GST:
        return False
    r = subprocess.run(["gst-inspect-1.0", name], capture_output=True, env=xl.client_env())
    return r.returncode == 0


SDP_MPA_ONLY = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n"
                "m=audio 0 RTP/AVP 14\r\na=control:streamid=0\r\n")


class RtspPublishTest(xl.ServerTestCase):
    SERVER_CONFIG = {"sources": []}

    def publish_and_wait(self, name, transport="tcp", src=xl.DEMO_CLIP):
        p = self.track(rtsp_publisher(self.server, name, transport, src))
        self.server.wait_stream(name, publisher=p)
        return p

    def assert_demo(self, streams, where):
        self.assertEqual(streams["video"]["codec_name"], "h264", where)
        self.assertEqual((streams["video"]["width"], streams["video"]["height"]),
                         (xl.DEMO_WIDTH, xl.DEMO_HEIGHT), where)
        self.assertEqual(streams["audio"]["codec_name"], "aac", where)
        self.assertEqual(int(streams["audio"]["sample_rate"]), xl.DEMO_SAMPLE_RATE, where)
        self.assertEqual(int(streams["audio"]["channels"]), xl.DEMO_CHANNELS, where)

    def assert_live_rate(self, log, seconds, where):
        video = log.video()
        self.assertTrue(video, f"{where}: no video\n{log.proc.describe()}")
        self.assertTrue(video[0].key, f"{where}: a viewer must start on a keyframe")
        n = log.count("video", video[0].t, video[0].t + seconds)
        xl.note(f"{where}: {n} video frames in {seconds}s, {len(log.audio())} audio frames")
        self.assertGreaterEqual(n, 0.85 * xl.DEMO_FPS * seconds, where)
        self.assertLessEqual(n, xl.DEMO_FPS * (seconds + 2) + 10, where)
        self.assertAlmostEqual(xl.steady_fps(log, 2.0), xl.DEMO_FPS, delta=4.0, msg=where)
        self.assertGreater(len(log.audio()), 20 * seconds, where)

    def test_tcp_publish_reaches_rtmp_flv_and_rtsp(self):
        name = xl.unique("live/push")
        self.publish_and_wait(name, "tcp", src=bframe_clip(self.make_tmpdir()))
        self.assert_demo(xl.probe(self.server.rtmp_url(name)), "rtmp")
        self.assert_demo(xl.probe(self.server.flv_url(name)), "flv")
        self.assert_demo(xl.probe(self.server.rtsp_url(name)), "rtsp")
        log = xl.play(self.server.rtmp_url(name), 4.0)
        self.assert_live_rate(log, 4.0, "rtsp push (tcp) -> rtmp")
        self.assertEqual(log.dts_problems(), [])
        # B-frames: RTP carries presentation times only; the server rebuilt decode times.
        self.assertTrue(any(p.pts is not None and p.dts is not None and p.pts > p.dts
                            for p in log.video()), "no reordered frame kept its pts")
        log = xl.play(self.server.flv_url(name), 3.0)
        self.assert_live_rate(log, 3.0, "rtsp push (tcp) -> http-flv")
        self.assertEqual(log.dts_problems(), [])
        log = rtsp_play_log(self.server, name, "tcp", 3.0)
        self.assert_live_rate(log, 3.0, "rtsp push (tcp) -> rtsp")
        self.assertEqual(dts_problems(log), [])
        info = self.server.streams()[name]
        xl.note(f"stream entry: {info}")

    def test_udp_publish_reaches_rtmp_and_rtsp(self):
        name = xl.unique("live/pushudp")
        self.publish_and_wait(name, "udp")
        self.assert_demo(xl.probe(self.server.rtmp_url(name)), "rtmp")
        self.assert_demo(xl.probe(self.server.rtsp_url(name)), "rtsp")
        log = xl.play(self.server.flv_url(name), 4.0)
        self.assert_live_rate(log, 4.0, "rtsp push (udp) -> http-flv")
        self.assertEqual(log.dts_problems(), [])

    def test_two_udp_publishers_share_the_server_ports(self):
        # Both send to the one shared RTP/RTCP pair; the server tells them apart by source.
        names = [xl.unique("live/udpa"), xl.unique("live/udpb")]
        for n in names:
            self.publish_and_wait(n, "udp")
        for n in names:
            self.assert_demo(xl.probe(self.server.rtmp_url(n)), f"rtmp {n}")
        for n in names:
            log = xl.play(self.server.rtmp_url(n), 3.0)
            self.assert_live_rate(log, 3.0, f"rtsp push (udp) {n} -> rtmp")
            self.assertEqual(log.dts_problems(), [])

    def announce_raw(self, c, url, sdp):
        c.cseq += 1
        c.sock.sendall((f"ANNOUNCE {url} RTSP/1.0\r\nCSeq: {c.cseq}\r\n"
                        f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n"
                        f"{sdp}").encode())
        kind, status, headers, body = c.read_item()
        if "session" in headers:
            c.session = headers["session"].split(";")[0]
        return status, body

    def test_udp_record_answers_the_shared_ports_and_follows_a_nat(self):
        rtp, rtcp = self.server.rtsp_udp_ports
        name = xl.unique("live/nat")
        url = self.server.rtsp_url(name)
        tmp = self.make_tmpdir()
        # An RTP sender whose source port is not the one its SETUP names, as behind a NAT. It
        # starts before the session exists: those first datagrams come from an unknown source.
        src_port, setup_port = xl.free_udp_ports(2)
        sdp_path = tmp / "out.sdp"
        sender = self.track(xl.Proc(xl.FFMPEG + [
            "-re", "-stream_loop", "-1", "-i", str(xl.DEMO_CLIP), "-map", "0:v", "-c", "copy",
            "-f", "rtp", "-sdp_file", str(sdp_path),
            f"rtp://{xl.HOST}:{rtp}?localrtpport={src_port}&localrtcpport={src_port + 1}"
            f"&rtcpport={rtcp}"], name="rtp-sender"))
        deadline = time.monotonic() + xl.scaled(10)
        while not (sdp_path.exists() and "m=video" in sdp_path.read_text()):
            self.assertLess(time.monotonic(), deadline, sender.describe())
            time.sleep(0.1)
        self.assertTrue(self.server.wait_log("dropping UDP datagrams from unknown source", 5.0),
                        self.server.log_tail())
        c = RtspClient(self.server.rtsp_port)
        self.addCleanup(c.close)
        status, body = self.announce_raw(c, url, sdp_path.read_text().replace("\n", "\r\n"))
        self.assertEqual(status, 200, body)
        status, h, body = c.request("SETUP", url, {
            "Transport": f"RTP/AVP/UDP;unicast;client_port={setup_port}-{setup_port + 1};mode=record"})
        self.assertEqual(status, 200, body)
        self.assertEqual(h["transport"],
                         f"RTP/AVP;unicast;client_port={setup_port}-{setup_port + 1};"
                         f"server_port={rtp}-{rtcp};mode=record")
        status, _, _ = c.request("RECORD", url, {"Range": "npt=0.000-"})
        self.assertEqual(status, 200)
        self.server.wait_stream(name)
        streams = xl.probe(self.server.rtmp_url(name))
        self.assertEqual(streams["video"]["codec_name"], "h264")
        self.assertEqual((streams["video"]["width"], streams["video"]["height"]),
                         (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertTrue(self.server.wait_log("now receives RTP from"), self.server.log_tail())
        self.assertEqual(self.server.log_text().count(
            f"dropping UDP datagrams from unknown source {xl.HOST}:{src_port} "), 1,
            "unknown sources are logged once a minute, not per datagram")
        c.request("TEARDOWN", url)

    def test_teardown_ends_the_stream(self):
        name = xl.unique("live/short")
        p = self.publish_and_wait(name, "tcp")
        self.assertIn(name, self.server.streams())
        p.stop()  # SIGTERM: ffmpeg sends TEARDOWN
        deadline = time.monotonic() + xl.scaled(5)
        while name in self.server.streams() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertNotIn(name, self.server.streams())
        self.assertTrue(self.server.wait_log(f"stopped publishing {name}"))

    def test_second_publisher_is_refused(self):
        name = xl.unique("live/busy")
        first = self.publish_and_wait(name, "tcp")
        rc, _, err = xl.run_client(xl.FFMPEG + [
            "-re", "-i", str(xl.DEMO_CLIP), "-t", "2", "-map", "0", "-c", "copy", "-f", "rtsp",
            "-rtsp_transport", "tcp", self.server.rtsp_url(name)], timeout=xl.scaled(15))
        self.assertNotEqual(rc, 0, "a second publisher of a live name must fail")
        self.assertIn("409", err)
        self.assertTrue(first.alive(), "the first publisher must keep its stream")
        self.assertIn(name, self.server.streams())

    def test_bad_announces_are_refused_with_a_reason(self):
        c = RtspClient(self.server.rtsp_port)
        self.addCleanup(c.close)
        url = self.server.rtsp_url(xl.unique("live/bad"))

        def announce(body, ctype="application/sdp"):
            c.cseq += 1
            req = (f"ANNOUNCE {url} RTSP/1.0\r\nCSeq: {c.cseq}\r\nContent-Type: {ctype}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n{body}")
            c.sock.sendall(req.encode())
            kind, status, headers, resp = c.read_item()
            return status, resp.decode(errors="replace")

        status, body = announce("this is not an sdp")
        self.assertEqual(status, 400)
        self.assertIn("SDP", body)
        status, body = announce(SDP_MPA_ONLY)
        self.assertEqual(status, 415)
        self.assertIn("no supported track", body)
        status, body = announce("v=0\r\n", ctype="text/plain")
        self.assertEqual(status, 415)
        # RECORD without ANNOUNCE is a state error, not a crash.
        c.cseq += 1
        c.sock.sendall(f"RECORD {url} RTSP/1.0\r\nCSeq: {c.cseq}\r\n\r\n".encode())
        self.assertEqual(c.read_item()[1], 455)
        self.assertTrue(self.server.alive())

    def test_h265_end_to_end(self):
        tmp = self.make_tmpdir()
        clip = tmp / "h265.mp4"
        r = subprocess.run(xl.FFMPEG + [
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=4",
            "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
            "keyint=25:min-keyint=25:bframes=2:log-level=error", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-tag:v", "hvc1", str(clip)], capture_output=True, timeout=60,
            env=xl.client_env(), stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            self.fail(f"ffmpeg cannot encode H.265 (libx265): {r.stderr.decode(errors='replace')[-300:]}")
        name = xl.unique("live/hevc")
        self.publish_and_wait(name, "tcp", src=clip)
        streams = xl.probe(self.server.rtsp_url(name))
        self.assertEqual(streams["video"]["codec_name"], "hevc")
        self.assertEqual((streams["video"]["width"], streams["video"]["height"]), (320, 240))
        self.assertEqual(streams["audio"]["codec_name"], "aac")
        log = rtsp_play_log(self.server, name, "tcp", 3.0)
        n = len(log.video())
        xl.note(f"h265 over rtsp: {n} video packets in ~3 s")
        self.assertGreaterEqual(n, 0.85 * 25 * 3)
        self.assertEqual(dts_problems(log), [])
        hls = xl.probe(self.server.http_url(f"/{name}/index.m3u8"), timeout=20)
        self.assertEqual(hls["video"]["codec_name"], "hevc")

    def test_gstreamer_rtspclientsink_publishes(self):
        self.assertTrue(has_gst_element("rtspclientsink") and has_gst_element("x264enc"),
                        "GStreamer rtspclientsink (gstreamer1.0-rtsp) or x264enc missing: "
                        "run scripts/install-deps.sh")
        name = xl.unique("live/gst")
        argv = [GST, "-q", "videotestsrc", "is-live=true", "!",
                "video/x-raw,width=320,height=240,framerate=25/1", "!",
                "x264enc", "tune=zerolatency", "key-int-max=25", "speed-preset=ultrafast", "!",
                "video/x-h264,profile=baseline", "!",
                "rtspclientsink", f"location={self.server.rtsp_url(name)}", "protocols=tcp"]
        p = self.track(xl.Proc(argv, name="gst-rtspclientsink"))
        self.server.wait_stream(name, publisher=p)
        deadline = time.monotonic() + xl.scaled(10)
        while not (self.server.streams().get(name) or {}).get("video") and time.monotonic() < deadline:
            time.sleep(0.2)
        streams = xl.probe(self.server.rtmp_url(name))
        self.assertEqual(streams["video"]["codec_name"], "h264")
        self.assertEqual((streams["video"]["width"], streams["video"]["height"]), (320, 240))
        log = xl.play(self.server.flv_url(name), 3.0)
        n = log.count("video", log.video()[0].t, log.video()[0].t + 3.0) if log.video() else 0
        xl.note(f"rtspclientsink -> flv: {n} video frames in 3 s")
        self.assertGreaterEqual(n, 0.8 * 25 * 3)
        self.assertEqual(log.dts_problems(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
