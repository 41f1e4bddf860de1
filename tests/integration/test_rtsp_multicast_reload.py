#!/usr/bin/env python3
"""SIGHUP reload of the `[rtsp] multicast*` keys: turning multicast on lets new SETUPs have a group;
a new range (and TTL) applies to the groups started afterwards while a running group keeps
sending to its viewers; turning it off answers new multicast SETUPs 461 while the running groups
go on until their last viewer leaves. A reload file with an error changes nothing."""

import random
import re
import socket
import struct

import xl
from test_rtsp import RtspClient
from test_rtsp_multicast import TRANSPORT_RE, GroupListener, ensure_multicast_route

STREAM = "live/demo"


class RtspMulticastReloadTest(xl.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        # Two /28 ranges and a port of this run's own, so parallel runs on one host do not mix.
        third = random.randint(1, 253)
        cls.ranges = [f"239.255.{third}.{16 * random.randint(0, 15)}",
                      f"239.255.{third + 1}.{16 * random.randint(0, 15)}"]
        cls.port_base = 2 * random.randint(10000, 30000)
        for r in cls.ranges:
            ensure_multicast_route(r, cls.port_base - 2)
        super().setUpClass()  # multicast off: the default
        cls.server.wait_stream(STREAM)

    def config(self, enabled: bool, range_text: str, ttl: int) -> str:
        text = self.server.render()
        for line in (f"multicast_ttl = {ttl}", f"multicast_port = {self.port_base}",
                     f'multicast_range = "{range_text}"',
                     f"multicast = {'true' if enabled else 'false'}"):
            text, _ = xl.insert_after(text, "[rtsp]", line)
        return text

    def range(self, i: int) -> str:
        return f"{self.ranges[i]}/28"

    def setup(self, c: RtspClient):
        """SETUP of the video track over multicast: (status, (group, port, ttl) or None)."""
        status, h, _ = c.request("SETUP", self.server.rtsp_url(STREAM) + "/trackID=0",
                                 {"Transport": "RTP/AVP;multicast"})
        if status != 200:
            return status, None
        m = TRANSPORT_RE.match(h["transport"])
        self.assertIsNotNone(m, h["transport"])
        return status, (m.group(1), int(m.group(2)), int(m.group(4)))

    def play(self, c: RtspClient):
        status, _, _ = c.request("PLAY", self.server.rtsp_url(STREAM) + "/")
        self.assertEqual(status, 200)

    def in_range(self, group: str, range_index: int) -> bool:
        base = struct.unpack("!I", socket.inet_aton(self.ranges[range_index]))[0]
        return base <= struct.unpack("!I", socket.inet_aton(group))[0] < base + 16

    def stopped(self, group: str) -> int:
        return len(re.findall(rf"rtsp: multicast {STREAM} to {re.escape(group)} stopped",
                              self.server.log_text()))

    def setUp(self):
        super().setUp()
        self.clients, self.listeners = [], []
        self.addCleanup(self.close_all)

    def close_all(self):
        for c in self.clients + self.listeners:
            c.close()

    def client(self) -> RtspClient:
        self.clients.append(RtspClient(self.server.rtsp_port))
        return self.clients[-1]

    def reload(self, enabled: bool, range_text: str, ttl: int) -> bool:
        return self.server.reload(self.config(enabled, range_text, ttl))

    def viewer(self, range_index: int, ttl: int):
        """A new multicast viewer playing: its group (in range `range_index`, with `ttl`) sends
        RTP. Returns (client, group address, listener on the group's video RTP port)."""
        c = self.client()
        status, transport = self.setup(c)
        self.assertEqual(status, 200)
        group, port, got_ttl = transport
        self.assertTrue(self.in_range(group, range_index), group)
        self.assertEqual(got_ttl, ttl)
        self.play(c)
        listener = GroupListener(group, port)
        self.listeners.append(listener)
        self.assertGreater(len(listener.collect(1.5)), 10, f"no RTP on {group}")
        return c, group, listener

    def assertSending(self, listener: GroupListener, msg: str):
        listener.drain()
        self.assertGreater(len(listener.collect(1.0)), 10, msg)

    def test_reload_switches_multicast_for_new_setups(self):
        # Off at start: 461 Unsupported Transport.
        self.assertEqual(self.setup(self.client())[0], 461)

        # On, in the first range.
        self.assertTrue(self.reload(True, self.range(0), ttl=2), self.server.log_tail())
        self.assertTrue(self.server.wait_log("reload: rtsp multicast on for new SETUPs"))
        a, group_a, listen_a = self.viewer(0, ttl=2)

        # A new range and TTL: a new viewer gets a new group there; the first keeps its own.
        self.assertTrue(self.reload(True, self.range(1), ttl=3), self.server.log_tail())
        _, group_b, listen_b = self.viewer(1, ttl=3)
        self.assertNotEqual(group_b, group_a)
        self.assertSending(listen_a, "the running group stopped")

        # A file with an error changes nothing: multicast stays on.
        self.assertFalse(self.reload(False, "10.0.0.0/8", ttl=3), self.server.log_tail())
        self.assertEqual(self.setup(self.client())[0], 200)

        # Off: new multicast SETUPs get 461, the running groups go on for their viewers.
        self.assertTrue(self.reload(False, self.range(1), ttl=3), self.server.log_tail())
        self.assertTrue(self.server.wait_log("reload: rtsp multicast off for new SETUPs"))
        self.assertEqual(self.setup(self.client())[0], 461)
        self.assertSending(listen_a, "the first group stopped")
        self.assertSending(listen_b, "the second group stopped")

        # Its last viewer leaves: the first group stops.
        stopped = self.stopped(group_a)
        status, _, _ = a.request("TEARDOWN", self.server.rtsp_url(STREAM) + "/")
        self.assertEqual(status, 200)
        self.assertTrue(xl.wait_until(lambda: self.stopped(group_a) > stopped, 3),
                        self.server.log_tail())
        self.assertServerAlive()


if __name__ == "__main__":
    xl.main()
