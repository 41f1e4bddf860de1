#include "rtsp/rtsp_client.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

namespace xl::rtsp {
namespace {

constexpr uint64_t kConnectTimeoutMs = 5000;

std::string statusText(const RtspMessage& m) {
  return std::to_string(m.status) + " " + (m.reason.empty() ? "" : m.reason);
}

}  // namespace

RtspClient::RtspClient(Worker& worker, CameraUrl url, bool udp, RtspClientListener& listener)
    : worker_(worker), url_(std::move(url)), listener_(listener), connector_(worker), udp_(udp) {}

RtspClient::~RtspClient() {
  keepalive_.reset();
  udpPorts_.clear();
  if (conn_) {
    conn_->setHandler(nullptr);
    conn_->close();
  }
}

void RtspClient::start() {
  connector_.connect(url_.host, url_.port, kConnectTimeoutMs,
                     [this](Result<int> fd, std::string peer) {
                       if (!fd) return fail("cannot connect to " + peer + ": " + fd.message());
                       cameraIp_ = peerHost(peer);
                       conn_ = std::make_unique<TcpConnection>(worker_, *fd, peer);
                       conn_->start(this);
                       state_ = State::kOptions;
                       send("OPTIONS", url_.url);
                     });
}

void RtspClient::send(const std::string& method, const std::string& uri,
                      std::vector<std::pair<std::string, std::string>> headers) {
  if (!conn_ || conn_->closing()) return;
  pendingMethod_ = method;
  pendingUri_ = uri;
  pendingHeaders_ = headers;
  if (haveChallenge_)
    headers.emplace_back("Authorization",
                         authorizationFor(challenge_, url_.user, url_.password, method, uri));
  if (!session_.empty()) headers.emplace_back("Session", session_);
  conn_->send(BufferRef::copyOf(formatRequest(method, uri, ++cseq_, headers)));
}

void RtspClient::sendRtcp(size_t track, const BufferRef& payload) {
  if (track >= tracks_.size() || payload.size() > 0xffff) return;
  if (udp_) {
    UdpPair& u = udpPorts_[track];
    if (!u.haveServerRtcp || !u.rtcp) return;
    iovec iov{const_cast<uint8_t*>(payload.data()), payload.size()};
    u.rtcp->sendEach(u.serverRtcp, std::span<const iovec>(&iov, 1));
    return;
  }
  if (!conn_ || conn_->closing() || tracks_[track].rtcpChannel < 0) return;
  uint8_t channel = static_cast<uint8_t>(tracks_[track].rtcpChannel);
  uint8_t head[4] = {'$', channel, uint8_t(payload.size() >> 8), uint8_t(payload.size())};
  conn_->queue(BufferRef::copyOf(head, 4));
  conn_->queue(payload);
  conn_->flush();
}

void RtspClient::onData(const uint8_t* data, size_t n) {
  if (state_ == State::kFailed) return;
  listener_.onBytesIn(n);
  Status s = parser_.feed(
      data, n, [this](RtspMessage&& m) { return onResponse(std::move(m)); },
      [this](uint8_t ch, const uint8_t* p, size_t len) {
        if (state_ == State::kPlaying || state_ == State::kPlay)
          listener_.onInterleaved(ch, p, len);
        return Status::ok();
      });
  if (!s && state_ != State::kFailed) fail("malformed data from the camera: " + s.message());
}

void RtspClient::onClosed() {
  conn_.reset();
  fail("the camera closed the connection");
}

Status RtspClient::onResponse(RtspMessage&& m) {
  if (state_ == State::kFailed) return Status::ok();
  if (m.isRequest) {  // a server request (ANNOUNCE, GET_PARAMETER...): we implement none
    if (conn_) conn_->send(BufferRef::copyOf(formatResponse(501, m.cseq(), {})));
    return Status::ok();
  }
  if (m.cseq() >= 0 && m.cseq() != cseq_) return Status::ok();  // a late keep-alive answer
  if (m.status == 401 && state_ != State::kPlaying) {
    if (url_.user.empty()) {
      fail(pendingMethod_ + ": 401 Unauthorized (the camera needs a user and password)");
      return Status::ok();
    }
    if (authRetried_) {
      fail(pendingMethod_ + ": 401 Unauthorized (wrong user or password)");
      return Status::ok();
    }
    std::vector<std::string> values;
    for (auto& [k, v] : m.headers) {
      if (k.size() == 16 && strncasecmp(k.c_str(), "WWW-Authenticate", 16) == 0)
        values.push_back(v);
    }
    auto ch = parseChallenge(values);
    if (!ch) {
      fail(pendingMethod_ + ": 401 Unauthorized with an unusable challenge: " + ch.message());
      return Status::ok();
    }
    challenge_ = *ch;
    haveChallenge_ = true;
    authRetried_ = true;
    send(pendingMethod_, pendingUri_, pendingHeaders_);
    return Status::ok();
  }
  if (m.status == 200) authRetried_ = false;
  switch (state_) {
    case State::kOptions:
      // Some cameras refuse OPTIONS; DESCRIBE decides.
      state_ = State::kDescribe;
      send("DESCRIBE", url_.url, {{"Accept", "application/sdp"}});
      return Status::ok();
    case State::kDescribe:
      if (m.status != 200) {
        fail("DESCRIBE: " + statusText(m));
        return Status::ok();
      }
      return onDescribe(m);
    case State::kSetup:
      if (m.status != 200) {
        fail("SETUP " + tracks_[setupIndex_].controlUrl + ": " + statusText(m));
        return Status::ok();
      }
      return onSetup(m);
    case State::kPlay:
      if (m.status != 200) {
        fail("PLAY: " + statusText(m));
        return Status::ok();
      }
      state_ = State::kPlaying;
      uv_timer_init(worker_.loop(), keepalive_.make());
      keepalive_.get()->data = this;
      {
        uint64_t every = std::max(1, timeoutSec_) * 500ull;
        uv_timer_start(
            keepalive_.get(), [](uv_timer_t* t) { static_cast<RtspClient*>(t->data)->keepalive(); },
            every, every);
      }
      listener_.onPlaying(tracks_);
      return Status::ok();
    case State::kPlaying:
      if (m.status == 405 || m.status == 501) getParameterWorks_ = false;
      return Status::ok();
    default:
      return Status::ok();
  }
}

Status RtspClient::onDescribe(const RtspMessage& m) {
  base_ = std::string(m.header("Content-Base"));
  if (base_.empty()) base_ = std::string(m.header("Content-Location"));
  if (base_.empty()) base_ = url_.url;
  auto sdp = rtp::parseSdp(m.body);
  if (!sdp) return Status::error("DESCRIBE: bad SDP: " + sdp.message());
  std::string reasons;
  bool haveVideo = false, haveAudio = false;
  for (const rtp::SdpMedia& media : sdp->media) {
    auto t = rtp::trackFromMedia(media);
    if (!t) {
      reasons += (reasons.empty() ? "" : "; ") + t.message();
      continue;
    }
    bool& have = t->kind == MediaKind::kVideo ? haveVideo : haveAudio;
    if (have) continue;  // one track of each kind
    have = true;
    ClientTrack ct;
    ct.info = std::move(*t);
    ct.controlUrl = resolveControl(base_, ct.info.control);
    tracks_.push_back(std::move(ct));
  }
  if (tracks_.empty()) {
    fail("DESCRIBE: no supported track" + (reasons.empty() ? "" : " (" + reasons + ")"));
    return Status::ok();
  }
  described_ = true;
  const std::string* aggregate = sdp->attribute("control");
  aggregateUrl_ = aggregate ? resolveControl(base_, *aggregate) : base_;
  state_ = State::kSetup;
  setupIndex_ = 0;
  setupNext();
  return Status::ok();
}

Status RtspClient::openUdpPorts(size_t track) {
  udpPorts_.resize(tracks_.size());
  UdpPair& u = udpPorts_[track];
  std::string any = cameraIp_.find(':') != std::string::npos ? "[::]" : "0.0.0.0";
  // An even RTP port with the RTCP port right above it (RFC 3550 §11); a few tries, as another
  // socket may take the odd port between the two binds.
  for (int attempt = 0; attempt < 16; ++attempt) {
    u.rtp = std::make_unique<UdpSocket>(
        worker_, [this, track](const uint8_t* d, size_t n, const UdpAddress& from) {
          onDatagram(track, false, d, n, from);
        });
    u.rtcp = std::make_unique<UdpSocket>(
        worker_, [this, track](const uint8_t* d, size_t n, const UdpAddress& from) {
          onDatagram(track, true, d, n, from);
        });
    if (Status s = u.rtp->bind(any + ":0"); !s) return s;
    if (u.rtp->port() % 2 != 0 || u.rtp->port() >= 65535) continue;
    if (u.rtcp->bind(any + ":" + std::to_string(u.rtp->port() + 1))) return Status::ok();
  }
  u.rtp.reset();
  u.rtcp.reset();
  return Status::error("no free UDP port pair");
}

void RtspClient::onDatagram(size_t track, bool rtcp, const uint8_t* data, size_t n,
                            const UdpAddress& from) {
  if (state_ != State::kPlaying && state_ != State::kPlay) return;
  char host[INET6_ADDRSTRLEN] = "";
  const auto* sa = reinterpret_cast<const sockaddr*>(&from.addr);
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, host, sizeof host);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, host, sizeof host);
  if (cameraIp_ != host) return;  // only the camera may feed this session
  listener_.onBytesIn(n);
  listener_.onInterleaved(static_cast<uint8_t>(track * 2 + (rtcp ? 1 : 0)), data, n);
}

void RtspClient::setupNext() {
  ClientTrack& t = tracks_[setupIndex_];
  int ch = static_cast<int>(setupIndex_) * 2;
  if (udp_) {
    if (Status s = openUdpPorts(setupIndex_); !s) return fail("SETUP: " + s.message());
    int port = udpPorts_[setupIndex_].rtp->port();
    send("SETUP", t.controlUrl,
         {{"Transport", "RTP/AVP;unicast;client_port=" + std::to_string(port) + "-" +
                            std::to_string(port + 1)}});
    return;
  }
  send("SETUP", t.controlUrl,
       {{"Transport",
         "RTP/AVP/TCP;unicast;interleaved=" + std::to_string(ch) + "-" + std::to_string(ch + 1)}});
}

Status RtspClient::onSetup(const RtspMessage& m) {
  ClientTrack& t = tracks_[setupIndex_];
  auto tr = parseTransportReply(m.header("Transport"));
  if (!tr) return Status::error("SETUP: " + tr.message());
  // The media path is chosen per session: both sides must agree on it.
  if (tr->tcp == udp_)
    return Status::error(std::string("SETUP: the camera answered with ") +
                         (tr->tcp ? "TCP" : "UDP") + " to a " + (udp_ ? "UDP" : "TCP") +
                         " request");
  int ch = static_cast<int>(setupIndex_) * 2;
  if (udp_) {
    UdpPair& u = udpPorts_[setupIndex_];
    if (tr->serverPort[1] > 0) {
      if (auto a = udpAddress(cameraIp_, tr->serverPort[1])) {
        u.serverRtcp = *a;
        u.haveServerRtcp = true;
      }
    }
  } else {
    t.rtpChannel = tr->interleaved[0] >= 0 ? tr->interleaved[0] : ch;
    t.rtcpChannel = tr->interleaved[0] >= 0 ? tr->interleaved[1] : ch + 1;
  }
  if (session_.empty()) {
    auto sh = parseSessionHeader(m.header("Session"));
    if (!sh) return Status::error("SETUP: " + sh.message());
    session_ = sh->id;
    timeoutSec_ = sh->timeoutSec;
  }
  if (++setupIndex_ < tracks_.size()) {
    setupNext();
  } else {
    state_ = State::kPlay;
    send("PLAY", aggregateUrl_, {{"Range", "npt=0.000-"}});
  }
  return Status::ok();
}

void RtspClient::keepalive() {
  if (state_ != State::kPlaying) return;
  if (getParameterWorks_)
    send("GET_PARAMETER", aggregateUrl_);
  else
    send("OPTIONS", url_.url);
}

void RtspClient::fail(const std::string& reason) {
  if (state_ == State::kFailed) return;
  state_ = State::kFailed;
  keepalive_.reset();
  if (conn_) conn_->close(reason.c_str());
  listener_.onClientError(reason);
}

}  // namespace xl::rtsp
