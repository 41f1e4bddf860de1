#!/usr/bin/env python3
"""Side-by-side fan-out benchmark: Xueliang and nginx-rtmp on loopback, same stream, same viewers.

For every scenario (server, protocol, write mode, workers, viewer count) it starts the server,
publishes the clip with `ffmpeg -re -stream_loop -1 -c copy -f flv`, runs bench/load's xl-load
against it and samples the server's /proc/PID/stat (utime+stime of every thread) and VmRSS.
Over the steady window (after the ramp and a settle time) it computes server CPU-seconds per
Gbit delivered (bytes counted by xl-load), RSS per viewer above the pre-viewer baseline, and
takes time to first frame (first keyframe) p50/p99 and failures from xl-load's JSON summary.
writev-floor gives the speed-of-light reference at the same viewer count, bitrate and cadence,
measured right after each point (--paired-floor, the default) so that both see the same load
from other jobs on the machine; --repeat N runs every point N times and reports the median.
--probe N adds, after the steady window, N late joiners from a second xl-load: the time to first
frame of a viewer joining a server that already holds the others, apart from the ramp's burst.
--flv-reader floor has HTTP-FLV points read by writev-floor's own drain (writev-floor --read)
instead of xl-load: on loopback the reader is part of the writer's cost, so both writers then
have the same one.
--pin S:C runs the server (and the floor) on CPUs S and the clients (xl-load, ffmpeg) on CPUs C,
so that on a small machine the two sides do not preempt each other.
Standard library only. Run through run.sh, which installs, builds and finds the clip.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CLK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# HTTP-FLV points read by writev-floor's drain (--flv-reader floor) carry this as their receive.
FLOOR_READER = "floor-reader"

# WHEP viewers offer one SRTP profile each so that the two ciphers are measured apart.
WHEP_SRTP = {"whep": "gcm", "whep-cm": "cm"}


def pinned(cpus: str):
    """A preexec_fn that moves the child to `cpus` ("0", "0,1", "2-3"); None when not pinning."""
    if not cpus:
        return None
    ids = set()
    for part in cpus.split(","):
        lo, _, hi = part.partition("-")
        ids.update(range(int(lo), int(hi or lo) + 1))
    return lambda: os.sched_setaffinity(0, ids)


def wait_port(port: int, timeout: float = 10) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def stat_cpu(path: str) -> float:
    """utime+stime in seconds from a /proc stat file (a process's or a thread's); 0 if gone."""
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime (fields 14, 15)
    except (OSError, IndexError):
        return 0.0


def proc_cpu(pids: list[int]) -> float:
    return sum(stat_cpu(f"/proc/{pid}/stat") for pid in pids)


def proc_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, IndexError):
            pass
    return total


def children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return out


class Server:
    """A running server: its pids for sampling and how to reach it."""

    def __init__(self, kind: str, tmp: Path, args, mode: str = "realtime", workers: int = 1,
                 engine: str = "auto", opus_ms: int = 20):
        self.kind, self.tmp, self.mode, self.workers = kind, tmp, mode, workers
        self.engine, self.opus_ms = engine, opus_ms
        self.rtmp, self.http, self.rtsp = free_port(), free_port(), free_port()
        self.log = open(tmp / f"{kind}.log", "w")
        if kind == "xueliang":
            conf = tmp / "xueliang.toml"
            conf.write_text(
                f'workers = {workers}\nlog_level = "warn"\n\n[limits]\nwrite_mode = "{mode}"\n'
                # only when not the default, so that builds without the key compare too
                + (f'io_engine = "{engine}"\n' if engine not in ("auto", "") else "")
                + f"merge_window_ms = {args.merge_window_ms}\n\n"
                f'[rtmp]\nlisten = "127.0.0.1:{self.rtmp}"\n\n[http]\n'
                f'listen = "127.0.0.1:{self.http}"\n\n[rtsp]\nlisten = "127.0.0.1:{self.rtsp}"\n'
                "udp_rtp_port = 0\nudp_rtcp_port = 0\n\n[hls]\nenabled = false\n\n"
                f'[webrtc]\nlisten_ip = "127.0.0.1"\nudp_port = {free_udp_port()}\n'
                # only when not the default, so that builds without the key compare too
                + (f"opus_frame_ms = {opus_ms}\n" if opus_ms != 20 else ""))
            self.proc = subprocess.Popen([args.xueliang, "-c", str(conf)], stdout=self.log,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=pinned(args.server_cpus))
        else:
            conf = tmp / "nginx.conf"
            conf.write_text(
                f"load_module {args.nginx_rtmp_module};\nworker_processes 1;\ndaemon off;\n"
                f"pid {tmp}/nginx.pid;\nerror_log {tmp}/nginx-error.log warn;\n"
                "events { worker_connections 20000; }\n"
                f"rtmp {{ server {{ listen 127.0.0.1:{self.rtmp}; chunk_size 4096;\n"
                "  application live { live on; } } }\n")
            self.proc = subprocess.Popen([args.nginx, "-p", str(tmp), "-c", str(conf)],
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         preexec_fn=pinned(args.server_cpus))
        if not wait_port(self.rtmp):
            raise RuntimeError(f"{kind} did not open its RTMP port; see {tmp}")
        time.sleep(0.3)
        self.pids = [self.proc.pid] + children(self.proc.pid)

    def url(self, proto: str) -> str:
        return {"rtmp": f"rtmp://127.0.0.1:{self.rtmp}/live/bench",
                "flv": f"http://127.0.0.1:{self.http}/live/bench.flv",
                "rtsp": f"rtsp://127.0.0.1:{self.rtsp}/live/bench",
                "rtsp-udp": f"rtsp://127.0.0.1:{self.rtsp}/live/bench",
                "whep": f"http://127.0.0.1:{self.http}/live/bench/whep",
                "whep-cm": f"http://127.0.0.1:{self.http}/live/bench/whep"}[proto]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.kind == "xueliang" else signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_point(args, server: Server, proto: str, viewers: int, tmp: Path,
              receive: str = "") -> dict:
    tag = (f"{server.kind}-{proto}{'-' + receive if receive else ''}{opus_suffix(server.opus_ms)}"
           f"-{server.mode}{engine_suffix(server.engine)}-w{server.workers}-{viewers}")
    ramp_s = viewers / args.ramp
    probe_s = args.probe / args.probe_ramp + 1 if args.probe else 0
    duration = ramp_s + args.settle + args.window + 1 + probe_s
    summary, jsonl = tmp / f"{tag}.json", tmp / f"{tag}.jsonl"
    cpu0, rss0 = proc_cpu(server.pids), proc_rss(server.pids)
    extra = ["--srtp", WHEP_SRTP[proto]] if proto in WHEP_SRTP else []
    if proto == "rtsp-udp":
        extra = ["--rtsp-transport", "udp"]
    if proto.startswith("rtsp"):
        extra += ["--rtsp-rtcp-interval", str(args.rtsp_rtcp_interval)]
    if receive == "gro":
        extra.append("--whep-gro")
    cmd = [args.xl_load, "-u", server.url(proto), "-n", str(viewers), "--ramp", str(args.ramp),
           "-d", f"{duration:.1f}", "-q", "--json", str(summary), "--jsonl", str(jsonl)] + extra
    if receive == FLOOR_READER:
        # writev-floor's drain as the viewers: the reader the floor itself is measured with.
        cmd = [args.writev_floor, "-n", str(viewers), "--read", str(server.http),
               "--path", "/live/bench.flv", "--ramp", str(args.ramp), "--warmup", "0",
               "-d", f"{duration:.1f}", "--json", str(summary), "--jsonl", str(jsonl)]
    load = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{tag}.log", "w"),
                            preexec_fn=pinned(args.client_cpus))
    t_start = time.time()
    w0 = t_start + ramp_s + args.settle
    w1 = w0 + args.window
    samples = []  # (wall, cpu, rss)
    probe, probe_summary = None, tmp / f"{tag}-probe.json"
    while load.poll() is None:
        now = time.time()
        samples.append((now, proc_cpu(server.pids), proc_rss(server.pids)))
        if args.probe and probe is None and now > w1 + 0.5:
            # After the window, so that the late joiners' GOP bursts are not billed to it.
            probe = subprocess.Popen(
                [args.xl_load, "-u", server.url(proto), "-n", str(args.probe), "--ramp",
                 str(args.probe_ramp), "-d", f"{probe_s:.1f}", "-q", "--json", str(probe_summary)]
                + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=pinned(args.client_cpus))
        time.sleep(0.25)
    load.wait()
    if probe:
        probe.wait()
    win = [s for s in samples if w0 <= s[0] <= w1]
    res = {"server": server.kind, "proto": proto, "mode": server.mode, "workers": server.workers,
           "viewers": viewers, "baseline_rss": rss0, "receive": receive, "engine": server.engine,
           "opus_ms": server.opus_ms,
           "rtcp_interval": args.rtsp_rtcp_interval if proto.startswith("rtsp") else None}
    try:
        res["load"] = json.loads(summary.read_text())
        ticks = [json.loads(l) for l in jsonl.read_text().splitlines() if l.strip()]
    except (OSError, json.JSONDecodeError):
        res["error"] = "xl-load wrote no summary"
        return res
    tw = [t for t in ticks if w0 <= t["wall"] <= w1]
    if len(win) < 2 or len(tw) < 2:
        res["error"] = "steady window too short"
        return res
    cpu = win[-1][1] - win[0][1]
    secs = win[-1][0] - win[0][0]
    gbit = (tw[-1]["bytes"] - tw[0]["bytes"]) * 8 / 1e9
    gsecs = tw[-1]["wall"] - tw[0]["wall"]
    gbps = gbit / gsecs if gsecs > 0 else 0
    cpu_rate = cpu / secs if secs > 0 else 0
    connected = res["load"]["connected_at_end"]
    rss = max(s[2] for s in win)
    res.update({
        "cpu_s": cpu, "window_s": secs, "cpu_pct": 100 * cpu_rate, "gbps": gbps,
        "cpu_s_per_gbit": cpu_rate / gbps if gbps > 0 else None,
        "rss": rss, "rss_per_viewer": (rss - rss0) / connected if connected else None,
        "mbps_per_viewer": gbps * 1e3 / connected if connected else 0,
        "connected": connected,
        "failed": res["load"]["failed"] + res["load"]["disconnected"],
        "stalls": res["load"]["stalls"],
        "ttff_p50": res["load"]["ttfk_ms"]["p50"], "ttff_p99": res["load"]["ttfk_ms"]["p99"],
        "join_p99": late_join_p99(probe_summary) if probe else None,
        # The generator's own CPU share: near 100% means xl-load, not the server, is the limit.
        "load_cpu_pct": 100 * res["load"].get("load_cpu_s", 0) / max(res["load"]["elapsed_s"], 1e-9),
    })
    res["load_avg"] = os.getloadavg()[0]
    print(f"  {tag}: {connected}/{viewers} viewers, {gbps * 1e3:.0f} Mbit/s, CPU {100 * cpu_rate:.0f}%, "
          f"{res['cpu_s_per_gbit'] or 0:.3f} CPU-s/Gbit, TTFF p99 {fmt(res['ttff_p99'], '.0f')} ms, "
          f"load average {res['load_avg']:.1f}", flush=True)
    return res


def late_join_p99(summary: Path) -> float | None:
    try:
        return json.loads(summary.read_text())["ttfk_ms"]["p99"]
    except (OSError, json.JSONDecodeError, KeyError):
        return None


def floor_point(args, viewers: int, mbps_each: float, window_ms: int, tmp: Path) -> float | None:
    out = tmp / f"floor-{viewers}-{window_ms}-{time.time_ns()}.json"
    subprocess.run([args.writev_floor, "-n", str(viewers), "--bitrate", f"{mbps_each * 1e6:.0f}",
                    "--window-ms", str(window_ms), "-d", str(args.window), "--warmup", "1",
                    "--json", str(out)]
                   + (["--distinct-frames"] if args.floor_distinct_frames else []),
                   stdout=subprocess.DEVNULL, check=False,
                   preexec_fn=pinned(args.server_cpus))
    try:
        return json.loads(out.read_text())["cpu_s_per_gbit"]
    except (OSError, json.JSONDecodeError, KeyError):
        return None


def engine_suffix(engine: str) -> str:
    """Xueliang's [limits] io_engine in labels and paths; the default auto adds nothing."""
    return "" if engine in ("auto", "") else f"-{engine}"


def fmt(v, spec=".3f", none="-"):
    return none if v is None else format(v, spec)


def spread(r: dict) -> str:
    rs = [x for x in r.get("ratios", []) if x]
    return f" ({min(rs):.2f}–{max(rs):.2f})" if len(rs) > 1 else ""


def opus_suffix(opus_ms: int) -> str:
    """A WHEP point's Opus frame duration when not the default 20 ms, in labels and paths."""
    return "" if opus_ms == 20 else f"-opus{opus_ms}"


def proto_label(r: dict) -> str:
    """WHEP rows name how xl-load received (one datagram per read, or GSO batches whole: GRO)
    the Opus frame duration when it is not 20 ms, and RTSP receiver reports when not every 5 s."""
    notes = [r["receive"]] if r.get("receive") else []
    if r.get("opus_ms", 20) != 20:
        notes.append(f"opus {r['opus_ms']} ms")
    if r.get("rtcp_interval") not in (None, 5):
        notes.append(f"RR every {r['rtcp_interval']:g} s")
    return r["proto"] + (f" ({', '.join(notes)})" if notes else "")


def table(results: list[dict]) -> str:
    nginx = {r["viewers"]: r for r in results if r["server"] == "nginx" and "cpu_s_per_gbit" in r}
    w1 = {(r["proto"], r["mode"], r.get("engine"), r["viewers"]): r for r in results
          if r["server"] == "xueliang" and r["workers"] == 1 and "cpu_s_per_gbit" in r}
    head = ("| server | proto | mode | workers | viewers | connected | failed | stalls | Mbit/s | "
            "CPU % | CPU-s/Gbit | ×floor | ×nginx | RSS MiB | KiB/viewer | TTFF p50/p99 ms | "
            "late join p99 ms | xl-load CPU % |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        if "cpu_s_per_gbit" not in r:
            lines.append(f"| {r['server']} | {proto_label(r)} | {r['mode']}{engine_suffix(r.get('engine', ''))} | {r['workers']} | "
                         f"{r['viewers']} | {r.get('error', '?')} |")
            continue
        c = r["cpu_s_per_gbit"]
        fl = r.get("floor")
        ng = nginx.get(r["viewers"], {}).get("cpu_s_per_gbit") if r["server"] == "xueliang" else None
        workers = str(r["workers"])
        if r["server"] == "xueliang" and r["workers"] > 1:
            base = w1.get((r["proto"], r["mode"], r.get("engine"), r["viewers"]))
            if base and base.get("cpu_s_per_gbit"):
                workers += f" ({c / base['cpu_s_per_gbit']:.2f}× w1 CPU/Gbit)"
        lines.append(
            f"| {r['server']} | {proto_label(r)} | {r['mode']}{engine_suffix(r.get('engine', ''))} | {workers} | {r['viewers']} | "
            f"{r['connected']} | {r['failed']} | {fmt(r['stalls'], 'd')} | {r['gbps'] * 1e3:.0f} | "
            f"{r['cpu_pct']:.0f} | {fmt(c)} | {fmt(c / fl if fl and c else None, '.2f')}{spread(r)} | "
            f"{fmt(c / ng if ng and c else None, '.2f')} | {r['rss'] / 2**20:.1f} | "
            f"{fmt(r['rss_per_viewer'] / 1024 if r['rss_per_viewer'] is not None else None, '.1f')} | "
            f"{fmt(r['ttff_p50'], '.0f')}/{fmt(r['ttff_p99'], '.0f')} | "
            f"{fmt(r.get('join_p99'), '.0f')} | "
            f"{r['load_cpu_pct']:.0f} |")
    return "\n".join(lines)


def publish(args, server: Server, tmp: Path) -> subprocess.Popen:
    p = subprocess.Popen([args.ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
                          "-stream_loop", "-1", "-i", args.clip, "-c", "copy", "-f", "flv",
                          server.url("rtmp")], stdout=subprocess.DEVNULL,
                         stderr=open(tmp / f"publish-{server.kind}.log", "w"),
                         preexec_fn=pinned(args.client_cpus))
    time.sleep(args.publish_wait)
    if p.poll() is not None:
        raise RuntimeError(f"publisher to {server.kind} exited; see {tmp}")
    wait_live(server, tmp)
    return p


def wait_live(server: Server, tmp: Path, timeout: float = 20) -> None:
    """Xueliang: returns once its API lists the published stream. A publisher slow to start
    (ffmpeg on a busy machine) would otherwise fail the point's first viewers with
    StreamNotFound. nginx-rtmp holds a play until the stream comes, and has no such API."""
    if server.kind != "xueliang":
        return
    url = f"http://127.0.0.1:{server.http}/api/v1/streams/live/bench"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:  # connection refused, timeout, or 404 before the publisher is in
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the stream was not live on {server.kind} within {timeout:.0f} s; "
                       f"see {tmp}")


def one_point(args, kind, mode, workers, proto, n, d: Path, receive: str = "",
              engine: str = "auto", opus_ms: int = 20) -> dict:
    """Starts the server, publishes, runs the viewers; with --paired-floor then measures the
    floor at the rate the viewers got, while the machine is in the same state."""
    server = Server(kind, d, args, mode, workers, engine, opus_ms)
    pub = None
    try:
        pub = publish(args, server, d)
        r = run_point(args, server, proto, n, d, receive)
    except RuntimeError as e:
        print(f"  {kind} {proto} {n}: {e}", flush=True)
        return {"server": kind, "proto": proto, "mode": mode, "workers": workers, "viewers": n,
                "engine": engine, "opus_ms": opus_ms, "error": str(e)}
    finally:
        if pub:
            pub.terminate()
            pub.wait()
        server.stop()
    if args.paired_floor and r.get("mbps_per_viewer"):
        wnd = args.merge_window_ms if mode == "merge" else 0
        r["floor"] = floor_point(args, n, r["mbps_per_viewer"], wnd, d)
        print(f"    writev-floor {n} sockets {mode}: {fmt(r['floor'])} CPU-s/Gbit "
              f"(×floor {fmt(ratio(r), '.2f')})", flush=True)
    return r


def ratio(r: dict) -> float | None:
    c, f = r.get("cpu_s_per_gbit"), r.get("floor")
    return c / f if c and f else None


def median_run(runs: list[dict]) -> dict:
    """The run with the median ×floor (or CPU-s/Gbit), with every run's ratio kept."""
    ok = [r for r in runs if "cpu_s_per_gbit" in r]
    if not ok:
        return runs[-1]
    key = (lambda r: ratio(r) or 0) if all(ratio(r) for r in ok) else (
        lambda r: r["cpu_s_per_gbit"] or 0)
    ok.sort(key=key)
    best = dict(ok[(len(ok) - 1) // 2])
    best["runs"] = len(runs)
    best["ratios"] = [ratio(r) for r in ok]
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--xueliang", required=True)
    ap.add_argument("--xl-load", required=True)
    ap.add_argument("--writev-floor", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--nginx", default="/usr/sbin/nginx")
    ap.add_argument("--nginx-rtmp-module", default="/usr/lib/nginx/modules/ngx_rtmp_module.so")
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--viewers", default="100,500,1000,2000")
    ap.add_argument("--protocols", default="rtmp,flv,rtsp",
                    help="Xueliang protocols: rtmp, flv, rtsp, rtsp-udp, whep (AES-GCM), "
                         "whep-cm (AES-CM/HMAC-SHA1)")
    ap.add_argument("--modes", default="realtime,merge")
    ap.add_argument("--workers2", action=argparse.BooleanOptionalAction, default=True,
                    help="also run Xueliang RTMP with 2 workers (each mode)")
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--ramp", type=float, default=1000, help="viewer connections per second")
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--window", type=float, default=10, help="steady window, seconds")
    ap.add_argument("--publish-wait", type=float, default=3)
    ap.add_argument("--merge-window-ms", type=int, default=300)
    ap.add_argument("--paired-floor", action=argparse.BooleanOptionalAction, default=True,
                    help="measure writev-floor right after each Xueliang point (else once per "
                         "viewer count and mode, after all points)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each point this many times; the table shows the run with the "
                         "median ×floor and the range")
    ap.add_argument("--whep-receive", default="datagrams",
                    help="how xl-load's WHEP viewers receive, comma-separated to run each: "
                         "datagrams (one per read, as a browser does: on loopback the server "
                         "pays for cutting its GSO batches back up) or gro (UDP_GRO: a batch "
                         "arrives whole, as behind a NIC with segmentation offload)")
    ap.add_argument("--flv-reader", default="xl-load",
                    help="who reads HTTP-FLV points, comma-separated to run each: xl-load (parses "
                         "FLV, times first frames and stalls) or floor (writev-floor --read: the "
                         "floor's own drain, a bare receive-only reader, so that ×floor compares "
                         "the writers alone; no TTFF or stalls)")
    ap.add_argument("--io-engines", default="auto",
                    help="Xueliang [limits] io_engine values, comma-separated (auto,writev,io_uring; "
                         "auto is the server's default): "
                         "each point runs with each, alternating within every repeat")
    ap.add_argument("--opus-frame-ms", default="20",
                    help="Xueliang [webrtc] opus_frame_ms for WHEP points, comma-separated to run "
                         "each (e.g. 20,60), alternating within every repeat")
    ap.add_argument("--floor-distinct-frames", action="store_true",
                    help="writev-floor writes each window's own frames (a live stream's bytes), "
                         "not one frame buffer again and again")
    ap.add_argument("--rtsp-rtcp-interval", type=float, default=5,
                    help="seconds between an RTSP viewer's receiver reports per track (xl-load; "
                         "5 as GStreamer and VLC)")
    ap.add_argument("--probe", type=int, default=0,
                    help="late joiners after the steady window (their TTFF p99 is its own column)")
    ap.add_argument("--probe-ramp", type=float, default=20, help="late joiners per second")
    ap.add_argument("--pin", default="",
                    help="SERVER_CPUS:CLIENT_CPUS, e.g. 0:1 (server and floor on CPU 0, xl-load "
                         "and ffmpeg on CPU 1)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    args.server_cpus, _, args.client_cpus = args.pin.partition(":")
    if args.pin and not (args.server_cpus and args.client_cpus):
        ap.error("--pin wants SERVER_CPUS:CLIENT_CPUS")

    flv_readers = args.flv_reader.split(",")
    if not set(flv_readers) <= {"xl-load", "floor"}:
        ap.error("--flv-reader takes xl-load, floor or both, comma-separated")
    counts = [int(v) for v in args.viewers.split(",") if v]
    tmp = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="xl-compare-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"work dir: {tmp}", flush=True)
    plan = []  # (kind, mode, workers, protocols)
    if not args.no_nginx:
        plan.append(("nginx", "realtime", 1, ["rtmp"]))
    for mode in args.modes.split(","):
        plan.append(("xueliang", mode, 1, args.protocols.split(",")))
    if args.workers2:
        for mode in args.modes.split(","):
            plan.append(("xueliang", mode, 2, ["rtmp"]))
    results = []
    for kind, mode, workers, protos in plan:
        for proto in protos:
            receives = [""]
            if proto in WHEP_SRTP:
                receives = args.whep_receive.split(",")
            elif proto == "flv" and kind == "xueliang":
                receives = [FLOOR_READER if r == "floor" else "" for r in flv_readers]
            engines = args.io_engines.split(",") if kind == "xueliang" else [""]
            opus = ([int(v) for v in args.opus_frame_ms.split(",")]
                    if kind == "xueliang" and proto in WHEP_SRTP else [20])
            # Variants of one point alternate within every repeat, so they see the same machine.
            variants = [(rc, e, o) for rc in receives for e in engines for o in opus]
            for n in counts:
                runs = {v: [] for v in variants}
                for rep in range(max(1, args.repeat)):
                    for receive, e, o in variants:
                        d = (tmp / f"{kind}-{mode}{engine_suffix(e)}-w{workers}-{proto}{receive}"
                             f"{opus_suffix(o)}-{n}" / f"run{rep}")
                        d.mkdir(parents=True, exist_ok=True)
                        runs[(receive, e, o)].append(
                            one_point(args, kind, mode, workers, proto, n, d, receive, e, o))
                results += [median_run(runs[v]) for v in variants]
    if not args.paired_floor:
        # The floor at each count, at the bitrate the viewers actually got, per frame and merged.
        floors = {}
        for r in results:
            if "mbps_per_viewer" not in r or not r["mbps_per_viewer"]:
                continue
            key = (r["viewers"], r["mode"])
            if key not in floors:
                wnd = args.merge_window_ms if r["mode"] == "merge" else 0
                floors[key] = floor_point(args, r["viewers"], r["mbps_per_viewer"], wnd, tmp)
            r["floor"] = floors[key]
        for (n, mode), v in sorted(floors.items()):
            print(f"  writev-floor {n} sockets {mode}: {fmt(v)} CPU-s/Gbit", flush=True)
    text = table(results)
    print(text)
    (tmp / "results.json").write_text(json.dumps(results, indent=2))
    (tmp / "results.md").write_text(text + "\n")
    bad = [r for r in results if "error" in r]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
