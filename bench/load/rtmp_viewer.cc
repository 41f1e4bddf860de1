// RTMP player: handshake, connect, createStream, play (Adobe RTMP 1.0 §5.2, §7.2.1.1, §7.2.2.1),
// built on the project's byte-level RTMP library (no server code). Audio/video messages are
// media; an FLV video tag whose frame type is 1 and which is not a sequence header is a keyframe.
#include <string>

#include "rtmp/amf0.h"
#include "rtmp/chunk_reader.h"
#include "rtmp/chunk_writer.h"
#include "rtmp/handshake.h"
#include "viewer.h"

namespace xlload {
namespace {

using namespace xl::rtmp;

class RtmpViewer final : public Viewer {
 public:
  using Viewer::Viewer;

 private:
  void onConnected() override {
    // app = first path segment, stream = the rest (query included, for tokens).
    std::string p = target_.path.substr(1);
    size_t slash = p.find('/');
    app_ = slash == std::string::npos ? p : p.substr(0, slash);
    stream_ = slash == std::string::npos ? "" : p.substr(slash + 1);
    xl::BufferRef c0c1 = hs_.start();
    send(c0c1.data(), c0c1.size());
  }

  std::string stage() const override {
    if (!hs_.done()) return "rtmp handshake";
    return streamId_ ? "rtmp play sent" : "rtmp connect/createStream";
  }

  bool onBytes(const uint8_t* data, size_t n) override {
    if (!hs_.done()) {
      auto step = hs_.feed({data, n});
      if (!step.isOk()) {
        fail("rtmp handshake: " + step.message());
        return false;
      }
      if (step.value().send) send(step.value().send.data(), step.value().send.size());
      if (!hs_.done()) return true;
      sendConnect();
      data += step.value().consumed;
      n -= step.value().consumed;
      if (n == 0) return true;
    }
    double t = now();
    xl::Status st = reader_.feed(data, n, [&](RtmpMessage&& m) { return onMessage(m, t); });
    if (!st.isOk()) {
      if (!done()) fail("rtmp: " + st.message());
      return false;
    }
    if (ackWindow_ && reader_.bytesReceived() - lastAck_ >= ackWindow_) {
      lastAck_ = reader_.bytesReceived();
      xl::BufferWriter w(32);
      writeAcknowledgement(w, static_cast<uint32_t>(lastAck_));
      send(w.data(), w.size());
    }
    return !done();
  }

  xl::Status onMessage(const RtmpMessage& m, double t) {
    const auto p = m.payload.span();
    switch (m.type) {
      case kMsgSetChunkSize:
        if (p.size() < 4) return xl::Status::error("short Set Chunk Size");
        return reader_.setChunkSize((uint32_t(p[0] & 0x7f) << 24) | (p[1] << 16) | (p[2] << 8) |
                                    p[3]);
      case kMsgWindowAckSize:
        if (p.size() >= 4) ackWindow_ = (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
        return xl::Status::ok();
      case kMsgUserControl:
        if (p.size() >= 6 && p[0] == 0 && p[1] == 6) {  // ping request -> response
          xl::BufferWriter w(32);
          writePingResponse(w, (uint32_t(p[2]) << 24) | (p[3] << 16) | (p[4] << 8) | p[5]);
          send(w.data(), w.size());
        }
        return xl::Status::ok();
      case kMsgCommandAmf0:
        return onCommand(p);
      case kMsgAudio:
        if (!p.empty()) media(t);
        return xl::Status::ok();
      case kMsgVideo:
        if (p.empty()) return xl::Status::ok();
        media(t);
        if ((p[0] >> 4) == 1) {
          uint8_t codec = p[0] & 0x0f;
          bool seqHeader = (codec == 7 || codec == 12) && p.size() > 1 && p[1] == 0;
          if (!seqHeader) keyframe(t);
        }
        return xl::Status::ok();
      default:
        return xl::Status::ok();
    }
  }

  xl::Status onCommand(std::span<const uint8_t> body) {
    auto vals = amf0::decodeAll(body);
    if (!vals.isOk()) return xl::Status::error("bad AMF0 command: " + vals.message());
    const auto& v = vals.value();
    if (v.empty()) return xl::Status::ok();
    std::string_view name = v[0].asString();
    double txn = v.size() > 1 ? v[1].asNumber() : 0;
    if (name == "_result" && txn == 1) {
      sendCommand({Amf0Value::string("createStream"), Amf0Value::number(2), Amf0Value::null()}, 0,
                  kCsidCommand);
    } else if (name == "_result" && txn == 2) {
      streamId_ = v.size() > 3 ? static_cast<uint32_t>(v[3].asNumber(1)) : 1;
      sendCommand({Amf0Value::string("play"), Amf0Value::number(0), Amf0Value::null(),
                   Amf0Value::string(stream_)},
                  streamId_, 8);
      // Set Buffer Length (§7.1.7): event 3, stream id, buffer length in ms (10 bytes).
      uint8_t sbl[10] = {0, 3};
      for (int i = 0; i < 4; ++i) sbl[2 + i] = uint8_t(streamId_ >> (24 - 8 * i));
      for (int i = 0; i < 4; ++i) sbl[6 + i] = uint8_t(1000u >> (24 - 8 * i));
      xl::BufferWriter w(32);
      writeMessage(w, ChunkTarget{kCsidControl, 0, kDefaultChunkSize}, kMsgUserControl, 0, sbl);
      send(w.data(), w.size());
    } else if (name == "_error") {
      fail("rtmp command refused (txn " + std::to_string(int(txn)) + ")");
    } else if (name == "onStatus" && v.size() > 3) {
      const Amf0Value* code = v[3].get("code");
      std::string c = code ? std::string(code->asString()) : "";
      if (c == "NetStream.Play.Start" || c == "NetStream.Play.Reset") {
        playing();
      } else if (c.find("Failed") != std::string::npos || c.find("NotFound") != std::string::npos ||
                 c.find("BadName") != std::string::npos) {
        fail("rtmp play: " + c);
      }
    }
    return xl::Status::ok();
  }

  void sendConnect() {
    std::string tcUrl = "rtmp://" + target_.host + ":" + std::to_string(target_.port) + "/" + app_;
    Amf0Properties props = {
        {"app", Amf0Value::string(app_)},        {"flashVer", Amf0Value::string("LNX 9,0,124,2")},
        {"tcUrl", Amf0Value::string(tcUrl)},     {"fpad", Amf0Value::boolean(false)},
        {"capabilities", Amf0Value::number(15)}, {"audioCodecs", Amf0Value::number(4071)},
        {"videoCodecs", Amf0Value::number(252)}, {"videoFunction", Amf0Value::number(1)}};
    sendCommand(
        {Amf0Value::string("connect"), Amf0Value::number(1), Amf0Value::object(std::move(props))},
        0, kCsidCommand);
  }

  void sendCommand(std::vector<Amf0Value> values, uint32_t streamId, uint32_t csid) {
    xl::BufferWriter w(256);
    ChunkTarget t{csid, streamId, kDefaultChunkSize};
    writeAmf0Message(w, t, kMsgCommandAmf0, values);
    send(w.data(), w.size());
  }

  HandshakeClient hs_{false};
  ChunkReader reader_;
  std::string app_, stream_;
  uint32_t streamId_ = 0;
  uint64_t ackWindow_ = 0;
  uint64_t lastAck_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeRtmpViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<RtmpViewer>(loop, stats, t);
}

}  // namespace xlload
