// Camera simulators: one ffmpeg process per publisher looping a file with `-re -stream_loop -1
// -c copy`, pushing over RTMP (`-f flv`) or RTSP ANNOUNCE/RECORD (`-f rtsp`, RTP interleaved on
// the TCP connection or over UDP), chosen by the URL's scheme. Copying (no transcoding) keeps
// each publisher cheap, so the CPU measured is the server's; cpuSeconds() says what they cost.
// The processes are killed (SIGTERM, then SIGKILL) when the set is destroyed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace xlload {

class PublisherSet {
 public:
  // `urlPattern` (rtmp://… or rtsp://…) may contain "{i}", replaced by the publisher index
  // (0-based); `rtspTransport` is "tcp" or "udp".
  PublisherSet(std::string file, std::string urlPattern, std::string ffmpeg = "ffmpeg",
               std::string rtspTransport = "tcp");
  ~PublisherSet();
  PublisherSet(const PublisherSet&) = delete;
  PublisherSet& operator=(const PublisherSet&) = delete;

  // Starts publisher `i`; returns an error message or "".
  std::string start(int i);
  // Restarts publishers that exited; returns how many had exited.
  int reap();
  size_t size() const { return pids_.size(); }
  // User+sys CPU of every publisher so far: running ones from /proc, exited ones from wait4.
  double cpuSeconds() const;

 private:
  std::string spawn(int i, pid_t& pid);
  std::string file_, pattern_, ffmpeg_, rtspTransport_;
  std::vector<pid_t> pids_;
  std::vector<int> index_;
  double exitedCpuS_ = 0;
};

std::string expandIndex(const std::string& pattern, int i);

}  // namespace xlload
