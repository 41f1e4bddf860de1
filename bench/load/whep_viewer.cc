// WHEP player (WHEP draft; RFC 8445 ICE as the controlling full agent against ICE-lite, RFC 5764
// DTLS-SRTP as the DTLS client, RFC 7983 demultiplexing): POSTs a recvonly offer over HTTP, reads
// the answer, then on one connected UDP socket sends a STUN Binding request with USE-CANDIDATE,
// runs the DTLS handshake in memory BIOs (xueliang_webrtc_wire, client role) and unprotects every
// SRTP packet with libsrtp2. Media bytes, RTP packets, frames (marker bit on video), keyframes
// and stalls are counted; a Binding request every few seconds keeps consent fresh (RFC 7675).
// As a browser does, it sends an SRTCP receiver report every second (loss, jitter, LSR/DLSR per
// SSRC, whep_rtcp.h), and on request PLIs and REMB estimates; when it stops it DELETEs its
// resource (WHEP draft §4.3).
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/rand.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "rtp_media.h"
#include "udp_gro.h"
#include "viewer.h"
#include "webrtc/dtls.h"
#include "webrtc/srtp.h"
#include "webrtc/stun.h"
#include "whep_client.h"
#include "whep_rtcp.h"
#include "whep_sdp.h"

namespace xlload {

std::string makeWhepClientConfig(const std::string& srtp, WhepClientConfig& out) {
  const char* profiles = nullptr;
  if (srtp == "both")
    profiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  else if (srtp == "gcm")
    profiles = "SRTP_AEAD_AES_128_GCM";
  else if (srtp == "cm")
    profiles = "SRTP_AES128_CM_SHA1_80";
  else
    return "--srtp must be both, gcm or cm";
  auto id = xl::webrtc::DtlsIdentity::generate(false);
  if (!id) return id.message();
  // The context is ours alone: narrowing what the ClientHello offers picks the server's profile.
  if (SSL_CTX_set_tlsext_use_srtp((*id)->context(), profiles) != 0)
    return "cannot set the SRTP profiles";
  out.identity = *id;
  return "";
}

namespace {

constexpr int kBatch = 32;
constexpr size_t kDatagram = 2048;
// Binding request retransmissions (RFC 8489 §6.2.1): the interval doubles from 300 ms up to 2 s,
// so a saturated server is not asked the same check ever faster than it answers.
constexpr double kIceRetryMs = 300, kIceRetryMaxMs = 2000;
constexpr double kReportIntervalMs = 1000;  // RFC 3550 §6.2 allows less; browsers send ~1/s
constexpr uint32_t kOurSsrc = 0x786c6c64;   // sender SSRC of our RTCP (we send no media)

// DELETE of a WHEP resource on its own connection, answered or not before the run ends.
class WhepDelete final : public EventHandler {
 public:
  WhepDelete(Loop& loop, Stats& stats, const Target& t, const std::string& location)
      : loop_(loop), stats_(stats) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      finish(false);
      return;
    }
    request_ = "DELETE " + location + " HTTP/1.1\r\nHost: " + t.host + ":" +
               std::to_string(t.port) + "\r\nUser-Agent: xl-load\r\nConnection: close\r\n\r\n";
    int r = ::connect(fd_, reinterpret_cast<const sockaddr*>(&t.addr), sizeof t.addr);
    if (r < 0 && errno != EINPROGRESS) {
      finish(false);
      return;
    }
    loop_.add(fd_, this, EPOLLOUT | EPOLLIN);
  }
  ~WhepDelete() override {
    if (fd_ >= 0) finish(false);  // no answer before the run ended
  }
  bool pending() const { return fd_ >= 0; }

  void onEvent(uint32_t events) override {
    if (fd_ < 0) return;
    if (!sent_ && (events & EPOLLOUT)) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      // The request is far below a socket buffer: one send or nothing.
      if (err || ::send(fd_, request_.data(), request_.size(), MSG_NOSIGNAL) !=
                     static_cast<ssize_t>(request_.size()))
        return finish(false);
      sent_ = true;
      loop_.modify(fd_, this, EPOLLIN);
      return;
    }
    char buf[512];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n > 0) head_.append(buf, size_t(n));
    if (head_.size() < 12 && n > 0) return;
    int status =
        head_.compare(0, 5, "HTTP/") == 0 && head_.size() >= 12 ? std::atoi(head_.c_str() + 9) : 0;
    finish(status == 200 || status == 204);
  }

 private:
  void finish(bool ok) {
    if (fd_ >= 0) {
      loop_.remove(fd_);
      ::close(fd_);
      fd_ = -1;
    }
    ++(ok ? stats_.whepDeleted : stats_.whepDeleteFailed);
  }
  Loop& loop_;
  Stats& stats_;
  int fd_ = -1;
  bool sent_ = false;
  std::string request_, head_;
};

// recvmmsg scratch shared by every viewer: one thread, nothing is kept across calls.
struct RecvScratch {
  uint8_t bufs[kBatch][kDatagram];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  RecvScratch() {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], kDatagram};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};
RecvScratch gRecv;
GroReceiver gGro;  // --whep-gro: the same, a GSO batch per buffer

std::string randomToken(size_t n) {
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t r[64];
  RAND_bytes(r, static_cast<int>(n));
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kChars[r[i] & 63];
  return s;
}

class WhepViewer final : public Viewer {
 public:
  WhepViewer(Loop& loop, Stats& stats, const Target& t, const WhepClientConfig& cfg)
      : Viewer(loop, stats, t), cfg_(cfg), udp_(this) {
    if (stats.whepReports.size() < Stats::kMaxWhepReports) {
      report_ = stats.whepReports.size();
      stats.whepReports.emplace_back();
    }
  }
  ~WhepViewer() override { closeUdp(); }

  void leave() override {
    closeUdp();
    sendDelete();
  }
  bool pending() const override { return delete_ && delete_->pending(); }

  void tick(double nowMs) override {
    if (udpFd_ < 0) return;
    if (step_ == "ice" && nowMs - lastBindingMs_ >= iceRetryMs_) {
      sendBinding(nowMs);
      iceRetryMs_ = std::min(iceRetryMs_ * 2, kIceRetryMaxMs);
    } else if (step_ == "dtls") {
      // Consent (RFC 7675) runs through the handshake too: a slow one must not outlive it.
      if (nowMs - lastBindingMs_ >= cfg_.consentIntervalMs) sendBinding(nowMs);
      xl::Status s = dtls_->onTimer();
      countDtls();
      if (!s) return fail("whep " + s.message());
      // A refused send is retried on the next pass, not after the DTLS timer's second.
      if (dtlsUnsent_ && dtls_->resendFlight()) ++stats_.whepHandshake.dtlsUnsentResends;
      dtlsUnsent_ = false;
    } else if (step_ == "srtp") {
      if (nowMs - lastBindingMs_ >= cfg_.consentIntervalMs) sendBinding(nowMs);
      feedback(nowMs);
    }
  }

 private:
  struct UdpHandler : EventHandler {
    explicit UdpHandler(WhepViewer* v) : v(v) {}
    void onEvent(uint32_t) override { v->onUdp(); }
    WhepViewer* v;
  };

  std::string stage() const override {
    if (step_ == "ice") return "whep ice: no Binding success response";
    if (step_ == "dtls")
      return dtlsIn_ ? "whep dtls: handshake incomplete" : "whep dtls: nothing from the server";
    return "whep " + step_;
  }

  void onConnected() override {
    offer_.ufrag = randomToken(8);
    offer_.pwd = randomToken(24);
    offer_.fingerprint = cfg_.identity->fingerprint();
    std::string body = makeWhepOffer(offer_);
    send("POST " + target_.path + " HTTP/1.1\r\nHost: " + target_.host + ":" +
         std::to_string(target_.port) +
         "\r\nUser-Agent: xl-load\r\nContent-Type: application/sdp\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  }

  bool onBytes(const uint8_t* data, size_t n) override {
    resp_.append(reinterpret_cast<const char*>(data), n);
    if (resp_.size() > 65536) {
      fail("whep: HTTP response too long");
      return false;
    }
    size_t end = resp_.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    int status =
        resp_.compare(0, 5, "HTTP/") == 0 && resp_.size() > 12 ? std::atoi(resp_.c_str() + 9) : 0;
    if (status != 201 && status != 200) {
      fail("whep: HTTP status " + std::to_string(status));
      return false;
    }
    std::string head = resp_.substr(0, end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t cl = head.find("\r\ncontent-length:");
    if (cl == std::string::npos) {
      fail("whep: answer without Content-Length");
      return false;
    }
    size_t len = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
    if (resp_.size() < end + 4 + len) return true;
    // The resource to DELETE when leaving (same offsets: only the case was changed).
    if (size_t loc = head.find("\r\nlocation:"); loc != std::string::npos) {
      size_t from = resp_.find_first_not_of(' ', loc + 11);
      size_t to = resp_.find("\r\n", from);
      if (from < to && to <= end) location_ = resp_.substr(from, to - from);
    }
    std::string err = parseWhepAnswer(std::string_view(resp_).substr(end + 4, len),
                                      preferredCandidate(), answer_);
    resp_.clear();
    if (err.empty() && !cfg_.candidateHost.empty() && !answer_.preferred)
      err = "whep: answer has no UDP candidate at " + cfg_.candidateHost;
    if (!err.empty()) {
      fail(err);
      return false;
    }
    detachConnection();
    openUdp();
    return false;  // the TCP connection is gone; nothing more to read from it
  }

  // --whep-candidate, else the candidate at the HTTP server's address.
  std::string preferredCandidate() const {
    if (!cfg_.candidateHost.empty()) return cfg_.candidateHost;
    char ip[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &target_.addr.sin_addr, ip, sizeof ip) ? ip : "";
  }

  void openUdp() {
    step_ = "ice";
    udpFd_ = ::socket(answer_.candidate.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (udpFd_ < 0) return fail(std::string("whep: socket: ") + std::strerror(errno));
    int buf = 1 << 20;  // a joining GOP arrives paced but fast: room for ~700 packets
    setsockopt(udpFd_, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (cfg_.gro && !enableUdpGro(udpFd_))
      return fail(std::string("whep: UDP_GRO: ") + std::strerror(errno));
    if (::connect(udpFd_, reinterpret_cast<const sockaddr*>(&answer_.candidate),
                  answer_.candidateLen) != 0)
      return fail(std::string("whep: connect udp: ") + std::strerror(errno));
    loop_.add(udpFd_, &udp_, EPOLLIN);
    sendBinding(now());
  }

  void closeUdp() {
    if (udpFd_ < 0) return;
    loop_.remove(udpFd_);
    ::close(udpFd_);
    udpFd_ = -1;
  }
  void onEnd() override {
    closeUdp();
    sendDelete();
  }

  void sendDelete() {
    if (location_.empty() || delete_) return;
    // An absolute Location keeps only its path: the resource is on the server we talk to.
    std::string path = location_;
    if (size_t s = path.find("://"); s != std::string::npos) {
      size_t slash = path.find('/', s + 3);
      path = slash == std::string::npos ? "/" : path.substr(slash);
    }
    delete_ = std::make_unique<WhepDelete>(loop_, stats_, target_, path);
  }

  Stats::WhepReport* report() {
    return report_ < stats_.whepReports.size() ? &stats_.whepReports[report_] : nullptr;
  }

  // Once a second: a compound SRTCP packet of a receiver report (a block per SSRC heard), then a
  // REMB when asked for; a PLI when due, at once.
  void feedback(double nowMs) {
    const double sinceKeyed = nowMs - keyedMs_;
    bool pli = false;
    if (cfg_.pliAfterMs >= 0 && sinceKeyed >= nextPliMs_ && video_.ssrc) {
      pli = true;
      nextPliMs_ = cfg_.pliIntervalMs > 0 ? nextPliMs_ + cfg_.pliIntervalMs : 1e300;
    }
    if (!pli && nowMs - lastReportMs_ < kReportIntervalMs) return;
    lastReportMs_ = nowMs;
    uint8_t pkt[256];
    int blocks = 0;
    size_t len = 8;
    for (Track* t : {&video_, &audio_}) {
      if (!t->ssrc || !t->rx.active()) continue;
      t->rx.writeBlock(pkt + len, t->ssrc, nowMs);
      len += 24;
      ++blocks;
    }
    writeReceiverReportHeader(pkt, kOurSsrc, blocks);
    ++stats_.rtcpReports;
    if (cfg_.rembBps && video_.ssrc) {
      const bool low = cfg_.rembForMs <= 0 || sinceKeyed < cfg_.rembForMs;
      len += writeRemb(pkt + len, kOurSsrc, low ? cfg_.rembBps : WhepClientConfig::kRembHighBps,
                       video_.ssrc);
      ++stats_.rembsSent;
      if (auto* r = report(); r && low) r->rembLowUntilMs = cfg_.rembForMs > 0 ? cfg_.rembForMs : 0;
    }
    if (pli) {
      len += writePli(pkt + len, kOurSsrc, video_.ssrc);
      ++stats_.plisSent;
      if (auto* r = report()) ++r->plis;
      if (pliAtMs_ == 0) pliAtMs_ = nowMs;  // the first unanswered one times the answer
    }
    auto n = srtcpOut_->protectRtcp(pkt, len);
    if (!n) return fail("whep: " + n.message());
    ::send(udpFd_, pkt, *n, 0);
  }

  // ICE connectivity check as the controlling agent (RFC 8445 §7.1.1): USERNAME is
  // "answer-ufrag:offer-ufrag", keyed with the answer's password.
  // A retransmission keeps its transaction ID (RFC 8489 §6.2.1): on a loaded server the answer
  // to an earlier copy may arrive after the next copy was sent, and must still count.
  void sendBinding(double nowMs) {
    lastBindingMs_ = nowMs;
    if (step_ != "ice" || !haveTxid_) RAND_bytes(txid_.data(), static_cast<int>(txid_.size()));
    haveTxid_ = true;
    using namespace xl::webrtc;
    StunWriter w(kStunBindingRequest, txid_);
    w.attribute(kAttrUsername, answer_.ufrag + ":" + offer_.ufrag)
        .u32(kAttrPriority, 0x6e0001ff)
        .u64(kAttrIceControlling, tieBreaker_)
        .attribute(kAttrUseCandidate, std::string_view())
        .integrity(answer_.pwd)
        .fingerprint();
    sendUdp(w.bytes().data(), w.bytes().size());  // a lost check is retried by tick()
  }

  // One datagram to the server; false (counted) when send() refused it: a full socket buffer
  // (EAGAIN, ENOBUFS) or an ICMP error queued on the connected socket (ECONNREFUSED).
  bool sendUdp(const void* p, size_t n) {
    if (udpFd_ >= 0 && ::send(udpFd_, p, n, 0) == static_cast<ssize_t>(n)) return true;
    ++stats_.whepHandshake.sendErrors;
    return false;
  }

  // What the DTLS client did about lost flights since the last call, into the run's totals.
  void countDtls() {
    if (!dtls_) return;
    const xl::webrtc::DtlsEvents& e = dtls_->events();
    Stats::WhepHandshake& h = stats_.whepHandshake;
    h.dtlsTimerResends += e.timerResends - dtlsCounted_.timerResends;
    h.dtlsRepeats += e.repeatsIn - dtlsCounted_.repeatsIn;
    h.dtlsAnsweredResends += e.answeredResends - dtlsCounted_.answeredResends;
    dtlsCounted_ = e;
  }

  void onUdp() {
    if (cfg_.gro) return onUdpGro();
    while (udpFd_ >= 0) {
      int n = recvmmsg(udpFd_, gRecv.msgs, kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) {
        if (n < 0 && errno != EAGAIN && errno != EINTR)
          fail(std::string("whep: recv: ") + std::strerror(errno));
        return;
      }
      double t = now();
      for (int i = 0; i < n && udpFd_ >= 0; ++i) datagram(gRecv.bufs[i], gRecv.msgs[i].msg_len, t);
      if (n < kBatch) return;
    }
  }

  void onUdpGro() {
    while (udpFd_ >= 0) {
      int n = gGro.receive(udpFd_);
      if (n <= 0) {
        if (n < 0 && errno != EINTR) fail(std::string("whep: recv: ") + std::strerror(errno));
        return;
      }
      double t = now();
      for (int i = 0; i < n && udpFd_ >= 0; ++i)
        gGro.forEachDatagram(i, [&](uint8_t* p, size_t len) {
          if (udpFd_ >= 0) datagram(p, len, t);
        });
      if (n < GroReceiver::kMessages) return;
    }
  }

  // RFC 7983 §7: the first byte tells STUN (0-3), DTLS (20-63) and RTP/RTCP (128-191) apart.
  void datagram(uint8_t* p, size_t n, double t) {
    stats_.bytes += n;
    if (n == 0) return;
    if (p[0] < 4) return stun(p, n);
    if (p[0] >= 20 && p[0] <= 63) return dtls(p, n);
    if (p[0] >= 128 && p[0] <= 191 && srtp_) return rtp(p, n, t);
  }

  void stun(const uint8_t* p, size_t n) {
    using namespace xl::webrtc;
    auto m = parseStun(ByteSpan(p, n));
    if (!m || m->type != kStunBindingSuccess || m->transactionId != txid_) return;
    if (!verifyIntegrity(ByteSpan(p, n), *m, answer_.pwd)) return;
    if (step_ != "ice") return;  // a consent check answered
    step_ = "dtls";
    dtls_ = std::make_unique<DtlsTransport>(cfg_.identity, [this](std::span<const uint8_t> d) {
      if (!sendUdp(d.data(), d.size())) dtlsUnsent_ = true;
    });
    if (xl::Status s = dtls_->connect(); !s) fail(s.message());
  }

  void dtls(const uint8_t* p, size_t n) {
    if (!dtls_) return;
    ++dtlsIn_;
    xl::Status s = dtls_->feed(std::span<const uint8_t>(p, n));
    countDtls();
    if (!s) return fail(s.message());
    if (!dtls_->connected() || srtp_) return;
    // RFC 8122 §5: the server's certificate must be the one its answer named.
    if (dtls_->peerFingerprint() != answer_.fingerprint)
      return fail("whep: DTLS certificate does not match the answer's fingerprint");
    auto keys = dtls_->srtpKeys();
    if (!keys) return fail(keys.message());
    auto in = xl::webrtc::SrtpSession::create(keys->profile, keys->remote,
                                              xl::webrtc::SrtpSession::Direction::kInbound);
    if (!in) return fail(in.message());
    auto out = xl::webrtc::SrtpSession::create(keys->profile, keys->local,
                                               xl::webrtc::SrtpSession::Direction::kOutbound);
    if (!out) return fail(out.message());
    srtp_ = std::move(*in);
    srtcpOut_ = std::move(*out);
    step_ = "srtp";
    keyedMs_ = lastReportMs_ = now();
    nextPliMs_ = cfg_.pliAfterMs;
    playing();
  }

  void rtp(uint8_t* p, size_t n, double t) {
    if (looksLikeRtcp(p, n)) return rtcp(p, n, t);
    auto len = srtp_->unprotectRtp(p, n);
    if (!len) {
      ++stats_.srtpErrors;
      return;
    }
    RtpView v;
    if (!parseRtp(p, *len, v)) return;
    ++stats_.rtpPackets;
    media(t);
    const bool video = v.payloadType == answer_.videoPt;
    Track& track = video ? video_ : audio_;
    if (!video && v.payloadType != answer_.audioPt) return;
    track.ssrc = v.ssrc;
    const uint32_t ts = rtcpBe32(p + 4);
    // Clocks: 90 kHz video, G.711 (static types 0, 8) 8 kHz, Opus 48 kHz.
    track.rx.onRtp(v.seq, ts, t,
                   video                                        ? 90000
                   : (v.payloadType == 0 || v.payloadType == 8) ? 8000
                                                                : 48000);
    if (!video) return;
    if (v.marker) {
      ++stats_.videoFrames;
      ++gopFrames_;
    }
    if (startsKeyframe(v.payload, v.payloadLen, answer_.videoH265)) {
      keyframe(t);
      onKeyframeStart(t);
    }
  }

  // Sender reports give LSR/DLSR for our receiver reports (RFC 3550 §6.4.1).
  void rtcp(uint8_t* p, size_t n, double t) {
    auto len = srtp_->unprotectRtcp(p, n);
    if (!len) {
      ++stats_.srtpErrors;
      return;
    }
    forEachSenderReport(p, *len, [&](uint32_t ssrc, uint64_t ntp) {
      for (Track* tr : {&video_, &audio_})
        if (tr->ssrc == ssrc) tr->rx.onSenderReport(ntp, t);
    });
  }

  void onKeyframeStart(double t) {
    Stats::WhepReport* r = report();
    if (!r) return;
    ++r->keyframes;
    // The frames of the GOP that just ended (the keyframe's marker counts in the next one).
    if (haveGop_) r->gops.emplace_back(gopStartMs_ - keyedMs_, gopFrames_);
    haveGop_ = true;
    gopStartMs_ = t;
    gopFrames_ = 0;
    if (pliAtMs_ > 0) {
      r->pliToKeyMs.push_back(t - pliAtMs_);
      pliAtMs_ = 0;
    }
  }

  const WhepClientConfig& cfg_;
  UdpHandler udp_;
  int udpFd_ = -1;
  std::string step_ = "offer";
  std::string resp_;
  WhepOffer offer_;
  WhepAnswer answer_;
  xl::webrtc::TransactionId txid_{};
  bool haveTxid_ = false;
  uint64_t tieBreaker_ = 0x786c2d6c6f6164ull;
  double lastBindingMs_ = 0;
  double iceRetryMs_ = kIceRetryMs;
  int dtlsIn_ = 0;                      // DTLS datagrams from the server, for failure reports
  bool dtlsUnsent_ = false;             // a datagram of our flight was refused by send()
  xl::webrtc::DtlsEvents dtlsCounted_;  // dtls_->events() as far as the stats have them
  std::unique_ptr<xl::webrtc::DtlsTransport> dtls_;
  std::unique_ptr<xl::webrtc::SrtpSession> srtp_;
  std::unique_ptr<xl::webrtc::SrtpSession> srtcpOut_;  // our receiver reports and feedback
  struct Track {
    uint32_t ssrc = 0;
    RtpReceiveStats rx;
  };
  Track video_, audio_;
  double keyedMs_ = 0, lastReportMs_ = 0;
  double nextPliMs_ = 0;  // since keyedMs_
  double pliAtMs_ = 0;    // an unanswered PLI went out then (0: none)
  std::string location_;  // the resource (Location of the 201)
  std::unique_ptr<WhepDelete> delete_;
  size_t report_ = SIZE_MAX;  // index in stats_.whepReports, if this viewer has one
  bool haveGop_ = false;
  double gopStartMs_ = 0;
  uint64_t gopFrames_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeWhepViewer(Loop& loop, Stats& stats, const Target& t,
                                       const WhepClientConfig& cfg) {
  return std::make_unique<WhepViewer>(loop, stats, t, cfg);
}

}  // namespace xlload
