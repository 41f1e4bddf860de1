#!/usr/bin/env python3
"""The access_list plugin on RTMP and HTTP-FLV, and SIGHUP reload of its rules."""

import unittest

import xl


def access_toml(play_deny_streams=(), publish_deny_networks=(), extra_key=""):
    def arr(items):
        return "[" + ", ".join(f'"{i}"' for i in items) + "]"
    return (
        "\n[plugins]\norder = [\"access_list\"]\n\n[plugins.access_list]\n"
        f"play_deny_streams = {arr(play_deny_streams)}\n"
        f"publish_deny_networks = {arr(publish_deny_networks)}\n" + extra_key)


class AccessListTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": access_toml(play_deny_streams=["secret/*"])}

    def reload(self, **rules):
        """Rewrites the config with new plugin rules and sends SIGHUP; waits for the verdict."""
        return self.server.reload(self.server.render(extra=access_toml(**rules)))

    def test_1_play_denied_by_stream_pattern_on_every_protocol(self):
        self.assertPlayDenied("secret/cam")
        self.assertTrue(self.server.wait_log("denied by access_list"), self.server.log_tail())
        # Streams outside the pattern still play.
        self.assertEqual(xl.probe(self.server.rtmp_url("live/demo"))["video"]["codec_name"], "h264")

    def test_2_reload_applies_new_rules_and_rejects_bad_files(self):
        self.track(xl.publish(self.server, "secret/two"))
        self.assertEqual(self.server.flv_status("secret/two"), 403)
        self.assertTrue(self.reload(play_deny_streams=[]), self.server.log_tail())
        self.assertIn("reload: configuration applied", self.server.log_text())
        self.assertEqual(self.server.flv_status("secret/two"), 200)

        self.assertTrue(self.reload(publish_deny_networks=["127.0.0.0/8"]), self.server.log_tail())
        rc, _, _ = xl.run_client(
            xl.FFMPEG + ["-re", "-i", str(xl.DEMO_CLIP), "-t", "3", "-c", "copy", "-f", "flv",
                         self.server.rtmp_url("live/refused")], timeout=15)
        self.assertNotEqual(rc, 0, "publish from a denied network must fail")
        self.assertNotIn("live/refused", self.server.streams())

        # A file with an error is reported and changes nothing: publishing stays denied.
        text = self.server.config_path.read_text() + "\nbogus_key = 1\n"
        self.assertFalse(self.server.reload(text), self.server.log_tail())
        self.assertIn("bogus_key", self.server.log_text())
        rc, _, _ = xl.run_client(
            xl.FFMPEG + ["-re", "-i", str(xl.DEMO_CLIP), "-t", "3", "-c", "copy", "-f", "flv",
                         self.server.rtmp_url("live/refused2")], timeout=15)
        self.assertNotEqual(rc, 0, "the bad file must not have replaced the running rules")
        self.assertTrue(self.server.alive())


if __name__ == "__main__":
    unittest.main(verbosity=2)
