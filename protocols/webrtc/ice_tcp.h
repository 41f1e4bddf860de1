// ICE-TCP (RFC 6544), passive side, for browsers whose network blocks UDP: the answer offers a
// "tcptype passive" host candidate on the TCP port with the media port's number, below the UDP
// ones in priority. The browser connects and sends STUN, DTLS and SRTP over the connection,
// each framed with a 2-byte length (RFC 4571).
//
// A connection is accepted on whichever worker the kernel picks; its first frame is a STUN
// Binding request whose ufrag names the session's worker (worker_router.h), so the socket moves
// there (the accepting worker hands a duplicate of the descriptor over with the bytes it read)
// and from then on lives beside its session: sends go through the connection's bounded output
// queue, and a browser that does not keep up loses frames as a UDP viewer would.
// WHIP publishers take ICE-TCP the same way: a check whose ufrag no viewer has goes to the
// publishers of that worker (setPublishers), and their SRTP comes in over the connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "webrtc/ice_tcp_framing.h"
#include "webrtc/whep_session.h"
#include "xueliang/connection.h"

namespace xl::webrtc {

class MediaPort;
class IceTcpSniffer;
class WhipSession;

// On worker `worker`: its WHIP publisher that issued `ufrag`, or nullptr (whip_endpoint.h).
using PublisherLookup = std::function<WhipSession*(int worker, std::string_view ufrag)>;

class IceTcp {
 public:
  // `ports` as MediaPort's: every worker's port by index (sized before the first open()).
  explicit IceTcp(const std::vector<MediaPort*>& ports);
  ~IceTcp();
  // Main thread, before `w` runs. "host:port".
  Status open(Worker& w, const std::string& address);
  // On `w`: stops listening and drops the connections that have not sent their first check.
  void close(Worker& w);
  int port() const { return listeners_.port(); }
  // Main thread, before the workers run: ICE-TCP for WHIP publishers too.
  void setPublishers(PublisherLookup lookup) { publishers_ = std::move(lookup); }

 private:
  const std::vector<MediaPort*>& ports_;
  PublisherLookup publishers_;
  ListenerSet listeners_;
  std::vector<std::unordered_set<IceTcpSniffer*>> pending_;  // by worker index
};

}  // namespace xl::webrtc
