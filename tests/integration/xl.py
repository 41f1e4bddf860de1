"""Helpers for Xueliang's integration tests: the real binary against real clients.

Python 3 standard library only. Each test module is a unittest module that imports this one:
    python3 tests/integration/test_rtmp.py            (from anywhere; finds the repo itself)
    XUELIANG_BIN=/path/to/xueliang python3 tests/integration/test_rtmp.py -v

What lives here:
  * find_binary(), free_ports()
  * render_config(): the ONLY place that knows the server's TOML key names
  * Server: writes a temporary config, starts `xueliang -c CONFIG` with its log in a temp file,
    waits for the RTMP and HTTP ports, stops it with SIGTERM (asserting a clean, timely exit),
    fetches JSON from the admin API and parses /metrics
  * Clients: ffmpeg publishers, ffprobe probes, a streaming ffprobe packet logger (arrival time,
    dts, key flag per packet), an ffmpeg "-f null" viewer
  * FLV: an incremental FLV tag parser and a raw-socket HTTP-FLV reader (chunked decoding), and
    a selector loop that drives hundreds of them from one thread
  * ServerTestCase: a unittest base class that starts one server per class, kills every client
    process a test started, and prints the server log tail when a test fails
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = Path(os.environ.get("XUELIANG_SOURCE_DIR") or HERE.parent.parent).resolve()
DEMO_CLIP = REPO_ROOT / "conf" / "demo" / "demo.mp4"
DEMO_FPS = 25.0
DEMO_WIDTH, DEMO_HEIGHT = 640, 360
DEMO_SAMPLE_RATE, DEMO_CHANNELS = 44100, 2
HOST = "127.0.0.1"

# Sanitizer builds are slower to start and stop; scale waits with XL_TIME_SCALE=2 etc.
TIME_SCALE = float(os.environ.get("XL_TIME_SCALE", "1"))


def scaled(seconds: float) -> float:
    return seconds * TIME_SCALE


# --------------------------------------------------------------------------------------------
# Binary and tools
# --------------------------------------------------------------------------------------------

class BinaryMissing(RuntimeError):
    pass


def find_binary() -> Path | None:
    """$XUELIANG_BIN, else build/xueliang (then build/core/app/xueliang) under the repo."""
    env = os.environ.get("XUELIANG_BIN")
    if env:
        p = Path(env)
        return p if p.is_file() and os.access(p, os.X_OK) else None
    for rel in ("build/xueliang", "build/core/app/xueliang"):
        p = REPO_ROOT / rel
        if p.is_file() and os.access(p, os.X_OK):
            return p
    return None


def require_binary() -> Path:
    p = find_binary()
    if p is None:
        where = os.environ.get("XUELIANG_BIN") or f"{REPO_ROOT}/build/xueliang"
        raise BinaryMissing(
            f"xueliang binary not found or not executable: {where}\n"
            "  build it with `make build`, or point XUELIANG_BIN at it")
    return p


def require_xl_load() -> str:
    """The load generator's path ($XL_LOAD_BIN, set by ctest for the bench/load tests)."""
    load = os.environ.get("XL_LOAD_BIN", "")
    if not Path(load).is_file():
        raise AssertionError(f"xl-load not found at {load!r}")
    return load


def require_tools() -> None:
    missing = [t for t in ("ffmpeg", "ffprobe") if shutil.which(t) is None]
    if missing:
        raise BinaryMissing(f"missing client tools: {', '.join(missing)} (run scripts/install-deps.sh)")
    if not DEMO_CLIP.is_file():
        raise BinaryMissing(f"demo clip missing: {DEMO_CLIP} (run scripts/make-demo-clip.sh)")


def client_env() -> dict:
    """Environment for ffmpeg/ffprobe: no proxies (ffmpeg's http honours http_proxy)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["no_proxy"] = "*"
    return env


def free_ports(n: int, kind: int = socket.SOCK_STREAM) -> list[int]:
    """n distinct free ports on 127.0.0.1, TCP by default (bind port 0, hold all, then release)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, kind)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_udp_ports(n: int) -> list[int]:
    """n distinct free UDP ports on 127.0.0.1 (RTSP's RTP/RTCP ports)."""
    return free_ports(n, socket.SOCK_DGRAM)


# --------------------------------------------------------------------------------------------
# Configuration: every key name the server reads is spelled in this section only.
# --------------------------------------------------------------------------------------------

def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (str, Path)):
        return json.dumps(str(v))  # a JSON string is a valid TOML basic string
    raise TypeError(f"no TOML for {v!r}")


def render_config(*, rtmp_port: int, http_port: int, workers: int = 2,
                  log_level: str = os.environ.get("XL_LOG_LEVEL", "info"),
                  high_watermark_ms: int = 2000, high_watermark_bytes: int = 4 * 1024 * 1024,
                  stall_timeout_ms: int = 10000, cors_origin: str = "*",
                  sources: list[tuple[str, Path]] | None = None, extra: str = "",
                  rtsp_port: int | None = None, rtsp_udp_ports: tuple[int, int] | None = None,
                  webrtc_udp_port: int | None = None,
                  io_engine: str | None = os.environ.get("XL_IO_ENGINE")) -> str:
    """The server's TOML config. sources: (stream name, file) looping file sources; None = the
    built-in demo `live/demo` from conf/demo/demo.mp4. extra: TOML appended as is (plugins).
    rtsp_port: the RTSP listener (with rtsp_udp_ports as its RTP/RTCP ports); None disables RTSP
    so that no test server takes the default ports 8554/8000/8001. webrtc_udp_port likewise: None
    disables WebRTC so that no test server takes UDP 8189. io_engine: [limits] io_engine, None for
    the server's default ("auto"); the XL_IO_ENGINE environment variable runs a whole test file
    with one engine (writev or io_uring)."""
    if sources is None:
        sources = [("live/demo", DEMO_CLIP)]
    lines = [
        "# written by tests/integration/xl.py",
        f"workers = {_toml_value(workers)}",
        f"log_level = {_toml_value(log_level)}",
        "",
        "[limits]",
        f"high_watermark_ms = {_toml_value(high_watermark_ms)}",
        f"high_watermark_bytes = {_toml_value(high_watermark_bytes)}",
        f"stall_timeout_ms = {_toml_value(stall_timeout_ms)}",
        *([f"io_engine = {_toml_value(io_engine)}"] if io_engine else []),
        "",
        "[rtmp]",
        f"listen = {_toml_value(f'{HOST}:{rtmp_port}')}",
        "",
        "[http]",
        f"listen = {_toml_value(f'{HOST}:{http_port}')}",
        f"cors_origin = {_toml_value(cors_origin)}",
        "",
        "[rtsp]",
    ]
    if rtsp_port is None:
        lines.append("enabled = false")
    else:
        rtp, rtcp = rtsp_udp_ports or (0, 0)
        lines += [f"listen = {_toml_value(f'{HOST}:{rtsp_port}')}",
                  f"udp_rtp_port = {_toml_value(rtp)}", f"udp_rtcp_port = {_toml_value(rtcp)}"]
    lines += ["", "[webrtc]"]
    if webrtc_udp_port is None:
        lines.append("enabled = false")
    else:
        lines += [f"listen_ip = {_toml_value(HOST)}", f"udp_port = {_toml_value(webrtc_udp_port)}"]
    for name, path in sources:
        lines += ["", "[[sources]]", f"name = {_toml_value(name)}", f"file = {_toml_value(Path(path).resolve())}"]
    return "\n".join(lines) + "\n" + extra


# Edits used by the config-validation tests, named here so key names stay in this section.
# (section header or None for top level, line to insert right after it)
UNKNOWN_KEY_EDIT = ("[rtmp]", "no_such_key_xl = 1")
# (line prefix to replace, replacement line): a key with a value of the wrong type.
BAD_VALUE_EDIT = ("workers = ", 'workers = "lots"')


def insert_after(text: str, section: str, line: str) -> tuple[str, int]:
    """Inserts `line` after the line equal to `section`; returns (text, 1-based line number)."""
    lines = text.split("\n")
    idx = lines.index(section)
    lines.insert(idx + 1, line)
    return "\n".join(lines), idx + 2


def replace_line(text: str, prefix: str, line: str) -> tuple[str, int]:
    lines = text.split("\n")
    idx = next(i for i, l in enumerate(lines) if l.startswith(prefix))
    lines[idx] = line
    return "\n".join(lines), idx + 1


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------

_live_procs: list["Proc"] = []  # every client process started and not yet cleaned up


class Proc:
    """A client process (ffmpeg/ffprobe) with stderr (and stdout unless piped) in a temp file."""

    def __init__(self, argv: list[str], *, stdout_pipe: bool = False, name: str = ""):
        self.argv = argv
        self.name = name or Path(argv[0]).name
        self._log = tempfile.NamedTemporaryFile(prefix=f"xl-{self.name}-", suffix=".log", delete=False)
        self.started = time.monotonic()
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else self._log, stderr=self._log,
            env=client_env())
        _live_procs.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self):
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float):
        """Return code, or None if still running after timeout seconds."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout: float = 5.0):
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)
            if self.wait(timeout) is None:
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def output(self) -> str:
        self._log.flush()
        try:
            return Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        out = self.output().strip().splitlines()[-15:]
        return f"{' '.join(self.argv)}\n  rc={self.popen.poll()}\n  " + "\n  ".join(out)

    def cleanup(self):
        self.stop(signal.SIGKILL)
        if self.popen.stdout:
            with contextlib.suppress(OSError):
                self.popen.stdout.close()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)
        with contextlib.suppress(ValueError):
            _live_procs.remove(self)


def kill_all() -> None:
    """Kills every client process still around and removes its log."""
    for p in list(_live_procs):
        p.cleanup()
    _live_procs.clear()


def note(msg: str) -> None:
    """Measured values worth seeing in the test output (thresholds are tuned from these)."""
    sys.stderr.write(f"  [xl] {msg}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------

def wait_port(port: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        time.sleep(0.05)
    return False


class HttpResult:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class Server:
    """One xueliang process on free ports. Keyword args go to render_config()."""

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def __init__(self, wrapper: list[str] | None = None, **config):
        """wrapper: a command the server runs under (its arguments follow), e.g. one that
        restricts its system calls."""
        self.binary = require_binary()
        self.wrapper = list(wrapper or [])
        self.tmp = Path(tempfile.mkdtemp(prefix="xueliang-it-"))
        self.rtmp_port, self.http_port, self.rtsp_port = free_ports(3)
        self.rtsp_udp_ports = tuple(free_udp_ports(2))
        config.setdefault("rtsp_port", self.rtsp_port)
        config.setdefault("rtsp_udp_ports", self.rtsp_udp_ports)
        self.rtsp_port = config["rtsp_port"]  # None: RTSP disabled
        self.config_args = config  # render_config() arguments besides the ports, for render()
        sources = config.get("sources")
        self.source_names = [n for n, _ in sources] if sources is not None else ["live/demo"]
        self.config_text = render_config(rtmp_port=self.rtmp_port, http_port=self.http_port, **config)
        self.config_path = self.tmp / "xueliang.toml"
        self.config_path.write_text(self.config_text)
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen | None = None
        self.returncode = None

    # -- lifecycle --
    def start(self, timeout: float = 10.0) -> "Server":
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.wrapper + [str(self.binary), "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, cwd=self.tmp)
        t = scaled(timeout)
        ports = [(self.rtmp_port, "RTMP"), (self.http_port, "HTTP"), (self.rtsp_port, "RTSP")]
        for port, what in [(p, w) for p, w in ports if p is not None]:
            if not wait_port(port, t, self.proc):
                rc = self.proc.poll()
                self.kill()
                raise AssertionError(
                    f"xueliang did not accept {what} connections on {HOST}:{port} within {t:.0f}s"
                    f" (exit code {rc})\n--- config {self.config_path}\n{self.config_text}"
                    f"--- log\n{self.log_tail()}")
        for name in self.source_names:  # ready = listening and the file sources published
            try:
                self.wait_stream(name, timeout=timeout)
            except AssertionError:
                self.kill()
                raise
        return self

    def stop(self, timeout: float = 5.0, expect_rc: int | None = 0) -> float:
        """SIGTERM; asserts the process exits within timeout (and with expect_rc). Returns the
        time it took."""
        if self.proc is None or self.proc.poll() is not None:
            self._check_exit(expect_rc, already=True)
            return 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = self.proc.wait(timeout=scaled(timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"xueliang did not exit within {scaled(timeout):.1f}s of SIGTERM\n"
                                 f"--- log\n{self.log_tail()}")
        took = time.monotonic() - t0
        self._check_exit(expect_rc)
        return took

    def _check_exit(self, expect_rc, already=False):
        if self.proc is None:
            return
        self.returncode = self.proc.poll()
        self._close_log()
        problems = []
        if already:
            problems.append(f"xueliang had already exited (code {self.returncode}) before stop()")
        elif expect_rc is not None and self.returncode != expect_rc:
            problems.append(f"xueliang exited with code {self.returncode}, expected {expect_rc}")
        log = self.log_text()
        for marker in self.SANITIZER_MARKERS:
            if marker in log:
                problems.append(f"sanitizer report in server log ({marker!r})")
        if problems:
            raise AssertionError("; ".join(problems) + f"\n--- log\n{self.log_tail(60)}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def _close_log(self):
        if getattr(self, "_log", None) and not self._log.closed:
            self._log.close()

    def cleanup(self, keep: bool = False):
        self.kill()
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self.stop()
        finally:
            self.cleanup(keep=exc[0] is not None)

    # -- reload --
    def render(self, **overrides) -> str:
        """This server's config text on its own ports, with render_config() arguments replaced."""
        return render_config(rtmp_port=self.rtmp_port, http_port=self.http_port,
                             **{**self.config_args, **overrides})

    def reload(self, text: str | None = None, timeout: float = 5.0) -> bool:
        """Writes `text` (if given) as the config file and sends SIGHUP; waits for the reload's
        verdict in the log: True when applied, False when the running configuration was kept."""
        verdicts = ("reload: configuration applied", "keeping the running configuration")
        count = lambda: [self.log_text().count(v) for v in verdicts]
        before = count()
        if text is not None:
            self.config_path.write_text(text)
        self.proc.send_signal(signal.SIGHUP)
        now = wait_until(lambda: (c := count()) != before and c, timeout, 0.05)
        if not now:
            raise AssertionError(f"no reload verdict in the log after SIGHUP\n{self.log_tail()}")
        return now[0] > before[0]

    # -- inspection --
    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def wait_log(self, needle: str, timeout: float = 3.0) -> bool:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            if needle in self.log_text():
                return True
            time.sleep(0.1)
        return needle in self.log_text()

    def rss_bytes(self) -> int:
        """VmRSS from /proc/PID/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    # -- URLs --
    def rtmp_url(self, name: str) -> str:
        return f"rtmp://{HOST}:{self.rtmp_port}/{name}"

    def rtsp_url(self, name: str) -> str:
        return f"rtsp://{HOST}:{self.rtsp_port}/{name}"

    def flv_url(self, name: str) -> str:
        return f"http://{HOST}:{self.http_port}/{name}.flv"

    def http_url(self, path: str) -> str:
        return f"http://{HOST}:{self.http_port}{path}"

    def flv_status(self, name: str) -> int:
        """The HTTP status of an HTTP-FLV play of `name` (the live body is not read)."""
        try:
            with urllib.request.urlopen(self.flv_url(name), timeout=10) as r:
                r.read(13)
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    # -- admin API --
    def http(self, path: str, method: str = "GET", body: bytes | None = None,
             timeout: float = 5.0) -> HttpResult:
        req = urllib.request.Request(self.http_url(path), data=body, method=method)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=timeout) as r:
                return HttpResult(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
        except urllib.error.HTTPError as e:
            return HttpResult(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def api(self, path: str, method: str = "GET"):
        """JSON from /api/v1{path}; asserts a 2xx status and a JSON body (empty body -> None)."""
        r = self.http("/api/v1" + path, method)
        if not 200 <= r.status < 300:
            raise AssertionError(f"{method} /api/v1{path} -> {r.status}: {r.body[:300]!r}")
        return r.json() if r.body.strip() else None

    def streams(self) -> dict:
        """{name: stream object} from GET /api/v1/streams."""
        doc = self.api("/streams")
        return {s["name"]: s for s in doc["streams"]}

    def metrics(self) -> "Metrics":
        r = self.http("/metrics")
        if r.status != 200:
            raise AssertionError(f"GET /metrics -> {r.status}")
        return Metrics(r.body.decode("utf-8"), r.headers.get("content-type", ""))

    def wait_stream(self, name: str, timeout: float = 10.0, publisher: "Proc | None" = None) -> None:
        """Waits until `name` is published and its video track is known (a viewer joining now
        gets media at once). Uses the admin API when it answers; without one it falls back to a
        fixed delay, so the protocol tests don't depend on the API."""
        deadline = time.monotonic() + scaled(timeout)
        api_ok = True
        while time.monotonic() < deadline:
            if publisher is not None and not publisher.alive():
                raise AssertionError(f"publisher of {name} exited early:\n{publisher.describe()}")
            if api_ok:
                try:
                    entry = self.streams().get(name)
                    if entry is not None and (entry.get("video") or "video" not in entry):
                        return
                except (AssertionError, KeyError, TypeError, ValueError, OSError):
                    api_ok = False
                    sys.stderr.write(f"[xl] admin API unusable, waiting a fixed 2 s for {name}\n")
                    time.sleep(scaled(2.0))
                    if publisher is not None and not publisher.alive():
                        raise AssertionError(f"publisher of {name} exited early:\n{publisher.describe()}")
                    return
            time.sleep(0.1)
        raise AssertionError(f"stream {name} did not appear in /api/v1/streams within {timeout}s"
                             + (f"\n{publisher.describe()}" if publisher else ""))


# --------------------------------------------------------------------------------------------
# Prometheus text
# --------------------------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\S+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"')


class Metrics:
    """Parsed Prometheus text exposition: samples[(name, frozenset(labels))] = value."""

    def __init__(self, text: str, content_type: str = ""):
        self.text, self.content_type = text, content_type
        self.samples: dict[tuple[str, frozenset], float] = {}
        self.types: dict[str, str] = {}
        self.bad_lines: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                parts = line.split()
                if len(parts) >= 4 and parts[1] == "TYPE":
                    self.types[parts[2]] = parts[3]
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                self.bad_lines.append(line)
                continue
            labels = frozenset(_LABEL_RE.findall(m.group(2) or ""))
            try:
                self.samples[(m.group(1), labels)] = float(m.group(3))
            except ValueError:
                self.bad_lines.append(line)

    def has(self, name: str) -> bool:
        return any(n == name for n, _ in self.samples)

    def get(self, name: str, **labels) -> float | None:
        """Sum of all samples of `name` whose labels include `labels`; None if there is none."""
        want = set(labels.items())
        vals = [v for (n, ls), v in self.samples.items() if n == name and want <= set(ls)]
        return sum(vals) if vals else None


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "warning"]


def publish(server: Server, name: str, src: Path = DEMO_CLIP, wait: bool = True,
            loop: bool = True) -> Proc:
    """ffmpeg -re -stream_loop -1 -i SRC -c copy -f flv rtmp://.../NAME, waited for."""
    argv = FFMPEG + ["-re"] + (["-stream_loop", "-1"] if loop else []) + [
        "-i", str(src), "-map", "0", "-c", "copy", "-f", "flv", server.rtmp_url(name)]
    p = Proc(argv, name="publisher")
    if wait:
        server.wait_stream(name, publisher=p)
    return p


def probe(url: str, timeout: float = 15.0) -> dict:
    """ffprobe the streams of a live URL: {"video": {...}, "audio": {...}}. Asserts success."""
    argv = ["ffprobe", "-v", "error", "-rw_timeout", str(int(scaled(timeout) * 1e6)),
            "-show_entries", "stream=codec_type,codec_name,profile,width,height,sample_rate,channels",
            "-of", "json", url]
    try:
        r = subprocess.run(argv, capture_output=True, timeout=scaled(timeout), env=client_env(),
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"ffprobe {url} did not finish within {scaled(timeout):.0f}s")
    if r.returncode != 0:
        raise AssertionError(f"ffprobe {url} failed (rc={r.returncode}): {r.stderr.decode(errors='replace')[-500:]}")
    out = {}
    for s in json.loads(r.stdout.decode()).get("streams", []):
        out.setdefault(s.get("codec_type"), s)
    return out


def run_client(argv: list[str], timeout: float) -> tuple[int | None, float, str]:
    """Runs a client to completion: (rc or None if it had to be killed, seconds, stderr)."""
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, capture_output=True, timeout=timeout, env=client_env(),
                           stdin=subprocess.DEVNULL)
        return r.returncode, time.monotonic() - t0, r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace")
        return None, time.monotonic() - t0, err


def null_viewer(url: str) -> Proc:
    """ffmpeg -i URL -c copy -f null -: a viewer that runs until the stream ends."""
    return Proc(FFMPEG + ["-rw_timeout", "15000000", "-i", url, "-map", "0", "-c", "copy",
                          "-f", "null", "-"], name="viewer")


Packet = collections.namedtuple("Packet", "t kind dts pts key size")


class PacketLog:
    """A streaming `ffprobe -show_packets` viewer: every packet with its wall-clock arrival time
    (ffprobe's stdout is line-buffered through stdbuf so lines arrive as packets do)."""

    def __init__(self, url: str):
        self.url = url
        argv = ["ffprobe", "-v", "warning", "-rw_timeout", "15000000",
                "-show_entries", "packet=codec_type,dts,pts,flags,size", "-of", "compact=p=0", url]
        if shutil.which("stdbuf"):
            argv = ["stdbuf", "-oL"] + argv
        self.packets: list[Packet] = []
        self.proc = Proc(argv, stdout_pipe=True, name="ffprobe-packets")
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in self.proc.popen.stdout:
            t = time.monotonic()
            f = dict(kv.split("=", 1) for kv in raw.decode(errors="replace").strip().split("|") if "=" in kv)
            if "codec_type" not in f:
                continue
            self.packets.append(Packet(t, f["codec_type"], _int(f.get("dts")), _int(f.get("pts")),
                                       "K" in f.get("flags", ""), _int(f.get("size"))))

    def stop(self) -> "PacketLog":
        self.proc.stop(signal.SIGKILL)
        self._thread.join(timeout=5)
        if self.proc.popen.stdout and not self._thread.is_alive():
            self.proc.popen.stdout.close()
        return self

    def video(self) -> list[Packet]:
        return [p for p in self.packets if p.kind == "video"]

    def audio(self) -> list[Packet]:
        return [p for p in self.packets if p.kind == "audio"]

    def count(self, kind: str, t_from: float, t_to: float) -> int:
        return sum(1 for p in self.packets if p.kind == kind and t_from <= p.t < t_to)

    def wait_first(self, kind: str = "video", timeout: float = 10.0) -> float | None:
        deadline = time.monotonic() + scaled(timeout)
        while time.monotonic() < deadline:
            for p in self.packets:
                if p.kind == kind:
                    return p.t
            if not self.proc.alive() and not self._thread.is_alive():
                break
            time.sleep(0.05)
        return None

    def dts_problems(self) -> list[str]:
        """Per stream, places where dts does not strictly increase."""
        out = []
        for kind in ("video", "audio"):
            prev = None
            for i, p in enumerate(x for x in self.packets if x.kind == kind):
                if p.dts is None:
                    out.append(f"{kind} packet {i}: no dts")
                elif prev is not None and p.dts <= prev:
                    out.append(f"{kind} packet {i}: dts {p.dts} after {prev}")
                prev = p.dts if p.dts is not None else prev
        return out


def _int(s):
    try:
        return int(s)
    except (TypeError, ValueError):
        return None


def play(url: str, seconds: float, settle: float = 0.0) -> PacketLog:
    """Plays url for `seconds` of wall-clock time after the first video packet (waiting at most
    10 s for it) plus `settle`, then stops the viewer."""
    log = PacketLog(url)
    first = log.wait_first("video", timeout=10.0)
    if first is not None:
        time.sleep(max(0.0, first + settle + seconds - time.monotonic()))
    return log.stop()


def steady_fps(log: PacketLog, window: float) -> float:
    """Video packets per second over the last `window` seconds before the last packet: the
    live rate, after the GOP-cache burst and the client's probing."""
    v = log.video()
    if not v:
        return 0.0
    end = v[-1].t
    return log.count("video", end - window, end + 1e-6) / window


def assert_demo_streams(test: unittest.TestCase, streams: dict) -> None:
    """The demo clip's tracks, as ffprobe reports them (`streams` by codec_type): H.264 at the
    demo's size and AAC at its sample rate and channels."""
    test.assertEqual(streams["video"]["codec_name"], "h264")
    test.assertEqual((streams["video"]["width"], streams["video"]["height"]),
                     (DEMO_WIDTH, DEMO_HEIGHT))
    test.assertEqual(streams["audio"]["codec_name"], "aac")
    test.assertEqual(int(streams["audio"]["sample_rate"]), DEMO_SAMPLE_RATE)
    test.assertEqual(int(streams["audio"]["channels"]), DEMO_CHANNELS)


def gi_python(probe: str) -> str | None:
    """A python3 with Debian's GObject bindings (python3-gi) for which the Python statements
    `probe` (imports, asserts) succeed: this interpreter, else /usr/bin/python3 or the one on PATH
    (a virtualenv's python3 may lack the system's gi)."""
    for exe in dict.fromkeys((sys.executable, "/usr/bin/python3", shutil.which("python3") or "")):
        if exe and os.path.exists(exe):
            r = subprocess.run([exe, "-c", probe], capture_output=True, env=client_env(),
                               stdin=subprocess.DEVNULL)
            if r.returncode == 0:
                return exe
    return None


@functools.cache
def gst_python() -> str | None:
    """A python3 with GStreamer's bindings, rtspsrc and the H.264/AAC decoders: the RTSP player."""
    return gi_python("import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; "
                     "Gst.init(None); assert all(Gst.ElementFactory.find(e) for e in "
                     "('rtspsrc', 'avdec_h264', 'avdec_aac', 'rtpmp4gdepay'))")


def gst_rtsp_decode(url: str, protocols: str) -> tuple[int | None, float, str]:
    """GStreamer's rtspsrc (gst_rtsp_client.py) plays `url` over `protocols` (tcp, udp,
    udp-mcast) until it has decoded 50 H.264 and 50 AAC buffers: run_client's (returncode,
    seconds, output), the output being the client's JSON line (decoded counts, error) followed
    by its stderr."""
    argv = [gst_python() or "python3", str(HERE / "gst_rtsp_client.py"), url,
            "--protocols", protocols, "--buffers", "50", "--seconds", str(scaled(25))]
    t0 = time.monotonic()
    try:
        r = subprocess.run(argv, capture_output=True, timeout=scaled(30), env=client_env(),
                           stdin=subprocess.DEVNULL)
        out = r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")
        return r.returncode, time.monotonic() - t0, out
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") + (e.stderr or b"").decode(errors="replace")
        return None, time.monotonic() - t0, out


def make_clip(path: Path, *, width: int, height: int, fps: int = 25, seconds: float = 4,
              gop: int | None = None, sample_rate: int = 44100, tone: int = 440,
              noise: int = 0, qp: int | None = None) -> Path:
    """Encodes a small looping test clip (testsrc2 + sine) for streams other than the demo."""
    gop = gop or fps * 2
    vf = f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"
    if noise:
        vf += f",noise=alls={noise}:allf=t+u"
    rate = ["-qp", str(qp)] if qp is not None else ["-crf", "30"]
    argv = FFMPEG[:-1] + ["error", "-y", "-f", "lavfi", "-i", vf, "-f", "lavfi", "-i",
                          f"sine=frequency={tone}:sample_rate={sample_rate}:duration={seconds}",
                          "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                          *rate, "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
                          "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "2",
                          "-movflags", "+faststart", str(path)]
    subprocess.run(argv, check=True, env=client_env(), stdin=subprocess.DEVNULL, timeout=120)
    return path


def clip_bitrate(path: Path) -> float:
    """Bits per second of a file, from ffprobe."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=bit_rate", "-of",
                        "csv=p=0", str(path)], capture_output=True, check=True, env=client_env())
    return float(r.stdout.decode().strip())


# --------------------------------------------------------------------------------------------
# FLV and HTTP-FLV
# --------------------------------------------------------------------------------------------

FLV_AUDIO, FLV_VIDEO, FLV_SCRIPT = 8, 9, 18
Tag = collections.namedtuple("Tag", "type ts size head")  # head: first bytes of the tag body


class FlvParser:
    """Incremental FLV parser (header, then tags with PreviousTagSize checks).

    Counts video frames (AVC NALU packets, not sequence headers), audio frames and tags; keeps the
    first `keep` tags whole-ish (type, timestamp, size, first 64 body bytes) for header checks.
    Records framing errors and per-type timestamp regressions instead of raising."""

    def __init__(self, keep: int = 16):
        self.buf = bytearray()
        self.pos = 0
        self.header: bytes | None = None
        self.keep = keep
        self.tags: list[Tag] = []
        self.ntags = 0
        self.video_frames = 0
        self.video_keyframes = 0
        self.audio_frames = 0
        self.first_frame_is_key: bool | None = None
        self.errors: list[str] = []
        self.ts_regressions = 0
        self._last_ts = {}
        self._prev_size = 0

    def feed(self, data) -> None:
        if self.errors:
            return
        self.buf += data
        buf, pos, n = self.buf, self.pos, len(self.buf)
        if self.header is None:
            if n - pos < 13:
                return
            hdr = bytes(buf[pos:pos + 9])
            if hdr[:3] != b"FLV":
                self.errors.append(f"not an FLV header: {hdr!r}")
                return
            off = int.from_bytes(hdr[5:9], "big")
            if n - pos < off + 4:
                return
            self.header = bytes(buf[pos:pos + off])
            if int.from_bytes(buf[pos + off:pos + off + 4], "big") != 0:
                self.errors.append("PreviousTagSize0 is not 0")
            pos += off + 4
        while n - pos >= 11:
            ttype = buf[pos] & 0x1F
            size = int.from_bytes(buf[pos + 1:pos + 4], "big")
            end = pos + 11 + size + 4
            if end > n:
                break
            ts = int.from_bytes(buf[pos + 4:pos + 7], "big") | (buf[pos + 7] << 24)
            prev = int.from_bytes(buf[end - 4:end], "big")
            if prev != 11 + size:
                self.errors.append(f"tag {self.ntags}: PreviousTagSize {prev} != {11 + size}")
                break
            b0 = buf[pos + 11] if size > 0 else 0
            b1 = buf[pos + 12] if size > 1 else 0
            if ttype == FLV_VIDEO:
                if (b0 & 0x0F) == 7 and b1 == 1 or (b0 & 0x0F) != 7:
                    key = (b0 >> 4) == 1
                    self.video_frames += 1
                    self.video_keyframes += key
                    if self.first_frame_is_key is None:
                        self.first_frame_is_key = key
                    self._check_ts(ttype, ts)
            elif ttype == FLV_AUDIO:
                if not ((b0 >> 4) == 10 and b1 == 0):
                    self.audio_frames += 1
                    self._check_ts(ttype, ts)
            if len(self.tags) < self.keep:
                self.tags.append(Tag(ttype, ts, size, bytes(buf[pos + 11:pos + 11 + min(size, 64)])))
            self.ntags += 1
            pos = end
        if pos > 1 << 20:
            del buf[:pos]
            pos = 0
        self.pos = pos

    def _check_ts(self, ttype, ts):
        last = self._last_ts.get(ttype)
        if last is not None and ts < last:
            self.ts_regressions += 1
        self._last_ts[ttype] = ts


class HttpFlvReader:
    """A raw-socket HTTP-FLV viewer: sends GET, parses the response head, decodes chunked (or
    identity) transfer coding, feeds an FlvParser. Non-blocking; drive it with ViewerLoop or
    read_for()."""

    def __init__(self, server_or_port, name: str, *, rcvbuf: int | None = None,
                 connect_timeout: float = 5.0, keep_tags: int = 16):
        port = server_or_port.http_port if isinstance(server_or_port, Server) else int(server_or_port)
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(connect_timeout)
        self.sock.connect((HOST, port))
        self.sock.sendall(f"GET /{name}.flv HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                          f"Origin: http://example.test\r\nUser-Agent: xl-it\r\n\r\n".encode())
        self.sock.setblocking(False)
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.flv = FlvParser(keep=keep_tags)
        self.bytes = 0
        self.closed = False
        self.close_reason = ""
        self.t_closed: float | None = None
        self._head = bytearray()
        self._chunked = False
        self._cbuf = bytearray()
        self._cleft = 0  # bytes left in the current chunk's data (+2 for its CRLF)
        self._cdone = False

    def fileno(self):
        return self.sock.fileno()

    def on_readable(self, bufsize: int = 262144) -> None:
        try:
            data = self.sock.recv(bufsize)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._close(f"error: {e}")
            return
        if not data:
            self._close("eof")
            return
        self.bytes += len(data)
        if self.status is None:
            self._head += data
            i = self._head.find(b"\r\n\r\n")
            if i < 0:
                if len(self._head) > 65536:
                    self._close("response head too long")
                return
            head, data = bytes(self._head[:i]).decode("latin-1"), bytes(self._head[i + 4:])
            lines = head.split("\r\n")
            parts = lines[0].split(" ", 2)
            self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
            for l in lines[1:]:
                k, _, v = l.partition(":")
                self.headers[k.strip().lower()] = v.strip()
            self._chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if data:
            self._body(data)

    def _body(self, data: bytes) -> None:
        if not self._chunked:
            self.flv.feed(data)
            return
        self._cbuf += data
        b, pos = self._cbuf, 0
        while pos < len(b) and not self._cdone:
            if self._cleft > 0:
                take = min(self._cleft, len(b) - pos)
                payload_left = self._cleft - 2  # the chunk's trailing CRLF is not payload
                if payload_left > 0:
                    self.flv.feed(b[pos:pos + min(take, payload_left)])
                self._cleft -= take
                pos += take
                continue
            eol = b.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(bytes(b[pos:eol]).split(b";")[0].strip() or b"0", 16)
            pos = eol + 2
            if size == 0:
                self._cdone = True
            else:
                self._cleft = size + 2
        del b[:pos]

    def _close(self, reason: str):
        if not self.closed:
            self.closed, self.close_reason, self.t_closed = True, reason, time.monotonic()
            with contextlib.suppress(OSError):
                self.sock.close()

    def close(self):
        self._close("closed by test")

    @property
    def ended_cleanly(self) -> bool:
        """The body ended as the transfer coding says (last chunk, or EOF for identity)."""
        return self.closed and (self._cdone or (not self._chunked and self.close_reason == "eof"))

    def read_for(self, seconds: float, until=None) -> None:
        """Blocking helper for a single reader: reads for `seconds` or until until(self)."""
        loop = ViewerLoop([self])
        loop.run(seconds, until=(lambda: until(self)) if until else None)


class ViewerLoop:
    """Drives many HttpFlvReaders from one thread with a selector."""

    def __init__(self, readers: list[HttpFlvReader]):
        self.readers = list(readers)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, seconds: float, until=None) -> None:
        sel = selectors.DefaultSelector()
        for r in self.readers:
            if not r.closed:
                sel.register(r.sock, selectors.EVENT_READ, r)
        deadline = time.monotonic() + seconds
        try:
            while not self._stop.is_set() and time.monotonic() < deadline and sel.get_map():
                for key, _ in sel.select(timeout=0.05):
                    r = key.data
                    r.on_readable()
                    if r.closed:
                        sel.unregister(key.fileobj)
                if until is not None and until():
                    break
        finally:
            sel.close()

    def start(self, seconds: float = 3600) -> "ViewerLoop":
        self._thread = threading.Thread(target=self.run, args=(seconds,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


# --------------------------------------------------------------------------------------------
# unittest glue
# --------------------------------------------------------------------------------------------

class ServerTestCase(unittest.TestCase):
    """Starts one server per class (SERVER_CONFIG passed to render_config), cleans up every client
    a test starts, and prints the server log tail for failed tests."""

    SERVER_CONFIG: dict = {}
    server: Server

    @classmethod
    def setUpClass(cls):
        require_tools()
        cls.server = Server(**cls.SERVER_CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        kill_all()
        srv = getattr(cls, "server", None)
        if srv is not None:
            try:
                srv.stop()
            finally:
                srv.cleanup(keep=getattr(cls, "_failed", False))

    def setUp(self):
        self.procs: list[Proc] = []
        self.addCleanup(self._cleanup_procs)
        if not self.server.alive():
            self.fail(f"xueliang is not running (exit code {self.server.proc.poll()})\n"
                      f"--- log\n{self.server.log_tail()}")

    def _cleanup_procs(self):
        for p in self.procs:
            p.cleanup()

    def track(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def make_tmpdir(self) -> Path:
        d = Path(tempfile.mkdtemp(prefix="xl-test-"))
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def publish(self, name: str, src: Path = DEMO_CLIP, wait: bool = True) -> Proc:
        return self.track(publish(self.server, name, src, wait=wait))

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
            srv = getattr(type(self), "server", None)
            if srv is not None:
                sys.stderr.write(f"\n----- {self.id()}: server log tail ({srv.log_path}) -----\n"
                                 f"{srv.log_tail(60)}\n-----\n")
        return out

    def assertPlayDenied(self, name: str):
        """Publishes `name`, then a play must be refused: RTMP (ffprobe) fails within 10 s and
        HTTP-FLV answers 403."""
        self.publish(name)
        rc, took, _ = run_client(["ffprobe", "-v", "error", self.server.rtmp_url(name)], timeout=15)
        self.assertNotEqual(rc, 0, f"RTMP play of denied stream {name} must fail")
        self.assertLess(took, 10)
        self.assertEqual(self.server.flv_status(name), 403)

    def assertServerAlive(self):
        self.assertTrue(self.server.alive(),
                        f"xueliang died (exit code {self.server.proc.poll()})\n{self.server.log_tail()}")


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 1000}{int(time.monotonic() * 1000) % 100000}"


def main() -> None:
    """Entry point of each test module: fails fast with a clear message when the binary or the
    client tools are missing, then runs unittest."""
    try:
        require_binary()
        require_tools()
    except BinaryMissing as e:
        sys.stderr.write(f"FATAL: {e}\n")
        sys.exit(2)
    try:
        unittest.main(verbosity=2)
    finally:
        kill_all()


def wait_until(pred, timeout: float, step: float = 0.1):
    """Polls pred until it returns something truthy (returned) or the scaled timeout passes
    (then pred's last value)."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
