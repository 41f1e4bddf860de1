#include "webrtc/ice_tcp.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <unordered_set>

#include "rtp/rtp_packet.h"
#include "webrtc/media_port.h"
#include "webrtc/whip_session.h"
#include "webrtc/worker_router.h"

namespace xl::webrtc {
namespace {

constexpr size_t kMaxFrame = 4096;         // STUN, DTLS flights and RTCP stay far below
constexpr size_t kMaxQueued = 4 << 20;     // output waiting for a slow browser
constexpr uint64_t kFirstFrameMs = 10000;  // a connection must start its check by then

Result<UdpAddress> peerAddress(const std::string& peer) {
  auto hp = parseHostPort(peer);
  if (!hp) return hp.status();
  return udpAddress(hp->first, hp->second);
}

// The connection on its session's worker: frames in, framed datagrams out.
class IceTcpLink final : public ConnectionHandler, public TcpPath {
 public:
  IceTcpLink(MediaPort& port, const PublisherLookup& publishers, int fd, std::string peer,
             UdpAddress address)
      : port_(port),
        publishers_(publishers),
        conn_(port.worker(), fd, std::move(peer)),
        address_(address) {}

  void start(std::vector<uint8_t> first) {
    conn_.start(this);
    onData(first.data(), first.size());
  }

  // ConnectionHandler
  void onData(const uint8_t* data, size_t n) override {
    if (conn_.closing()) return;
    in_.insert(in_.end(), data, data + n);
    auto used = readFrames(in_, kMaxFrame, [this](ByteSpan f) {
      onFrame(f);
      return !conn_.closing();
    });
    if (!used) return fail(used.message());
    in_.erase(in_.begin(), in_.begin() + static_cast<ptrdiff_t>(*used));
  }
  void onClosed() override {
    if (session_) session_->tcpGone(this);
    if (publisher_) publisher_->tcpGone(this);
    session_ = nullptr;
    publisher_ = nullptr;
    delete this;
  }

  // TcpPath: one buffer per batch, each datagram behind its 2-byte length.
  size_t send(std::span<const iovec> datagrams) override {
    if (conn_.closing() || conn_.queuedBytes() > kMaxQueued) return 0;
    size_t total = 0;
    for (const iovec& v : datagrams) total += 2 + v.iov_len;
    Buffer* b = Buffer::allocate(total);
    uint8_t* out = b->data();
    for (const iovec& v : datagrams) {
      out[0] = static_cast<uint8_t>(v.iov_len >> 8);
      out[1] = static_cast<uint8_t>(v.iov_len);
      std::memcpy(out + 2, v.iov_base, v.iov_len);
      out += 2 + v.iov_len;
    }
    b->setSize(total);
    conn_.send(BufferRef::adopt(b));
    return datagrams.size();
  }
  void sessionGone() override {
    session_ = nullptr;
    publisher_ = nullptr;
    conn_.close();
  }

 private:
  void fail(const std::string& why) {
    spdlog::debug("webrtc ice-tcp {}: {}", conn_.peer(), why);
    conn_.close();
  }

  void onFrame(ByteSpan f) {
    const uint8_t b = f[0];
    if (b < 4) return onStun(f);  // RFC 7983 demultiplexing, as on UDP
    if (publisher_) return publisher_->onDatagram(f, address_);  // DTLS, SRTP, SRTCP
    if (!session_) return fail("media before a connectivity check");
    if (b >= 20 && b <= 63) {
      session_->onDtls(f, address_);
    } else if (b >= 128 && b <= 191 && rtp::looksLikeRtcp(f)) {
      session_->onRtcp(f);
    }
  }

  void onStun(ByteSpan f) {
    auto m = parseStun(f);
    if (!m) return fail(m.message());
    if (m->type != kStunBindingRequest) return;
    size_t colon = m->username.find(':');
    if (colon == std::string::npos) return fail("STUN USERNAME without ':'");
    std::string_view ufrag = std::string_view(m->username).substr(0, colon);
    if (WhepSession* s = port_.findUfrag(ufrag)) return check(f, *m, s, session_);
    WhipSession* p = publishers_ ? publishers_(port_.worker().index(), ufrag) : nullptr;
    if (p) return check(f, *m, p, publisher_);
    fail("STUN for no session here");
  }

  // A check for session `s` (a viewer or a publisher); `mine` is this connection's one of that
  // kind. The first valid check binds the connection to the session.
  template <class S>
  void check(ByteSpan f, const StunMessage& m, S* s, S*& mine) {
    if ((session_ || publisher_) && s != mine) return fail("STUN for another session");
    size_t colon = m.username.find(':');
    if (m.username.compare(colon + 1, std::string::npos, s->params().negotiated.remoteUfrag))
      return fail("STUN with the wrong remote ufrag");
    if (Status st = verifyIntegrity(f, m, s->params().localPwd); !st) return fail(st.message());
    if (!mine) {
      mine = s;
      s->useTcp(this, address_);
      spdlog::info("webrtc {}: ICE-TCP connection from {}", s->params().id, conn_.peer());
    }
    s->onBindingRequest(m, address_);
  }

  MediaPort& port_;
  const PublisherLookup& publishers_;
  TcpConnection conn_;
  UdpAddress address_;
  std::vector<uint8_t> in_;
  WhepSession* session_ = nullptr;    // a viewer's connection
  WhipSession* publisher_ = nullptr;  // or a publisher's
};

}  // namespace

// A new connection on the accepting worker, until its first frame names the session's worker.
class IceTcpSniffer final : public ConnectionHandler {
 public:
  IceTcpSniffer(Worker& w, const std::vector<MediaPort*>& ports, const PublisherLookup& publishers,
                std::unordered_set<IceTcpSniffer*>& pending, int fd, int handover, std::string peer)
      : ports_(ports),
        publishers_(publishers),
        pending_(pending),
        conn_(w, fd, peer),
        handover_(handover),
        peer_(std::move(peer)) {
    uv_timer_init(w.loop(), timer_.make());
    timer_.get()->data = this;
    pending_.insert(this);
  }
  ~IceTcpSniffer() override {
    pending_.erase(this);
    if (handover_ >= 0) ::close(handover_);
  }

  void start() {
    conn_.start(this);
    uv_timer_start(
        timer_.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<IceTcpSniffer*>(t->data);
          if (self) self->fail("no STUN check in time");
        },
        kFirstFrameMs, 0);
  }

  void onData(const uint8_t* data, size_t n) override {
    if (conn_.closing()) return;
    in_.insert(in_.end(), data, data + n);
    int owner = -1;
    auto used = readFrames(in_, kMaxFrame, [&](ByteSpan f) {
      owner = ownerOf(f);
      return false;  // only the first frame matters here
    });
    if (!used) return fail(used.message());
    if (*used == 0) {
      if (in_.size() > kMaxFrame + 2) fail("first frame too long");
      return;
    }
    if (owner < 0) return fail("the first frame is not a STUN check for a session here");
    auto address = peerAddress(peer_);
    if (!address) return fail(address.message());
    // The session's worker takes the socket (a duplicate descriptor) and every byte read so far.
    MediaPort* port = ports_[static_cast<size_t>(owner)];
    port->worker().post([port, publishers = &publishers_, fd = handover_, peer = peer_,
                         a = *address, bytes = std::move(in_)]() mutable {
      auto* link = new IceTcpLink(*port, *publishers, fd, peer, a);
      link->start(std::move(bytes));
    });
    handover_ = -1;
    timer_.reset();
    conn_.close();
  }
  void onClosed() override { delete this; }

  void fail(const char* why) { fail(std::string(why)); }
  void fail(const std::string& why) {
    spdlog::debug("webrtc ice-tcp {}: {}", peer_, why);
    timer_.reset();
    conn_.close();
  }
  int ownerOf(ByteSpan f) const {
    if (f[0] >= 4) return -1;
    auto m = parseStun(f);
    if (!m || m->type != kStunBindingRequest) return -1;
    const int w = workerOfUfrag(std::string_view(m->username).substr(0, m->username.find(':')));
    if (w < 0 || static_cast<size_t>(w) >= ports_.size() || !ports_[static_cast<size_t>(w)])
      return -1;
    return w;
  }

 private:
  const std::vector<MediaPort*>& ports_;
  const PublisherLookup& publishers_;
  std::unordered_set<IceTcpSniffer*>& pending_;
  TcpConnection conn_;
  int handover_;
  std::string peer_;
  std::vector<uint8_t> in_;
  UvHandle<uv_timer_t> timer_;
};

void TcpPaths::add(TcpPath* path, const UdpAddress& peer) {
  if (paths_.size() == kMax) {
    TcpPath* oldest = paths_.front().first;
    paths_.erase(paths_.begin());
    oldest->sessionGone();
  }
  paths_.emplace_back(path, peer);
}

void TcpPaths::remove(TcpPath* path) {
  std::erase_if(paths_, [path](const auto& t) { return t.first == path; });
}

TcpPath* TcpPaths::find(const UdpAddress& to) const {
  for (const auto& t : paths_)
    if (sameAddress(to, t.second)) return t.first;
  return nullptr;
}

void TcpPaths::closeAll() {
  for (auto& t : std::exchange(paths_, {})) t.first->sessionGone();
}

IceTcp::IceTcp(const std::vector<MediaPort*>& ports)
    : ports_(ports), listeners_("webrtc-tcp"), pending_(ports.size()) {}

IceTcp::~IceTcp() = default;

Status IceTcp::open(Worker& w, const std::string& address) {
  auto* pending = &pending_[static_cast<size_t>(w.index())];
  return listeners_.open(w, address, [&w, this, pending](int fd, std::string peer) {
    // The duplicate goes to the session's worker; this one only reads the first frame.
    const int handover = ::dup(fd);
    if (handover < 0) {
      ::close(fd);
      return;
    }
    (new IceTcpSniffer(w, ports_, publishers_, *pending, fd, handover, std::move(peer)))->start();
  });
}

void IceTcp::close(Worker& w) {
  listeners_.close(w);
  auto& pending = pending_[static_cast<size_t>(w.index())];
  std::vector<IceTcpSniffer*> all(pending.begin(), pending.end());
  for (IceTcpSniffer* s : all) s->fail("server shutdown");
}

}  // namespace xl::webrtc
