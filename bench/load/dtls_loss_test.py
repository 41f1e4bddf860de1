"""Lost DTLS flights between xl-load's WHEP viewers and the real server: a UDP relay in the media
path drops chosen handshake datagrams, and every viewer must still get SRTP keys and media.

The server listens for WebRTC on 127.0.0.2 and advertises 127.0.0.1 (public_ip), where the relay
sits on the same port; xl-load picks the candidate on its target's host, so all its ICE and DTLS
datagrams cross the relay, which gives each viewer its own upstream socket (the server sees one
peer per viewer). Scenarios (RFC 6347 §4.2.4):
  - the server's first flight is lost: the viewer's repeated ClientHello must be answered with it
    at once (counted in /metrics);
  - the viewer's first ClientHello is lost: its timer sends it again;
  - the viewer's second flight is lost: the server's timer repeats its flight and the viewer
    answers it with its own again.
Env: XUELIANG_BIN (server), XL_LOAD_BIN (load generator)."""

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "integration"))
import xl  # noqa: E402

SERVER_IP, RELAY_IP = "127.0.0.2", "127.0.0.1"
VIEWERS = 5


def is_dtls(d: bytes) -> bool:
    return len(d) > 0 and 20 <= d[0] <= 63  # RFC 7983 §7


def is_client_hello(d: bytes) -> bool:
    # A plaintext handshake record (type 22, epoch 0) carrying msg_type 1 (RFC 6347 §4.1, §4.2.2).
    return len(d) > 13 and d[0] == 22 and d[3] == 0 and d[4] == 0 and d[13] == 1


class Viewer:
    """One viewer's datagrams through the relay and what the scenario did to them."""

    def __init__(self, addr):
        self.addr = addr
        self.up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.up.bind((RELAY_IP, 0))
        self.hellos = 0          # ClientHellos seen from the viewer
        self.client_flights = 0  # viewer DTLS datagrams seen after its first ClientHello
        self.dropped = 0


class Relay(threading.Thread):
    def __init__(self, port: int, server_port: int):
        super().__init__(daemon=True)
        self.down = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.down.bind((RELAY_IP, port))
        self.server = (SERVER_IP, server_port)
        self.viewers: dict = {}
        self.by_up: dict = {}
        self.scenario = "none"
        self.lock = threading.Lock()
        self.stopping = False

    def set_scenario(self, name: str):
        with self.lock:
            self.scenario = name
            for v in self.viewers.values():
                v.up.close()
            self.viewers.clear()
            self.by_up.clear()

    def dropped(self) -> int:
        with self.lock:
            return sum(v.dropped for v in self.viewers.values())

    def viewer(self, addr) -> Viewer:
        v = self.viewers.get(addr)
        if v is None:
            v = self.viewers[addr] = Viewer(addr)
            self.by_up[v.up] = v
        return v

    def to_server(self, v: Viewer, d: bytes) -> bool:
        """False: the datagram is lost."""
        if not is_dtls(d):
            return True
        if is_client_hello(d):
            v.hellos += 1
            return not (self.scenario == "lose_first_hello" and v.hellos == 1)
        v.client_flights += 1
        # The viewer's second flight (Certificate ... Finished, one datagram) is lost once.
        return not (self.scenario == "lose_client_flight" and v.client_flights == 1)

    def to_viewer(self, v: Viewer, d: bytes) -> bool:
        # Everything the server sends over DTLS before the viewer repeats its ClientHello.
        return not (self.scenario == "lose_server_flight" and is_dtls(d) and v.hellos < 2)

    def run(self):
        while not self.stopping:
            with self.lock:
                socks = [self.down] + list(self.by_up)
            try:
                ready, _, _ = select.select(socks, [], [], 0.1)
            except (OSError, ValueError):
                continue  # a viewer socket closed by set_scenario
            for s in ready:
                try:
                    d, addr = s.recvfrom(4096)
                except OSError:
                    continue
                with self.lock:
                    if s is self.down:
                        v = self.viewer(addr)
                        if self.to_server(v, d):
                            v.up.sendto(d, self.server)
                        else:
                            v.dropped += 1
                    elif (v := self.by_up.get(s)) is not None:
                        if self.to_viewer(v, d):
                            self.down.sendto(d, v.addr)
                        else:
                            v.dropped += 1


class DtlsLoss(unittest.TestCase):
    def run_load(self, url: str, out: Path) -> dict:
        r = subprocess.run([os.environ.get("XL_LOAD_BIN", ""), "-u", url, "-n", str(VIEWERS),
                            "--ramp", "50", "-d", "7", "-q", "--json", str(out)],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(out.read_text())

    def test_lost_flights_are_recovered(self):
        load = xl.require_xl_load()
        port = xl.free_udp_ports(1)[0]
        srv = xl.Server(workers=2, webrtc_udp_port=port)
        text = srv.config_text.replace(f'listen_ip = "{xl.HOST}"',
                                       f'listen_ip = "{SERVER_IP}"\npublic_ip = "{RELAY_IP}"')
        self.assertNotEqual(text, srv.config_text)
        srv.config_path.write_text(text)
        relay = Relay(port, port)
        relay.start()
        out = Path(tempfile.mkdtemp(prefix="xl-dtls-loss-"))
        try:
            srv.start()
            whep = srv.http_url("/live/demo/whep")
            before = srv.metrics()
            for scenario in ("lose_server_flight", "lose_first_hello", "lose_client_flight"):
                with self.subTest(scenario=scenario):
                    relay.set_scenario(scenario)
                    s = self.run_load(whep, out / f"{scenario}.json")
                    self.assertGreaterEqual(relay.dropped(), VIEWERS, "the relay lost nothing")
                    self.assertEqual(s["failed"] + s["disconnected"], 0, s["fail_reasons"])
                    self.assertEqual(s["ttfk_ms"]["count"], VIEWERS, "every viewer got a keyframe")
                    self.assertEqual(s["srtp_errors"], 0)
                    h = s["whep_handshake"]
                    if scenario == "lose_server_flight":
                        m = srv.metrics()
                        delta = lambda n: (m.get(n) or 0) - (before.get(n) or 0)
                        # Each repeated ClientHello was seen and answered with the lost flight:
                        # at once, or by OpenSSL if its own timer had run out by then.
                        self.assertGreaterEqual(
                            delta("xueliang_webrtc_dtls_repeated_flights_total"), VIEWERS, m.text)
                        self.assertGreaterEqual(
                            delta("xueliang_webrtc_dtls_answered_resends_total") +
                            delta("xueliang_webrtc_dtls_timer_resends_total"), VIEWERS)
                        self.assertGreaterEqual(h["dtls_timer_resends"], VIEWERS)
                    elif scenario == "lose_first_hello":
                        self.assertGreaterEqual(h["dtls_timer_resends"], VIEWERS)
                    else:
                        # The server's timer repeated its flight, or the viewer's timer its own.
                        resent = h["dtls_answered_resends"] + h["dtls_timer_resends"]
                        self.assertGreaterEqual(resent, VIEWERS, h)
            m = srv.metrics()
            self.assertGreaterEqual(m.get("xueliang_webrtc_dtls_handshakes_total"), 3 * VIEWERS)
            self.assertEqual(m.get("xueliang_webrtc_dtls_handshake_timeouts_total"), 0)
            srv.stop()
        finally:
            relay.stopping = True
            relay.join(2)
            srv.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
