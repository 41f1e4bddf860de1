#!/usr/bin/env python3
"""[limits] io_engine = "io_uring" end to end.

RTMP and HTTP-FLV viewers (ffprobe) of a server writing through io_uring get every frame in order
at the live rate, and the kernel's own view of the server's rings (/proc/PID/fdinfo of each
io_uring descriptor) shows one ring per worker whose completions count the writes. A viewer that
stops reading still falls behind without slowing the other one (back-pressure as with writev).
Every other test file runs with io_uring too when XL_IO_ENGINE=io_uring is set.
"""

import os
import re
import time
from pathlib import Path

import xl
from test_write_batching import publish_and_play

WORKERS = 2


def rings(pid: int) -> list[dict]:
    """The io_uring descriptors of a process with their fdinfo counters (SqTail, CqTail, ...)."""
    out = []
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:[io_uring]":
                continue
            text = Path(f"/proc/{pid}/fdinfo/{fd}").read_text()
        except OSError:
            continue
        out.append({k: int(v) for k, v in re.findall(r"^(\w+):\s*(\d+)$", text, re.M)})
    return out


class IoUringTest(xl.ServerTestCase):
    SERVER_CONFIG = {"io_engine": "io_uring", "workers": WORKERS}

    def test_viewers_get_every_frame_through_the_rings(self):
        before = sum(r.get("CqTail", 0) for r in rings(self.server.proc.pid))
        logs = publish_and_play(self, "live/uring")
        found = rings(self.server.proc.pid)
        self.assertEqual(len(found), WORKERS, f"one ring per worker expected, found {found}")
        done = sum(r["CqTail"] for r in found) - before
        video = sum(len(lg.video()) for lg in logs.values())
        # Each viewer's frames left through the rings: at least one completion per 4 video frames
        # (frames that arrive together share a write), however the viewers landed on workers.
        self.assertGreater(done, video // 4, f"{done} completions for {video} video frames")

    def test_stalled_viewer_does_not_hold_back_another(self):
        name = xl.unique("live/uring-slow")
        self.publish(name)
        stalled = xl.HttpFlvReader(self.server, name)  # reads its first bytes, then nothing
        self.addCleanup(stalled.close)
        stalled.read_for(xl.scaled(1.0), until=lambda r: r.flv.video_frames > 0)
        self.assertGreater(stalled.flv.video_frames, 0, "the stalled viewer never started")
        log = xl.PacketLog(self.server.flv_url(name))
        self.track(log.proc)
        first = log.wait_first("video", timeout=15.0)
        self.assertIsNotNone(first, "no video for the second viewer")
        time.sleep(max(0.0, first + xl.scaled(5.0) - time.monotonic()))
        log.stop()
        self.assertAlmostEqual(xl.steady_fps(log, 2.0), xl.DEMO_FPS, delta=5.0)


if __name__ == "__main__":
    xl.main()
