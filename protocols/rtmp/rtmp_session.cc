#include "rtmp/rtmp_session.h"

#include <spdlog/spdlog.h>

#include "http/url.h"
#include "rtmp/chunk_writer.h"
#include "rtmp/flv_tag.h"
#include "rtmp/rtmp_muxer.h"
#include "xueliang/codec.h"

namespace xl::rtmp {
namespace {

constexpr uint32_t kWindowAckSize = 2500000;
const ChunkTarget kCommand{kCsidCommand, 0, kDefaultChunkSize};

// "demo?token=x" -> ("demo", "token=x")
std::pair<std::string, std::string> splitQuery(std::string_view s) {
  auto q = s.find('?');
  if (q == std::string_view::npos) return {std::string(s), {}};
  return {std::string(s.substr(0, q)), std::string(s.substr(q + 1))};
}

bool validName(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    if (c == '/' || c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return s != "." && s != "..";
}

}  // namespace

RtmpSession::RtmpSession(ServerContext& ctx, const RtmpSettings& settings, int format,
                         Worker& worker, int fd, std::string peer)
    : ctx_(ctx),
      settings_(settings),
      format_(format),
      worker_(worker),
      conn_(worker, fd, std::move(peer)),
      handshake_(std::in_place),
      reader_(ChunkReaderLimits{settings.maxMessageSize, 64}),
      id_(ctx.sessionsOf(worker).nextId()),
      startMs_(worker.nowMs()),
      lastActivityMs_(startMs_) {}

RtmpSession::~RtmpSession() {
  *alive_ = false;
}

void RtmpSession::start() {
  ctx_.sessionsOf(worker_).add(this);
  conn_.start(this);
}

void RtmpSession::onClosed() {
  leaveStream();
  ctx_.sessionsOf(worker_).remove(this);
  delete this;
}

void RtmpSession::fail(const std::string& why) {
  spdlog::warn("rtmp {}: {}; closing", conn_.peer(), why);
  worker_.stats().protocolErrors.add();
  conn_.close();
}

void RtmpSession::onData(const uint8_t* data, size_t n) {
  lastActivityMs_ = worker_.nowMs();
  if (handshake_) {
    auto step = handshake_->feed({data, n});
    if (!step) return fail("handshake: " + step.message());
    if (step->send) conn_.send(step->send);
    if (!step->done) return;
    handshake_.reset();
    data += step->consumed;
    n -= step->consumed;
    if (n == 0) return;
  }
  Status s = reader_.feed(data, n, [this](RtmpMessage&& m) { return onMessage(std::move(m)); });
  if (!s && !conn_.closing()) fail(s.message());
  if (peerWindow_ && reader_.bytesReceived() - lastAck_ >= peerWindow_) {
    lastAck_ = reader_.bytesReceived();
    BufferWriter w(16);
    writeAcknowledgement(w, static_cast<uint32_t>(lastAck_));
    conn_.send(w.freeze());
  }
}

Status RtmpSession::onMessage(RtmpMessage&& m) {
  if (conn_.closing()) return Status::ok();
  const auto& p = m.payload;
  switch (m.type) {
    case kMsgSetChunkSize:
      if (p.size() < 4) return Status::error("short Set Chunk Size");
      return reader_.setChunkSize((uint32_t(p.data()[0] & 0x7F) << 24) | (p.data()[1] << 16) |
                                  (p.data()[2] << 8) | p.data()[3]);
    case kMsgAbort:
      if (p.size() >= 4)
        reader_.abortMessage((p.data()[0] << 24) | (p.data()[1] << 16) | (p.data()[2] << 8) |
                             p.data()[3]);
      return Status::ok();
    case kMsgWindowAckSize:
      if (p.size() >= 4)
        peerWindow_ = (p.data()[0] << 24) | (p.data()[1] << 16) | (p.data()[2] << 8) | p.data()[3];
      return Status::ok();
    case kMsgUserControl:
      if (p.size() >= 6 && p.data()[1] == static_cast<uint8_t>(UserControlEvent::kPingRequest)) {
        BufferWriter w(32);
        writePingResponse(
            w, (p.data()[2] << 24) | (p.data()[3] << 16) | (p.data()[4] << 8) | p.data()[5]);
        conn_.send(w.freeze());
      }
      return Status::ok();
    case kMsgCommandAmf0:
      return onCommand(m);
    case kMsgCommandAmf3:  // AMF3 command: one format byte, then AMF0 (§7.1.1)
      if (p.size() < 1) return Status::error("empty AMF3 command");
      m.payload = BufferRef::copyOf(p.data() + 1, p.size() - 1);
      return onCommand(m);
    case kMsgVideo:
      return role_ == Role::kPublisher ? onVideo(m) : Status::ok();
    case kMsgAudio:
      return role_ == Role::kPublisher ? onAudio(m) : Status::ok();
    case kMsgDataAmf0:
      if (role_ == Role::kPublisher) onMetadata(m);
      return Status::ok();
    default:  // acknowledgements, shared objects
      return Status::ok();
  }
}

Status RtmpSession::onCommand(const RtmpMessage& m) {
  auto values = amf0::decodeAll(m.payload.span());
  if (!values) return Status::error("command: " + values.message());
  auto& v = *values;
  if (v.empty() || !v[0].isString()) return Status::error("command without a name");
  std::string name(v[0].asString());
  double txn = v.size() > 1 ? v[1].asNumber() : 0;
  auto arg = [&](size_t i) -> std::string {
    return v.size() > i && v[i].isString() ? std::string(v[i].asString()) : std::string();
  };
  BufferWriter w(256);
  if (name == "connect") {
    onConnect(txn, v.size() > 2 ? &v[2] : nullptr);
  } else if (name == "createStream") {
    Amf0Value id = Amf0Value::number(kPlayStreamId);
    writeResult(w, {kCsidCommand, 0, settings_.chunkSize}, txn, Amf0Value::null(), id);
    conn_.send(w.freeze());
  } else if (name == "publish") {
    requestAccess(AccessRequest::Action::kPublish, arg(3));
  } else if (name == "play") {
    requestAccess(AccessRequest::Action::kPlay, arg(3));
  } else if (name == "getStreamLength") {
    writeResult(w, {kCsidCommand, 0, settings_.chunkSize}, txn, Amf0Value::null(),
                Amf0Value::number(0));
    conn_.send(w.freeze());
  } else if (name == "deleteStream" || name == "closeStream" || name == "FCUnpublish") {
    if (role_ != Role::kNone) {
      spdlog::info("rtmp {}: {} {}", conn_.peer(), name, streamName_);
      conn_.closeAfterFlush();
    }
  } else if (name == "releaseStream" || name == "FCPublish" || name == "FCSubscribe" ||
             name == "_checkbw" || name == "receiveAudio" || name == "receiveVideo") {
    // Acknowledged implicitly; clients do not wait for an answer.
  } else {
    spdlog::debug("rtmp {}: ignoring command '{}'", conn_.peer(), name);
  }
  return Status::ok();
}

void RtmpSession::onConnect(double txn, const Amf0Value* cmd) {
  const Amf0Value* app = cmd ? cmd->get("app") : nullptr;
  auto [appName, query] = splitQuery(app ? app->asString() : std::string_view());
  while (!appName.empty() && appName.back() == '/') appName.pop_back();
  if (!validName(appName)) return fail("connect: bad app name '" + appName + "'");
  app_ = appName;
  appQuery_ = query;
  BufferWriter w(512);
  writeWindowAckSize(w, kWindowAckSize);
  writeSetPeerBandwidth(w, kWindowAckSize, PeerBandwidthLimit::kDynamic);
  writeSetChunkSize(w, settings_.chunkSize);
  Amf0Value props = Amf0Value::object(
      {{"fmsVer", Amf0Value::string("FMS/3,0,1,123")}, {"capabilities", Amf0Value::number(31)}});
  Amf0Value info = Amf0Value::object({{"level", Amf0Value::string("status")},
                                      {"code", Amf0Value::string("NetConnection.Connect.Success")},
                                      {"description", Amf0Value::string("Connection succeeded.")},
                                      {"objectEncoding", Amf0Value::number(0)}});
  writeResult(w, {kCsidCommand, 0, settings_.chunkSize}, txn, props, info);
  conn_.send(w.freeze());
}

void RtmpSession::sendStatus(std::string_view level, std::string_view code,
                             std::string_view description) {
  BufferWriter w(256);
  writeOnStatus(w, {kCsidCommand, kPlayStreamId, settings_.chunkSize}, level, code, description);
  conn_.send(w.freeze());
}

void RtmpSession::refuse(std::string_view code, const std::string& description) {
  spdlog::info("rtmp {}: {} {}: {}", conn_.peer(), code, streamName_, description);
  sendStatus("error", code, description);
  conn_.closeAfterFlush();
}

AccessRequest RtmpSession::accessRequest(AccessRequest::Action action,
                                         const std::string& query) const {
  AccessRequest r;
  r.action = action;
  r.stream = streamName_;
  r.protocol = "rtmp";
  r.peer = conn_.peer();
  r.clientIp = peerHost(conn_.peer());
  for (const std::string& q : {appQuery_, query}) {
    auto params = http::parseQuery(q);
    if (!params) continue;
    for (auto& p : *params) r.query[p.key] = p.value;
  }
  return r;
}

void RtmpSession::requestAccess(AccessRequest::Action action, const std::string& raw) {
  const bool publish = action == AccessRequest::Action::kPublish;
  const char* what = publish ? "publish" : "play";
  if (role_ != Role::kNone || busy_) return fail(std::string(what) + " on a busy connection");
  auto [name, query] = splitQuery(raw);
  if (app_.empty() || !validName(name))
    return fail(std::string(what) + ": bad stream name '" + raw + "'");
  streamName_ = app_ + "/" + name;
  busy_ = true;
  ctx_.plugins->check(
      accessRequest(action, query), worker_, alive_, [this, publish](const Decision& d) {
        busy_ = false;
        if (d.verdict == Verdict::kDeny)
          return refuse(publish ? "NetStream.Publish.Unauthorized" : "NetStream.Play.Failed",
                        d.reason);
        if (publish)
          startPublish(streamName_);
        else
          startPlay(streamName_);
      });
}

void RtmpSession::startPublish(const std::string& name) {
  if (conn_.closing()) return;
  auto s = ctx_.streams->publish(name, worker_, PublisherInfo{"rtmp", conn_.peer()});
  if (!s) return refuse("NetStream.Publish.BadName", s.message());
  stream_ = *s;
  role_ = Role::kPublisher;
  stream_->setKickHandler([this] {
    spdlog::info("rtmp {}: publisher of {} kicked", conn_.peer(), streamName_);
    conn_.close();
  });
  ctx_.streamStarted(*stream_);
  spdlog::info("rtmp {}: publishing {}", conn_.peer(), name);
  sendStatus("status", "NetStream.Publish.Start", name + " is now published.");
}

void RtmpSession::startPlay(const std::string& name) {
  if (conn_.closing()) return;
  stream_ = ctx_.streams->find(name);
  if (!stream_) return refuse("NetStream.Play.StreamNotFound", "stream " + name + " not found");
  role_ = Role::kViewer;
  out_.emplace(conn_, ctx_.viewerLimits());
  BufferWriter w(512);
  writeStreamBegin(w, kPlayStreamId);
  ChunkTarget t{kCsidCommand, kPlayStreamId, settings_.chunkSize};
  writeOnStatus(w, t, "status", "NetStream.Play.Reset", "Playing and resetting " + name + ".");
  writeOnStatus(w, t, "status", "NetStream.Play.Start", "Started playing " + name + ".");
  writeSampleAccess(w, {kCsidData, kPlayStreamId, settings_.chunkSize});
  conn_.send(w.freeze());
  spdlog::info("rtmp {}: playing {}", conn_.peer(), name);
  stream_->attach(this, format_, worker_);
}

void RtmpSession::onMetadata(const RtmpMessage& m) {
  // ["@setDataFrame", "onMetaData", {...}] or ["onMetaData", {...}]: only the declared frame rate
  // is taken; everything else we derive from the codec configuration.
  auto values = amf0::decodeAll(m.payload.span());
  if (!values) return;
  for (const Amf0Value& v : *values) {
    if (const Amf0Value* rate = v.isMap() ? v.get("framerate") : nullptr) {
      double fps = rate->asNumber();
      if (fps > 0 && fps <= 1000) declaredFps_ = fps;
      if (media_.video && media_.video->fps != declaredFps_) {
        MediaInfo next = media_;
        next.video->fps = declaredFps_;
        updateMedia(std::move(next));
      }
    }
  }
}

int64_t RtmpSession::extendTimestamp(uint32_t ts) {
  // RTMP time is 32-bit milliseconds (§5.3.1.1); keep a 64-bit timeline across the wrap.
  if (haveTs_ && ts < lastTs_ && lastTs_ - ts > 0x80000000u) tsWrap_ += int64_t(1) << 32;
  haveTs_ = true;
  lastTs_ = ts;
  return tsWrap_ + ts;
}

void RtmpSession::updateMedia(MediaInfo next) {
  media_ = std::move(next);
  stream_->setMediaInfo(std::make_shared<const MediaInfo>(media_));
}

Status RtmpSession::onVideo(const RtmpMessage& m) {
  if (m.payload.size() == 0) return Status::ok();
  auto tag = parseVideoTag(m.payload.span());
  if (!tag) return Status::error("video: " + tag.message());
  if (tag->codec == Codec::kNone || tag->packet == FlvPacket::kIgnored) return Status::ok();
  int64_t dts = extendTimestamp(m.timestamp);
  if (tag->packet == FlvPacket::kSequenceHeader) {
    BufferRef record = BufferRef::copyOf(tag->data.data(), tag->data.size());
    auto track = videoTrackFromConfig(tag->codec, record);
    if (!track) return Status::error("video sequence header: " + track.message());
    MediaInfo next = media_;
    next.video = *track;
    next.video->fps = declaredFps_;
    updateMedia(std::move(next));
    Frame f{MediaKind::kVideo, tag->codec, dts, dts, {true, true, false}, record};
    stream_->pushFrame(f);
    return Status::ok();
  }
  if (tag->packet != FlvPacket::kCodedFrames || tag->data.empty()) return Status::ok();
  if (!media_.video || media_.video->codec != tag->codec)
    return Status::ok();  // frames before their sequence header cannot be decoded
  Frame f;
  f.kind = MediaKind::kVideo;
  f.codec = tag->codec;
  f.dts = dts;
  f.pts = dts + tag->compositionTime;
  f.flags.key = tag->keyframe;
  f.data = BufferRef::copyOf(tag->data.data(), tag->data.size());
  stream_->pushFrame(f);
  return Status::ok();
}

Status RtmpSession::onAudio(const RtmpMessage& m) {
  if (m.payload.size() == 0) return Status::ok();
  auto tag = parseAudioTag(m.payload.span());
  if (!tag) return Status::error("audio: " + tag.message());
  if (tag->codec == Codec::kNone || tag->packet == FlvPacket::kIgnored) return Status::ok();
  int64_t dts = extendTimestamp(m.timestamp);
  if (tag->packet == FlvPacket::kSequenceHeader) {
    BufferRef asc = BufferRef::copyOf(tag->data.data(), tag->data.size());
    auto track = audioTrackFromConfig(tag->codec, asc);
    if (!track) return Status::error("audio sequence header: " + track.message());
    MediaInfo next = media_;
    next.audio = *track;
    updateMedia(std::move(next));
    stream_->pushFrame(Frame{MediaKind::kAudio, tag->codec, dts, dts, {false, true, false}, asc});
    return Status::ok();
  }
  if (tag->packet != FlvPacket::kCodedFrames || tag->data.empty()) return Status::ok();
  if (!media_.audio || media_.audio->codec != tag->codec) {
    if (tag->codec == Codec::kAAC) return Status::ok();  // needs its AudioSpecificConfig first
    auto track = audioTrackFromConfig(tag->codec, {});
    if (!track) return Status::error("audio: " + track.message());
    MediaInfo next = media_;
    next.audio = *track;
    updateMedia(std::move(next));
  }
  stream_->pushFrame(Frame{MediaKind::kAudio,
                           tag->codec,
                           dts,
                           dts,
                           {},
                           BufferRef::copyOf(tag->data.data(), tag->data.size())});
  return Status::ok();
}

void RtmpSession::leaveStream() {
  if (!stream_) return;
  if (role_ == Role::kPublisher) {
    stream_->setKickHandler(nullptr);
    stream_->end();
    ctx_.streams->remove(*stream_);
    spdlog::info("rtmp {}: stopped publishing {}", conn_.peer(), streamName_);
  } else if (role_ == Role::kViewer) {
    stream_->detach(this, format_, worker_);
  }
  stream_.reset();
  role_ = Role::kNone;
}

void RtmpSession::onJoin(const BufferRef& header, const std::vector<MuxedBatch>& gop) {
  out_->join(header, gop);
}

void RtmpSession::onBatch(const MuxedBatch& batch) {
  out_->deliver(batch);
}

void RtmpSession::onStreamEnd() {
  if (role_ != Role::kViewer) return;
  leaveStream();
  BufferWriter w(256);
  writeStreamEof(w, kPlayStreamId);
  writeOnStatus(w, {kCsidCommand, kPlayStreamId, settings_.chunkSize}, "status",
                "NetStream.Play.UnpublishNotify", streamName_ + " is now unpublished.");
  conn_.send(w.freeze());
  conn_.closeAfterFlush();
}

void RtmpSession::tick(uint64_t now) {
  if (role_ == Role::kViewer && out_ && out_->stalled(now)) {
    spdlog::warn("rtmp {}: viewer of {} made no progress for {} ms; disconnecting", conn_.peer(),
                 streamName_, ctx_.viewerLimits().stallTimeoutMs);
    worker_.stats().slowDisconnects.add();
    conn_.close();
    return;
  }
  if (role_ != Role::kViewer && now - lastActivityMs_ > settings_.idleTimeoutMs) {
    spdlog::info("rtmp {}: idle for {} ms; closing", conn_.peer(), settings_.idleTimeoutMs);
    conn_.close();
  }
}

SessionInfo RtmpSession::info() const {
  SessionInfo i;
  i.id = id_;
  i.protocol = "rtmp";
  i.role = role_ == Role::kPublisher ? "publisher" : role_ == Role::kViewer ? "viewer" : "none";
  i.stream = streamName_;
  i.peer = conn_.peer();
  i.bytesIn = conn_.bytesIn();
  i.bytesOut = conn_.bytesOut();
  i.drops = out_ ? out_->drops() : 0;
  i.ageSec = (worker_.nowMs() - startMs_) / 1000.0;
  return i;
}

}  // namespace xl::rtmp
