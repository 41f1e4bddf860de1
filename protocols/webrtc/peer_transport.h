// PeerTransport: the transport half every WebRTC session has, whatever its media (WHEP viewers in
// whep_session.h, WHIP publishers in whip_session.h). ICE-lite (RFC 8445 §2.5): Binding requests
// verified by the port are answered, and each one refreshes consent (RFC 7675); the controlling
// browser's nomination, or the first check, or the address DTLS comes from, selects the peer.
// DTLS as the passive side; once the handshake ends the peer's certificate is checked against the
// offer's a=fingerprint (RFC 8122 §5) and SRTP is keyed both ways (RFC 5764). Sessions own one
// as a member and keep only their media logic.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "webrtc/dtls.h"
#include "webrtc/srtp.h"
#include "webrtc/stun.h"
#include "xueliang/session.h"
#include "xueliang/status.h"
#include "xueliang/udp.h"

namespace xl::webrtc {

std::string addressText(const UdpAddress& a);  // "1.2.3.4:5", "[::1]:5"
bool sameAddress(const UdpAddress& a, const UdpAddress& b);

// What every WebRTC session is created with, WHEP viewer or WHIP publisher.
struct SessionBasics {
  std::string id;  // resource id in the Location URL
  std::string stream;
  std::string httpPeer;  // who POSTed the offer
  std::string localUfrag;
  std::string localPwd;
  uint64_t consentTimeoutMs = 30000;
};

class PeerTransport {
 public:
  // Sends datagrams to `to`: over UDP, or the ICE-TCP connection whose peer it is.
  using Send = std::function<size_t(const UdpAddress& to, std::span<const iovec> datagrams)>;
  // The peer changed; `before` is the previous one (null: there was none).
  using PeerChanged = std::function<void(const UdpAddress* before)>;

  // `id` names the session in logs; `localPwd` signs Binding responses; `remoteFingerprint`
  // (upper-case hex) is the offer's.
  PeerTransport(std::string id, std::string localPwd, std::string remoteFingerprint,
                std::shared_ptr<const DtlsIdentity> identity, uint64_t nowMs, Send send,
                PeerChanged peerChanged);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // A Binding request whose USERNAME named this session and whose MESSAGE-INTEGRITY verified.
  void onBindingRequest(const StunMessage& m, const UdpAddress& from, uint64_t nowMs);
  // A DTLS datagram from an address that passed a connectivity check: the browser runs DTLS on
  // the pair it selected, so that address becomes the peer. An error ends the session; keyed()
  // turns true with the record that ends the handshake.
  Status onDtls(std::span<const uint8_t> datagram, const UdpAddress& from);
  // Periodically (the sessions' once-a-second tick): an error once consent expired (no Binding
  // request for `consentTimeoutMs`) or the DTLS handshake gave up; else retransmits the last
  // DTLS flight when its timer ran out, or at once if a datagram of it found the socket full.
  Status tick(uint64_t nowMs, uint64_t consentTimeoutMs);

  const UdpAddress* peer() const { return havePeer_ ? &peer_ : nullptr; }
  bool keyed() const { return srtpOut_ != nullptr; }
  // After keyed(): ours protects what we send, the other unprotects what the peer sends.
  SrtpSession* srtpOut() const { return srtpOut_.get(); }
  SrtpSession* srtpIn() const { return srtpIn_.get(); }
  const char* profileName() const;  // the negotiated SRTP profile, for logs
  DtlsTransport& dtls() { return dtls_; }
  uint64_t bytesOut() const { return bytesOut_; }  // DTLS records sent

 private:
  void setPeer(const UdpAddress& from);
  Status onHandshakeDone();
  void count(std::atomic<uint64_t> DtlsCounters::*which, uint64_t n = 1);
  void countDtlsEvents();  // what dtls_ did since the last call, into counters_

  std::string id_;
  std::string localPwd_;
  std::string remoteFingerprint_;
  Send send_;
  PeerChanged peerChanged_;
  uint64_t lastConsentMs_;
  DtlsCounters* counters_;  // the identity's (server totals), or null
  DtlsEvents counted_;      // dtls_.events() as far as counters_ has them
  bool flightUnsent_ = false;
  bool havePeer_ = false;
  UdpAddress peer_;
  DtlsTransport dtls_;
  SrtpProfile profile_ = SrtpProfile::kNone;
  std::unique_ptr<SrtpSession> srtpOut_;
  std::unique_ptr<SrtpSession> srtpIn_;
  uint64_t bytesOut_ = 0;
  // Handshake diagnostics: a session that checked but has no keys after kSlowHandshakeMs says
  // once what DTLS it saw (a stalled handshake is otherwise silent).
  static constexpr uint64_t kSlowHandshakeMs = 5000;
  uint64_t createdMs_;
  uint64_t dtlsIn_ = 0, dtlsOut_ = 0, dtlsUnsent_ = 0;
  bool reportedSlow_ = false;
};

// The admin API's view of a WebRTC session: its peer is the selected pair's address once there
// is one, else the HTTP client that POSTed the offer; DTLS bytes count as sent.
SessionInfo sessionInfo(uint64_t id, std::string role, const SessionBasics& basics,
                        const PeerTransport& transport, uint64_t bytesIn, uint64_t bytesOut,
                        uint64_t drops, double ageSec);

}  // namespace xl::webrtc
