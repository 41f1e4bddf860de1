#!/usr/bin/env bash
# Regenerates conf/demo/demo.mp4: the looping clip behind the built-in `live/demo` stream and the
# integration tests' publishers. 10 s, H.264 High 640x360 25 fps yuv420p with a closed 2 s GOP
# (keyframe every 50 frames exactly: -g/-keyint_min 50, no scene-cut keyframes) and no B-frames
# (-bf 0: cameras send none, and browsers' WebRTC H.264 decoders reject them), AAC-LC 44.1 kHz
# stereo, moov atom first (+faststart). Synthetic sources only (testsrc2 + sine), so no fonts and
# no copyrighted material. One encoder thread and +bitexact make the output byte-identical
# across runs with the same ffmpeg/x264 build (Debian 12: ffmpeg 5.1, x264 0.164).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-conf/demo/demo.mp4}"
mkdir -p "$(dirname "$out")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=25:duration=10" \
  -f lavfi -i "sine=frequency=440:beep_factor=4:sample_rate=44100:duration=10" \
  -map 0:v -map 1:a \
  -c:v libx264 -threads:v 1 -profile:v high -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 -bf 0 \
  -maxrate 500k -bufsize 1000k \
  -c:a aac -profile:a aac_low -b:a 96k -ar 44100 -ac 2 \
  -metadata title="Xueliang demo" \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -movflags +faststart -shortest \
  "$out"
ls -l "$out"
