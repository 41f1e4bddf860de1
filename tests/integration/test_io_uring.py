#!/usr/bin/env python3
"""[limits] io_engine end to end: "io_uring", "writev" and the default "auto".

RTMP and HTTP-FLV viewers (ffprobe) of a server writing through io_uring get every frame in order
at the live rate, and the kernel's own view of the server's rings (/proc/PID/fdinfo of each
io_uring descriptor) shows one ring per worker whose completions count the writes. A viewer that
stops reading still falls behind without slowing the other one (back-pressure as with writev).
"auto" opens the rings exactly when this process may make one itself (asked of the kernel with
the io_uring_setup system call), and /metrics names the engine in use. Under a seccomp filter
that refuses io_uring (no_io_uring.py, as a container's profile does) "auto" and "io_uring" both
write with writev, and say so in the log (a warning only for "io_uring"). Every other test file runs
with one engine when XL_IO_ENGINE=writev or XL_IO_ENGINE=io_uring is set (else "auto").
"""

import ctypes
import os
import re
import sys
import time
from pathlib import Path

import xl
from test_write_batching import publish_and_play

WORKERS = 2
NO_IO_URING = [sys.executable, str(Path(__file__).with_name("no_io_uring.py"))]


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


def kernel_allows_io_uring() -> bool:
    """Whether the kernel lets this process make a ring: io_uring_setup(2, params), the system call
    (425 on every architecture) that the server's probe makes through liburing."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
    fd = libc.syscall(425, 2, params)
    if fd < 0:
        return False
    os.close(fd)
    return True


def engine_in_use(test) -> str:
    """The engine /metrics names with xueliang_io_engine_info (exactly one, at 1)."""
    m = test.server.metrics()
    named = {dict(labels).get("engine"): v for (name, labels), v in m.samples.items()
             if name == "xueliang_io_engine_info"}
    test.assertEqual(len(named), 1, f"one xueliang_io_engine_info sample expected: {named}")
    (engine, value), = named.items()
    test.assertEqual(value, 1)
    return engine


def plays_through_writev(test, prefix: str) -> None:
    """Viewers get every frame in order while the server has no ring and names writev."""
    publish_and_play(test, prefix)
    test.assertEqual(rings(test.server.proc.pid), [], "rings where writev was expected")
    test.assertEqual(engine_in_use(test), "writev")


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
        self.assertEqual(engine_in_use(self), "io_uring")

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


class AutoEngineTest(xl.ServerTestCase):
    SERVER_CONFIG = {"io_engine": None, "workers": WORKERS}  # the default

    def test_auto_takes_io_uring_where_the_kernel_allows_it(self):
        allowed = kernel_allows_io_uring()
        logs = publish_and_play(self, "live/auto")
        self.assertGreater(sum(len(lg.video()) for lg in logs.values()), 0)
        found = rings(self.server.proc.pid)
        if allowed:
            self.assertEqual(len(found), WORKERS, f"one ring per worker expected, found {found}")
            self.assertEqual(engine_in_use(self), "io_uring")
            self.assertIn("through io_uring", self.server.log_text())
        else:
            self.assertEqual(found, [], "rings where the kernel refuses io_uring")
            self.assertEqual(engine_in_use(self), "writev")
            self.assertIn("io_uring unavailable", self.server.log_text())


class WritevEngineTest(xl.ServerTestCase):
    SERVER_CONFIG = {"io_engine": "writev", "workers": WORKERS}

    def test_writev_opens_no_ring(self):
        plays_through_writev(self, "live/writev")


class RefusedByTheKernelTest(xl.ServerTestCase):
    """The server under a seccomp filter that refuses io_uring_setup, engine "auto"."""
    SERVER_CONFIG = {"io_engine": None, "workers": WORKERS, "wrapper": NO_IO_URING}

    def test_auto_falls_back_to_writev_quietly(self):
        plays_through_writev(self, "live/auto-refused")
        self.assertRegex(self.server.log_text(),
                         r" info .*io_engine \"auto\": io_uring unavailable \(.*not permitted\)")


class IoUringRefusedTest(xl.ServerTestCase):
    """The same filter with io_engine = "io_uring": asked for, so refusing it is a warning."""
    SERVER_CONFIG = {"io_engine": "io_uring", "workers": WORKERS, "wrapper": NO_IO_URING}

    def test_io_uring_falls_back_to_writev_with_a_warning(self):
        plays_through_writev(self, "live/uring-refused")
        self.assertRegex(self.server.log_text(), r" warn.*io_engine \"io_uring\" unavailable")


if __name__ == "__main__":
    xl.main()
