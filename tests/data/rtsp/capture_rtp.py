#!/usr/bin/env python3
"""Captures ffmpeg's RTP output into the sample files of this folder (see README.md).

    python3 capture_rtp.py NAME -- FFMPEG_INPUT_AND_CODEC_ARGS...

Runs `ffmpeg ARGS -f rtp -sdp_file NAME.sdp rtp://127.0.0.1:PORT` and stores every datagram that
reaches PORT in NAME.rtp as a 2-byte big-endian length followed by the packet.
"""
import socket
import subprocess
import sys

name, args = sys.argv[1], sys.argv[sys.argv.index("--") + 1:]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.settimeout(2.0)
port = sock.getsockname()[1]
proc = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args, "-f", "rtp",
                         "-sdp_file", f"{name}.sdp", f"rtp://127.0.0.1:{port}?pkt_size=1200"])
packets = []
try:
    while True:
        try:
            packets.append(sock.recv(65536))
        except socket.timeout:
            if proc.poll() is not None:
                break
finally:
    proc.wait()
with open(f"{name}.rtp", "wb") as f:
    for p in packets:
        f.write(len(p).to_bytes(2, "big") + p)
print(f"{name}: {len(packets)} packets")
