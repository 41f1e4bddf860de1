// HTTP-FLV player: GET, then FlvReader walks the body (chunked or not) and the FLV tags; every
// audio/video tag is media, keyframes are counted.
#include <cstring>
#include <memory>
#include <string>

#include "flv_reader.h"
#include "viewer.h"

namespace xlload {
namespace {

class FlvViewer final : public Viewer, public FlvReader::Sink {
 public:
  using Viewer::Viewer;

 private:
  void onConnected() override {
    send("GET " + target_.path + " HTTP/1.1\r\nHost: " + target_.host + ":" +
         std::to_string(target_.port) + "\r\nUser-Agent: xl-load\r\nAccept: */*\r\n\r\n");
  }

  std::string stage() const override { return headerDone_ ? "http-flv body" : "http-flv request"; }

  bool onBytes(const uint8_t* data, size_t n) override {
    if (!headerDone_) {
      size_t before = head_.size();
      head_.append(reinterpret_cast<const char*>(data), n);
      size_t end = head_.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (head_.size() > 16384) fail("http: response header too long");
        return !done();
      }
      if (head_.compare(0, 9, "HTTP/1.1 ") && head_.compare(0, 9, "HTTP/1.0 ")) {
        fail("http: not an HTTP response");
        return false;
      }
      int status = std::atoi(head_.c_str() + 9);
      if (status != 200) {
        fail("http: status " + std::to_string(status));
        return false;
      }
      std::string lower = head_.substr(0, end);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reader_ = std::make_unique<FlvReader>(
          *this, lower.find("transfer-encoding: chunked") != std::string::npos);
      headerDone_ = true;
      playing();
      size_t used = end + 4 - before;
      data += used;
      n -= used;
      head_.clear();
    }
    now_ = now();
    if (n == 0) return true;
    if (std::string err = reader_->feed(data, n); !err.empty()) {
      fail(err);
      return false;
    }
    return !done();
  }

  void onTag(const FlvReader::Tag& t) override {
    if (t.type == 8 || t.type == 9) media(now_);
  }
  void onKeyframe() override { keyframe(now_); }

  bool headerDone_ = false;
  std::string head_;
  std::unique_ptr<FlvReader> reader_;
  double now_ = 0;
};

}  // namespace

std::unique_ptr<Viewer> makeFlvViewer(Loop& loop, Stats& stats, const Target& t) {
  return std::make_unique<FlvViewer>(loop, stats, t);
}

}  // namespace xlload
