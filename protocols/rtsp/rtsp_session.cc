#include "rtsp/rtsp_session.h"

#include <spdlog/spdlog.h>

#include <random>

#include "http/url.h"
#include "rtp/rtp_packet.h"
#include "rtp/sdp_media.h"
#include "rtsp/rtsp_auth.h"
#include "rtsp/rtsp_muxer.h"

namespace xl::rtsp {

std::string randomSessionId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

namespace {

constexpr const char* kPublic =
    "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, "
    "SET_PARAMETER";

bool hasTrack(const MediaInfo& m, int track) {
  return track == kVideoTrack ? m.video.has_value() : m.audio.has_value();
}

// Sequence number and RTP timestamp of a track's first packet in `gop` (RFC 2326 §12.33).
bool firstPacket(const std::vector<MuxedBatch>& gop, int track, uint16_t& seq, uint32_t& ts) {
  for (const MuxedBatch& b : gop) {
    if (trackOf(b.kind) != track) continue;
    // A batch may open with the track's sender report (odd channel): skip to its first RTP.
    const uint8_t* p = b.bytes.data();
    size_t left = b.bytes.size();
    while (left >= 4 && p[0] == '$') {
      const size_t n = 4 + rtp::be16(p + 2);
      if (n > left) break;
      if (p[1] == rtpChannel(track) && n >= 4 + rtp::kRtpHeaderSize) {
        seq = rtp::be16(p + 6);
        ts = rtp::be32(p + 8);
        return true;
      }
      p += n;
      left -= n;
    }
  }
  return false;
}

}  // namespace

RtspSession::RtspSession(ServerContext& ctx, const RtspSettings& settings, int format,
                         Worker& worker, const RtspShared& shared, int fd, std::string peer)
    : ctx_(ctx),
      settings_(settings),
      format_(format),
      worker_(worker),
      udp_(shared.udp),
      shared_(shared),
      conn_(worker, fd, std::move(peer)),
      id_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()),
      lastActivityMs_(startMs_) {}

RtspSession::~RtspSession() {
  *alive_ = false;
}

void RtspSession::start() {
  ctx_.sessionsOf(worker_).add(this);
  conn_.start(this);
}

void RtspSession::onClosed() {
  stopWaitingForTracks();
  leaveStream();
  multicast_.reset();
  endPublish();
  ctx_.sessionsOf(worker_).remove(this);
  delete this;
}

void RtspSession::fail(const std::string& why) {
  spdlog::warn("rtsp {}: {}; closing", conn_.peer(), why);
  worker_.stats().protocolErrors.add();
  conn_.close();
}

void RtspSession::onData(const uint8_t* data, size_t n) {
  lastActivityMs_ = worker_.nowMs();
  Status s = parser_.feed(
      data, n,
      [this](RtspMessage&& m) {
        if (!m.isRequest) return Status::ok();  // a stray response: nothing asked for it
        if (queue_.size() >= 16) return Status::error("too many pipelined requests");
        queue_.push_back(std::move(m));
        return Status::ok();
      },
      [this](uint8_t channel, const uint8_t* d, size_t len) {
        onInterleaved(channel, d, len);  // a viewer's RTCP receiver reports: liveness only
        return Status::ok();
      });
  if (!s) {
    if (!conn_.closing()) {
      conn_.send(BufferRef::copyOf(formatResponse(400, -1, {{"Connection", "close"}})));
      spdlog::warn("rtsp {}: {}; closing", conn_.peer(), s.message());
      worker_.stats().protocolErrors.add();
      conn_.closeAfterFlush();
    }
    return;
  }
  next();
}

void RtspSession::next() {
  while (!busy_ && !queue_.empty() && !conn_.closing()) {
    RtspMessage req = std::move(queue_.front());
    queue_.pop_front();
    handle(req);
  }
}

void RtspSession::reply(const RtspMessage& req, int status, Headers headers,
                        std::string_view body) {
  headers.insert(headers.begin(), {"Server", "Xueliang"});
  if (!sessionId_.empty() && status < 300 && req.method != "OPTIONS")
    headers.emplace_back("Session", sessionHeader());
  conn_.send(BufferRef::copyOf(formatResponse(status, req.cseq(), headers, body)));
}

std::string RtspSession::sessionHeader() const {
  return sessionId_ + ";timeout=" + std::to_string(settings_.sessionTimeoutMs / 1000);
}

bool RtspSession::sessionMatches(const RtspMessage& req) {
  return !sessionId_.empty() && sessionId(req.header("Session")) == sessionId_;
}

void RtspSession::handle(const RtspMessage& req) {
  if (req.versionMajor != 1) return reply(req, 505);
  if (req.cseq() < 0) return reply(req, 400, {}, "missing CSeq\n");
  const std::string& m = req.method;
  if (m == "OPTIONS") return reply(req, 200, {{"Public", kPublic}});
  if (m == "GET_PARAMETER" || m == "SET_PARAMETER") {  // keep-alive (§10.8, §10.9)
    if (req.hasHeader("Session") && !sessionMatches(req)) return reply(req, 454);
    return reply(req, 200);
  }
  if (m == "TEARDOWN") {
    reply(req, 200);
    leaveStream();
    multicast_.reset();
    endPublish();
    conn_.closeAfterFlush();
    return;
  }
  if (m == "PLAY") return play(req);
  if (m == "PAUSE") return pause(req);
  if (m == "RECORD") return record(req);
  if (m == "SETUP" && !recordTracks_.empty()) return setupRecord(req);
  if (m != "DESCRIBE" && m != "SETUP" && m != "ANNOUNCE") {
    bool known = m == "REDIRECT";
    return reply(req, known ? 405 : 501, {{"Allow", kPublic}});
  }
  auto target = parseTarget(req.uri);
  if (!target) return reply(req, 400, {}, target.message() + "\n");
  if (m == "ANNOUNCE") return announce(req, *target);
  withAccess(req, *target, AccessRequest::Action::kPlay, [this, req, t = *target] {
    if (req.method == "DESCRIBE")
      describe(req, t);
    else
      setup(req, t);
  });
}

std::string RtspSession::addCredentials(const RtspMessage& req, AccessRequest& ar) {
  std::string_view value = req.header("Authorization");
  if (value.empty()) return {};
  auto a = parseAuthorization(value);
  if (!a) {
    spdlog::info("rtsp {}: ignoring Authorization: {}", conn_.peer(), a.message());
    return {};
  }
  ar.user = a->user;
  if (a->scheme == Authorization::Scheme::kBasic) {
    ar.password = a->password;
    ar.checkPassword = [pw = a->password](std::string_view secret) { return secret == pw; };
    return "Basic";
  }
  // Digest: only a nonce this connection issued counts (a replayed response from elsewhere
  // fails); the response covers the method, so it is checked against this request's.
  if (nonce_.empty() || a->nonce != nonce_) return {};
  ar.checkPassword = [a = std::move(*a), method = req.method](std::string_view secret) {
    return digestMatches(a, secret, method);
  };
  return "Digest";
}

void RtspSession::withAccess(const RtspMessage& req, const RtspTarget& target,
                             AccessRequest::Action action, std::function<void()> then) {
  const bool publish = action == AccessRequest::Action::kPublish;
  if ((publish ? allowedPublish_ : allowedStream_) == target.name()) return then();
  if (!publish && !ctx_.streams->find(target.name()))
    return reply(req, 404, {}, "stream not found\n");
  AccessRequest ar;
  ar.action = action;
  ar.stream = target.name();
  ar.protocol = "rtsp";
  ar.peer = conn_.peer();
  ar.clientIp = peerHost(conn_.peer());
  ar.canChallenge = true;
  if (auto q = http::parseQuery(target.query)) {
    for (auto& p : *q) ar.query[p.key] = p.value;
  }
  std::string scheme = addCredentials(req, ar);
  busy_ = true;
  ctx_.plugins->check(
      ar, worker_, alive_,
      [this, req, publish, name = target.name(), then = std::move(then), user = ar.user,
       scheme = std::move(scheme)](const Decision& d) {
        busy_ = false;
        if (conn_.closing()) return;
        const char* what = publish ? "publish" : "play";
        if (d.verdict == Verdict::kUnauthorized) {
          spdlog::info("rtsp {}: {} {}: {}", conn_.peer(), what, name, d.reason);
          if (nonce_.empty()) nonce_ = randomSessionId() + randomSessionId();
          Headers h;
          for (std::string& c : challenge(d.realm.empty() ? "Xueliang" : d.realm, nonce_))
            h.emplace_back("WWW-Authenticate", std::move(c));
          reply(req, 401, std::move(h), d.reason + "\n");
        } else if (d.verdict != Verdict::kContinue) {
          spdlog::info("rtsp {}: {} {} denied: {}", conn_.peer(), what, name, d.reason);
          reply(req, 403, {}, d.reason + "\n");
        } else {
          (publish ? allowedPublish_ : allowedStream_) = name;
          if (!scheme.empty())
            spdlog::info("rtsp {}: {} {} as {} ({})", conn_.peer(), what, name, user, scheme);
          then();
        }
        next();
      });
}

void RtspSession::setup(const RtspMessage& req, const RtspTarget& target) {
  if (!sessionId_.empty() && req.hasHeader("Session") && !sessionMatches(req))
    return reply(req, 454);
  if (!streamName_.empty() && streamName_ != target.name()) return reply(req, 459);
  if (playing_) return reply(req, 455);
  StreamPtr s = ctx_.streams->find(target.name());
  if (!s) return reply(req, 404, {}, "stream not found\n");
  MediaInfoPtr info = s->mediaInfo();
  int track = target.track;
  if (track < 0) track = info->video ? kVideoTrack : kAudioTrack;  // a single-track aggregate URL
  if (track > 1 || !hasTrack(*info, track)) return reply(req, 404, {}, "no such track\n");

  auto specs = parseTransport(req.header("Transport"));
  if (!specs) return reply(req, 400, {}, specs.message() + "\n");
  // The client's first acceptable transport, in its order of preference (§12.39).
  const TransportSpec* chosen = nullptr;
  for (const TransportSpec& t : *specs) {
    if (t.mode.size() && t.mode != "PLAY") continue;
    // Multicast as configured now (a reload may switch it), or the group this session holds.
    const bool multicastOk =
        !t.tcp && shared_.multicast && (multicast_ || shared_.multicast->enabled());
    if (t.multicast ? multicastOk : t.tcp || (t.clientPort[0] >= 0 && udp_)) {
      chosen = &t;
      break;
    }
  }
  if (!chosen) return reply(req, 461);
  Transport kind = chosen->multicast ? Transport::kMulticast
                   : chosen->tcp     ? Transport::kTcp
                                     : Transport::kUdp;
  if (transport_ != Transport::kNone && transport_ != kind) return reply(req, 461);

  std::string answer;
  if (kind == Transport::kMulticast) {
    // Every multicast viewer of the stream gets the same group: its sender already runs, or
    // starts now on this worker. The client's destination/port wishes are not honoured.
    if (!multicast_) {
      auto lease = shared_.multicast->join(s, worker_, ctx_.viewerLimits());
      if (!lease) {
        spdlog::warn("rtsp {}: multicast {}: {}", conn_.peer(), target.name(), lease.message());
        return reply(req, 453, {}, lease.message() + "\n");
      }
      multicast_ = std::move(*lease);
    }
    answer = formatMulticastTransport(multicast_->address(), multicast_->rtpPort(track),
                                      multicast_->ttl());
  } else if (kind == Transport::kTcp) {
    // The shared bytes carry fixed channels: the client gets ours whatever it asked (§12.39).
    int ch = rtpChannel(track);
    answer = "RTP/AVP/TCP;unicast;interleaved=" + std::to_string(ch) + "-" + std::to_string(ch + 1);
  } else {
    std::string host = peerHost(conn_.peer());
    auto rtpAddr = udpAddress(host, chosen->clientPort[0]);
    auto rtcpAddr = udpAddress(host, chosen->clientPort[1]);
    if (!rtpAddr || !rtcpAddr) return reply(req, 461);
    if (!udpOut_) udpOut_ = std::make_unique<UdpOutput>(worker_, *udp_, ctx_.viewerLimits());
    udpOut_->setTrack(track, *rtpAddr, *rtcpAddr);
    answer = "RTP/AVP;unicast;client_port=" + std::to_string(chosen->clientPort[0]) + "-" +
             std::to_string(chosen->clientPort[1]) +
             ";server_port=" + std::to_string(udp_->rtp->port()) + "-" +
             std::to_string(udp_->rtcp->port());
  }
  if (sessionId_.empty()) sessionId_ = randomSessionId();
  transport_ = kind;
  streamName_ = target.name();
  setup_[track] = true;
  controlUrl_[track] = req.uri;
  spdlog::debug("rtsp {}: SETUP {} track {} {}", conn_.peer(), streamName_, track, answer);
  reply(req, 200, {{"Transport", answer}});
}

void RtspSession::play(const RtspMessage& req) {
  if (sessionId_.empty() || (!setup_[0] && !setup_[1])) return reply(req, 455);
  if (!sessionMatches(req)) return reply(req, 454);
  if (playing_) return reply(req, 200, {{"Range", "npt=0.000-"}});
  stream_ = ctx_.streams->find(streamName_);
  if (!stream_) return reply(req, 404, {}, "stream not found\n");
  playing_ = true;
  busy_ = true;  // answered in onJoin, with the RTP-Info of the first packets
  pendingPlayCseq_ = req.cseq();
  if (transport_ == Transport::kTcp && !out_) out_.emplace(conn_, ctx_.viewerLimits());
  spdlog::info("rtsp {}: playing {} over {}", conn_.peer(), streamName_,
               transport_ == Transport::kTcp         ? "TCP"
               : transport_ == Transport::kMulticast ? "UDP multicast"
                                                     : "UDP");
  stream_->attach(this, format_, worker_);
}

void RtspSession::pause(const RtspMessage& req) {
  if (sessionId_.empty()) return reply(req, 455);
  if (!sessionMatches(req)) return reply(req, 454);
  leaveStream();
  reply(req, 200);
}

void RtspSession::leaveStream() {
  if (stream_ && playing_) stream_->detach(this, format_, worker_);
  stream_.reset();
  playing_ = false;
  conn_.deferReads(false);
}

void RtspSession::onJoin(const BufferRef&, const std::vector<MuxedBatch>& gop) {
  std::string rtpInfo;
  // A multicast viewer joins the group's packets wherever they are: no RTP-Info to promise.
  for (int k = 0; k < 2 && transport_ != Transport::kMulticast; ++k) {
    uint16_t seq;
    uint32_t ts;
    if (!setup_[k] || !firstPacket(gop, k, seq, ts)) continue;
    if (!rtpInfo.empty()) rtpInfo += ",";
    rtpInfo +=
        "url=" + controlUrl_[k] + ";seq=" + std::to_string(seq) + ";rtptime=" + std::to_string(ts);
  }
  RtspMessage req;
  req.method = "PLAY";
  req.headers.emplace_back("CSeq", std::to_string(pendingPlayCseq_));
  Headers h = {{"Range", "npt=0.000-"}};
  if (!rtpInfo.empty()) h.emplace_back("RTP-Info", rtpInfo);
  reply(req, 200, std::move(h));
  busy_ = false;
  pendingPlayCseq_ = -1;
  if (transport_ == Transport::kMulticast) return next();  // the group's sender sends
  std::vector<MuxedBatch> mine;
  for (const MuxedBatch& b : gop) {
    if (setup_[trackOf(b.kind)]) mine.push_back(b);
  }
  if (out_ && transport_ == Transport::kTcp) {
    out_->join({}, mine);
    // What the player sends now is mostly receiver reports: read them in batches, not on a
    // wake-up each (requests still get their answer within 50 ms).
    conn_.deferReads(true);
  } else if (udpOut_) {
    for (const MuxedBatch& b : mine) udpOut_->deliver(b);
  }
  next();
}

void RtspSession::onBatch(const MuxedBatch& b) {
  if (!playing_ || pendingPlayCseq_ >= 0) return;
  // A video batch may carry the audio since the previous video frame (coalesced by the stream).
  const bool hasAudio = b.kind == MediaKind::kAudio || b.audioBytes > 0;
  if (!setup_[trackOf(b.kind)] && !(hasAudio && setup_[kAudioTrack])) return;
  if (transport_ == Transport::kTcp) {
    if (setup_[kVideoTrack] && setup_[kAudioTrack])
      out_->deliver(b);
    else
      out_->deliverTrack(b, setup_[kVideoTrack] ? MediaKind::kVideo : MediaKind::kAudio);
  } else if (udpOut_) {
    udpOut_->deliver(b);  // sends only the packets of the tracks set up
  }
}

void RtspSession::onStreamEnd() {
  spdlog::info("rtsp {}: {} ended", conn_.peer(), streamName_);
  if (pendingPlayCseq_ >= 0) {
    RtspMessage req;
    req.headers.emplace_back("CSeq", std::to_string(pendingPlayCseq_));
    reply(req, 404, {}, "stream ended\n");
  }
  leaveStream();
  conn_.closeAfterFlush();
}

void RtspSession::tick(uint64_t now) {
  if (conn_.closing()) return;
  if (trackWait_ && now >= trackWait_->deadlineMs) {
    RtspMessage req = std::move(trackWait_->req);
    spdlog::info("rtsp {}: {} has no track after {} ms", conn_.peer(), trackWait_->stream->name(),
                 kTrackWaitMs);
    stopWaitingForTracks();
    reply(req, 503, {}, "the stream has no playable track yet\n");
    busy_ = false;
    next();
    return;
  }
  if (playing_ && out_ && transport_ == Transport::kTcp && out_->stalled(now)) {
    spdlog::warn("rtsp {}: viewer of {} made no progress for {} ms; disconnecting", conn_.peer(),
                 streamName_, ctx_.viewerLimits().stallTimeoutMs);
    worker_.stats().slowDisconnects.add();
    conn_.close();
    return;
  }
  if (now - lastActivityMs_ > settings_.sessionTimeoutMs) {
    spdlog::info("rtsp {}: session timed out after {} ms", conn_.peer(),
                 settings_.sessionTimeoutMs);
    conn_.close();
  }
}

SessionInfo RtspSession::info() const {
  SessionInfo i;
  i.id = id_;
  i.protocol = "rtsp";
  i.role = publishing_ ? "publisher" : setup_[0] || setup_[1] ? "viewer" : "none";
  i.stream = streamName_;
  i.peer = conn_.peer();
  i.bytesIn = conn_.bytesIn();
  i.bytesOut = conn_.bytesOut() + (udpOut_ ? udpOut_->bytesOut() : 0);
  i.drops = (out_ ? out_->drops() : 0) + (udpOut_ ? udpOut_->drops() : 0);
  i.ageSec = (worker_.nowMs() - startMs_) / 1000.0;
  return i;
}

}  // namespace xl::rtsp
