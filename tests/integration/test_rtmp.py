#!/usr/bin/env python3
"""RTMP publish and play against the real binary, with ffmpeg as publisher and ffmpeg/ffprobe as
viewers."""

import time

import xl


class RtmpTest(xl.ServerTestCase):

    def test_probe_codecs_and_resolution(self):
        name = xl.unique("live/probe")
        self.publish(name)
        s = xl.probe(self.server.rtmp_url(name))
        self.assertIn("video", s, s)
        self.assertIn("audio", s, s)
        self.assertEqual(s["video"]["codec_name"], "h264")
        self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertEqual(s["audio"]["codec_name"], "aac")
        self.assertEqual(int(s["audio"]["sample_rate"]), xl.DEMO_SAMPLE_RATE)
        self.assertEqual(int(s["audio"]["channels"]), xl.DEMO_CHANNELS)

    def test_play_frame_rate_keyframe_start_and_monotonic_dts(self):
        name = xl.unique("live/rate")
        self.publish(name)
        seconds = 5.0
        log = xl.play(self.server.rtmp_url(name), seconds)
        video = log.video()
        self.assertTrue(video, f"no video packets received\n{log.proc.describe()}")
        self.assertTrue(video[0].key, "a new viewer must start on a keyframe (GOP cache)")
        self.assertTrue(log.audio(), "no audio packets received")
        # Over 5 s after the first packet: 125 live frames, plus at most one cached GOP (50) sent
        # as a burst when the viewer joins.
        n = log.count("video", video[0].t, video[0].t + seconds)
        expected = xl.DEMO_FPS * seconds
        self.assertGreaterEqual(n, 0.85 * expected, f"only {n} video frames in {seconds}s")
        self.assertLessEqual(n, expected + 2 * xl.DEMO_FPS + 10, f"{n} video frames in {seconds}s")
        fps = xl.steady_fps(log, 3.0)
        xl.note(f"rtmp: {n} video frames in {seconds}s after the first, live rate {fps:.1f} fps")
        self.assertAlmostEqual(fps, xl.DEMO_FPS, delta=4.0, msg="live frame rate after the burst")
        problems = log.dts_problems()
        self.assertEqual(problems, [], "dts must strictly increase per stream")

    def test_three_streams_play_their_own_content(self):
        tmp = self.make_tmpdir()
        # Different resolutions and sample rates tell the streams apart.
        variants = [(320, 180, 22050), (480, 270, 32000), (640, 360, 48000)]
        names = []
        for i, (w, h, sr) in enumerate(variants):
            clip = xl.make_clip(tmp / f"c{i}.mp4", width=w, height=h, sample_rate=sr, seconds=4)
            name = xl.unique(f"live/multi{i}-")
            self.publish(name, clip)
            names.append(name)
        for name, (w, h, sr) in zip(names, variants):
            s = xl.probe(self.server.rtmp_url(name))
            self.assertEqual((s["video"]["width"], s["video"]["height"]), (w, h), name)
            self.assertEqual(int(s["audio"]["sample_rate"]), sr, name)
        # All three at once deliver frames at the live rate.
        logs = [xl.PacketLog(self.server.rtmp_url(n)) for n in names]
        for lg in logs:
            self.track(lg.proc)
        time.sleep(xl.scaled(5.0))
        for name, lg in zip(names, logs):
            lg.stop()
            self.assertGreater(len(lg.video()), 50, f"{name}: {len(lg.video())} video frames")
            self.assertAlmostEqual(xl.steady_fps(lg, 2.0), xl.DEMO_FPS, delta=5.0, msg=name)

    def test_duplicate_publish_is_refused(self):
        name = xl.unique("live/dup")
        first = self.publish(name)
        second = self.publish(name, wait=False)
        rc = second.wait(xl.scaled(5.0))
        self.assertIsNotNone(rc, f"second publisher to {name} still running after 5 s")
        self.assertNotEqual(rc, 0, f"second publisher exited 0\n{second.describe()}")
        time.sleep(1.0)
        self.assertTrue(first.alive(), f"first publisher stopped\n{first.describe()}")
        s = xl.probe(self.server.rtmp_url(name))
        self.assertEqual(s["video"]["width"], xl.DEMO_WIDTH)

    def test_play_unknown_stream_fails_quickly(self):
        token = xl.unique("nosuch")
        url = self.server.rtmp_url(f"live/{token}")
        rc, took, err = xl.run_client(xl.FFMPEG + ["-rw_timeout", "10000000", "-i", url,
                                                   "-t", "1", "-f", "null", "-"], timeout=15)
        self.assertIsNotNone(rc, f"ffmpeg playing an unknown stream still running after {took:.1f}s")
        self.assertNotEqual(rc, 0, "playing an unknown stream must fail")
        self.assertLess(took, xl.scaled(5.0), f"took {took:.1f}s to fail")
        self.assertTrue(self.server.wait_log(token), f"server log does not mention {token}")

    def test_publisher_disconnect_ends_viewers(self):
        name = xl.unique("live/bye")
        pub = self.publish(name)
        viewers = [self.track(xl.null_viewer(self.server.rtmp_url(name))) for _ in range(2)]
        time.sleep(xl.scaled(3.0))
        for v in viewers:
            self.assertTrue(v.alive(), f"viewer ended early\n{v.describe()}")
        pub.kill()
        for v in viewers:
            rc = v.wait(xl.scaled(5.0))
            self.assertIsNotNone(rc, "viewer still running 5 s after the publisher was killed")
            self.assertEqual(rc, 0, f"viewer did not end cleanly\n{v.describe()}")
        self.assertServerAlive()

    def test_builtin_demo_stream_plays(self):
        url = self.server.rtmp_url("live/demo")
        s = xl.probe(url)
        self.assertEqual(s["video"]["codec_name"], "h264")
        self.assertEqual((s["video"]["width"], s["video"]["height"]), (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        self.assertEqual(s["audio"]["codec_name"], "aac")
        log = xl.play(url, 3.0)
        self.assertTrue(log.video() and log.video()[0].key, "demo must start on a keyframe")
        self.assertAlmostEqual(xl.steady_fps(log, 2.0), xl.DEMO_FPS, delta=5.0)
        self.assertEqual(log.dts_problems(), [])


if __name__ == "__main__":
    xl.main()
