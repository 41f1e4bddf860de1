#include "webrtc/sctp_association.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <usrsctp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace xl::webrtc {

// What a task posted from a usrsctp callback holds: the executor to post with (immutable) and
// the association, cleared on the executor's thread when it is destroyed.
struct SctpAssociation::Link {
  Executor executor;
  SctpAssociation* owner = nullptr;
};

namespace {

// SCTP packets travel in DTLS records of at most 1200 bytes (dtls.cc): leave room for the DTLS
// record header, explicit nonce and AEAD tag or CBC padding and MAC.
constexpr uint32_t kSctpMtu = 1200 - 80;
constexpr uint16_t kStreams = 1024;  // RFC 8831 §6.2: 65535 allowed; browsers ask for 1024

// usrsctp's callbacks receive only an opaque address (for output) or the socket's ulp_info: both
// are an association id that this table resolves. Process-wide because usrsctp is.
struct Table {
  std::mutex mu;
  std::unordered_map<uintptr_t, std::shared_ptr<SctpAssociation::Link>> links;
  uintptr_t next = 1;
};
Table& table() {
  static Table t;
  return t;
}

// usrsctp_init/usrsctp_finish reference count (a separate mutex: the timer thread, joined under
// it, may be waiting for the table's mutex in a callback).
std::mutex& stackMutex() {
  static std::mutex m;
  return m;
}
int stackRefs = 0;  // guarded by stackMutex()

// usrsctp runs without threads of its own (usrsctp_init_nothreads): its default start opens raw
// IPPROTO_SCTP sockets on every address, with a thread each, and would parse SCTP packets sent
// to the host from anywhere; data channels only ever reach it through DTLS (AF_CONN). This one
// thread drives its timers (retransmission, SACK, heartbeat, freeing closed sockets) every
// kTick, as usrsctp's own timer thread did, but only while associations exist and for kLinger
// after the last one: a server without data channels keeps it asleep instead of waking 100
// times a second. Guarded by stackMutex().
class TimerThread {
 public:
  static constexpr auto kTick = std::chrono::milliseconds(10);
  // Associations close with an ABORT (SO_LINGER 0), and usrsctp frees the closed sockets from
  // its timers within a few ticks; this leaves it ample time.
  static constexpr auto kLinger = std::chrono::seconds(10);

  TimerThread() : thread_([this] { run(); }) {}
  ~TimerThread() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  TimerThread(const TimerThread&) = delete;
  TimerThread& operator=(const TimerThread&) = delete;

  // An association starts or ends (any thread).
  void hold() {
    std::lock_guard lk(mu_);
    if (associations_++ == 0) cv_.notify_one();
  }
  void release() {
    std::lock_guard lk(mu_);
    if (--associations_ == 0) idleSince_ = Clock::now();
  }

 private:
  using Clock = std::chrono::steady_clock;

  bool ticking(Clock::time_point now) const {
    return associations_ > 0 || now - idleSince_ < kLinger;
  }

  void run() {
    pthread_setname_np(pthread_self(), "sctp timers");
    auto last = Clock::now();
    std::unique_lock lk(mu_);
    for (;;) {
      if (ticking(Clock::now())) {
        if (cv_.wait_for(lk, kTick, [this] { return stop_; })) return;
      } else {
        cv_.wait(lk, [this] { return stop_ || associations_ > 0; });
        if (stop_) return;
      }
      auto now = Clock::now();
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count();
      if (ms <= 0) continue;
      last += std::chrono::milliseconds(ms);
      lk.unlock();  // callbacks run from here and take other locks
      // After a sleep the clock jumps by the time asleep, when no timer was pending.
      usrsctp_handle_timers(static_cast<uint32_t>(std::min<int64_t>(ms, 3'600'000)));
      lk.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int associations_ = 0;
  Clock::time_point idleSince_{};  // the epoch: asleep from the start
  std::thread thread_;             // last: starts once the members above exist
};
std::unique_ptr<TimerThread> timerThread;  // while stackRefs > 0

}  // namespace

struct SctpCallbacks {
  static std::shared_ptr<SctpAssociation::Link> find(uintptr_t id) {
    Table& t = table();
    std::lock_guard lk(t.mu);
    auto it = t.links.find(id);
    return it == t.links.end() ? nullptr : it->second;
  }

  static int output(void* addr, void* buffer, size_t length, uint8_t, uint8_t) {
    auto link = find(reinterpret_cast<uintptr_t>(addr));
    if (!link) return 0;  // the association is gone: drop (its peer times out)
    std::vector<uint8_t> packet(static_cast<uint8_t*>(buffer),
                                static_cast<uint8_t*>(buffer) + length);
    link->executor([link, packet = std::move(packet)] {
      if (link->owner && link->owner->h_.output) link->owner->h_.output(packet);
    });
    return 0;
  }

  static int receive(struct socket*, union sctp_sockstore, void* data, size_t len,
                     struct sctp_rcvinfo rcv, int flags, void* ulpInfo) {
    if (!data) return 1;  // end of the association's data
    auto link = find(reinterpret_cast<uintptr_t>(ulpInfo));
    if (link) {
      std::vector<uint8_t> bytes(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + len);
      const bool notification = flags & MSG_NOTIFICATION;
      const bool end = flags & MSG_EOR;
      const uint16_t sid = rcv.rcv_sid;
      const uint32_t ppid = ntohl(rcv.rcv_ppid);
      link->executor([link, bytes = std::move(bytes), notification, end, sid, ppid]() mutable {
        SctpAssociation* a = link->owner;
        if (!a) return;
        if (notification)
          a->handleNotification(bytes);
        else
          a->handleData(sid, ppid, end, bytes);
      });
    }
    free(data);  // usrsctp hands over a malloc'd buffer
    return 1;
  }
};

std::shared_ptr<SctpStack> SctpStack::acquire() {
  std::lock_guard lk(stackMutex());
  if (stackRefs++ == 0) {
    usrsctp_init_nothreads(0, &SctpCallbacks::output, nullptr);
    timerThread = std::make_unique<TimerThread>();
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    // Acknowledge promptly: data channel messages are small and latency matters more than
    // the SACKs saved.
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);
    // RFC 8831 §6.2: browsers use stream reconfiguration to close channels.
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
  }
  return std::shared_ptr<SctpStack>(new SctpStack());
}

SctpStack::~SctpStack() {
  std::lock_guard lk(stackMutex());
  if (--stackRefs > 0) return;
  // usrsctp frees closed sockets from its timers and finish fails until they are gone: with the
  // timer thread stopped (no tick may follow a successful finish), tick here between attempts.
  timerThread.reset();
  for (int i = 0; i < 300 && usrsctp_finish() != 0; ++i) {
    std::this_thread::sleep_for(TimerThread::kTick);
    usrsctp_handle_timers(static_cast<uint32_t>(TimerThread::kTick.count()));
  }
}

SctpAssociation::SctpAssociation(std::shared_ptr<SctpStack> stack, Executor executor,
                                 Handlers handlers)
    : stack_(std::move(stack)), h_(std::move(handlers)), link_(std::make_shared<Link>()) {
  link_->executor = std::move(executor);
  link_->owner = this;
  timerThread->hold();  // exists while any SctpStack does: stack_ holds one
  Table& t = table();
  std::lock_guard lk(t.mu);
  id_ = t.next++;
  t.links.emplace(id_, link_);
}

SctpAssociation::~SctpAssociation() {
  link_->owner = nullptr;  // tasks already posted find nobody
  {
    Table& t = table();
    std::lock_guard lk(t.mu);
    t.links.erase(id_);
  }
  if (sock_) {
    usrsctp_close(sock_);
    usrsctp_deregister_address(reinterpret_cast<void*>(id_));
  }
  timerThread->release();  // after the close: freeing the socket needs the timers
}

Status SctpAssociation::connect(uint16_t localPort, uint16_t remotePort) {
  if (sock_) return Status::error("sctp: already connecting");
  void* addr = reinterpret_cast<void*>(id_);
  usrsctp_register_address(addr);
  sock_ =
      usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &SctpCallbacks::receive, nullptr, 0, addr);
  if (!sock_) {
    usrsctp_deregister_address(addr);
    return Status::error(std::string("sctp: socket: ") + std::strerror(errno));
  }
  usrsctp_set_non_blocking(sock_, 1);
  // Closing aborts at once: the peer is told by DTLS close or consent expiry anyway.
  linger l{1, 0};
  usrsctp_setsockopt(sock_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  int on = 1;
  usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof reset);
  for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_REMOTE_ERROR,
                        SCTP_SHUTDOWN_EVENT, SCTP_SEND_FAILED_EVENT}) {
    sctp_event ev{};
    ev.se_assoc_id = SCTP_ALL_ASSOC;
    ev.se_type = type;
    ev.se_on = 1;
    usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev);
  }
  sctp_initmsg init{};
  init.sinit_num_ostreams = kStreams;
  init.sinit_max_instreams = kStreams;
  usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof init);

  sockaddr_conn local{};
  local.sconn_family = AF_CONN;
  local.sconn_port = htons(localPort);
  local.sconn_addr = addr;
  if (usrsctp_bind(sock_, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
    return Status::error(std::string("sctp: bind: ") + std::strerror(errno));
  sockaddr_conn remote = local;
  remote.sconn_port = htons(remotePort);
  if (usrsctp_connect(sock_, reinterpret_cast<sockaddr*>(&remote), sizeof remote) < 0 &&
      errno != EINPROGRESS)
    return Status::error(std::string("sctp: connect: ") + std::strerror(errno));
  sctp_paddrparams pp{};
  std::memcpy(&pp.spp_address, &remote, sizeof remote);
  pp.spp_flags = SPP_PMTUD_DISABLE;
  pp.spp_pathmtu = kSctpMtu;
  usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
  return Status::ok();
}

void SctpAssociation::feed(std::span<const uint8_t> packet) {
  if (!sock_ || packet.empty()) return;
  usrsctp_conninput(reinterpret_cast<void*>(id_), packet.data(), packet.size(), 0);
}

Status SctpAssociation::send(uint16_t sid, uint32_t ppid, std::span<const uint8_t> data,
                             bool ordered) {
  if (!sock_ || !up_) return Status::error("sctp: association is not up");
  if (data.empty() || data.size() > kMaxMessageSize)
    return Status::error("sctp: message size " + std::to_string(data.size()) + " out of range");
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = sid;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (ordered ? 0 : SCTP_UNORDERED);
  ssize_t n = usrsctp_sendv(sock_, data.data(), data.size(), nullptr, 0, &spa, sizeof spa,
                            SCTP_SENDV_SPA, 0);
  if (n < 0)
    return Status::error(errno == EWOULDBLOCK ? std::string("sctp: send buffer full")
                                              : std::string("sctp: send: ") + std::strerror(errno));
  return Status::ok();
}

void SctpAssociation::resetStream(uint16_t sid) {
  if (!sock_ || !up_) return;
  alignas(sctp_reset_streams) uint8_t buf[sizeof(sctp_reset_streams) + sizeof(uint16_t)] = {};
  auto* rs = reinterpret_cast<sctp_reset_streams*>(buf);
  rs->srs_assoc_id = SCTP_ALL_ASSOC;
  rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  rs->srs_number_streams = 1;
  rs->srs_stream_list[0] = sid;
  usrsctp_setsockopt(sock_, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs, sizeof buf);
}

size_t SctpAssociation::pendingChunks() const {
  if (!sock_) return 0;
  sctp_status st{};
  socklen_t len = sizeof st;
  if (usrsctp_getsockopt(sock_, IPPROTO_SCTP, SCTP_STATUS, &st, &len) < 0) return 0;
  return size_t(st.sstat_unackdata) + st.sstat_penddata;
}

void SctpAssociation::handleData(uint16_t sid, uint32_t ppid, bool end,
                                 std::vector<uint8_t>& data) {
  // Partial delivery (RFC 6458 §8.1.20): the pieces of one message arrive in order on one
  // stream, the last with MSG_EOR.
  if (!partial_.empty() || partialTooBig_) {
    if (sid != partialSid_) {  // cannot happen with usrsctp's default interleaving level 0
      partial_.clear();
      partialTooBig_ = false;
    }
  }
  if (!end || !partial_.empty() || partialTooBig_) {
    partialSid_ = sid;
    if (partial_.size() + data.size() > kMaxMessageSize) {
      partialTooBig_ = true;
      partial_.clear();
    } else if (!partialTooBig_) {
      partial_.insert(partial_.end(), data.begin(), data.end());
    }
    if (!end) return;
    bool tooBig = partialTooBig_;
    partialTooBig_ = false;
    std::vector<uint8_t> whole;
    whole.swap(partial_);
    if (tooBig) {
      ++droppedIn_;
      return;
    }
    ++received_;
    if (h_.message) h_.message(sid, ppid, whole);
    return;
  }
  if (data.size() > kMaxMessageSize) {
    ++droppedIn_;
    return;
  }
  ++received_;
  if (h_.message) h_.message(sid, ppid, data);
}

void SctpAssociation::handleNotification(const std::vector<uint8_t>& bytes) {
  if (bytes.size() < sizeof(sctp_notification::sn_header)) return;
  // usrsctp's buffer is malloc'd (aligned); the copy in a vector is too.
  const auto* n = reinterpret_cast<const sctp_notification*>(bytes.data());
  switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      if (bytes.size() < sizeof(sctp_assoc_change)) return;
      const auto state = n->sn_assoc_change.sac_state;
      if (state == SCTP_COMM_UP || state == SCTP_RESTART) {
        if (!up_) {
          up_ = true;
          if (h_.up) h_.up();
        }
      } else if (state == SCTP_COMM_LOST || state == SCTP_SHUTDOWN_COMP ||
                 state == SCTP_CANT_STR_ASSOC) {
        up_ = false;
        if (!down_) {
          down_ = true;
          if (h_.down)
            h_.down(state == SCTP_COMM_LOST       ? "association lost"
                    : state == SCTP_SHUTDOWN_COMP ? "association shut down"
                                                  : "association could not start");
        }
      }
      break;
    }
    case SCTP_SHUTDOWN_EVENT:
      up_ = false;
      if (!down_) {
        down_ = true;
        if (h_.down) h_.down("peer shut the association down");
      }
      break;
    case SCTP_STREAM_RESET_EVENT: {
      const auto& e = n->sn_strreset_event;
      if (bytes.size() < sizeof e || !(e.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN)) break;
      if (e.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) break;
      size_t count = (std::min<size_t>(e.strreset_length, bytes.size()) - sizeof e) / 2;
      for (size_t i = 0; i < count; ++i)
        if (h_.incomingReset) h_.incomingReset(e.strreset_stream_list[i]);
      break;
    }
    default:
      break;
  }
}

}  // namespace xl::webrtc
