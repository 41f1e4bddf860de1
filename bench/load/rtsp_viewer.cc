// RTSP player over TCP interleaved (RFC 2326 §10.12): DESCRIBE, SETUP per track, PLAY, then
// "$ channel length" frames. RTP (RFC 3550 §5.1) of the video track is peeked for IDR / IRAP NAL
// units: H.264 (RFC 6184 §5.6-5.8) and H.265 (RFC 7798 §4.4). With UDP transport (§12.39
// client_port) each track gets a bound RTP/RTCP socket pair and an OPTIONS request every 20 s
// keeps the session alive. Each track sends RTCP receiver reports about once a second, as ffmpeg
// and GStreamer players do, answering the server's sender reports (rtsp_rtcp.h): over UDP from
// its RTCP socket to the server's (server_port), over TCP on the track's odd channel.
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "rtp_media.h"
#include "rtsp_reader.h"
#include "rtsp_rtcp.h"
#include "viewer.h"

namespace xlload {
namespace {

constexpr int kUdpBatch = 32;
constexpr size_t kUdpDatagram = 2048;
constexpr double kKeepAliveMs = 20000;

// recvmmsg scratch shared by every UDP viewer: one thread, nothing is kept across calls.
struct UdpScratch {
  uint8_t bufs[kUdpBatch][kUdpDatagram];
  iovec iov[kUdpBatch];
  mmsghdr msgs[kUdpBatch];
  UdpScratch() {
    for (int i = 0; i < kUdpBatch; ++i) {
      iov[i] = {bufs[i], kUdpDatagram};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
};
UdpScratch gUdp;

class RtspViewer final : public Viewer, public RtspReader::Sink {
 public:
  RtspViewer(Loop& loop, Stats& stats, const Target& t, bool udp, double reportIntervalMs)
      : Viewer(loop, stats, t),
        udp_(udp),
        receiverReports_(reportIntervalMs > 0),
        reportIntervalMs_(reportIntervalMs),
        reader_(*this),
        rng_(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(this) ^ uint64_t(monoMs() * 1e3))) {}
  ~RtspViewer() override { onEnd(); }

  void tick(double nowMs) override {
    if (step_ != "PLAY" || done()) return;
    if (udp_ && nowMs - lastRequestMs_ >= kKeepAliveMs) request("OPTIONS", base_, "");
    for (size_t i = 0; i < tracks_.size(); ++i) {
      Track& t = tracks_[i];
      if (!t.rtcp || !receiverReports_) continue;
      // Over TCP the report is an interleaved frame on the track's odd channel (RFC 2326 §10.12).
      uint8_t pkt[4 + RtspRtcpTrack::kMaxReport];
      const size_t n = t.rtcp->reportIfDue(pkt + 4, nowMs, random());
      if (n == 0) continue;
      if (!udp_) {
        pkt[0] = '$';
        pkt[1] = static_cast<uint8_t>(2 * i + 1);
        pkt[2] = static_cast<uint8_t>(n >> 8);
        pkt[3] = static_cast<uint8_t>(n);
        send(pkt, n + 4);
      } else if (::sendto(t.rtcpPort->fd, pkt + 4, n, MSG_DONTWAIT,
                          reinterpret_cast<sockaddr*>(&t.server),
                          sizeof t.server) != static_cast<ssize_t>(n)) {
        continue;  // a full socket buffer loses a report, as UDP would: the next follows in 1.5 s
      }
      ++stats_.rtspReceiverReports;
      if (t.rtcp->reportedSenderReport()) ++stats_.rtspReportsWithLsr;
    }
  }

 private:
  struct Track;
  // One bound UDP socket of a track (RTP or RTCP), closed with the track.
  struct UdpPort : EventHandler {
    UdpPort(RtspViewer* v, Track* t, bool rtp) : viewer(v), track(t), rtp(rtp) {}
    ~UdpPort() override { close(); }
    void close() {
      if (fd < 0) return;
      viewer->loop_.remove(fd);
      ::close(fd);
      fd = -1;
    }
    void onEvent(uint32_t) override { viewer->onUdp(*this); }
    RtspViewer* viewer;
    Track* track;
    bool rtp;
    int fd = -1;
    int port = 0;
  };
  struct Track : RtspTrack {
    std::unique_ptr<UdpPort> rtpPort, rtcpPort;
    std::unique_ptr<RtspRtcpTrack> rtcp;  // over UDP once SETUP named the server's RTCP port
    sockaddr_in server{};                 // that port
  };

  double random() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  void onEnd() override {
    for (Track& t : tracks_) {
      if (t.rtpPort) t.rtpPort->close();
      if (t.rtcpPort) t.rtcpPort->close();
    }
  }

  // Binds an RTP socket on an even port and RTCP on the next one (RFC 3550 §11).
  std::string bindPair(Track& t) {
    for (int attempt = 0; attempt < 32; ++attempt) {
      auto rtp = std::make_unique<UdpPort>(this, &t, true);
      auto rtcp = std::make_unique<UdpPort>(this, &t, false);
      rtp->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      rtcp->fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (rtp->fd < 0 || rtcp->fd < 0) return std::string("udp socket: ") + std::strerror(errno);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_ANY);
      socklen_t len = sizeof a;
      if (::bind(rtp->fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
          getsockname(rtp->fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return std::string("udp bind: ") + std::strerror(errno);
      int port = ntohs(a.sin_port);
      if (port % 2 != 0 || port == 65534) continue;
      a.sin_port = htons(static_cast<uint16_t>(port + 1));
      if (::bind(rtcp->fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) continue;
      int buf = 1 << 20;  // the joining GOP comes as a burst
      setsockopt(rtp->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
      rtp->port = port;
      rtcp->port = port + 1;
      loop_.add(rtp->fd, rtp.get(), EPOLLIN);
      loop_.add(rtcp->fd, rtcp.get(), EPOLLIN);
      t.rtpPort = std::move(rtp);
      t.rtcpPort = std::move(rtcp);
      return "";
    }
    return "no free even/odd UDP port pair";
  }

  void onUdp(UdpPort& port) {
    while (port.fd >= 0) {
      int n = recvmmsg(port.fd, gUdp.msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      double t = now();
      for (int i = 0; i < n; ++i) {
        size_t len = gUdp.msgs[i].msg_len;
        stats_.bytes += len;
        RtspRtcpTrack* rtcp = port.track->rtcp.get();
        if (!port.rtp) {
          if (!rtcp) continue;
          const RtspRtcpTrack::Rtcp kind = rtcp->onRtcp(gUdp.bufs[i], len, t);
          stats_.rtspSenderReports += kind == RtspRtcpTrack::Rtcp::kSenderReport;
          stats_.rtspRtcpMalformed += kind == RtspRtcpTrack::Rtcp::kMalformed;
          continue;
        }
        RtpView v;
        if (!parseRtp(gUdp.bufs[i], len, v)) continue;
        ++stats_.rtpPackets;
        if (rtcp) rtcp->onRtp(v, t);
        media(t);
        if (!port.track->video) continue;
        if (v.marker) ++stats_.videoFrames;
        if (startsKeyframe(v.payload, v.payloadLen, port.track->h265)) keyframe(t);
      }
      if (n < kUdpBatch) return;
    }
  }

  void onConnected() override { request("DESCRIBE", target_.url, "Accept: application/sdp\r\n"); }

  void request(const char* method, const std::string& url, const std::string& extra) {
    std::string r = std::string(method) + " " + url +
                    " RTSP/1.0\r\nCSeq: " + std::to_string(++cseq_) +
                    "\r\nUser-Agent: xl-load\r\n" + extra;
    if (!session_.empty()) r += "Session: " + session_ + "\r\n";
    lastRequestMs_ = now();
    send(r + "\r\n");
  }

  std::string stage() const override { return (udp_ ? "rtsp/udp " : "rtsp ") + step_; }

  bool onBytes(const uint8_t* data, size_t n) override {
    now_ = now();
    if (std::string err = reader_.feed(data, n); !err.empty()) fail(err);
    return !done();
  }

  void onFrameStart(uint8_t ch, size_t length) override {
    size_t track = ch / 2;
    frameLen_ = length;
    isVideo_ = ch % 2 == 0 && track < tracks_.size() && tracks_[track].video;
    h265_ = isVideo_ && tracks_[track].h265;
    if (ch % 2 == 0 && track < tracks_.size()) media(now_);
  }

  void onFrameEnd(uint8_t ch, const uint8_t* peek, size_t n) override {
    RtspRtcpTrack* rtcp = ch / 2 < tracks_.size() ? tracks_[ch / 2].rtcp.get() : nullptr;
    if (ch % 2 == 1) {
      if (!rtcp) return;
      // A compound report longer than the peek is not read (the server's SR + CNAME fits).
      const auto kind =
          n == frameLen_ ? rtcp->onRtcp(peek, n, now_) : RtspRtcpTrack::Rtcp::kMalformed;
      stats_.rtspSenderReports += kind == RtspRtcpTrack::Rtcp::kSenderReport;
      stats_.rtspRtcpMalformed += kind == RtspRtcpTrack::Rtcp::kMalformed;
      return;
    }
    if ((!isVideo_ && !rtcp) || n < 12) return;
    // A truncated peek lacks the padding count at the packet's end: read it as unpadded.
    uint8_t h[RtspReader::kPeek];
    std::memcpy(h, peek, n);
    if (n < frameLen_) h[0] &= ~0x20;
    RtpView v;
    if (!parseRtp(h, n, v)) return;
    // Only the header counts for reception statistics; the payload length is not used.
    if (rtcp) rtcp->onRtp(v, now_);
    if (isVideo_ && startsKeyframe(v.payload, v.payloadLen, h265_)) keyframe(now_);
  }

  bool onResponse(int status, const std::string& head, const std::string& body) override {
    if (status != 200) {
      fail("rtsp: status " + std::to_string(status) + " in " + step_);
      return false;
    }
    if (step_ == "DESCRIBE") {
      base_ = rtspHeader(head, "content-base");
      if (base_.empty()) base_ = target_.url;
      for (RtspTrack& t : parseRtspTracks(body)) {
        tracks_.emplace_back();
        static_cast<RtspTrack&>(tracks_.back()) = std::move(t);
      }
      if (tracks_.empty()) {
        fail("rtsp: no tracks in SDP");
        return false;
      }
      setupNext();
    } else if (step_ == "SETUP") {
      if (session_.empty()) {
        session_ = rtspHeader(head, "session");
        session_ = session_.substr(0, session_.find(';'));
      }
      if (udp_) {
        startRtcp(tracks_[setupIndex_ - 1], rtspHeader(head, "transport"));
      } else if (receiverReports_) {
        Track& t = tracks_[setupIndex_ - 1];
        t.rtcp = std::make_unique<RtspRtcpTrack>(static_cast<uint32_t>(rng_()), t.clockRate,
                                                 reportIntervalMs_, random());
      }
      if (setupIndex_ < tracks_.size()) {
        setupNext();
      } else {
        step_ = "PLAY";
        request("PLAY", base_, "Range: npt=0.000-\r\n");
      }
    } else if (step_ == "PLAY") {
      playing();
    }
    return !done();
  }

  // The server's RTCP port comes from the SETUP answer; without one the track stays silent.
  void startRtcp(Track& t, const std::string& transport) {
    int ports[2];
    if (!rtspTransportPorts(transport, "server_port", ports)) return;
    t.server = target_.addr;
    t.server.sin_port = htons(static_cast<uint16_t>(ports[1]));
    t.rtcp = std::make_unique<RtspRtcpTrack>(static_cast<uint32_t>(rng_()), t.clockRate,
                                             reportIntervalMs_, random());
  }

  void setupNext() {
    step_ = "SETUP";
    const Track& tr = tracks_[setupIndex_];
    std::string url = tr.control;
    if (url.empty() || url == "*") {
      url = base_;
    } else if (url.rfind("rtsp://", 0) != 0) {
      url = base_ + (base_.back() == '/' ? "" : "/") + url;
    }
    int ch = static_cast<int>(setupIndex_) * 2;
    ++setupIndex_;
    if (udp_) {
      Track& t = tracks_[setupIndex_ - 1];
      std::string err = bindPair(t);
      if (!err.empty()) return fail("rtsp: " + err);
      return request("SETUP", url,
                     "Transport: RTP/AVP;unicast;client_port=" + std::to_string(t.rtpPort->port) +
                         "-" + std::to_string(t.rtcpPort->port) + "\r\n");
    }
    request("SETUP", url,
            "Transport: RTP/AVP/TCP;unicast;interleaved=" + std::to_string(ch) + "-" +
                std::to_string(ch + 1) + "\r\n");
  }

  const bool udp_, receiverReports_;
  const double reportIntervalMs_;
  double lastRequestMs_ = 0;
  int cseq_ = 0;
  std::string step_ = "DESCRIBE";
  std::string base_, session_;
  // Filled once from DESCRIBE and never resized after: UdpPort keeps a pointer to its track.
  std::vector<Track> tracks_;
  size_t setupIndex_ = 0;
  RtspReader reader_;
  double now_ = 0;
  bool isVideo_ = false, h265_ = false;
  size_t frameLen_ = 0;
  std::minstd_rand rng_;  // report intervals and our SSRC
};

}  // namespace

std::unique_ptr<Viewer> makeRtspViewer(Loop& loop, Stats& stats, const Target& t,
                                       double reportIntervalMs) {
  return std::make_unique<RtspViewer>(loop, stats, t, false, reportIntervalMs);
}

std::unique_ptr<Viewer> makeRtspUdpViewer(Loop& loop, Stats& stats, const Target& t,
                                          double reportIntervalMs) {
  return std::make_unique<RtspViewer>(loop, stats, t, true, reportIntervalMs);
}

}  // namespace xlload
