// RtspSession's publishing side (RFC 2326 §10.3 ANNOUNCE, §10.11 RECORD, §12.39 Transport with
// mode=record): ffmpeg -f rtsp, GStreamer rtspclientsink and encoders push a stream here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "rtp/sdp.h"
#include "rtsp/rtsp_session.h"

namespace xl::rtsp {
namespace {

std::string_view withoutSlash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

void RtspSession::announce(const RtspMessage& req, const RtspTarget& target) {
  if (publishing_ || playing_ || !streamName_.empty())
    return reply(req, 455, {}, "this connection already has a session\n");
  std::string_view type = req.header("Content-Type");
  if (type.substr(0, type.find(';')) != "application/sdp")
    return reply(req, 415, {}, "ANNOUNCE needs an application/sdp body\n");
  auto sdp = rtp::parseSdp(req.body);
  if (!sdp) return reply(req, 400, {}, "bad SDP: " + sdp.message() + "\n");
  std::vector<rtp::RtpTrackInfo> tracks;
  std::string unsupported;
  for (const rtp::SdpMedia& m : sdp->media) {
    auto t = rtp::trackFromMedia(m);
    if (!t) {
      unsupported += (unsupported.empty() ? "" : "; ") + t.message();
      continue;
    }
    tracks.push_back(std::move(*t));
  }
  if (tracks.empty())
    return reply(req, 415, {},
                 "no supported track (H.264, H.265, AAC, G.711, Opus): " + unsupported + "\n");
  if (!unsupported.empty())
    spdlog::warn("rtsp {}: ANNOUNCE {}: ignoring tracks: {}", conn_.peer(), target.name(),
                 unsupported);
  withAccess(req, target, AccessRequest::Action::kPublish,
             [this, req, target, tracks = std::move(tracks)]() mutable {
               startPublish(req, target, std::move(tracks));
             });
}

void RtspSession::startPublish(const RtspMessage& req, const RtspTarget& target,
                               std::vector<rtp::RtpTrackInfo> tracks) {
  // The name is taken at ANNOUNCE, so a second publisher learns at once that it is live.
  auto s = ctx_.streams->publish(target.name(), worker_, PublisherInfo{"rtsp", conn_.peer()});
  if (!s) {
    spdlog::info("rtsp {}: ANNOUNCE {} refused: {}", conn_.peer(), target.name(), s.message());
    return reply(req, 409, {}, s.message() + "\n");
  }
  publishing_ = *s;
  publishing_->setKickHandler([this] {
    spdlog::info("rtsp {}: publisher of {} kicked", conn_.peer(), streamName_);
    conn_.close();
  });
  ctx_.streamStarted(*publishing_);
  streamName_ = target.name();
  announceUri_ = req.uri;
  for (auto& t : tracks) {
    recordTracks_.emplace_back();
    recordTracks_.back().info = std::move(t);
  }
  std::vector<rtp::RtpTrackInfo> infos;
  for (auto& t : recordTracks_) infos.push_back(t.info);
  ingest_ = std::make_unique<RtpIngest>(std::move(infos), *publishing_);
  if (sessionId_.empty()) sessionId_ = randomSessionId();
  spdlog::info("rtsp {}: ANNOUNCE {} with {} track(s)", conn_.peer(), streamName_,
               recordTracks_.size());
  reply(req, 200);
}

int RtspSession::recordTrackFor(std::string_view uri) const {
  uri = withoutSlash(uri);
  for (size_t i = 0; i < recordTracks_.size(); ++i) {
    std::string_view c = withoutSlash(recordTracks_[i].info.control);
    if (c.empty()) continue;
    if (uri == c) return static_cast<int>(i);  // absolute control URL
    if (uri.size() > c.size() && uri.ends_with(c) && uri[uri.size() - c.size() - 1] == '/')
      return static_cast<int>(i);
  }
  // A single track without a control of its own is set up on the presentation URL (§C.3).
  if (recordTracks_.size() == 1 && uri == withoutSlash(announceUri_)) return 0;
  return -1;
}

Status RtspSession::openUdpReceiver(int track, const std::string& host, const int clientPort[2]) {
  if (!udp_ || !shared_.router) return Status::error("no shared UDP ports");
  RecordTrack& t = recordTracks_[track];
  const int serverPort[2] = {udp_->rtp->port(), udp_->rtcp->port()};
  for (int k = 0; k < 2; ++k) {
    auto peer = udpAddress(host, clientPort[k]);
    if (!peer) return peer.status();
    t.peer[k] = *peer;
    t.udp[k] = std::make_unique<UdpSocket>(
        worker_, [this, track, k](const uint8_t* d, size_t n, const UdpAddress& a) {
          onUdpRecord(track, k, d, n, a);
        });
    if (Status s = t.udp[k]->bind(shared_.udpHost + ":" + std::to_string(serverPort[k])); !s)
      return s;
    // Connected: the kernel prefers this socket over the shared port's unconnected ones for
    // datagrams from exactly this source, on this session's worker.
    if (::connect(t.udp[k]->fd(), reinterpret_cast<const sockaddr*>(&peer->addr), peer->len) != 0)
      return Status::error(std::string("connect UDP receiver: ") + strerror(errno));
  }
  if (t.route) shared_.router->remove(t.route);
  t.route = shared_.router->add(worker_, t.peer[0], alive_,
                                [this, track](int k, const UdpAddress& from, const uint8_t* d,
                                              size_t n) { relatch(track, k, from, d, n); });
  return Status::ok();
}

void RtspSession::onUdpRecord(int track, int k, const uint8_t* d, size_t n,
                              const UdpAddress& from) {
  RecordTrack& t = recordTracks_[track];
  // A reuseport group may hand a connected socket someone else's datagram: route it as a stray.
  if (!(UdpKey::of(from) == UdpKey::of(t.peer[k])))
    return shared_.router->onStray(worker_, k, d, n, from);
  if (!ingest_ || !recording_) return;
  lastActivityMs_ = worker_.nowMs();
  if (k == 1) return ingest_->onRtcp(track, d, n);
  uint32_t ssrc;
  if (!t.haveSsrc && ssrcOf(d, n, false, ssrc)) {
    t.haveSsrc = true;
    shared_.router->learnSsrc(t.route, ssrc);  // once: the NAT fallback matches on it
  }
  ingest_->onRtp(track, d, n);
}

void RtspSession::relatch(int track, int k, const UdpAddress& from, const uint8_t* d, size_t n) {
  RecordTrack& t = recordTracks_[track];
  if (!t.udp[k] || t.udp[k]->fd() < 0) return;
  if (::connect(t.udp[k]->fd(), reinterpret_cast<const sockaddr*>(&from.addr), from.len) != 0) {
    spdlog::warn("rtsp {}: cannot follow the publisher's new UDP source: {}", conn_.peer(),
                 strerror(errno));
    return;
  }
  t.peer[k] = from;
  onUdpRecord(track, k, d, n, from);
}

void RtspSession::setupRecord(const RtspMessage& req) {
  if (req.hasHeader("Session") && !sessionMatches(req)) return reply(req, 454);
  if (recording_) return reply(req, 455);
  int track = recordTrackFor(req.uri);
  if (track < 0) return reply(req, 404, {}, "no announced track has control " + req.uri + "\n");
  auto specs = parseTransport(req.header("Transport"));
  if (!specs) return reply(req, 400, {}, specs.message() + "\n");
  const TransportSpec* chosen = nullptr;
  for (const TransportSpec& t : *specs) {
    if (t.multicast || (!t.mode.empty() && t.mode != "RECORD")) continue;
    if (t.tcp || t.clientPort[0] >= 0) {
      chosen = &t;
      break;
    }
  }
  if (!chosen) return reply(req, 461, {}, "RTP/AVP unicast over TCP or UDP only\n");
  Transport kind = chosen->tcp ? Transport::kTcp : Transport::kUdp;
  if (transport_ != Transport::kNone && transport_ != kind) return reply(req, 461);
  RecordTrack& t = recordTracks_[track];
  std::string answer;
  if (kind == Transport::kTcp) {
    int ch = chosen->interleaved[0] >= 0 ? chosen->interleaved[0] : 2 * track;
    for (size_t i = 0; i < recordTracks_.size(); ++i) {
      const RecordTrack& o = recordTracks_[i];
      if (static_cast<int>(i) != track && o.channel >= 0 &&
          (o.channel == ch || o.channel == ch + 1 || o.channel + 1 == ch))
        return reply(req, 461, {}, "interleaved channels already in use\n");
    }
    if (ch < 0 || ch > 254) return reply(req, 461, {}, "bad interleaved channel\n");
    t.channel = ch;
    answer = "RTP/AVP/TCP;unicast;interleaved=" + std::to_string(ch) + "-" +
             std::to_string(ch + 1) + ";mode=record";
  } else {
    std::string host = peerHost(conn_.peer());
    int rtcpPort = chosen->clientPort[1] >= 0 ? chosen->clientPort[1] : chosen->clientPort[0] + 1;
    const int ports[2] = {chosen->clientPort[0], rtcpPort};
    if (Status s = openUdpReceiver(track, host, ports); !s) {
      spdlog::warn("rtsp {}: SETUP record: {}", conn_.peer(), s.message());
      return reply(req, 500, {}, s.message() + "\n");
    }
    // Every publisher sends to the shared server ports (the viewers' ones too).
    answer = "RTP/AVP;unicast;client_port=" + std::to_string(ports[0]) + "-" +
             std::to_string(ports[1]) + ";server_port=" + std::to_string(udp_->rtp->port()) + "-" +
             std::to_string(udp_->rtcp->port()) + ";mode=record";
  }
  transport_ = kind;
  t.setup = true;
  spdlog::debug("rtsp {}: SETUP record {} track {} {}", conn_.peer(), streamName_, track, answer);
  reply(req, 200, {{"Transport", answer}});
}

void RtspSession::record(const RtspMessage& req) {
  if (!publishing_) return reply(req, 455, {}, "RECORD needs ANNOUNCE and SETUP first\n");
  if (!sessionMatches(req)) return reply(req, 454);
  bool any = false;
  for (auto& t : recordTracks_) any = any || t.setup;
  if (!any) return reply(req, 455, {}, "no track set up\n");
  if (!recording_)
    spdlog::info("rtsp {}: publishing {} over {}", conn_.peer(), streamName_,
                 transport_ == Transport::kTcp ? "TCP" : "UDP");
  recording_ = true;
  reply(req, 200);
}

void RtspSession::onInterleaved(uint8_t channel, const uint8_t* data, size_t n) {
  if (!ingest_ || !recording_) return;
  for (size_t i = 0; i < recordTracks_.size(); ++i) {
    const RecordTrack& t = recordTracks_[i];
    if (t.channel < 0 || !t.setup) continue;
    if (channel == t.channel) return ingest_->onRtp(static_cast<int>(i), data, n);
    if (channel == t.channel + 1) return ingest_->onRtcp(static_cast<int>(i), data, n);
  }
}

void RtspSession::endPublish() {
  if (!publishing_) return;
  ingest_.reset();  // flushes frames held for B-frame ordering into the still-live stream
  for (auto& t : recordTracks_) {
    for (auto& u : t.udp) {
      if (u) u->close();
    }
    if (t.route) shared_.router->remove(t.route);
    t.route = 0;
  }
  publishing_->setKickHandler(nullptr);
  publishing_->end();
  ctx_.streams->remove(*publishing_);
  spdlog::info("rtsp {}: stopped publishing {}", conn_.peer(), streamName_);
  publishing_.reset();
  recording_ = false;
}

}  // namespace xl::rtsp
