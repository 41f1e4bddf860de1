// The RTSP module (RFC 2326): rtsp://HOST:8554/{app}/{stream}, played over TCP interleaved or UDP
// unicast from the server's shared RTP/RTCP ports (one socket pair per worker, SO_REUSEPORT), or
// UDP multicast when enabled. UDP publishers send to the same shared ports.

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
    MulticastSettings mc;
    mc.enabled = s.boolean("multicast", false);
    std::string range = s.string("multicast_range", "239.255.42.0/24");
    if (auto r = parseMulticastRange(range); !r)
      s.error("multicast_range", r.message());
    else
      mc.range = *r;
    mc.port = static_cast<int>(s.integer("multicast_port", 9000, 1024, 65532));
    if (mc.port % 2) s.error("multicast_port", "must be even (RTP even, RTCP odd; RFC 3550 §11)");
    // Group i uses ports port + 4i .. port + 4i + 3: no more groups than ports allow.
    mc.range.count = std::min<uint32_t>(mc.range.count, (65536 - mc.port) / 4);
    mc.ttl = static_cast<int>(s.integer("multicast_ttl", 16, 1, 255));
    mc.interface = s.string("multicast_interface", "");
    if (!mc.interface.empty() && !udpAddress(mc.interface, 0))
      s.error("multicast_interface", "must be an IPv4 address (or empty)");
    if (apply) {
      settings_ = next;
      multicastSettings_ = mc;
    }
    pendingMulticast_ = mc;
  }

  // The multicast keys reach new SETUPs; running groups keep theirs until their last viewer
  // leaves. The other keys are listener settings: a restart applies them.
  void applyReload() override {
    if (!multicast_ || pendingMulticast_ == multicastSettings_) return;
    const MulticastSettings& mc = pendingMulticast_;
    spdlog::info("reload: rtsp multicast {} for new SETUPs (range {}/{} groups, port {}, ttl {})",
                 mc.enabled ? "on" : "off", ipv4String(mc.range.first), mc.range.count, mc.port,
                 mc.ttl);
    multicastSettings_ = mc;
    multicast_->reconfigure(mc);
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
    // Datagrams no publisher's connected socket claimed (viewers' reports, NATed publishers).
    pair->rtp =
        std::make_unique<UdpSocket>(w, [this, &w](const uint8_t* d, size_t n, const UdpAddress& a) {
          router_.onStray(w, 0, d, n, a);
        });
    pair->rtcp =
        std::make_unique<UdpSocket>(w, [this, &w](const uint8_t* d, size_t n, const UdpAddress& a) {
          router_.onStray(w, 1, d, n, a);
        });
    if (Status s = pair->rtp->bind(h + ":" + std::to_string(rtpPort)); !s) return s;
    if (Status s = pair->rtcp->bind(h + ":" + std::to_string(rtcpPort)); !s) return s;
    if (!rtpPort_) {
      rtpPort_ = pair->rtp->port();
      rtcpPort_ = pair->rtcp->port();
      spdlog::info("rtsp: RTP/RTCP over UDP on ports {}/{}", rtpPort_, rtcpPort_);
    }
    // Present even while multicast is off, so that a reload can turn it on.
    if (!multicast_) multicast_ = std::make_unique<MulticastGroups>(multicastSettings_, format_);
    RtspShared shared{pair.get(), h, multicast_.get(), &router_};
    return listeners_.open(w, settings_.listen, [this, &w, &ctx, shared](int fd, std::string peer) {
      (new RtspSession(ctx, settings_, format_, w, shared, fd, std::move(peer)))->start();
    });
  }

  void stopWorker(Worker& w) override {
    listeners_.close(w);
    if (multicast_) multicast_->stopWorker(w);
    // Close the sockets but keep the objects: sessions of this worker still hold them until
    // their connections finish closing, and sends on a closed socket are no-ops.
    if (static_cast<size_t>(w.index()) < udp_.size() && udp_[w.index()]) {
      udp_[w.index()]->rtp->close();
      udp_[w.index()]->rtcp->close();
    }
  }

  void setFormat(int f) { format_ = f; }
  const UdpIngestRouter& router() const { return router_; }

 private:
  RtspSettings settings_;
  MulticastSettings multicastSettings_;  // what multicast_ runs with
  MulticastSettings pendingMulticast_;   // as last read; applied by applyReload()
  std::unique_ptr<MulticastGroups> multicast_;
  UdpIngestRouter router_;
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
  const rtsp::UdpIngestRouter* router = &module->router();  // lives as long as the registry
  module->setFormat(registry.addOutputFormat(
      {.name = "rtsp",
       .createMuxer = [] { return std::make_unique<rtsp::RtspMuxer>(); },
       .metrics =
           [router] {
             return "# HELP xueliang_rtsp_udp_unknown_source_drops_total Datagrams on the shared "
                    "RTSP RTP/RTCP ports from a source no UDP publisher track expects (dropped).\n"
                    "# TYPE xueliang_rtsp_udp_unknown_source_drops_total counter\n"
                    "xueliang_rtsp_udp_unknown_source_drops_total " +
                    std::to_string(router->dropped()) + "\n";
           },
       // The interleaved framing names each packet's track, so audio can ride with video: one
       // iovec and one write per video frame for a TCP viewer; UDP viewers split the packets by
       // channel (and one-track viewers take their track's part).
       .coalesceAudio = true}));
  registry.addProtocol(std::move(module));
}

}  // namespace xl
