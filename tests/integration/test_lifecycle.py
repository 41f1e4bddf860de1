#!/usr/bin/env python3
"""Process lifecycle: config validation, shutdown, and robustness against malformed input."""

import resource
import random
import re
import socket
import struct
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import xl


def check_config(text: str) -> tuple[str, subprocess.CompletedProcess]:
    """Writes text to a temp file and runs `xueliang --check -c FILE`: (file name, result)."""
    with tempfile.TemporaryDirectory(prefix="xl-check-") as d:
        path = Path(d) / "xueliang.toml"
        path.write_text(text)
        r = subprocess.run([str(xl.require_binary()), "--check", "-c", str(path)],
                           capture_output=True, timeout=xl.scaled(10), stdin=subprocess.DEVNULL)
    return path.name, r


def good_config() -> str:
    rtmp, http = xl.free_ports(2)
    return xl.render_config(rtmp_port=rtmp, http_port=http)


class ConfigCheckTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        xl.require_binary()

    def test_check_good_config(self):
        text = good_config()
        _, r = check_config(text)
        self.assertEqual(r.returncode, 0, f"--check rejected a good config:\n{r.stderr.decode()}"
                                          f"\n{text}")

    def _assert_rejected_at(self, text, line, what):
        fname, r = check_config(text)
        self.assertNotEqual(r.returncode, 0, f"--check accepted a config with {what}")
        where = f"{fname}:{line}"
        err = r.stderr.decode(errors="replace")
        out = r.stdout.decode(errors="replace")
        self.assertIn(where, err, f"stderr must say where the problem is ({where}); "
                      f"stderr={err!r} stdout={out[-500:]!r}")

    def test_unknown_key_is_an_error_with_file_and_line(self):
        text, line = xl.insert_after(good_config(), *xl.UNKNOWN_KEY_EDIT)
        self._assert_rejected_at(text, line, "an unknown key")

    def test_bad_value_is_an_error_with_file_and_line(self):
        text, line = xl.replace_line(good_config(), *xl.BAD_VALUE_EDIT)
        self._assert_rejected_at(text, line, "a value of the wrong type")


class ShutdownTest(unittest.TestCase):

    def test_sigterm_with_viewers_exits_within_1s(self):
        xl.require_tools()
        server = xl.Server().start()
        try:
            name = xl.unique("live/term")
            pub = xl.publish(server, name)
            viewers = [xl.null_viewer(server.rtmp_url(name)) for _ in range(2)]
            readers = [xl.HttpFlvReader(server, name) for _ in range(2)]
            loop = xl.ViewerLoop(readers).start()
            time.sleep(xl.scaled(2.5))
            self.assertTrue(all(r.flv.video_frames > 0 for r in readers), "viewers not playing")
            self.assertTrue(all(v.alive() for v in viewers), "viewers not playing")
            took = server.stop(timeout=1.0)
            self.assertLess(took, xl.scaled(1.0))
            for v in viewers:
                self.assertIsNotNone(v.wait(xl.scaled(5.0)), "RTMP viewer still running after shutdown")
            deadline = time.monotonic() + xl.scaled(5.0)
            while not all(r.closed for r in readers) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertTrue(all(r.closed for r in readers), "HTTP-FLV viewers still connected")
            loop.stop()
            pub.stop()
        finally:
            xl.kill_all()
            server.cleanup()


class OpenFileLimitTest(unittest.TestCase):
    """A server started under a soft open-file limit of 512 raises it to the hard limit, grows
    its descriptor table once at start-up, and accepts more connections than 512 would allow."""

    def test_soft_limit_raised_and_table_grown_at_start(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard < 2048:
            self.fail(f"this test needs a hard open-file limit of 2048 (have {hard})")
        server = xl.Server()
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))  # inherited by the server
        try:
            server.start()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        socks = []
        try:
            status = Path(f"/proc/{server.pid}/status").read_text()
            fd_size = int(next(l for l in status.splitlines() if l.startswith("FDSize:")).split()[1])
            self.assertGreaterEqual(fd_size, min(hard, 65536), status)
            limits = Path(f"/proc/{server.pid}/limits").read_text()
            line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
            self.assertEqual(line.split()[3:5], [str(hard), str(hard)], line)
            self.assertIn("open-file limit raised from 512", server.log_text())
            for _ in range(700):
                socks.append(socket.create_connection((xl.HOST, server.http_port), timeout=5))
            deadline = time.monotonic() + xl.scaled(10)
            fds = 0
            while time.monotonic() < deadline:
                fds = len(list(Path(f"/proc/{server.pid}/fd").iterdir()))
                if fds >= 700:
                    break
                time.sleep(0.1)
            self.assertGreaterEqual(fds, 700, "the server did not accept 700 connections\n"
                                    + server.log_tail())
        finally:
            for s in socks:
                s.close()
            server.stop()
            server.cleanup()


class SctpStackTest(unittest.TestCase):
    """WebRTC's SCTP stack (usrsctp) opens no sockets of its own: data channels reach it only
    through DTLS, so no raw SCTP socket may take packets sent to the host from anywhere."""

    def test_no_raw_sockets_and_one_sleeping_timer_thread(self):
        server = xl.Server(webrtc_udp_port=xl.free_udp_ports(1)[0]).start()
        try:
            pid = server.pid
            fds = set()
            for p in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    fds.add(str(p.readlink()))
                except FileNotFoundError:  # closed since the listing (a file the server read)
                    pass
            raw = set()
            for table in ("/proc/net/raw", "/proc/net/raw6"):
                for line in Path(table).read_text().splitlines()[1:]:
                    raw.add(f"socket:[{line.split()[9]}]")
            self.assertFalse(fds & raw, f"raw sockets held by the server: {fds & raw}")
            threads = [(t / "comm").read_text().strip()
                       for t in Path(f"/proc/{pid}/task").iterdir()]
            self.assertEqual(threads.count("sctp timers"), 1, threads)
            self.assertFalse([t for t in threads if t.startswith("SCTP/IP")], threads)
            # Without a data channel the timer thread sleeps (it would wake 100 times a second).
            timer = next(t for t in Path(f"/proc/{pid}/task").iterdir()
                         if (t / "comm").read_text().strip() == "sctp timers")

            def switches():
                status = (timer / "status").read_text()
                return int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", status).group(1))
            before = switches()
            time.sleep(0.5)
            self.assertLessEqual(switches() - before, 1, "the sctp timers ticked while idle")
        finally:
            server.stop()
            server.cleanup()


class MalformedInputTest(xl.ServerTestCase):
    """Malformed input gets the connection closed; the server keeps serving everyone else."""

    def _connect(self, port):
        s = socket.create_connection((xl.HOST, port), timeout=5)
        self.addCleanup(s.close)
        return s

    def _send(self, s, data) -> bool:
        """False if the server already closed the connection while we were sending."""
        try:
            s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _closed_by_server(self, s, timeout=5.0) -> bytes | None:
        """Reads until EOF or reset; returns what the server sent, or None if still open."""
        s.settimeout(0.25)
        got = bytearray()
        deadline = time.monotonic() + xl.scaled(timeout)
        while time.monotonic() < deadline:
            try:
                data = s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return bytes(got)
            if not data:
                return bytes(got)
            got += data
        return None

    def _assert_still_serving(self):
        self.assertServerAlive()
        reader = xl.HttpFlvReader(self.server, "live/demo")
        reader.read_for(xl.scaled(5.0), until=lambda r: r.flv.video_frames >= 5)
        reader.close()
        self.assertGreaterEqual(reader.flv.video_frames, 5, "HTTP-FLV play of live/demo failed: "
                                f"status {reader.status}, {reader.close_reason or 'open'}")
        s = xl.probe(self.server.rtmp_url("live/demo"))
        self.assertEqual(s["video"]["codec_name"], "h264", "RTMP play of live/demo failed")

    def _rtmp_handshake(self, s):
        c1 = struct.pack(">II", 0, 0) + random.Random(7).randbytes(1528)
        s.sendall(b"\x03" + c1)
        need, got = 1 + 1536 + 1536, bytearray()
        while len(got) < need:
            data = s.recv(need - len(got))
            self.assertTrue(data, "server closed during a valid handshake")
            got += data
        self.assertEqual(got[0], 3, "S0 must be version 3")
        s.sendall(bytes(got[1:1537]))  # C2 echoes S1

    @staticmethod
    def _chunk(msg_type: int, payload: bytes, csid: int = 2, chunk_size: int = 128) -> bytes:
        """One RTMP message as fmt-0 + fmt-3 chunks."""
        out = bytearray([csid])  # basic header, fmt 0
        out += b"\x00\x00\x00"  # timestamp
        out += len(payload).to_bytes(3, "big") + bytes([msg_type]) + b"\x00\x00\x00\x00"
        for i in range(0, len(payload), chunk_size):
            if i:
                out.append(0xC0 | csid)
            out += payload[i:i + chunk_size]
        return bytes(out)

    def test_rtmp_random_garbage(self):
        s = self._connect(self.server.rtmp_port)
        garbage = bytearray(random.Random(1234).randbytes(8192))
        garbage[0] = 0x16  # not RTMP version 3 (this one is a TLS record type)
        self._send(s, bytes(garbage))
        self.assertIsNotNone(self._closed_by_server(s), "connection left open after garbage")
        self._assert_still_serving()

    def test_rtmp_truncated_handshake(self):
        s = self._connect(self.server.rtmp_port)
        self._send(s, b"\x03" + bytes(700))  # C0 and half of C1, then nothing
        # A half-finished handshake must not block anyone else.
        self._assert_still_serving()
        s.shutdown(socket.SHUT_WR)
        self.assertIsNotNone(self._closed_by_server(s), "connection left open after EOF mid-handshake")
        self._assert_still_serving()

    def test_rtmp_invalid_huge_chunk_size(self):
        s = self._connect(self.server.rtmp_port)
        self._rtmp_handshake(s)
        # Set Chunk Size with bit 31 set: invalid (the field is 31 bits).
        self._send(s, self._chunk(1, struct.pack(">I", 0xFFFFFFFF)))
        self._send(s, bytes(4096))
        self.assertIsNotNone(self._closed_by_server(s), "connection left open after chunk size 0xFFFFFFFF")
        self._assert_still_serving()

    def test_rtmp_max_chunk_size_then_huge_garbage_message(self):
        s = self._connect(self.server.rtmp_port)
        self._rtmp_handshake(s)
        # 0x7FFFFFFF is a legal chunk size; then a 16 MiB-1 "command" message that is not AMF0.
        self._send(s, self._chunk(1, struct.pack(">I", 0x7FFFFFFF)))
        size = 0xFFFFFF
        header = bytes([3]) + b"\x00\x00\x00" + size.to_bytes(3, "big") + bytes([20]) + bytes(4)
        ok = self._send(s, header)
        block = b"\xff" * 65536
        sent = 0
        while ok and sent < size:
            n = min(len(block), size - sent)
            ok = self._send(s, block[:n])
            sent += n
        self.assertIsNotNone(self._closed_by_server(s), "connection left open after a garbage command")
        self._assert_still_serving()

    def test_http_garbage_request_line(self):
        s = self._connect(self.server.http_port)
        self._send(s, b"\x00\x01GARBAGE \xff\xfe\x80 HTTP/9.9\r\n\r\n")
        got = self._closed_by_server(s)
        self.assertIsNotNone(got, "connection left open after a garbage request line")
        if got:
            self.assertRegex(got[:12], rb"^HTTP/1\.[01] 4\d\d", f"answer to garbage: {got[:80]!r}")
        self._assert_still_serving()

    def test_http_oversized_request_head(self):
        s = self._connect(self.server.http_port)
        ok = self._send(s, b"GET /" + b"a" * 200_000)  # no end of line, ever
        got = self._closed_by_server(s) if ok else b""
        self.assertIsNotNone(got, "connection left open after a 200 kB request line")
        if got:
            self.assertRegex(got[:12], rb"^HTTP/1\.[01] 4\d\d", f"answer: {got[:80]!r}")
        self._assert_still_serving()


if __name__ == "__main__":
    xl.main()
