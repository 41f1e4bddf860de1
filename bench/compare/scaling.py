#!/usr/bin/env python3
"""CPU-bound throughput with 1 and with 2 workers, on a machine too small to run them uncapped.

Two workers saturating two cores leave no CPU for the viewers that would have to read 2× the
bytes. So every worker thread (`xl-worker-N`) gets a CPU quota of its own, --cap of one CPU,
through a cgroup v1 `cpu` group per thread: each worker is CPU-bound at that share while xl-load
and ffmpeg use the rest of the machine. Each worker is offered more viewers than its share can
serve (--viewers-per-worker); Gbit/s delivered over the steady window is then the server's
CPU-bound throughput, and the table gives it for 2 workers as a ratio to 1 worker.
A point counts only when it was saturated: every worker used at least --bound of its quota, and
the viewers got less than --saturated of the stream's bit rate (a worker short of CPU writes
several frames per writev, so it serves more at the same CPU until even that is not enough:
offering a little more than it serves is not yet the limit). Its row says which was not so.

Needs root and the cgroup v1 cpu controller at /sys/fs/cgroup/cpu (a cgroup v2-only host has no
per-thread quota outside a threaded subtree; this script then stops with a message).
Reuses compare.py's server, publisher and load point; standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the sibling script)

CGROUP_CPU = Path("/sys/fs/cgroup/cpu")


class ThreadCap:
    """One cgroup v1 cpu group holding one thread at `share` of a CPU; removed on close."""

    def __init__(self, name: str, share: float, period_us: int):
        self.dir = CGROUP_CPU / name
        period_us = max(period_us, math.ceil(1000 / share))  # the kernel wants a quota ≥ 1 ms
        self.dir.mkdir()
        try:
            (self.dir / "cpu.cfs_period_us").write_text(str(period_us))
            (self.dir / "cpu.cfs_quota_us").write_text(str(round(share * period_us)))
        except OSError:
            self.dir.rmdir()
            raise

    def add(self, tid: int) -> None:
        (self.dir / "tasks").write_text(str(tid))

    def close(self) -> None:
        for tid in (self.dir / "tasks").read_text().split():
            try:
                (CGROUP_CPU / "tasks").write_text(tid)
            except OSError:  # the thread has exited meanwhile
                pass
        self.dir.rmdir()


def worker_threads(pid: int) -> dict[str, int]:
    """{'xl-worker-0': tid, ...} of a running Xueliang."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            continue
        if name.startswith("xl-worker-"):
            out[name] = int(tid)
    return dict(sorted(out.items()))


def thread_cpu(pid: int, tid: int) -> float:
    return compare.stat_cpu(f"/proc/{pid}/task/{tid}/stat")


def sample_window(pid: int, tids: list[int], t0: float, t1: float, out: dict) -> None:
    """Each thread's CPU share between the wall-clock times t0 and t1 (seconds of CPU/s)."""
    time.sleep(max(0.0, t0 - time.time()))
    a, s0 = [thread_cpu(pid, t) for t in tids], time.time()
    time.sleep(max(0.0, t1 - time.time()))
    b, s1 = [thread_cpu(pid, t) for t in tids], time.time()
    out["shares"] = [(y - x) / (s1 - s0) for x, y in zip(a, b)]


def capped_point(args, workers: int, rep: int, tmp: Path) -> dict:
    d = tmp / f"{args.proto}-{args.mode}-w{workers}" / f"run{rep}"
    d.mkdir(parents=True, exist_ok=True)
    n = args.viewers_per_worker * workers
    server = compare.Server("xueliang", d, args, args.mode, workers)
    caps, pub = [], None
    try:
        threads = worker_threads(server.proc.pid)
        if len(threads) != workers:
            raise RuntimeError(f"found {len(threads)} xl-worker threads, expected {workers}")
        for name, tid in threads.items():
            caps.append(ThreadCap(f"xl-scaling-{server.proc.pid}-{name}", args.cap,
                                  args.period_us))
            caps[-1].add(tid)
        pub = compare.publish(args, server, d)
        shares: dict = {}
        w0 = time.time() + n / args.ramp + args.settle
        sampler = threading.Thread(target=sample_window, daemon=True, args=(
            server.proc.pid, list(threads.values()), w0, w0 + args.window, shares))
        sampler.start()
        r = compare.run_point(args, server, args.proto, n, d)
        sampler.join()
        r["worker_shares"] = shares.get("shares", [])
        return r
    except RuntimeError as e:
        print(f"  w{workers}: {e}", flush=True)
        return {"workers": workers, "viewers": n, "error": str(e)}
    finally:
        if pub:
            pub.terminate()
            pub.wait()
        server.stop()
        for c in caps:
            c.close()


def stream_mbps(args) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=bit_rate", "-of",
                          "csv=p=0", args.clip], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1e6


def verdict(args, r: dict, shares: list[float]) -> str:
    """Why a point does not measure the CPU-bound throughput; empty when it does."""
    why = []
    if not shares or min(shares) < args.bound:
        why.append("a worker below its cap")
    if r["mbps_per_viewer"] >= args.saturated * args.stream_mbps:
        why.append("viewers got the whole stream")
    return f" (not saturated: {', '.join(why)})" if why else ""


def median_by_gbps(runs: list[dict]) -> dict:
    ok = sorted((r for r in runs if "gbps" in r), key=lambda r: r["gbps"])
    if not ok:
        return runs[-1]
    best = dict(ok[(len(ok) - 1) // 2])
    best["all_gbps"] = [r["gbps"] for r in ok]
    return best


def pair_ratios(runs: dict[int, list[dict]], w: int) -> list[float]:
    """Gbit/s of w workers over 1 worker, within each repeat (the two ran back to back)."""
    pairs = zip(runs.get(1, []), runs.get(w, []))
    return [b["gbps"] / a["gbps"] for a, b in pairs if a.get("gbps") and b.get("gbps")]


def table(args, runs: dict[int, list[dict]]) -> str:
    results = {w: median_by_gbps(r) for w, r in runs.items()}
    head = ("| workers | cap per worker | viewers offered | connected | failed | stalls | Gbit/s "
            "(runs) | worker CPU, share of cap | per viewer, share of the stream | CPU-s/Gbit | "
            "×1 worker |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    base = results.get(1, {}).get("gbps")
    for w, r in sorted(results.items()):
        if "gbps" not in r:
            lines.append(f"| {w} | {args.cap:g} | {r['viewers']} | {r.get('error', '?')} |")
            continue
        shares = [s / args.cap for s in r.get("worker_shares", [])]
        each = ", ".join(f"{g:.2f}" for g in r.get("all_gbps", [r["gbps"]]))
        ratio = "-"
        if base and w != 1:
            pairs = pair_ratios(runs, w)
            ratio = f"{r['gbps'] / base:.2f}" + (
                f" (pairs {', '.join(f'{x:.2f}' for x in pairs)})" if len(pairs) > 1 else "")
        lines.append(
            f"| {w} | {args.cap:g} | {r['viewers']} | {r['connected']} | {r['failed']} | "
            f"{r['stalls']} | {r['gbps']:.2f} ({each}) | "
            f"{', '.join(f'{s:.0%}' for s in shares) or '-'} | "
            f"{r['mbps_per_viewer'] / args.stream_mbps:.0%}{verdict(args, r, shares)} | "
            f"{compare.fmt(r['cpu_s_per_gbit'])} | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--xueliang", required=True)
    ap.add_argument("--xl-load", required=True)
    ap.add_argument("--clip", required=True)
    ap.add_argument("--ffmpeg", default="ffmpeg")
    ap.add_argument("--proto", default="rtmp", help="rtmp, flv, rtsp or rtsp-udp")
    ap.add_argument("--mode", default="realtime", help="realtime or merge")
    ap.add_argument("--merge-window-ms", type=int, default=300)
    ap.add_argument("--cap", type=float, default=0.08, help="CPU share of each worker thread")
    ap.add_argument("--period-us", type=int, default=10000,
                    help="cgroup quota period: short, so that a capped worker pauses briefly")
    ap.add_argument("--viewers-per-worker", type=int, default=3000,
                    help="offered load per worker; more than a worker at --cap can serve")
    ap.add_argument("--bound", type=float, default=0.9,
                    help="a worker below this share of its cap was not CPU-bound")
    ap.add_argument("--saturated", type=float, default=0.9,
                    help="viewers getting this share of the stream's bit rate were all served")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1,
                    help="points alternate 1 and 2 workers; the table shows the median Gbit/s")
    ap.add_argument("--ramp", type=float, default=1000, help="viewer connections per second")
    ap.add_argument("--settle", type=float, default=3)
    ap.add_argument("--window", type=float, default=10, help="steady window, seconds")
    ap.add_argument("--publish-wait", type=float, default=3)
    ap.add_argument("--rtsp-rtcp-interval", type=float, default=5)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    # What compare.py's helpers read from their own options.
    args.server_cpus = args.client_cpus = ""
    args.engine, args.probe, args.probe_ramp = "auto", 0, 20
    args.stream_mbps = stream_mbps(args)

    if not (CGROUP_CPU / "cpu.cfs_quota_us").exists() or not os.access(CGROUP_CPU, os.W_OK):
        print(f"scaling.py needs root and the cgroup v1 cpu controller at {CGROUP_CPU}",
              file=sys.stderr)
        return 2
    tmp = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="xl-scaling-"))
    tmp.mkdir(parents=True, exist_ok=True)
    print(f"work dir: {tmp}", flush=True)
    counts = [int(w) for w in args.workers.split(",") if w]
    runs: dict[int, list[dict]] = {w: [] for w in counts}
    for rep in range(max(1, args.repeat)):
        for w in counts:
            runs[w].append(capped_point(args, w, rep, tmp))
    text = table(args, runs)
    print(text)
    (tmp / "results.md").write_text(text + "\n")
    (tmp / "results.json").write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
