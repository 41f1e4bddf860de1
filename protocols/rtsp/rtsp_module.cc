// The RTSP module (RFC 2326): rtsp://HOST:8554/{app}/{stream}, played over TCP interleaved or UDP
// unicast from the server's shared RTP/RTCP ports (one socket pair per worker, SO_REUSEPORT).

#include <spdlog/spdlog.h>

#include "rtsp/rtsp_muxer.h"
#include "rtsp/rtsp_session.h"

namespace xl::rtsp {
namespace {

class RtspModule : public ProtocolModule {
 public:
  std::string_view name() const override { return "rtsp"; }
  bool enabled() const override { return settings_.enabled; }

  void configure(ConfigSection& s, bool apply) override {
    RtspSettings next;
    next.enabled = s.boolean("enabled", true);
    next.listen = s.string("listen", next.listen);
    if (auto hp = parseHostPort(next.listen); !hp) s.error("listen", hp.message());
    next.udpRtpPort = static_cast<int>(s.integer("udp_rtp_port", 8000, 0, 65535));
    next.udpRtcpPort = static_cast<int>(s.integer("udp_rtcp_port", 8001, 0, 65535));
    if (next.udpRtpPort != 0 && next.udpRtpPort == next.udpRtcpPort)
      s.error("udp_rtcp_port", "must differ from udp_rtp_port");
    next.sessionTimeoutMs =
        static_cast<uint64_t>(s.integer("session_timeout_ms", 60000, 5000, 3600000));
    if (apply) settings_ = next;
  }

  Status startWorker(Worker& w, ServerContext& ctx) override {
    if (udp_.size() <= static_cast<size_t>(w.index())) udp_.resize(w.index() + 1);
    auto& pair = udp_[w.index()];
    pair = std::make_unique<UdpPorts>();
    auto host = parseHostPort(settings_.listen);
    if (!host) return host.status();
    std::string h =
        host->first.find(':') != std::string::npos ? "[" + host->first + "]" : host->first;
    // Port 0 (tests): the first worker's ephemeral ports are shared by the others.
    int rtpPort = rtpPort_ ? rtpPort_ : settings_.udpRtpPort;
    int rtcpPort = rtcpPort_ ? rtcpPort_ : settings_.udpRtcpPort;
    auto ignore = [](const uint8_t*, size_t, const UdpAddress&) {};  // receiver reports
    pair->rtp = std::make_unique<UdpSocket>(w, ignore);
    pair->rtcp = std::make_unique<UdpSocket>(w, ignore);
    if (Status s = pair->rtp->bind(h + ":" + std::to_string(rtpPort)); !s) return s;
    if (Status s = pair->rtcp->bind(h + ":" + std::to_string(rtcpPort)); !s) return s;
    if (!rtpPort_) {
      rtpPort_ = pair->rtp->port();
      rtcpPort_ = pair->rtcp->port();
      spdlog::info("rtsp: RTP/RTCP over UDP on ports {}/{}", rtpPort_, rtcpPort_);
    }
    UdpPorts* ports = pair.get();
    return listeners_.open(w, settings_.listen, [this, &w, &ctx, ports](int fd, std::string peer) {
      (new RtspSession(ctx, settings_, format_, w, ports, fd, std::move(peer)))->start();
    });
  }

  void stopWorker(Worker& w) override {
    listeners_.close(w);
    // Close the sockets but keep the objects: sessions of this worker still hold them until
    // their connections finish closing, and sends on a closed socket are no-ops.
    if (static_cast<size_t>(w.index()) < udp_.size() && udp_[w.index()]) {
      udp_[w.index()]->rtp->close();
      udp_[w.index()]->rtcp->close();
    }
  }

  void setFormat(int f) { format_ = f; }

 private:
  RtspSettings settings_;
  int format_ = -1;
  int rtpPort_ = 0;
  int rtcpPort_ = 0;
  ListenerSet listeners_{"rtsp"};
  std::vector<std::unique_ptr<UdpPorts>> udp_;  // by worker index
};

}  // namespace
}  // namespace xl::rtsp

namespace xl {

void registerRtspModule(ModuleRegistry& registry) {
  auto module = std::make_unique<rtsp::RtspModule>();
  module->setFormat(
      registry.addOutputFormat({"rtsp", [] { return std::make_unique<rtsp::RtspMuxer>(); }}));
  registry.addProtocol(std::move(module));
}

}  // namespace xl
