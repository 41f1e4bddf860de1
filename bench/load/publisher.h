// Camera simulators: `ffmpeg -re -stream_loop -1 -i FILE -c copy -f flv URL` processes, one per
// publisher. Copying (no transcoding) keeps each publisher nearly free, so the CPU measured is
// the server's. The processes are killed (SIGTERM, then SIGKILL) when the set is destroyed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace xlload {

class PublisherSet {
 public:
  // `urlPattern` may contain "{i}", replaced by the publisher index (0-based).
  PublisherSet(std::string file, std::string urlPattern, std::string ffmpeg = "ffmpeg");
  ~PublisherSet();
  PublisherSet(const PublisherSet&) = delete;
  PublisherSet& operator=(const PublisherSet&) = delete;

  // Starts publisher `i`; returns an error message or "".
  std::string start(int i);
  // Restarts publishers that exited; returns how many had exited.
  int reap();
  size_t size() const { return pids_.size(); }

 private:
  std::string file_, pattern_, ffmpeg_;
  std::vector<pid_t> pids_;
  std::vector<int> index_;
};

std::string expandIndex(const std::string& pattern, int i);

}  // namespace xlload
