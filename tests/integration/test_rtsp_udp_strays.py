#!/usr/bin/env python3
"""Datagrams on the shared RTSP RTP/RTCP ports from a source no UDP publisher track expects are
dropped, logged and counted in /metrics (xueliang_rtsp_udp_unknown_source_drops_total); a
viewer's RTCP receiver report to the RTCP port is ignored without counting."""

import socket
import struct
import time

import xl

METRIC = "xueliang_rtsp_udp_unknown_source_drops_total"


def rtp(ssrc: int, seq: int) -> bytes:
    """An RTP packet (RFC 3550 §5.1): V=2, PT 96, 20 bytes of payload."""
    return struct.pack("!BBHII", 0x80, 96, seq, seq * 3600, ssrc) + bytes(20)


def rtcp(pt: int, ssrc: int) -> bytes:
    """An RTCP packet of type `pt` (200 SR, 201 RR) with an empty body past the sender SSRC."""
    body = struct.pack("!I", ssrc) + (bytes(20) if pt == 200 else b"")
    return struct.pack("!BBH", 0x80, pt, len(body) // 4) + body


class RtspUdpStraysTest(xl.ServerTestCase):
    def drops(self) -> float:
        value = self.server.metrics().get(METRIC)
        self.assertIsNotNone(value, f"{METRIC} missing from /metrics")
        return value

    def test_stray_datagrams_are_counted(self):
        rtp_port, rtcp_port = self.server.rtsp_udp_ports
        before = self.drops()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((xl.HOST, 0))
            # Ignored: a viewer's receiver report. Then counted: RTP to the RTP port and a sender
            # report to the RTCP port, neither from a source any publisher announced.
            sock.sendto(rtcp(201, 0x1234), (xl.HOST, rtcp_port))
            sock.sendto(rtp(0xCAFE, 1), (xl.HOST, rtp_port))
            sock.sendto(rtp(0xCAFE, 2), (xl.HOST, rtp_port))
            sock.sendto(rtcp(200, 0xCAFE), (xl.HOST, rtcp_port))
            source = f"{xl.HOST}:{sock.getsockname()[1]}"
        finally:
            sock.close()
        self.assertTrue(xl.wait_until(lambda: self.drops() >= before + 3, 5),
                        f"{METRIC} stayed at {self.drops()} (was {before})")
        time.sleep(0.3)  # anything counted late would show now
        self.assertEqual(self.drops(), before + 3, "the receiver report must not count")
        logged = f"dropping UDP datagrams from unknown source {source}"
        self.assertTrue(self.server.wait_log(logged), self.server.log_tail())
        m = self.server.metrics()
        self.assertEqual(m.types.get(METRIC), "counter")
        self.assertEqual(m.bad_lines, [])
        self.assertServerAlive()


if __name__ == "__main__":
    xl.main()
