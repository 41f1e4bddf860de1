// The pull client's state machine against a scripted camera on a real socket: OPTIONS, DESCRIBE
// answered with a Digest challenge, DESCRIBE with the right response, SETUP (interleaved), PLAY,
// media on channel 0, a GET_PARAMETER keep-alive at half the Session timeout; and a wrong password.
#include "rtsp/rtsp_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "rtsp/rtsp_auth.h"

namespace xl::rtsp {
namespace {

using namespace std::chrono_literals;

// A one-connection RTSP "camera" on a blocking socket, driven by the test's script.
class FakeCamera {
 public:
  FakeCamera() {
    listenFd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listenFd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(listenFd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listenFd_, 1);
  }
  ~FakeCamera() {
    if (fd_ >= 0) ::close(fd_);
    ::close(listenFd_);
  }
  int port() const { return port_; }
  std::string base() const { return "rtsp://127.0.0.1:" + std::to_string(port_) + "/cam"; }

  void accept() {
    timeval tv{5, 0};
    fd_ = ::accept(listenFd_, nullptr, nullptr);
    ASSERT_GE(fd_, 0);
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  // The next request's head (empty on timeout or close).
  std::string request() {
    while (true) {
      auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buf_.substr(0, end + 4);
        buf_.erase(0, end + 4);
        return head;
      }
      char tmp[4096];
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return {};
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  static std::string header(const std::string& head, const std::string& name) {
    auto p = head.find("\n" + name + ": ");
    if (p == std::string::npos) return {};
    p += name.size() + 3;
    return head.substr(p, head.find("\r\n", p) - p);
  }
  void reply(const std::string& req, const std::string& status, const std::string& headers,
             const std::string& body = {}) {
    std::string out = "RTSP/1.0 " + status + "\r\nCSeq: " + header(req, "CSeq") + "\r\n" + headers;
    if (!body.empty()) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += "\r\n" + body;
    send(out);
  }
  void send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  void close() {
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int listenFd_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string buf_;
};

struct Recorder : RtspClientListener {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ClientTrack> tracks;
  size_t mediaBytes = 0;
  int mediaChannel = -1;
  std::string error;
  void onPlaying(const std::vector<ClientTrack>& t) override {
    std::lock_guard lk(mu);
    tracks = t;
    cv.notify_all();
  }
  void onInterleaved(uint8_t channel, const uint8_t*, size_t n) override {
    std::lock_guard lk(mu);
    mediaChannel = channel;
    mediaBytes += n;
    cv.notify_all();
  }
  void onBytesIn(size_t) override {}
  void onClientError(const std::string& reason) override {
    std::lock_guard lk(mu);
    error = reason;
    cv.notify_all();
  }
  template <typename P>
  bool waitFor(P pred) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, 5s, pred);
  }
};

constexpr const char* kSdp =
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
    "a=control:track1\r\n";

void runOn(Worker& w, std::function<void()> fn) {
  std::promise<void> done;
  w.post([&] {
    fn();
    done.set_value();
  });
  done.get_future().wait();
}

// Runs the client on a worker against `camera`, scripted by `script` on this thread.
void withClient(FakeCamera& camera, const std::string& password, Recorder& rec,
                const std::function<void()>& script) {
  Worker w(0);
  w.start();
  std::unique_ptr<RtspClient> client;
  auto url = parseCameraUrl("rtsp://u:" + password + "@127.0.0.1:" + std::to_string(camera.port()) +
                            "/cam");
  ASSERT_TRUE(url);
  runOn(w, [&] {
    client = std::make_unique<RtspClient>(w, *url, false, rec);
    client->start();
  });
  script();
  runOn(w, [&] { client.reset(); });
  w.stop();
}

TEST(RtspClient, DigestSetupPlayAndKeepalive) {
  FakeCamera cam;
  Recorder rec;
  withClient(cam, "p", rec, [&] {
    cam.accept();
    std::string r = cam.request();
    ASSERT_EQ(r.rfind("OPTIONS " + cam.base() + " RTSP/1.0\r\n", 0), 0u) << r;
    cam.reply(r, "200 OK", "Public: DESCRIBE, SETUP, PLAY, GET_PARAMETER\r\n");

    r = cam.request();
    ASSERT_EQ(r.rfind("DESCRIBE " + cam.base(), 0), 0u) << r;
    EXPECT_TRUE(FakeCamera::header(r, "Authorization").empty());
    cam.reply(r, "401 Unauthorized",
              "WWW-Authenticate: Basic realm=\"cam\"\r\n"
              "WWW-Authenticate: Digest realm=\"cam\", nonce=\"n0nce\"\r\n");

    r = cam.request();
    ASSERT_EQ(r.rfind("DESCRIBE " + cam.base(), 0), 0u) << r;
    std::string auth = FakeCamera::header(r, "Authorization");
    EXPECT_NE(auth.find("Digest "), std::string::npos) << auth;  // Digest preferred over Basic
    std::string expected = digestResponse("u", "cam", "p", "DESCRIBE", cam.base(), "n0nce");
    EXPECT_NE(auth.find("response=\"" + expected + "\""), std::string::npos) << auth;
    cam.reply(r, "200 OK", "Content-Base: " + cam.base() + "/\r\nContent-Type: application/sdp\r\n",
              kSdp);

    r = cam.request();
    ASSERT_EQ(r.rfind("SETUP " + cam.base() + "/track1 RTSP/1.0", 0), 0u) << r;
    EXPECT_EQ(FakeCamera::header(r, "Transport"), "RTP/AVP/TCP;unicast;interleaved=0-1");
    EXPECT_NE(FakeCamera::header(r, "Authorization").find("Digest "), std::string::npos);
    cam.reply(r, "200 OK",
              "Session: 4242;timeout=1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n");

    r = cam.request();
    ASSERT_EQ(r.rfind("PLAY " + cam.base() + "/ RTSP/1.0", 0), 0u) << r;
    EXPECT_EQ(FakeCamera::header(r, "Session"), "4242");
    cam.reply(r, "200 OK", "Session: 4242\r\n");
    ASSERT_TRUE(rec.waitFor([&] { return !rec.tracks.empty(); }));
    EXPECT_EQ(rec.tracks[0].info.codec, Codec::kH264);
    EXPECT_EQ(rec.tracks[0].rtpChannel, 0);
    EXPECT_EQ(rec.tracks[0].rtcpChannel, 1);

    // Media on the interleaved channel reaches the listener.
    std::string rtp = "$";
    rtp += '\0';
    rtp += '\0';
    rtp += '\x0c';
    rtp += std::string("\x80\x60\x00\x01\x00\x00\x00\x01\x00\x00\x00\x02", 12);
    cam.send(rtp);
    ASSERT_TRUE(rec.waitFor([&] { return rec.mediaBytes == 12; }));
    EXPECT_EQ(rec.mediaChannel, 0);

    // Keep-alive at half of the 1 s session timeout.
    auto t0 = std::chrono::steady_clock::now();
    r = cam.request();
    ASSERT_EQ(r.rfind("GET_PARAMETER " + cam.base() + "/ RTSP/1.0", 0), 0u) << r;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    EXPECT_EQ(FakeCamera::header(r, "Session"), "4242");
    cam.reply(r, "200 OK", "Session: 4242\r\n");
    EXPECT_TRUE(rec.error.empty()) << rec.error;

    cam.close();
    ASSERT_TRUE(rec.waitFor([&] { return !rec.error.empty(); }));
    EXPECT_NE(rec.error.find("closed"), std::string::npos) << rec.error;
  });
}

TEST(RtspClient, WrongPasswordIsAClearError) {
  FakeCamera cam;
  Recorder rec;
  withClient(cam, "bad", rec, [&] {
    cam.accept();
    std::string r = cam.request();
    cam.reply(r, "200 OK", "");
    for (int i = 0; i < 2; ++i) {
      r = cam.request();
      ASSERT_EQ(r.rfind("DESCRIBE ", 0), 0u) << r;
      cam.reply(r, "401 Unauthorized", "WWW-Authenticate: Digest realm=\"cam\", nonce=\"x\"\r\n");
    }
    ASSERT_TRUE(rec.waitFor([&] { return !rec.error.empty(); }));
    EXPECT_EQ(rec.error, "DESCRIBE: 401 Unauthorized (wrong user or password)");
    EXPECT_TRUE(rec.tracks.empty());
  });
}

TEST(RtspClient, GarbageFromTheCameraIsAnError) {
  FakeCamera cam;
  Recorder rec;
  withClient(cam, "p", rec, [&] {
    cam.accept();
    cam.request();
    cam.send("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ASSERT_TRUE(rec.waitFor([&] { return !rec.error.empty(); }));
    EXPECT_NE(rec.error.find("malformed"), std::string::npos) << rec.error;
  });
}

TEST(RtspClient, ConnectionRefused) {
  int port;
  {
    FakeCamera closed;  // bound then closed: nobody listens there
    port = closed.port();
  }
  Recorder rec;
  Worker w(0);
  w.start();
  std::unique_ptr<RtspClient> client;
  runOn(w, [&] {
    client = std::make_unique<RtspClient>(
        w, *parseCameraUrl("rtsp://127.0.0.1:" + std::to_string(port) + "/cam"), false, rec);
    client->start();
  });
  EXPECT_TRUE(rec.waitFor([&] { return !rec.error.empty(); }));
  EXPECT_NE(rec.error.find("cannot connect"), std::string::npos) << rec.error;
  runOn(w, [&] { client.reset(); });
  w.stop();
}

}  // namespace
}  // namespace xl::rtsp
