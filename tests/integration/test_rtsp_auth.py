#!/usr/bin/env python3
"""RTSP Basic and Digest authentication (RFC 2617) through the `auth` plugin: a 401 with both
challenges, ffmpeg failing without or with wrong credentials and publishing / playing with the
right ones (it answers Digest), a raw client computing Digest itself, and RTMP (which cannot
challenge) refused on protected streams while unprotected ones stay open."""

import base64
import hashlib
import re
import socket
import unittest

import xl

USER, PASSWORD = "operator", "s3cret-pw"
REALM = "XL test"

AUTH_CONFIG = f"""
[plugins]
order = ["auth"]

[plugins.auth]
realm = "{REALM}"
protect_publish = ["*"]
protect_play = ["secure/*"]

[[plugins.auth.users]]
user = "{USER}"
password = "{PASSWORD}"
publish = ["*"]
play = ["*"]

[[plugins.auth.users]]
user = "viewer"
password = "viewer-pw"
publish = []
play = ["secure/*"]
"""


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


class RawRtsp:
    """Requests on one connection; responses with every header line kept (WWW-Authenticate
    appears twice)."""

    def __init__(self, port):
        self.sock = socket.create_connection((xl.HOST, port), timeout=10)
        self.cseq = 0
        self.buf = b""

    def request(self, method, url, headers=None, body=""):
        self.cseq += 1
        h = {"CSeq": str(self.cseq)}
        h.update(headers or {})
        if body:
            h["Content-Length"] = str(len(body))
        self.sock.sendall((f"{method} {url} RTSP/1.0\r\n" +
                           "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n" + body).encode())
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        n = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        while len(self.buf) < n:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:n], self.buf[n:]
        return int(lines[0].split(" ")[1]), headers, body.decode(errors="replace")

    def close(self):
        self.sock.close()


class RtspAuthTest(xl.ServerTestCase):
    SERVER_CONFIG = {"sources": [], "extra": AUTH_CONFIG}

    def url_with(self, name, user, password):
        return self.server.rtsp_url(name).replace("rtsp://", f"rtsp://{user}:{password}@", 1)

    def start_publisher(self, name, user=None, password=None):
        url = self.url_with(name, user, password) if user else self.server.rtsp_url(name)
        argv = xl.FFMPEG + ["-re", "-stream_loop", "-1", "-i", str(xl.DEMO_CLIP), "-map", "0",
                            "-c", "copy", "-f", "rtsp", "-rtsp_transport", "tcp", url]
        return self.track(xl.Proc(argv, name="rtsp-publisher"))

    def test_announce_without_credentials_gets_both_challenges(self):
        c = RawRtsp(self.server.rtsp_port)
        self.addCleanup(c.close)
        status, headers, body = c.request("OPTIONS", self.server.rtsp_url("live/x"))
        self.assertEqual(status, 200)
        self.assertIn("ANNOUNCE", dict(headers)["Public"])
        sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"
        status, headers, body = c.request("ANNOUNCE", self.server.rtsp_url("live/x"),
                                          {"Content-Type": "application/sdp"}, sdp)
        self.assertEqual(status, 401, body)
        challenges = [v for k, v in headers if k.lower() == "www-authenticate"]
        self.assertEqual(len(challenges), 2, headers)
        self.assertTrue(challenges[0].startswith(f'Digest realm="{REALM}", nonce="'), challenges)
        self.assertEqual(challenges[1], f'Basic realm="{REALM}"')
        self.assertIn("credentials required", body)

    def test_raw_digest_and_basic_answers(self):
        name = xl.unique("live/raw")
        url = self.server.rtsp_url(name)
        sdp = ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n"
               "m=audio 0 RTP/AVP 0\r\na=control:streamid=0\r\n")
        ctype = {"Content-Type": "application/sdp"}
        c = RawRtsp(self.server.rtsp_port)
        self.addCleanup(c.close)
        status, headers, _ = c.request("ANNOUNCE", url, ctype, sdp)
        self.assertEqual(status, 401)
        digest_challenge = [v for k, v in headers if v.startswith("Digest")][0]
        nonce = re.search(r'nonce="([^"]+)"', digest_challenge).group(1)

        def digest(password, method="ANNOUNCE"):
            resp = md5(f"{md5(f'{USER}:{REALM}:{password}')}:{nonce}:{md5(f'{method}:{url}')}")
            return (f'Digest username="{USER}", realm="{REALM}", nonce="{nonce}", uri="{url}", '
                    f'response="{resp}"')

        status, _, _ = c.request("ANNOUNCE", url, {**ctype, "Authorization": digest("wrong")}, sdp)
        self.assertEqual(status, 401, "a wrong Digest response must be challenged again")
        # A right response for another method does not count for ANNOUNCE (RFC 2617 §3.2.2).
        status, _, _ = c.request("ANNOUNCE", url,
                                 {**ctype, "Authorization": digest(PASSWORD, "DESCRIBE")}, sdp)
        self.assertEqual(status, 401)
        status, _, body = c.request("ANNOUNCE", url,
                                    {**ctype, "Authorization": digest(PASSWORD)}, sdp)
        self.assertEqual(status, 200, body)
        self.assertIn(name, self.server.streams())
        c.close()

        # Basic on a fresh connection; the viewer account may not publish: 403, not 401.
        c2 = RawRtsp(self.server.rtsp_port)
        self.addCleanup(c2.close)
        basic = "Basic " + base64.b64encode(b"viewer:viewer-pw").decode()
        status, _, body = c2.request("ANNOUNCE", self.server.rtsp_url(xl.unique("live/v")),
                                     {**ctype, "Authorization": basic}, sdp)
        self.assertEqual(status, 403, body)
        self.assertIn("may not publish", body)

    def test_ffmpeg_publish_needs_the_right_credentials(self):
        name = xl.unique("live/auth")
        for user, password in ((None, None), (USER, "wrong")):
            rc, _, err = xl.run_client(xl.FFMPEG + [
                "-re", "-i", str(xl.DEMO_CLIP), "-t", "2", "-map", "0", "-c", "copy", "-f",
                "rtsp", "-rtsp_transport", "tcp",
                self.url_with(name, user, password) if user else self.server.rtsp_url(name)],
                timeout=xl.scaled(15))
            self.assertNotEqual(rc, 0, f"publish with {user}:{password} must fail")
            self.assertIn("401", err)
            self.assertNotIn(name, self.server.streams())
        p = self.start_publisher(name, USER, PASSWORD)
        self.server.wait_stream(name, publisher=p)
        # ffmpeg answered the Digest challenge (preferred), not Basic.
        self.assertTrue(self.server.wait_log(f"publish {name} as {USER} (Digest)"))
        streams = xl.probe(self.server.rtmp_url(name))  # live/* plays without credentials
        self.assertEqual(streams["video"]["codec_name"], "h264")

    def test_protected_play_over_rtsp_and_rtmp(self):
        name = xl.unique("secure/cam")
        p = self.start_publisher(name, USER, PASSWORD)
        self.server.wait_stream(name, publisher=p)
        for url in (self.server.rtsp_url(name), self.url_with(name, "viewer", "nope")):
            rc, _, err = xl.run_client(["ffprobe", "-v", "error", "-rtsp_transport", "tcp",
                                        url], timeout=xl.scaled(15))
            self.assertNotEqual(rc, 0, f"{url} must be refused")
            self.assertIn("401", err)
        streams = xl.probe(self.url_with(name, "viewer", "viewer-pw"))
        self.assertTrue(self.server.wait_log(f"play {name} as viewer (Digest)"))
        self.assertEqual(streams["video"]["codec_name"], "h264")
        self.assertEqual((streams["video"]["width"], streams["video"]["height"]),
                         (xl.DEMO_WIDTH, xl.DEMO_HEIGHT))
        # RTMP cannot challenge: a protected stream is refused there, not played.
        rc, _, err = xl.run_client(["ffprobe", "-v", "error", "-rw_timeout", "5000000",
                                    self.server.rtmp_url(name)], timeout=xl.scaled(15))
        self.assertNotEqual(rc, 0, "RTMP play of a protected stream must fail")
        # RTMP publish is protected too ("*"): refused without a challenge.
        rc, _, err = xl.run_client(xl.FFMPEG + [
            "-re", "-i", str(xl.DEMO_CLIP), "-t", "2", "-map", "0", "-c", "copy", "-f", "flv",
            self.server.rtmp_url(xl.unique("live/rtmp"))], timeout=xl.scaled(15))
        self.assertNotEqual(rc, 0, "RTMP publish without credentials must fail")
        self.assertTrue(self.server.wait_log("denied by auth"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
