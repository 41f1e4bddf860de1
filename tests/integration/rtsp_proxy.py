"""A small RTSP proxy for the camera pull tests (standard library only): it sits between the
server and the camera (rtsp_camera.py) on one TCP port and forwards each RTSP connection, while
playing the part of the network or of a quirky camera:
  - blackhole_udp: UDP SETUP requests get their client_port= rewritten to a port pair the proxy
    holds and never reads, so the camera's UDP media goes nowhere, silently, as through a
    firewall that drops RTP (an unbound port would answer with ICMP port unreachable, which
    makes the camera end the session); the reply gets the original ports back. TCP interleaved data passes untouched.
  - strip_sprop: DESCRIBE replies lose sprop-parameter-sets (Content-Length fixed), as from
    cameras that send the parameter sets only in-band.
It records every request (time, method, headers) and every reply's Session header.
"""

from __future__ import annotations

import re
import socket
import threading
import time


class _Stream:
    """Splits one direction of an RTSP connection into messages and interleaved frames."""

    def __init__(self):
        self.buf = b""

    def feed(self, data: bytes):
        self.buf += data
        out = []
        while self.buf:
            if self.buf[:1] == b"$":
                if len(self.buf) < 4:
                    break
                n = 4 + int.from_bytes(self.buf[2:4], "big")
                if len(self.buf) < n:
                    break
                out.append((None, self.buf[:n]))
                self.buf = self.buf[n:]
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = self.buf[:end + 4]
            m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
            n = len(head) + (int(m.group(1)) if m else 0)
            if len(self.buf) < n:
                break
            out.append((head, self.buf[len(head):n]))
            self.buf = self.buf[n:]
        return out


def _header(head: bytes, name: str) -> str | None:
    m = re.search(rb"\r\n" + name.encode() + rb":[ \t]*([^\r\n]*)", head, re.I)
    return m.group(1).decode(errors="replace") if m else None


class RtspProxy:
    def __init__(self, upstream_port: int, *, blackhole_udp: bool = False,
                 strip_sprop: bool = False, host: str = "127.0.0.1"):
        self.upstream = (host, upstream_port)
        self.blackhole_udp = blackhole_udp
        self.strip_sprop = strip_sprop
        self.requests: list[tuple[float, str, bytes]] = []  # (monotonic time, method, head)
        self.sessions: list[str] = []  # Session headers of the replies to SETUP
        self.rewritten = 0             # UDP SETUPs whose client ports were redirected
        self.stripped = 0              # DESCRIBE replies that lost their sprop-parameter-sets
        self.connections = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        self._conns: list[socket.socket] = []
        self._sinks: list[socket.socket] = []  # the never-read UDP ports of blackhole_udp
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, user: str, password: str, path: str = "/cam") -> str:
        return f"rtsp://{user}:{password}@{self.upstream[0]}:{self.port}{path}"

    def methods(self) -> list[str]:
        with self._lock:
            return [m for _, m, _ in self.requests]

    def close(self):
        self._closed = True
        self._sock.close()
        for c in list(self._conns) + self._sinks:
            try:
                c.close()
            except OSError:
                pass

    # -- plumbing --
    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                camera = socket.create_connection(self.upstream, timeout=5)
                camera.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self.connections += 1
            self._conns += [client, camera]
            pending: dict[bytes, bytes] = {}  # CSeq -> original client_port of a redirected SETUP
            threading.Thread(target=self._pump, args=(client, camera, True, pending), daemon=True).start()
            threading.Thread(target=self._pump, args=(camera, client, False, pending), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool, pending: dict):
        parser = _Stream()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                for head, body in parser.feed(data):
                    if head is None:  # interleaved frame: untouched
                        dst.sendall(body)
                        continue
                    head, body = (self._request if upstream else self._reply)(head, body, pending)
                    dst.sendall(head + body)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _sink_port_pair(self) -> int:
        """An even UDP port that, with the one above it, the proxy binds and never reads."""
        while True:
            rtp = _udp_sink(0)
            port = rtp.getsockname()[1]
            rtcp = _udp_sink(port + 1) if port % 2 == 0 and port < 65535 else None
            if rtcp:
                with self._lock:
                    self._sinks += [rtp, rtcp]
                return port
            rtp.close()

    def _request(self, head: bytes, body: bytes, pending: dict):
        method = head.split(b" ", 1)[0].decode(errors="replace")
        with self._lock:
            self.requests.append((time.monotonic(), method, head))
        transport = _header(head, "Transport")
        if self.blackhole_udp and method == "SETUP" and transport and "client_port=" in transport:
            m = re.search(rb"client_port=(\d+)-(\d+)", head)
            dead = self._sink_port_pair()
            pending[(_header(head, "CSeq") or "").encode()] = m.group(0)
            head = head.replace(m.group(0), f"client_port={dead}-{dead + 1}".encode())
            with self._lock:
                self.rewritten += 1
        return head, body

    def _reply(self, head: bytes, body: bytes, pending: dict):
        cseq = (_header(head, "CSeq") or "").encode()
        original = pending.pop(cseq, None)
        if original:
            head = re.sub(rb"client_port=\d+-\d+", original, head)
        session = _header(head, "Session")
        if session and _header(head, "Transport"):
            with self._lock:
                self.sessions.append(session)
        if self.strip_sprop and b"sprop-parameter-sets" in body:
            body = re.sub(rb"sprop-parameter-sets=[^;\r\n]*;?", b"", body)
            body = re.sub(rb";[ \t]*(\r?\n)", rb"\1", body)
            head = re.sub(rb"(\r\ncontent-length:\s*)\d+", lambda m: m.group(1) + str(len(body)).encode(),
                          head, flags=re.I)
            with self._lock:
                self.stripped += 1
        return head, body


def _udp_sink(port: int) -> socket.socket | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills, then the kernel drops
        s.bind(("127.0.0.1", port))
        return s
    except OSError:
        s.close()
        return None
