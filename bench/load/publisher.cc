#include "publisher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

extern char** environ;

namespace xlload {
namespace {

double cpuOf(const rusage& ru) {
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

// utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks), after the command name
// in parentheses, which may itself hold spaces.
double procCpuSeconds(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  std::FILE* f = std::fopen(path, "r");
  if (!f) return 0;
  char buf[1024];
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');
  unsigned long long utime = 0, stime = 0;
  if (!p || std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                        &stime) != 2)
    return 0;
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

}  // namespace

std::string expandIndex(const std::string& pattern, int i) {
  std::string s = pattern;
  for (size_t p; (p = s.find("{i}")) != std::string::npos;) s.replace(p, 3, std::to_string(i));
  return s;
}

PublisherSet::PublisherSet(std::string file, std::string urlPattern, std::string ffmpeg,
                           std::string rtspTransport)
    : file_(std::move(file)),
      pattern_(std::move(urlPattern)),
      ffmpeg_(std::move(ffmpeg)),
      rtspTransport_(std::move(rtspTransport)) {}

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

std::string PublisherSet::spawn(int i, pid_t& pid) {
  std::string url = expandIndex(pattern_, i);
  std::vector<std::string> args = {ffmpeg_,    "-hide_banner", "-loglevel",    "error",
                                   "-nostdin", "-re",          "-stream_loop", "-1",
                                   "-i",       file_,          "-c",           "copy"};
  if (url.rfind("rtmp://", 0) == 0) {
    args.insert(args.end(), {"-f", "flv"});
  } else if (url.rfind("rtsp://", 0) == 0) {
    // ANNOUNCE/RECORD (RFC 2326 §10.3, §10.11), RTP interleaved or to the server's UDP ports.
    args.insert(args.end(), {"-f", "rtsp", "-rtsp_transport", rtspTransport_});
  } else {
    return "publish URL must be rtmp:// or rtsp://: " + url;
  }
  args.push_back(url);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  int rc = posix_spawnp(&pid, ffmpeg_.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return "cannot start " + ffmpeg_ + ": " + std::strerror(rc);
  return "";
}

std::string PublisherSet::start(int i) {
  pid_t pid = -1;
  std::string err = spawn(i, pid);
  if (!err.empty()) return err;
  pids_.push_back(pid);
  index_.push_back(i);
  return "";
}

int PublisherSet::reap() {
  int exited = 0;
  for (size_t k = 0; k < pids_.size(); ++k) {
    rusage ru{};
    if (pids_[k] > 0 && wait4(pids_[k], nullptr, WNOHANG, &ru) == pids_[k]) {
      ++exited;
      exitedCpuS_ += cpuOf(ru);
      pids_[k] = -1;
    }
    // Restart in place (a publisher that lost its connection comes back, as a camera would);
    // one that cannot be started is tried again on the next call.
    if (pids_[k] <= 0 && !spawn(index_[k], pids_[k]).empty()) pids_[k] = -1;
  }
  return exited;
}

double PublisherSet::cpuSeconds() const {
  double s = exitedCpuS_;
  for (pid_t p : pids_)
    if (p > 0) s += procCpuSeconds(p);
  return s;
}

}  // namespace xlload
