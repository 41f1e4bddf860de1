#!/usr/bin/env python3
"""The recorder keeps what cameras send beyond H.264+AAC: H.264 with A-law audio published over
RTMP is recorded with its audio as pcm_alaw, and H.265+AAC published over RTSP is recorded as
hevc+aac (ffprobe reads both back)."""

import subprocess
import tempfile
import time
from pathlib import Path

import xl
from test_recorder import ffprobe_file, files_of, recorder_toml, rule
from test_rtsp_publish import rtsp_publisher


class RecorderCodecsTest(xl.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        xl.require_tools()
        cls.tmp = Path(tempfile.mkdtemp(prefix="xl-rec-g711-"))
        cls.root = cls.tmp / "rec"
        cls.clip = cls.tmp / "alaw.flv"
        subprocess.run(xl.FFMPEG + ["-i", str(xl.DEMO_CLIP), "-t", "8", "-map", "0", "-c:v", "copy",
                                    "-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1", str(cls.clip)],
                       check=True, capture_output=True, timeout=60)
        extra = recorder_toml(cls.root, segment_seconds=4) + rule(["cam/*"])
        cls.server = xl.Server(sources=[], extra=extra).start()

    def recorded(self, name: str) -> list[dict]:
        # The file closes when the publisher leaves.
        files = xl.wait_until(lambda: files_of(self.root, name), 10)
        self.assertTrue(files, f"nothing recorded for {name}")
        infos = [ffprobe_file(f) for f in files]
        xl.note(f"recorded {name}: {[(f.name, i) for f, i in zip(files, infos)]}")
        return infos

    def test_alaw_audio_is_recorded(self):
        pub = self.publish("cam/alaw", self.clip)
        time.sleep(xl.scaled(6))
        pub.kill()
        infos = self.recorded("cam/alaw")
        # RTMP carries no G.711 configuration ahead of the media, so the audio track becomes known
        # with the first audio frame; the file cut then carries both tracks from there on.
        info = max(infos, key=lambda i: i["duration"])
        self.assertEqual(info["codecs"].get("video"), "h264")
        self.assertEqual(info["codecs"].get("audio"), "pcm_alaw")
        self.assertGreater(info["duration"], 2.0)

    def test_h265_over_rtsp_is_recorded(self):
        clip = self.tmp / "h265.mp4"
        subprocess.run(xl.FFMPEG + [
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=6",
            "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
            "keyint=25:min-keyint=25:bframes=2:log-level=error", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-tag:v", "hvc1", str(clip)], check=True, capture_output=True,
            timeout=60, env=xl.client_env(), stdin=subprocess.DEVNULL)
        pub = self.track(rtsp_publisher(self.server, "cam/hevc", src=clip, loop=False))
        self.server.wait_stream("cam/hevc", publisher=pub)
        pub.popen.wait(timeout=xl.scaled(20))
        info = max(self.recorded("cam/hevc"), key=lambda i: i["duration"])
        self.assertEqual(info["codecs"].get("video"), "hevc")
        self.assertEqual(info["codecs"].get("audio"), "aac")
        self.assertGreater(info["duration"], 3.0)


if __name__ == "__main__":
    xl.main()
