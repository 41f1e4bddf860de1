// RtspClient: the signalling half of the camera pull client (RFC 2326 §10): OPTIONS, DESCRIBE
// (Content-Base, 401 with Basic or Digest), SETUP of every supported track with RTP interleaved
// on the connection (§10.12), PLAY, and keep-alives at half the Session timeout (GET_PARAMETER,
// or OPTIONS when the camera does not implement it). With `udp`, each track gets a pair of client
// ports instead (§12.39 client_port). Non-blocking, on one worker; the media it receives goes to
// the listener as channel 2i (RTP) / 2i+1 (RTCP) of track i, whatever the transport.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "rtp/sdp_media.h"
#include "rtsp/rtsp_auth.h"
#include "rtsp/rtsp_client_wire.h"
#include "rtsp/rtsp_message.h"
#include "xueliang/connection.h"
#include "xueliang/handle.h"
#include "xueliang/udp.h"

namespace xl::rtsp {

struct ClientTrack {
  rtp::RtpTrackInfo info;
  std::string controlUrl;
  int rtpChannel = -1;
  int rtcpChannel = -1;
};

class RtspClientListener {
 public:
  virtual ~RtspClientListener() = default;
  // PLAY succeeded: the tracks (in setup order); track i's packets arrive on channels 2i, 2i+1.
  virtual void onPlaying(const std::vector<ClientTrack>& tracks) = 0;
  // An interleaved frame; the bytes are valid during the call only.
  virtual void onInterleaved(uint8_t channel, const uint8_t* data, size_t n) = 0;
  virtual void onBytesIn(size_t n) = 0;
  // The session is over (refused, closed, malformed input). No further calls follow.
  virtual void onClientError(const std::string& reason) = 0;
};

class RtspClient : public ConnectionHandler {
 public:
  RtspClient(Worker& worker, CameraUrl url, bool udp, RtspClientListener& listener);
  ~RtspClient() override;
  RtspClient(const RtspClient&) = delete;
  RtspClient& operator=(const RtspClient&) = delete;

  void start();
  // Sends an RTCP packet (a receiver report) about track `track` to the camera.
  void sendRtcp(size_t track, const BufferRef& payload);
  bool playing() const { return state_ == State::kPlaying; }
  bool udp() const { return udp_; }
  // The camera described the stream: a later failure is about transport or media, not about
  // reaching or logging in to the camera.
  bool described() const { return described_; }

  // ConnectionHandler.
  void onData(const uint8_t* data, size_t n) override;
  void onClosed() override;

 private:
  enum class State { kConnecting, kOptions, kDescribe, kSetup, kPlay, kPlaying, kFailed };
  void send(const std::string& method, const std::string& uri,
            std::vector<std::pair<std::string, std::string>> headers = {});
  Status onResponse(RtspMessage&& m);
  Status onDescribe(const RtspMessage& m);
  Status onSetup(const RtspMessage& m);
  void setupNext();
  void keepalive();
  void fail(const std::string& reason);
  Status openUdpPorts(size_t track);
  void onDatagram(size_t track, bool rtcp, const uint8_t* data, size_t n, const UdpAddress& from);

  Worker& worker_;
  CameraUrl url_;
  RtspClientListener& listener_;
  TcpConnector connector_;
  std::unique_ptr<TcpConnection> conn_;
  RtspParser parser_;
  UvHandle<uv_timer_t> keepalive_;
  State state_ = State::kConnecting;
  int64_t cseq_ = 0;
  std::string pendingMethod_;
  std::string pendingUri_;
  std::vector<std::pair<std::string, std::string>> pendingHeaders_;
  bool haveChallenge_ = false;
  bool authRetried_ = false;
  Challenge challenge_;
  std::string base_;          // Content-Base of the presentation
  std::string aggregateUrl_;  // PLAY / keep-alive target
  std::string session_;
  int timeoutSec_ = 60;
  bool getParameterWorks_ = true;
  std::vector<ClientTrack> tracks_;
  size_t setupIndex_ = 0;
  bool udp_ = false;
  bool described_ = false;
  struct UdpPair {
    std::unique_ptr<UdpSocket> rtp, rtcp;
    UdpAddress serverRtcp;
    bool haveServerRtcp = false;
  };
  std::vector<UdpPair> udpPorts_;  // by track, UDP mode only
  std::string cameraIp_;           // datagrams from elsewhere are dropped
};

}  // namespace xl::rtsp
