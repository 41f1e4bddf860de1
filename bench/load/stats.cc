#include "stats.h"

#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace xlload {

void Stats::fail(const std::string& reason, bool hadMedia) {
  if (hadMedia)
    ++disconnected;
  else
    ++failed;
  ++failReasons[reason];
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p / 100.0 * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

static double wallSeconds() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return tv.tv_sec + tv.tv_usec / 1e6;
}

Reporter::Reporter(Stats& s, std::string jsonlPath) : s_(s) {
  if (!jsonlPath.empty()) jsonl_ = std::fopen(jsonlPath.c_str(), "w");
}

Reporter::~Reporter() {
  if (jsonl_) std::fclose(jsonl_);
}

void Reporter::tick(double nowMs, double startMs, bool quiet) {
  double dt = lastMs_ > 0 ? (nowMs - lastMs_) / 1e3 : (nowMs - startMs) / 1e3;
  double mbps = dt > 0 ? (s_.bytes - lastBytes_) * 8 / 1e6 / dt : 0;
  lastBytes_ = s_.bytes;
  lastMs_ = nowMs;
  double t = (nowMs - startMs) / 1e3;
  if (!quiet) {
    std::fprintf(stderr,
                 "t=%5.1fs viewers=%llu failed=%llu disconnected=%llu %8.1f Mbit/s "
                 "ttfb p50/p99=%.1f/%.1f ms ttfk p50/p99=%.1f/%.1f ms stalls=%llu\n",
                 t, (unsigned long long)s_.connected, (unsigned long long)s_.failed,
                 (unsigned long long)s_.disconnected, mbps, percentile(s_.ttfbMs, 50),
                 percentile(s_.ttfbMs, 99), percentile(s_.ttfkMs, 50), percentile(s_.ttfkMs, 99),
                 (unsigned long long)s_.stalls);
  }
  if (jsonl_) {
    std::fprintf(jsonl_,
                 "{\"wall\":%.3f,\"t\":%.3f,\"connected\":%llu,\"failed\":%llu,"
                 "\"disconnected\":%llu,\"bytes\":%llu,\"mbps\":%.3f,\"stalls\":%llu}\n",
                 wallSeconds(), t, (unsigned long long)s_.connected, (unsigned long long)s_.failed,
                 (unsigned long long)s_.disconnected, (unsigned long long)s_.bytes, mbps,
                 (unsigned long long)s_.stalls);
    std::fflush(jsonl_);
  }
}

void Reporter::printSummary(double elapsedS) const {
  std::fprintf(stderr,
               "summary: attempted=%llu connected=%llu failed=%llu disconnected=%llu "
               "avg %.1f Mbit/s keyframes=%llu ttfb p50/p99=%.1f/%.1f ms "
               "ttfk p50/p99=%.1f/%.1f ms stalls=%llu\n",
               (unsigned long long)s_.started, (unsigned long long)s_.everConnected,
               (unsigned long long)s_.failed, (unsigned long long)s_.disconnected,
               elapsedS > 0 ? s_.bytes * 8 / 1e6 / elapsedS : 0, (unsigned long long)s_.keyframes,
               percentile(s_.ttfbMs, 50), percentile(s_.ttfbMs, 99), percentile(s_.ttfkMs, 50),
               percentile(s_.ttfkMs, 99), (unsigned long long)s_.stalls);
  if (!s_.partMs.empty())
    std::fprintf(stderr, "  LL-HLS parts=%zu part latency p50/p99=%.1f/%.1f ms\n", s_.partMs.size(),
                 percentile(s_.partMs, 50), percentile(s_.partMs, 99));
  for (const auto& [why, n] : s_.failReasons)
    std::fprintf(stderr, "  %llu x %s\n", (unsigned long long)n, why.c_str());
}

bool Reporter::writeSummary(const std::string& path, double elapsedS,
                            const std::string& configJson) const {
  nlohmann::json j;
  j["config"] = nlohmann::json::parse(configJson);
  j["elapsed_s"] = elapsedS;
  j["attempted"] = s_.started;
  j["connected"] = s_.everConnected;
  j["connected_at_end"] = s_.connected;
  j["failed"] = s_.failed;
  j["disconnected"] = s_.disconnected;
  j["bytes"] = s_.bytes;
  j["mbps"] = elapsedS > 0 ? s_.bytes * 8 / 1e6 / elapsedS : 0;
  j["media_messages"] = s_.mediaMessages;
  j["keyframes"] = s_.keyframes;
  j["stalls"] = s_.stalls;
  j["ttfb_ms"] = {{"p50", percentile(s_.ttfbMs, 50)},
                  {"p99", percentile(s_.ttfbMs, 99)},
                  {"max", percentile(s_.ttfbMs, 100)},
                  {"count", s_.ttfbMs.size()}};
  j["ttfk_ms"] = {{"p50", percentile(s_.ttfkMs, 50)},
                  {"p99", percentile(s_.ttfkMs, 99)},
                  {"max", percentile(s_.ttfkMs, 100)},
                  {"count", s_.ttfkMs.size()}};
  j["rtp_packets"] = s_.rtpPackets;
  j["video_frames"] = s_.videoFrames;
  j["srtp_errors"] = s_.srtpErrors;
  j["load_cpu_s"] = s_.loadCpuS;
  if (!s_.partMs.empty())
    j["part_ms"] = {{"p50", percentile(s_.partMs, 50)},
                    {"p99", percentile(s_.partMs, 99)},
                    {"max", percentile(s_.partMs, 100)},
                    {"count", s_.partMs.size()}};
  if (s_.rtcpReports || s_.whepDeleted || s_.whepDeleteFailed) {
    j["rtcp_reports"] = s_.rtcpReports;
    j["plis_sent"] = s_.plisSent;
    j["rembs_sent"] = s_.rembsSent;
    j["whep_deleted"] = s_.whepDeleted;
    j["whep_delete_failed"] = s_.whepDeleteFailed;
    nlohmann::json viewers = nlohmann::json::array();
    for (const auto& w : s_.whepReports)
      viewers.push_back({{"keyframes", w.keyframes},
                         {"plis", w.plis},
                         {"pli_to_keyframe_ms", w.pliToKeyMs},
                         {"gops", w.gops},
                         {"remb_low_until_ms", w.rembLowUntilMs}});
    j["whep_viewers"] = viewers;
    const Stats::WhepHandshake& h = s_.whepHandshake;
    j["whep_handshake"] = {{"send_errors", h.sendErrors},
                           {"dtls_timer_resends", h.dtlsTimerResends},
                           {"dtls_repeats", h.dtlsRepeats},
                           {"dtls_answered_resends", h.dtlsAnsweredResends},
                           {"dtls_unsent_resends", h.dtlsUnsentResends}};
  }
  if (s_.rtspReceiverReports || s_.rtspSenderReports || s_.rtspRtcpMalformed)
    j["rtsp_rtcp"] = {{"receiver_reports_sent", s_.rtspReceiverReports},
                      {"reports_with_lsr", s_.rtspReportsWithLsr},
                      {"sender_reports_received", s_.rtspSenderReports},
                      {"malformed", s_.rtspRtcpMalformed}};
  if (s_.publishers)
    j["publishers"] = {
        {"count", s_.publishers}, {"restarts", s_.publisherRestarts}, {"cpu_s", s_.publisherCpuS}};
  j["fail_reasons"] = s_.failReasons;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  std::string out = j.dump(2) + "\n";
  bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace xlload
