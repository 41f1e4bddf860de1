#include "publisher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include <cstring>

extern char** environ;

namespace xlload {

std::string expandIndex(const std::string& pattern, int i) {
  std::string s = pattern;
  for (size_t p; (p = s.find("{i}")) != std::string::npos;) s.replace(p, 3, std::to_string(i));
  return s;
}

PublisherSet::PublisherSet(std::string file, std::string urlPattern, std::string ffmpeg)
    : file_(std::move(file)), pattern_(std::move(urlPattern)), ffmpeg_(std::move(ffmpeg)) {}

PublisherSet::~PublisherSet() {
  for (pid_t p : pids_)
    if (p > 0) kill(p, SIGTERM);
  timespec ts{0, 100 * 1000 * 1000};
  for (int round = 0; round < 20; ++round) {
    bool alive = false;
    for (pid_t& p : pids_) {
      if (p <= 0) continue;
      if (waitpid(p, nullptr, WNOHANG) == p)
        p = -1;
      else
        alive = true;
    }
    if (!alive) return;
    nanosleep(&ts, nullptr);
  }
  for (pid_t p : pids_)
    if (p > 0) kill(p, SIGKILL), waitpid(p, nullptr, 0);
}

std::string PublisherSet::start(int i) {
  std::string url = expandIndex(pattern_, i);
  std::vector<std::string> args = {ffmpeg_, "-hide_banner", "-loglevel", "error", "-nostdin",
                                   "-re",   "-stream_loop", "-1",        "-i",    file_,
                                   "-c",    "copy",         "-f",        "flv",   url};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, ffmpeg_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "cannot start " + ffmpeg_ + ": " + std::strerror(rc);
  pids_.push_back(pid);
  index_.push_back(i);
  return "";
}

int PublisherSet::reap() {
  int exited = 0;
  for (size_t k = 0; k < pids_.size(); ++k) {
    if (pids_[k] > 0 && waitpid(pids_[k], nullptr, WNOHANG) == pids_[k]) {
      ++exited;
      pids_[k] = -1;
    }
  }
  // Restart in place (a publisher that lost its connection comes back, as a camera would).
  for (size_t k = 0; k < pids_.size(); ++k) {
    if (pids_[k] > 0) continue;
    std::string url = expandIndex(pattern_, index_[k]);
    size_t before = pids_.size();
    if (start(index_[k]).empty()) {
      pids_[k] = pids_.back();
      pids_.resize(before);
      index_.resize(before);
    }
  }
  return exited;
}

}  // namespace xlload
