// writev-floor: the speed-of-light reference for fan-out. It writes the same shared bytes to N
// loopback TCP sockets with writev and does nothing else, at a media cadence: one write per
// frame (every 1000/fps ms) or, with --window-ms, one write per merge window carrying every
// frame of the window (one iovec each). A forked drain process reads the other ends, so the
// CPU reported (user+sys of this process over the measured window) is the writer's alone.
// --engine io_uring submits the same writes (IORING_OP_WRITEV, one per socket) for all sockets
// with one io_uring_enter per tick, to see whether batching the system calls beats the floor.
// --read PORT turns it around: the drain alone, as N receive-only HTTP-FLV viewers of a real
// server, so that the server can be measured with the very reader the floor is measured with.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef XL_WITH_LIBURING
#include <liburing.h>
#endif

#include <CLI/CLI.hpp>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

double monoS() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double wallS() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Writes printf-formatted JSON to `path`; nothing when the path is empty.
__attribute__((format(printf, 2, 3))) void writeJson(const std::string& path, const char* fmt,
                                                     ...) {
  if (path.empty()) return;
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return;
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(f, fmt, ap);
  va_end(ap);
  std::fclose(f);
}

// What the drain read, for --read.
struct Drained {
  uint64_t bytes = 0;
  int closed = 0;  // connections the other side closed
};

// The drain: connects n sockets to the writer and reads until they close. With a request (an
// HTTP GET) and a time limit it is a bare receive-only viewer of a real server instead (--read):
// it sends the request on every socket and reads for `seconds` (counted from the start, ramp
// included), parsing nothing; `jsonl` then gets a line a second with the bytes read so far.
Drained drain(int port, int n, const std::string& request = {}, double seconds = 0,
              FILE* jsonl = nullptr, double ramp = 0) {
  int ep = epoll_create1(0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const double start = monoS();
  for (int i = 0; i < n; ++i) {
    // Joins spread at `ramp` per second, as xl-load's: a server whose viewers all came in one
    // instant may write them all in the same instants ever after.
    double wait = ramp > 0 ? start + i / ramp - monoS() : 0;
    if (wait > 0) usleep(static_cast<useconds_t>(wait * 1e6));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
      std::perror("drain connect");
      _exit(1);
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{EPOLLIN, {.fd = fd}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  static char buf[256 * 1024];
  epoll_event evs[512];
  Drained d;
  const double end = start + seconds;
  double nextLine = monoS() + 1;
  while (d.closed < n && (seconds <= 0 || monoS() < end)) {
    int k = epoll_wait(ep, evs, 512, 200);
    for (int i = 0; i < k; ++i) {
      ssize_t r;
      while ((r = read(evs[i].data.fd, buf, sizeof buf)) > 0) d.bytes += static_cast<uint64_t>(r);
      if (r == 0) close(evs[i].data.fd), ++d.closed;
    }
    if (jsonl && monoS() >= nextLine) {
      std::fprintf(jsonl, "{\"wall\": %.3f, \"bytes\": %llu}\n", wallS(),
                   static_cast<unsigned long long>(d.bytes));
      std::fflush(jsonl);
      nextLine += 1;
    }
  }
  return d;
}

// Writes `iov` to every socket, one writev each; returns the bytes written, counts short writes.
uint64_t writeAll(const std::vector<int>& fds, const std::vector<iovec>& iov, size_t perWrite,
                  uint64_t& shortWrites) {
  uint64_t bytes = 0;
  for (int fd : fds) {
    ssize_t w = writev(fd, iov.data(), static_cast<int>(iov.size()));
    if (w > 0) bytes += static_cast<uint64_t>(w);
    if (w < static_cast<ssize_t>(perWrite)) ++shortWrites;  // the floor never queues: dropped
  }
  return bytes;
}

#ifdef XL_WITH_LIBURING
// The same writes through io_uring: one WRITEV per socket (registered files), all of a tick's
// submitted and reaped with one io_uring_enter per ring-full. The iovecs and the bytes are the
// same shared, immutable ones for every socket, alive until the completions are reaped.
struct Uring {
  io_uring ring{};
  unsigned entries = 0;
  bool init(const std::vector<int>& fds) {
    entries = 1;
    while (entries < fds.size() && entries < 4096) entries <<= 1;
    io_uring_params p{};
    p.flags = IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = entries * 2;
    p.flags |= IORING_SETUP_CQSIZE;
    if (int rc = io_uring_queue_init_params(entries, &ring, &p); rc < 0) {
      std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-rc));
      return false;
    }
    if (int rc = io_uring_register_files(&ring, fds.data(), static_cast<unsigned>(fds.size()));
        rc < 0) {
      std::fprintf(stderr, "io_uring_register_files: %s\n", std::strerror(-rc));
      return false;
    }
    return true;
  }
  uint64_t reap(unsigned want, size_t perWrite, uint64_t& shortWrites) {
    uint64_t bytes = 0;
    io_uring_submit_and_wait(&ring, want);
    io_uring_cqe* cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      if (cqe->res > 0) bytes += static_cast<uint64_t>(cqe->res);
      if (cqe->res < static_cast<int>(perWrite)) ++shortWrites;
      ++seen;
    }
    io_uring_cq_advance(&ring, seen);
    return bytes;
  }
  uint64_t writeAll(size_t n, const std::vector<iovec>& iov, size_t perWrite,
                    uint64_t& shortWrites) {
    uint64_t bytes = 0;
    unsigned queued = 0;
    for (size_t i = 0; i < n; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (!sqe) {
        bytes += reap(queued, perWrite, shortWrites);
        queued = 0;
        sqe = io_uring_get_sqe(&ring);
      }
      io_uring_prep_writev(sqe, static_cast<int>(i), iov.data(), static_cast<unsigned>(iov.size()),
                           0);
      sqe->flags |= IOSQE_FIXED_FILE;
      ++queued;
    }
    return bytes + reap(queued, perWrite, shortWrites);
  }
};
#endif

}  // namespace

// --read: n receive-only viewers of the server's HTTP-FLV stream for `seconds`. The summary has
// the names xl-load's has, for compare.py; a bare reader knows no frames, so no times to first
// frame and no stalls.
int readServer(int port, int n, const std::string& path, double seconds, double ramp,
               const std::string& json, const std::string& jsonl) {
  FILE* lines = jsonl.empty() ? nullptr : std::fopen(jsonl.c_str(), "w");
  std::string get = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  double t0 = monoS();
  Drained d = drain(port, n, get, seconds, lines, ramp);
  double secs = monoS() - t0;
  if (lines) std::fclose(lines);
  std::printf("writev-floor --read: %d viewers, %d closed by the server, %.1f Mbit/s in all\n", n,
              d.closed, d.bytes * 8 / secs / 1e6);
  writeJson(json,
            "{\"viewers\": %d, \"connected_at_end\": %d, \"failed\": 0, \"disconnected\": %d, "
            "\"stalls\": null, \"ttfk_ms\": {\"p50\": null, \"p99\": null}, \"bytes\": %llu, "
            "\"elapsed_s\": %.3f, \"load_cpu_s\": %.6f}\n",
            n, n - d.closed, d.closed, static_cast<unsigned long long>(d.bytes), secs,
            cpuSeconds());
  return d.bytes > 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  CLI::App app{"writev-floor: writev the same bytes to N loopback sockets, report CPU per Gbit"};
  int n = 1000, iovPerFrame = 1;
  double bitrate = 2.1e6, fps = 25, duration = 20, warmup = 2, windowMs = 0;
  std::string json, engine = "writev";
  bool distinctFrames = false;
  app.add_option("-n,--connections", n, "sockets")->check(CLI::Range(1, 200000));
  app.add_option("--bitrate", bitrate, "bits per second per socket");
  app.add_option("--fps", fps, "frames per second (one write per frame in realtime)");
  app.add_option("--window-ms", windowMs, "merge window: one writev per window (0: per frame)");
  app.add_flag("--distinct-frames", distinctFrames,
               "each write carries the stream's next frames (a 10 s pool), not one frame again");
  app.add_option("--iov-per-frame", iovPerFrame, "iovecs per frame (chunked muxers use several)")
      ->check(CLI::Range(1, 16));
  app.add_option("-d,--duration", duration, "measured seconds");
  app.add_option("--warmup", warmup, "seconds written before measuring");
  app.add_option("--json", json, "write the result as JSON to this file");
  app.add_option("--engine", engine, "writev, or io_uring (one submission per tick for all)")
      ->check(CLI::IsMember({"writev", "io_uring"}));
  int readPort = 0;
  std::string readPath = "/live/bench.flv";
  app.add_option("--read", readPort,
                 "instead: be n receive-only viewers of the HTTP server on this 127.0.0.1 port "
                 "for warmup + duration seconds (the drain's reading, against a real server)");
  app.add_option("--path", readPath, "what --read requests (HTTP-FLV)");
  std::string jsonl;
  app.add_option("--jsonl", jsonl, "--read: the bytes read so far, a JSON line a second");
  double ramp = 1000;
  app.add_option("--ramp", ramp, "--read: connections per second (0: all at once)");
  CLI11_PARSE(app, argc, argv);

  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  signal(SIGPIPE, SIG_IGN);
  if (readPort > 0) return readServer(readPort, n, readPath, warmup + duration, ramp, json, jsonl);

  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(ls, 4096) != 0) {
    std::perror("listen");
    return 1;
  }
  socklen_t al = sizeof a;
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &al);
  pid_t child = fork();
  if (child == 0) {
    drain(ntohs(a.sin_port), n);
    _exit(0);
  }
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = accept(ls, nullptr, nullptr);
    if (fd < 0) {
      std::perror("accept");
      return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    fds.push_back(fd);
  }

  // Every socket gets the same bytes, as a server's fan-out does. By default one frame buffer is
  // written again and again (a window's iovecs all point at it); with --distinct-frames each
  // write carries the next frames of a ten-second pool, as a live stream's writes do.
  const size_t frameBytes = static_cast<size_t>(bitrate / 8 / fps);
  const int framesPerWrite =
      windowMs > 0 ? std::max(1, static_cast<int>(windowMs * fps / 1000 + 0.5)) : 1;
  const size_t poolFrames =
      distinctFrames ? std::max<size_t>(framesPerWrite, static_cast<size_t>(fps * 10)) : 1;
  std::vector<std::vector<char>> pool(poolFrames, std::vector<char>(frameBytes, 'x'));
  size_t nextFrame = 0;
  const double period = framesPerWrite / fps;
  std::vector<iovec> iov;
  const size_t part = frameBytes / iovPerFrame;
  auto layOut = [&] {
    iov.clear();
    for (int f = 0; f < framesPerWrite; ++f) {
      char* frame = pool[nextFrame].data();
      nextFrame = (nextFrame + 1) % pool.size();
      for (int k = 0; k < iovPerFrame; ++k)
        iov.push_back({frame + k * part, k + 1 == iovPerFrame ? frameBytes - k * part : part});
    }
  };
  layOut();
  const size_t perWrite = frameBytes * framesPerWrite;
#ifdef XL_WITH_LIBURING
  Uring uring;
  if (engine == "io_uring" && !uring.init(fds)) return 1;
#else
  if (engine == "io_uring") {
    std::fprintf(stderr, "built without liburing\n");
    return 1;
  }
#endif

  uint64_t bytes = 0, shortWrites = 0, writes = 0;
  double t0 = monoS(), next = t0, measureStart = t0 + warmup, end = measureStart + duration;
  double cpu0 = -1;
  uint64_t bytes0 = 0;
  while (true) {
    double now = monoS();
    if (cpu0 < 0 && now >= measureStart) cpu0 = cpuSeconds(), bytes0 = bytes, measureStart = now;
    if (now >= end) break;
    writes += fds.size();
#ifdef XL_WITH_LIBURING
    if (engine == "io_uring")
      bytes += uring.writeAll(fds.size(), iov, perWrite, shortWrites);
    else
#endif
      bytes += writeAll(fds, iov, perWrite, shortWrites);
    if (distinctFrames) layOut();
    next += period;
    double sleep = next - monoS();
    if (sleep > 0) {
      timespec ts{static_cast<time_t>(sleep),
                  static_cast<long>((sleep - static_cast<time_t>(sleep)) * 1e9)};
      nanosleep(&ts, nullptr);
    }
  }
  double cpu = cpuSeconds() - cpu0, secs = monoS() - measureStart;
  double gbit = (bytes - bytes0) * 8 / 1e9;
#ifdef XL_WITH_LIBURING
  // The ring holds references to its registered sockets: the drain sees EOF only after this.
  if (engine == "io_uring") io_uring_queue_exit(&uring.ring);
#endif
  for (int fd : fds) close(fd);
  waitpid(child, nullptr, 0);
  std::printf(
      "writev-floor: %d sockets, %.2f Mbit/s each, %s, %s, %.1f s: %.3f Gbit written, %.3f CPU-s, "
      "%.4f CPU-s/Gbit, %.1f%% CPU, short writes %llu of %llu\n",
      n, bitrate / 1e6, windowMs > 0 ? "merge window" : "one write per frame", engine.c_str(), secs,
      gbit, cpu, gbit > 0 ? cpu / gbit : 0, secs > 0 ? 100 * cpu / secs : 0,
      (unsigned long long)shortWrites, (unsigned long long)writes);
  writeJson(json,
            "{\"connections\": %d, \"bitrate\": %.0f, \"fps\": %.3f, \"window_ms\": %.0f, "
            "\"seconds\": %.3f, \"gbit\": %.6f, \"cpu_s\": %.6f, \"cpu_s_per_gbit\": %.6f, "
            "\"short_writes\": %llu, \"writes\": %llu}\n",
            n, bitrate, fps, windowMs, secs, gbit, cpu, gbit > 0 ? cpu / gbit : 0,
            (unsigned long long)shortWrites, (unsigned long long)writes);
  return 0;
}
