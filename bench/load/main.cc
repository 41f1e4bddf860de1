// xl-load: N viewers of one or many streams over RTMP, HTTP-FLV, RTSP (TCP interleaved or UDP),
// HLS / LL-HLS and WebRTC WHEP from one thread and one epoll loop, plus optional ffmpeg camera
// simulators over RTMP or RTSP. Prints a line per second and a summary; --json writes the
// summary, --jsonl one sample per second (wall clock, cumulative bytes) so an outside sampler can
// line up server CPU with bytes delivered.
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "publisher.h"
#include "stats.h"
#include "viewer.h"
#include "whep_client.h"

namespace {

volatile sig_atomic_t gStop = 0;

void raiseFdLimit(size_t want) {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
    rlimit bigger{want, want};
    if (setrlimit(RLIMIT_NOFILE, &bigger) == 0) return;  // root may raise the hard limit
  }
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want)
    std::fprintf(stderr, "warning: RLIMIT_NOFILE is %llu, below the %zu sockets wanted\n",
                 (unsigned long long)rl.rlim_cur, want);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xlload;
  CLI::App app{
      "xl-load: media server load generator (RTMP, HTTP-FLV, RTSP, HLS/LL-HLS, WHEP viewers)"};
  std::vector<std::string> urls;
  int viewers = 100, streams = 1, publish = 0;
  double duration = 30, ramp = 1000, publishWait = 3;
  std::string json, jsonl, publishFile, publishUrl, ffmpeg = "ffmpeg";
  bool quiet = false, llHls = false, whepGro = false, noRtspRtcp = false;
  double rtspRtcpInterval = 5;
  double pliAfter = -1, pliInterval = 0, rembFor = 0;
  uint64_t remb = 0;
  std::string rtspTransport = "tcp", publishTransport = "tcp", srtp = "both", whepCandidate;
  app.add_option("-u,--url", urls,
                 "play URL: rtmp://H:P/app/stream, http://H:P/app/stream.flv, "
                 "rtsp://H:P/app/stream, http://H:P/app/stream/index.m3u8 (HLS), "
                 "http://H:P/app/stream/whep (WebRTC WHEP); repeat to mix "
                 "(viewers go round-robin); "
                 "\"{i}\" expands to 0..streams-1");
  app.add_option("-n,--viewers", viewers, "viewers in total")->check(CLI::Range(0, 1000000));
  app.add_option("--streams", streams, "expand {i} in URLs to this many streams")
      ->check(CLI::Range(1, 100000));
  app.add_option("-d,--duration", duration, "seconds to run after the first connection");
  app.add_option("--ramp", ramp, "new connections per second (0: all at once)");
  app.add_option("--json", json, "write the summary as JSON to this file");
  app.add_option("--jsonl", jsonl, "write one JSON sample per second to this file");
  app.add_option("--publish", publish, "camera simulators: ffmpeg publishers looping a file")
      ->check(CLI::Range(0, 10000));
  app.add_option("--publish-file", publishFile, "media file the publishers loop (-c copy)");
  app.add_option("--publish-url", publishUrl,
                 "publish URL, \"{i}\" = publisher index: rtmp://H:P/app/cam{i} (-f flv) or "
                 "rtsp://H:P/app/cam{i} (ANNOUNCE/RECORD)");
  app.add_option("--publish-transport", publishTransport,
                 "RTSP publishers' RTP: tcp (interleaved) or udp")
      ->check(CLI::IsMember({"tcp", "udp"}));
  app.add_option("--publish-wait", publishWait, "seconds between publishers and viewers");
  app.add_option("--ffmpeg", ffmpeg, "ffmpeg binary for publishers");
  app.add_option("--rtsp-transport", rtspTransport,
                 "RTSP media transport: tcp (interleaved) or udp")
      ->check(CLI::IsMember({"tcp", "udp"}));
  app.add_flag(
      "--no-rtsp-rtcp", noRtspRtcp,
      "RTSP viewers (UDP and TCP) send no RTCP receiver reports (as players that never do)");
  app.add_option("--rtsp-rtcp-interval", rtspRtcpInterval,
                 "seconds between an RTSP viewer's receiver reports per track, randomized over "
                 "[0.5, 1.5] of it (5: GStreamer and VLC players)")
      ->check(CLI::PositiveNumber);
  app.add_option("--srtp", srtp,
                 "WHEP SRTP profiles offered: both (AEAD_AES_128_GCM preferred), gcm, cm "
                 "(AES_CM_128_HMAC_SHA1_80)")
      ->check(CLI::IsMember({"both", "gcm", "cm"}));
  app.add_flag("--ll-hls", llHls,
               "HLS players fetch LL-HLS partial segments (blocking reload with _HLS_part) and "
               "report part latency");
  app.add_option("--whep-pli-after", pliAfter,
                 "WHEP viewers send an RTCP PLI this many ms after SRTP is keyed");
  app.add_option("--whep-pli-interval", pliInterval,
                 "and again every this many ms (0: once); the JSON summary times each answer "
                 "(pli_to_keyframe_ms)");
  app.add_option("--whep-remb", remb,
                 "WHEP viewers send this REMB estimate (bit/s) with every receiver report");
  app.add_option("--whep-remb-for", rembFor,
                 "for this many ms after SRTP is keyed, then 100 Mbit/s (0: the whole run)");
  app.add_flag("--whep-gro", whepGro,
               "WHEP viewers set UDP_GRO: a server's GSO batch arrives whole and is split here "
               "(on loopback the server is then not billed for cutting it into datagrams)");
  app.add_option("--whep-candidate", whepCandidate,
                 "WHEP viewers send media to the answer's UDP candidate at this numeric IPv4 or "
                 "IPv6 address, failing if there is none (default: the URL's host, else the "
                 "first IPv4 candidate)");
  app.add_flag("-q,--quiet", quiet, "no per-second lines");
  CLI11_PARSE(app, argc, argv);

  if (urls.empty() && publish == 0) {
    std::fprintf(stderr, "nothing to do: give --url and/or --publish\n");
    return 2;
  }
  if (publish > 0 && (publishFile.empty() || publishUrl.empty())) {
    std::fprintf(stderr, "--publish needs --publish-file and --publish-url\n");
    return 2;
  }
  std::vector<Target> targets;
  for (const auto& u : urls) {
    int copies = u.find("{i}") != std::string::npos ? streams : 1;
    for (int i = 0; i < copies; ++i) {
      Target t;
      std::string err = parseTarget(expandIndex(u, i), t);
      if (!err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return 2;
      }
      targets.push_back(std::move(t));
    }
  }
  raiseFdLimit(static_cast<size_t>(viewers) + 256);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, [](int) { gStop = 1; });
  signal(SIGTERM, [](int) { gStop = 1; });

  std::unique_ptr<PublisherSet> pubs;
  if (publish > 0) {
    pubs = std::make_unique<PublisherSet>(publishFile, publishUrl, ffmpeg, publishTransport);
    for (int i = 0; i < publish; ++i) {
      std::string err = pubs->start(i);
      if (!err.empty()) {
        std::fprintf(stderr, "%s\n", err.c_str());
        return 1;
      }
    }
    std::fprintf(stderr, "started %d publisher(s); waiting %.1f s\n", publish, publishWait);
    timespec ts{static_cast<time_t>(publishWait),
                static_cast<long>((publishWait - static_cast<time_t>(publishWait)) * 1e9)};
    nanosleep(&ts, nullptr);
  }

  auto isWhep = [](const Target& t) {
    return t.scheme == "http" && t.path.size() >= 5 &&
           t.path.compare(t.path.size() - 5, 5, "/whep") == 0;
  };
  WhepClientConfig whep;
  for (const Target& t : targets) {
    if (!isWhep(t) || whep.identity) continue;
    whep.pliAfterMs = pliAfter;
    whep.pliIntervalMs = pliInterval;
    whep.rembBps = remb;
    whep.rembForMs = rembFor;
    whep.gro = whepGro;
    whep.candidateHost = whepCandidate;
    std::string err = makeWhepClientConfig(srtp, whep);
    if (!err.empty()) {
      std::fprintf(stderr, "whep: %s\n", err.c_str());
      return 1;
    }
  }

  const double rtcpIntervalMs = noRtspRtcp ? 0 : rtspRtcpInterval * 1000;
  Loop loop;
  Stats stats;
  Reporter reporter(stats, jsonl);
  std::vector<std::unique_ptr<Viewer>> vs;
  vs.reserve(static_cast<size_t>(viewers));
  for (int i = 0; i < viewers && !targets.empty(); ++i) {
    const Target& t = targets[static_cast<size_t>(i) % targets.size()];
    if (t.scheme == "rtmp")
      vs.push_back(makeRtmpViewer(loop, stats, t));
    else if (isWhep(t))
      vs.push_back(makeWhepViewer(loop, stats, t, whep));
    else if (t.scheme == "http" && t.path.find(".m3u8") != std::string::npos)
      vs.push_back(llHls ? makeLlHlsViewer(loop, stats, t) : makeHlsViewer(loop, stats, t));
    else if (t.scheme == "http")
      vs.push_back(makeFlvViewer(loop, stats, t));
    else if (rtspTransport == "udp")
      vs.push_back(makeRtspUdpViewer(loop, stats, t, rtcpIntervalMs));
    else
      vs.push_back(makeRtspViewer(loop, stats, t, rtcpIntervalMs));
  }

  // Players with timers (HLS polling, WHEP ICE/DTLS retransmission and consent, RTSP/UDP
  // keep-alive, RTSP receiver reports) get a tick at most every 5 ms.
  bool hasTick = false;
  for (const Target& t : targets)
    hasTick |= t.path.find(".m3u8") != std::string::npos || isWhep(t) ||
               (t.scheme == "rtsp" && (rtspTransport == "udp" || !noRtspRtcp));
  double nextPass = 0;
  const double start = monoMs();
  double nextTick = start + 1000;
  size_t launched = 0;
  while (!gStop) {
    double now = monoMs();
    if (now - start >= duration * 1000) break;
    size_t due = ramp <= 0
                     ? vs.size()
                     : std::min(vs.size(), static_cast<size_t>((now - start) / 1e3 * ramp) + 1);
    while (launched < due) vs[launched++]->start(monoMs());
    loop.poll(launched < vs.size() ? 1 : 20);
    now = monoMs();
    if (hasTick && now >= nextPass) {
      nextPass = now + 5;
      for (size_t i = 0; i < launched; ++i) vs[i]->tick(now);
    }
    if (now >= nextTick) {
      nextTick += 1000;
      for (size_t i = 0; i < launched; ++i) vs[i]->checkStall(now);
      reporter.tick(now, start, quiet);
      if (pubs) stats.publisherRestarts += static_cast<uint64_t>(pubs->reap());
    }
  }
  double elapsed = (monoMs() - start) / 1e3;
  for (size_t i = 0; i < launched; ++i) vs[i]->finishRun();
  // Goodbyes (WHEP DELETE) get up to five seconds to be answered (a saturated server is slow).
  for (size_t i = 0; i < launched; ++i) vs[i]->leave();
  for (const double until = monoMs() + 5000; monoMs() < until;) {
    bool waiting = false;
    for (size_t i = 0; i < launched && !waiting; ++i) waiting = vs[i]->pending();
    if (!waiting) break;
    loop.poll(20);
  }
  vs.clear();  // unanswered goodbyes are counted as failed
  if (pubs) {
    stats.publishers = static_cast<uint64_t>(publish);
    stats.publisherCpuS = pubs->cpuSeconds();
    std::fprintf(stderr, "publishers CPU: %.2f s (user+sys) for %d publisher(s)\n",
                 stats.publisherCpuS, publish);
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  stats.loadCpuS = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
                   ru.ru_stime.tv_usec / 1e6;
  reporter.printSummary(elapsed);
  std::fprintf(stderr, "xl-load CPU: %.2f s (user+sys) in %.1f s\n", stats.loadCpuS, elapsed);
  if (!json.empty()) {
    nlohmann::json cfg = {{"urls", urls},
                          {"viewers", viewers},
                          {"streams", streams},
                          {"duration", duration},
                          {"ramp", ramp},
                          {"publish", publish},
                          {"publish_url", publishUrl},
                          {"publish_transport", publishTransport},
                          {"rtsp_transport", rtspTransport},
                          {"rtsp_rtcp", !noRtspRtcp},
                          {"rtsp_rtcp_interval", noRtspRtcp ? 0.0 : rtspRtcpInterval},
                          {"srtp", srtp},
                          {"ll_hls", llHls},
                          {"whep_pli_after", pliAfter},
                          {"whep_pli_interval", pliInterval},
                          {"whep_remb", remb},
                          {"whep_remb_for", rembFor},
                          {"whep_gro", whepGro},
                          {"whep_candidate", whepCandidate}};
    if (!reporter.writeSummary(json, elapsed, cfg.dump())) {
      std::fprintf(stderr, "cannot write %s\n", json.c_str());
      return 1;
    }
  }
  return 0;
}
