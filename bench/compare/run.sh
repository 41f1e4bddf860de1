#!/usr/bin/env bash
# bench/compare/run.sh [--quick] [compare.py options]: Xueliang vs nginx-rtmp on loopback.
#
# Installs nginx + libnginx-mod-rtmp if missing, builds xueliang, xl-load and writev-floor
# (Release, in $BUILD_DIR, default build-load), makes a 2 Mbit/s 720p25 H.264+AAC clip once in
# $XL_BENCH_CACHE (default ~/.cache/xueliang-bench), then runs compare.py: per scenario it starts
# the server (Xueliang with 1 worker like nginx's worker_processes 1; also 2 workers), publishes
# the clip with `ffmpeg -re -stream_loop -1 -c copy -f flv`, plays it with N xl-load viewers and
# prints server CPU-seconds per Gbit, RSS per viewer, time to first frame and failures.
#   --quick     100 and 500 viewers, short windows (what `make bench` runs)
#   --no-build  use the binaries already built in $BUILD_DIR
# Everything else is passed to compare.py (--viewers 1000, --protocols rtmp, --no-nginx, ...;
# --repeat 3 runs each point three times and shows the median; writev-floor is measured right
# after each point unless --no-paired-floor).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD_DIR=${BUILD_DIR:-build-load}
CACHE=${XL_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xueliang-bench}
CLIP=${XL_BENCH_CLIP:-$CACHE/720p25-2mbit.mp4}

extra=()
build=1
for a in "$@"; do
  if [[ $a == --no-build ]]; then
    build=0  # use the binaries already in $BUILD_DIR
  elif [[ $a == --quick ]]; then
    extra+=(--viewers 100,500 --settle 2 --window 5 --publish-wait 2)
  else
    extra+=("$a")
  fi
done

module=/usr/lib/nginx/modules/ngx_rtmp_module.so
if [[ ! -x /usr/sbin/nginx || ! -f $module ]]; then
  bash scripts/apt-install.sh bench-compare nginx libnginx-mod-rtmp
  # The package starts the distribution's nginx on port 80; the benchmark runs its own.
  if [[ -f /run/nginx.pid ]]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
fi

if [[ $build == 1 ]]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target xueliang xl-load writev-floor >/dev/null
fi

if [[ ! -f $CLIP ]]; then
  mkdir -p "$(dirname "$CLIP")"
  echo "making $CLIP (20 s, 1280x720 25 fps H.264 2 Mbit/s, AAC 128 kbit/s, GOP 2 s)"
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 \
    -t 20 -c:v libx264 -preset veryfast -tune zerolatency -b:v 2M -maxrate 2M -bufsize 2M \
    -g 50 -keyint_min 50 -sc_threshold 0 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 \
    -movflags +faststart "$CLIP.tmp.mp4"
  mv "$CLIP.tmp.mp4" "$CLIP"
fi

# Loopback bursts from thousands of sockets overflow the default per-CPU backlog (1000 packets):
# dropped segments then wait for TCP retransmission timeouts and look like server stalls.
if [[ $(cat /proc/sys/net/core/netdev_max_backlog) -lt 30000 ]]; then
  sysctl -qw net.core.netdev_max_backlog=30000 2>/dev/null ||
    echo "note: could not raise net.core.netdev_max_backlog (loopback drops may show as stalls)"
fi

exec python3 bench/compare/compare.py --xueliang "$BUILD_DIR/xueliang" \
  --xl-load "$BUILD_DIR/bench/load/xl-load" --writev-floor "$BUILD_DIR/bench/load/writev-floor" \
  --clip "$CLIP" ${extra[@]+"${extra[@]}"}
