#!/usr/bin/env python3
"""Plugins loaded from shared objects ([plugins] load): the example hello plugin decides play on
RTMP and HTTP-FLV, survives a reload, and `--check` refuses a plugin built for another API
version or a missing file with a clear message. The last test builds the plugin out of tree
against the installed headers and pkg-config file, as a plugin author would."""

import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

import xl

HELLO = os.environ.get("XUELIANG_HELLO_PLUGIN", "")
HELLO_API999 = os.environ.get("XUELIANG_HELLO_PLUGIN_API999", "")
BUILD_DIR = os.environ.get("XUELIANG_BUILD_DIR", "")
HELLO_SOURCE = xl.REPO_ROOT / "plugins" / "examples" / "hello_plugin" / "hello_plugin.cc"


def plugin_toml(load, deny="live/secret", order=("hello",)):
    arr = lambda items: "[" + ", ".join(f'"{i}"' for i in items) + "]"
    return (f"\n[plugins]\nload = {arr(load)}\norder = {arr(order)}\n\n"
            f"[plugins.hello]\ndeny = \"{deny}\"\n")


def require_plugins():
    for p in (HELLO, HELLO_API999):
        if not p or not Path(p).is_file():
            raise AssertionError(f"example plugin not built: {p!r} (build target "
                                    "xueliang_hello_plugin; ctest sets XUELIANG_HELLO_PLUGIN)")


def check(text: str, files: dict[str, str] | None = None) -> tuple[Path, subprocess.CompletedProcess]:
    """`xueliang --check` of `text` in a temp dir holding copies of `files` (name -> source)."""
    d = Path(tempfile.mkdtemp(prefix="xl-plugin-check-"))
    for name, src in (files or {}).items():
        shutil.copy(src, d / name)
    path = d / "xueliang.toml"
    path.write_text(text)
    r = subprocess.run([str(xl.require_binary()), "--check", "-c", str(path)],
                       capture_output=True, timeout=xl.scaled(20), stdin=subprocess.DEVNULL)
    return path, r


def config(extra: str) -> str:
    rtmp, http = xl.free_ports(2)
    return xl.render_config(rtmp_port=rtmp, http_port=http, extra=extra)


class PluginSoServerTest(xl.ServerTestCase):
    SERVER_CONFIG = {"extra": plugin_toml([HELLO])}

    @classmethod
    def setUpClass(cls):
        require_plugins()
        super().setUpClass()

    def test_1_denies_the_configured_stream_on_rtmp_and_flv(self):
        self.assertTrue(self.server.wait_log("loaded type 'hello'"), self.server.log_tail())
        self.assertPlayDenied("live/secret")
        self.assertTrue(self.server.wait_log("hello: deny play of live/secret"),
                        self.server.log_tail())
        # Other streams play, and the plugin logs those decisions too.
        self.assertEqual(xl.probe(self.server.rtmp_url("live/demo"))["video"]["codec_name"], "h264")
        self.assertEqual(xl.probe(self.server.flv_url("live/demo"))["video"]["codec_name"], "h264")
        self.assertTrue(self.server.wait_log("hello: allow play of live/demo"),
                        self.server.log_tail())

    def test_2_reload_reconfigures_the_loaded_plugin(self):
        self.track(xl.publish(self.server, "live/secret"))
        self.assertEqual(self.server.flv_status("live/secret"), 403)
        text = self.server.render(extra=plugin_toml([HELLO], deny="live/other"))
        self.assertTrue(self.server.reload(text), self.server.log_tail())
        self.assertIn("reload: configuration applied", self.server.log_text())
        self.assertEqual(self.server.flv_status("live/secret"), 200)


class PluginSoCheckTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_plugins()
        xl.require_binary()

    def test_relative_path_is_resolved_next_to_the_config(self):
        path, r = check(config(plugin_toml(["libhello.so"])), {"libhello.so": HELLO})
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        shutil.rmtree(path.parent)

    def test_mismatched_api_version_is_refused(self):
        text = config(plugin_toml(["libhello999.so"]))
        path, r = check(text, {"libhello999.so": HELLO_API999})
        shutil.rmtree(path.parent)
        self.assertNotEqual(r.returncode, 0, "--check accepted a plugin built for API 999")
        err = r.stderr.decode(errors="replace")
        line = text.split("\n").index('load = ["libhello999.so"]') + 1
        self.assertIn(f"{path}:{line}: plugins.load: plugin libhello999.so was built for plugin "
                      "API 999, this server has ", err)
        self.assertIn("rebuild it against the installed headers", err)
        # Its type was never registered, so `order` naming it is an error too.
        self.assertIn("unknown plugin 'hello'", err)

    def test_missing_file_is_reported(self):
        path, r = check(config(plugin_toml(["/nonexistent/libnope.so"], order=())))
        shutil.rmtree(path.parent)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("plugins.load: plugin libnope.so: no such file /nonexistent/libnope.so",
                      r.stderr.decode(errors="replace"))

    def test_out_of_tree_build_against_installed_headers(self):
        for tool in ("pkg-config", "g++", "cmake"):
            if shutil.which(tool) is None:
                self.fail(f"{tool} not installed (scripts/install-deps.sh)")
        if not BUILD_DIR:
            self.fail("XUELIANG_BUILD_DIR not set (ctest sets it)")
        with tempfile.TemporaryDirectory(prefix="xl-plugin-sdk-") as d:
            prefix = Path(d) / "prefix"
            r = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", str(prefix),
                                "--component", "plugin-dev"], capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
            pcdir = next(prefix.glob("lib*/pkgconfig"))
            env = dict(os.environ, PKG_CONFIG_PATH=str(pcdir))
            cflags = subprocess.run(["pkg-config", "--define-prefix", "--cflags", "xueliang-plugin"],
                                    capture_output=True, env=env, timeout=30)
            self.assertEqual(cflags.returncode, 0, cflags.stderr.decode(errors="replace"))
            flags = cflags.stdout.decode().split()
            self.assertIn("-std=c++20", flags)
            self.assertIn(f"-I{prefix}/include", flags)
            so = Path(d) / "libhello_oot.so"
            r = subprocess.run(["g++", "-shared", "-fPIC", "-O1", *flags, str(HELLO_SOURCE),
                                "-o", str(so)], capture_output=True, timeout=xl.scaled(120))
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace")[-3000:])
            path, r = check(config(plugin_toml([str(so)])))
            shutil.rmtree(path.parent)
            self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
