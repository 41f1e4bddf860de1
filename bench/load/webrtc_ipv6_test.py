"""WebRTC over IPv6 end to end: the real xueliang binary with `[webrtc] listen_ip = "::"` (one
dual-stack UDP socket per worker) serves IPv4 and IPv6 WHEP viewers at once. xl-load's viewers
send media to the answer's 127.0.0.1 candidate and to its ::1 candidate in one run; a STUN client
written here (Python's hmac and zlib, not our code) checks the XOR-MAPPED-ADDRESS the server gives
each family (RFC 8489 §14.2: an IPv4 peer that reaches the dual-stack socket as ::ffff:a.b.c.d
must see its IPv4 form); `--check` refuses the addresses a browser cannot use. Where the kernel
has no IPv6 (an LD_PRELOAD shim makes AF_INET6 sockets fail), "::" falls back to IPv4.
Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator)."""

import hmac
import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import xl  # noqa: E402

COOKIE = 0x2112A442


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# A recvonly H.264 offer as a browser's, with a certificate fingerprint nobody checks here (the
# STUN test never reaches DTLS).
def whep_offer(ufrag: str, pwd: str) -> bytes:
    fp = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    return ("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
            f"a=fingerprint:sha-256 {fp}\r\na=ice-ufrag:{ufrag}\r\na=ice-pwd:{pwd}\r\n"
            "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n"
            "a=setup:actpass\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
            "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
            "profile-level-id=42e01f\r\n").encode()


def stun_attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def binding_request(tid: bytes, username: str, pwd: str) -> bytes:
    """RFC 8489 Binding request with USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
    MESSAGE-INTEGRITY (§14.5) and FINGERPRINT (§14.7)."""
    body = (stun_attr(0x0006, username.encode()) + stun_attr(0x0024, struct.pack("!I", 1 << 30))
            + stun_attr(0x802A, secrets.token_bytes(8)) + stun_attr(0x0025, b""))
    head = lambda n: struct.pack("!HHI", 0x0001, n, COOKIE) + tid  # noqa: E731
    mac = hmac.new(pwd.encode(), head(len(body) + 24) + body, "sha1").digest()
    body += stun_attr(0x0008, mac)
    crc = zlib.crc32(head(len(body) + 8) + body) ^ 0x5354554E
    body += stun_attr(0x8028, struct.pack("!I", crc))
    return head(len(body)) + body


def xor_mapped_address(msg: bytes) -> tuple[int, str, int]:
    """(family, address, port) of a Binding success response's XOR-MAPPED-ADDRESS."""
    kind, length = struct.unpack("!HH", msg[:4])
    assert kind == 0x0101, f"not a Binding success: {kind:#x}"
    at = 20
    while at + 4 <= len(msg):
        t, n = struct.unpack("!HH", msg[at:at + 4])
        v = msg[at + 4:at + 4 + n]
        if t == 0x0020:
            family = v[1]
            port = struct.unpack("!H", v[2:4])[0] ^ (COOKIE >> 16)
            key = msg[4:20]  # cookie + transaction id
            raw = bytes(a ^ b for a, b in zip(v[4:], key))
            if family == 1:
                return family, socket.inet_ntop(socket.AF_INET, raw), port
            return family, socket.inet_ntop(socket.AF_INET6, raw), port
        at += 4 + n + (-n % 4)
    raise AssertionError("no XOR-MAPPED-ADDRESS")


@unittest.skipUnless(ipv6_loopback(), "no IPv6 loopback (::1) on this machine")
class WebrtcIpv6(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.load = xl.require_xl_load()
        cls.tmp = Path(tempfile.mkdtemp(prefix="xl-ipv6-"))
        cls.server = xl.Server(workers=2, webrtc_udp_port=xl.free_udp_ports(1)[0])
        text, _ = xl.replace_line(cls.server.config_text, "listen_ip = ", 'listen_ip = "::"')
        cls.server.config_text = text
        cls.server.config_path.write_text(text)
        cls.server.start()
        cls.server.wait_stream("live/demo")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.cleanup()

    def candidates(self) -> list[str]:
        m = re.search(r"host candidates ([^)]*)\)", self.server.log_text())
        self.assertIsNotNone(m, self.server.log_tail())
        return m.group(1).split(", ")

    def test_candidates_list_both_families_never_link_local_or_mapped(self):
        c = self.candidates()
        self.assertIn("::1", c)
        self.assertIn("127.0.0.1", c)
        self.assertFalse([a for a in c if a.lower().startswith("fe80") or "::ffff:" in a], c)
        # Loopback last, so that a browser elsewhere tries the others first.
        self.assertEqual(sorted(c[-2:]), ["127.0.0.1", "::1"], c)

    def start_load(self, out: Path, candidate: str, n: int) -> subprocess.Popen:
        return subprocess.Popen([self.load, "-u", self.server.http_url("/live/demo/whep"),
                                 "-n", str(n), "-d", "5", "--whep-candidate", candidate, "-q",
                                 "--json", str(out)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def finish_load(self, p: subprocess.Popen, out: Path, n: int) -> dict:
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        s = json.loads(out.read_text())
        self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
        self.assertEqual(s["connected_at_end"], n)
        self.assertEqual(s["ttfk_ms"]["count"], n, "every viewer found a keyframe")
        self.assertEqual(s["srtp_errors"], 0)
        self.assertGreater(s["video_frames"], n * 25, "a second of video each at least")
        return s

    def test_ipv4_and_ipv6_viewers_on_one_dual_stack_port(self):
        n = 4
        v4 = self.start_load(self.tmp / "v4.json", "127.0.0.1", n)
        v6 = self.start_load(self.tmp / "v6.json", "::1", n)
        try:
            # While they play, the server names each peer in its own family: IPv4 peers as
            # a.b.c.d (not ::ffff:a.b.c.d), IPv6 ones as [::1].
            deadline = time.monotonic() + xl.scaled(4)
            peers: list[str] = []
            while time.monotonic() < deadline:
                peers = [s.get("peer", "") for s in self.server.api("/sessions")["sessions"]
                         if s["protocol"] == "webrtc"]
                if (sum(bool(re.fullmatch(r"127\.0\.0\.1:\d+", p)) for p in peers) == n and
                        sum(bool(re.fullmatch(r"\[::1\]:\d+", p)) for p in peers) == n):
                    break
                time.sleep(0.2)
            else:
                self.fail(f"peers {peers}\n{self.server.log_tail()}")
        finally:
            s4 = self.finish_load(v4, self.tmp / "v4.json", n)
            s6 = self.finish_load(v6, self.tmp / "v6.json", n)
        self.assertEqual(s6["config"]["whep_candidate"], "::1")
        # GSO batches went to both families (IPv4 ones through the IPv6 socket).
        self.assertNotIn("refused UDP GSO", self.server.log_text())
        xl.note(f"IPv4 viewers {s4['video_frames']} frames, IPv6 viewers {s6['video_frames']}")

    def test_a_viewer_asking_for_a_candidate_the_answer_lacks_fails(self):
        out = self.tmp / "missing.json"
        p = self.start_load(out, "2001:db8::99", 1)
        p.communicate(timeout=60)
        s = json.loads(out.read_text())
        self.assertEqual(s["failed"], 1)
        self.assertIn("whep: answer has no UDP candidate at 2001:db8::99", s["fail_reasons"])

    def stun_check(self, family: int, host: str) -> tuple[tuple[int, str, int], tuple]:
        """POSTs an offer, then sends one Binding request from a socket of `family` to the
        answer's candidate at `host`: (the response's XOR-MAPPED-ADDRESS, our socket's address)."""
        ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
        req = urllib.request.Request(self.server.http_url("/live/demo/whep"),
                                     data=whep_offer(ufrag, pwd), method="POST",
                                     headers={"Content-Type": "application/sdp"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=5) as r:
            self.assertEqual(r.status, 201)
            answer = r.read().decode()
            location = r.headers["Location"]
        server_ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
        server_pwd = re.search(r"a=ice-pwd:(\S+)", answer).group(1)
        port = int(re.search(rf"a=candidate:\S+ 1 udp \d+ {re.escape(host)} (\d+) typ host",
                             answer).group(1))
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.bind((host, 0))
                s.settimeout(0.3)
                tid = secrets.token_bytes(12)
                req = binding_request(tid, f"{server_ufrag}:{ufrag}", server_pwd)
                # The session is created on its worker just after the answer: retry a little.
                for _ in range(int(xl.scaled(10) / 0.3)):
                    s.sendto(req, (host, port))
                    try:
                        msg = s.recv(2048)
                    except socket.timeout:
                        continue
                    self.assertEqual(msg[8:20], tid)
                    return xor_mapped_address(msg), s.getsockname()
                self.fail(f"no STUN answer from {host}:{port}\n{self.server.log_tail()}")
        finally:
            self.server.http(location, "DELETE")

    def test_stun_reports_each_peer_in_its_own_family(self):
        (family, addr, port), mine = self.stun_check(socket.AF_INET, "127.0.0.1")
        self.assertEqual((family, addr, port), (1, "127.0.0.1", mine[1]))
        (family, addr, port), mine = self.stun_check(socket.AF_INET6, "::1")
        self.assertEqual((family, addr, port), (2, "::1", mine[1]))

    def test_check_refuses_addresses_browsers_cannot_use(self):
        def check(edit: str) -> subprocess.CompletedProcess:
            text = self.server.config_text
            key = edit.split(" = ")[0] + " = "
            if any(line.startswith(key) for line in text.split("\n")):
                text, _ = xl.replace_line(text, key, edit)
            else:
                text, _ = xl.insert_after(text, "[webrtc]", edit)
            path = self.tmp / "check.toml"
            path.write_text(text)
            return subprocess.run([str(xl.require_binary()), "--check", "-c", str(path)],
                                  capture_output=True, text=True, timeout=30)
        for edit, why in [('listen_ip = "fe80::1"', "link-local"),
                          ('listen_ip = "::ffff:127.0.0.1"', "IPv4-mapped"),
                          ('listen_ip = "localhost"', "not a numeric"),
                          ('public_ip = "::"', "no one's address"),
                          ('public_ip = "::ffff:198.51.100.7"', "IPv4-mapped")]:
            r = check(edit)
            self.assertNotEqual(r.returncode, 0, f"--check accepted {edit}")
            self.assertIn(why, r.stdout + r.stderr, edit)
        for edit in ['listen_ip = "::1"', 'public_ip = "2001:db8::7"', 'listen_ip = "0.0.0.0"']:
            r = check(edit)
            self.assertEqual(r.returncode, 0, f"--check refused {edit}: {r.stdout}{r.stderr}")


# socket(AF_INET6, ...) failing as on a kernel booted with ipv6.disable=1.
NO_IPV6_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  if (domain == AF_INET6) { errno = EAFNOSUPPORT; return -1; }
  return real(domain, type, protocol);
}
"""


@unittest.skipUnless(shutil.which("cc"), "no C compiler for the no-IPv6 shim")
class WebrtcWithoutIpv6(unittest.TestCase):
    def test_dual_stack_falls_back_to_ipv4_with_one_warning(self):
        tmp = Path(tempfile.mkdtemp(prefix="xl-noipv6-"))
        (tmp / "shim.c").write_text(NO_IPV6_SHIM)
        subprocess.run(["cc", "-shared", "-fPIC", "-o", str(tmp / "shim.so"), str(tmp / "shim.c"),
                        "-ldl"], check=True, timeout=60)
        server = xl.Server(workers=2, webrtc_udp_port=xl.free_udp_ports(1)[0])
        text, _ = xl.replace_line(server.config_text, "listen_ip = ", 'listen_ip = "::"')
        server.config_text = text
        server.config_path.write_text(text)
        os.environ["LD_PRELOAD"] = str(tmp / "shim.so")  # the server inherits it
        try:
            server.start()
        finally:
            del os.environ["LD_PRELOAD"]
        try:
            log = server.log_text()
            self.assertEqual(log.count("no IPv6 here"), 1, log)
            m = re.search(r"host candidates ([^)]*)\)", log)
            self.assertTrue(m and "127.0.0.1" in m.group(1) and ":" not in m.group(1), log)
            out = tmp / "load.json"
            r = subprocess.run([os.environ.get("XL_LOAD_BIN", ""), "-u",
                                server.http_url("/live/demo/whep"), "-n", "2", "-d", "3", "-q",
                                "--json", str(out)], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            s = json.loads(out.read_text())
            self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
            self.assertEqual(s["ttfk_ms"]["count"], 2, "both IPv4 viewers played")
        finally:
            server.stop()
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
