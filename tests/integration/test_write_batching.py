#!/usr/bin/env python3
"""Write batching end to end.

Realtime: RTMP and HTTP-FLV viewers get each audio frame riding in one buffer with the next
video frame; ffprobe must still see every audio and video frame, in order, at the live rate.
Merge (300 ms window): viewers of a flowing stream get every frame; when the publisher pauses
(SIGSTOP), a viewer still gets the last window without waiting for a next frame (the worker's
flush timer): its newest frame equals that of a viewer who joins after the pause and receives
the cached GOP at once.
"""

import os
import signal
import time

import xl

AAC_FRAMES_PER_S = xl.DEMO_SAMPLE_RATE / 1024


def play_all(test, logs, seconds):
    """Runs the PacketLogs until each has `seconds` of wall clock after its first video packet
    (past the GOP burst and ffprobe's probing), then stops them."""
    for lg in logs.values():
        test.track(lg.proc)
    for what, lg in logs.items():
        first = lg.wait_first("video", timeout=15.0)
        test.assertIsNotNone(first, f"{what}: no video")
        time.sleep(max(0.0, first + xl.scaled(seconds) - time.monotonic()))
    for lg in logs.values():
        lg.stop()


def check_in_order(test, log, what):
    for kind in ("video", "audio"):
        dts = [p.dts for p in log.packets if p.kind == kind and p.dts is not None]
        test.assertTrue(dts, f"{what}: no {kind}")
        regressions = sum(1 for a, b in zip(dts, dts[1:]) if b <= a)
        test.assertEqual(regressions, 0, f"{what}: {kind} dts not strictly increasing")


def publish_and_play(test, prefix):
    """Publishes the demo clip and plays it over RTMP and HTTP-FLV for 6 s: both viewers get every
    frame in order at the live rate. Returns their PacketLogs."""
    name = xl.unique(prefix)
    test.publish(name)
    logs = {"rtmp": xl.PacketLog(test.server.rtmp_url(name)),
            "flv": xl.PacketLog(test.server.flv_url(name))}
    play_all(test, logs, 6.0)
    for what, lg in logs.items():
        check_in_order(test, lg, what)
        test.assertAlmostEqual(xl.steady_fps(lg, 2.0), xl.DEMO_FPS, delta=5.0, msg=what)
    return logs


def newest_video(reader):
    """Timestamp of the newest video frame an HttpFlvReader has parsed."""
    return reader.flv._last_ts.get(xl.FLV_VIDEO)


class RealtimeTest(xl.ServerTestCase):
    def test_rtmp_and_flv_viewers_get_every_frame_in_order(self):
        logs = publish_and_play(self, "live/rt")
        for what, lg in logs.items():
            # Audio over the same span as the video: the live AAC rate, none lost on the way.
            audio = [p for p in lg.audio() if p.dts is not None]
            span = (audio[-1].dts - audio[0].dts) / 1000.0
            self.assertGreater(span, 2.0, what)
            rate = (len(audio) - 1) / span
            self.assertAlmostEqual(rate, AAC_FRAMES_PER_S, delta=2.0, msg=what)


class MergeTest(xl.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        xl.require_tools()
        cls.server = xl.Server()
        text, _ = xl.insert_after(cls.server.config_text, "[limits]", 'write_mode = "merge"')
        text, _ = xl.insert_after(text, "[limits]", "merge_window_ms = 300")
        cls.server.config_text = text
        cls.server.config_path.write_text(text)
        cls.server.start()

    def test_viewers_get_every_frame(self):
        publish_and_play(self, "live/merge")

    def test_paused_stream_still_delivers_the_last_window(self):
        name = xl.unique("live/pause")
        pub = self.publish(name)
        early = xl.HttpFlvReader(self.server, name)
        self.addCleanup(early.close)
        loop = xl.ViewerLoop([early]).start()
        self.addCleanup(loop.stop)
        time.sleep(xl.scaled(2.5))
        self.assertGreater(early.flv.video_frames, 10, "the first viewer gets no video")
        os.kill(pub.popen.pid, signal.SIGSTOP)
        self.addCleanup(lambda: pub.alive() and os.kill(pub.popen.pid, signal.SIGCONT))
        # Well past the 300 ms window: whatever the server has must have reached the viewer.
        time.sleep(xl.scaled(1.5))
        late = xl.HttpFlvReader(self.server, name)
        self.addCleanup(late.close)
        late.read_for(xl.scaled(3.0),
                      until=lambda r: newest_video(r) is not None and newest_video(r) == newest_video(early))
        self.assertGreater(late.flv.video_frames, 0, "the late viewer got no cached GOP")
        newest_late, newest_early = newest_video(late), newest_video(early)
        self.assertEqual(newest_early, newest_late,
                         "the first viewer's last window stayed queued while the stream paused")
        self.assertEqual(early.flv.errors, [])
        self.assertEqual(early.flv.ts_regressions, 0)


if __name__ == "__main__":
    xl.main()
