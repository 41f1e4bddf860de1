#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages Xueliang needs to build, test, fuzz and benchmark.
# Idempotent: asks dpkg which packages are missing (one dpkg-query call) and only then runs
# apt-get; a fully provisioned machine returns in well under a second without touching apt.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config git clang clang-format libclang-rt-14-dev
  # libraries
  libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev
  libnss3-dev  # Debian's libsrtp2 uses NSS: initialising it once makes each SRTP session cheap
  libavformat-dev libavcodec-dev libavutil-dev libjemalloc-dev
  libswresample-dev  # WebRTC: AAC <-> Opus transcoding (libavcodec's libopus encoder)
  libtomlplusplus-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libsqlite3-dev  # the recorder's index of recordings
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev  # [limits] io_engine = "io_uring" and writev-floor --engine io_uring
  # integration tests: real clients, process and socket inspection
  ffmpeg python3 procps iproute2
  # RTSP integration tests: GStreamer's rtspsrc (and rtspclientsink) as a second client
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp
  # RTSP pull tests: gst-rtsp-server through python3-gi plays the camera
  gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly
  # WHEP H.265 test: GStreamer's webrtcbin as the viewer (libnice ICE, GstWebRTC bindings)
  gstreamer1.0-nice gir1.2-gst-plugins-bad-1.0
)

missing=()
# One dpkg-query for all names; unknown packages go to stderr and are simply absent from stdout.
declare -A installed=()
while read -r name status; do
  [[ "$status" == "install ok installed" ]] && installed["$name"]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
  [[ -n "${installed[$p]:-}" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" install-deps "${missing[@]}"
