#!/usr/bin/env python3
"""The recorder keeps G.711 audio: a camera-like stream with H.264 and A-law audio, published over
RTMP, is recorded to a fragmented file whose audio ffprobe reads back as pcm_alaw."""

import subprocess
import tempfile
import time
from pathlib import Path

import xl
from test_recorder import ffprobe_file, files_of, recorder_toml, rule, wait_until


class RecorderG711Test(xl.ServerTestCase):
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

    def test_alaw_audio_is_recorded(self):
        pub = self.publish("cam/alaw", self.clip)
        time.sleep(xl.scaled(6))
        pub.kill()
        # The file closes when the publisher leaves.
        files = wait_until(lambda: files_of(self.root, "cam/alaw"), 10)
        self.assertTrue(files, "nothing recorded")
        infos = [ffprobe_file(f) for f in files]
        xl.note(f"recorded: {[(f.name, i) for f, i in zip(files, infos)]}")
        # RTMP carries no G.711 configuration ahead of the media, so the audio track becomes known
        # with the first audio frame; the file cut then carries both tracks from there on.
        info = max(infos, key=lambda i: i["duration"])
        self.assertEqual(info["codecs"].get("video"), "h264")
        self.assertEqual(info["codecs"].get("audio"), "pcm_alaw")
        self.assertGreater(info["duration"], 2.0)


if __name__ == "__main__":
    xl.main()
