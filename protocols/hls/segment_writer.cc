#include "hls/segment_writer.h"

#include <vector>

#include "hls/fmp4_writer.h"
#include "hls/ts_muxer.h"

namespace xl::hls {
namespace {

class TsWriter : public SegmentWriter {
 public:
  Status setMediaInfo(const MediaInfo& info) override { return ts_.setMediaInfo(info); }
  bool hasVideo() const override { return ts_.hasVideo(); }
  bool hasAudio() const override { return ts_.hasAudio(); }
  BufferRef initSegment() const override { return {}; }
  void beginPart() override {
    out_.clear();
    ts_.writeTables(out_);
  }
  void addFrame(const Frame& f) override { (void)ts_.writeFrame(f, out_); }  // bad: skipped
  BufferRef endPart() override {
    BufferRef b = out_.freeze();
    out_.clear();
    return b;
  }

 private:
  TsMuxer ts_;
  BufferWriter out_{64 * 1024};
};

// Frames are held (refcounted payloads, no copy) until the part ends: a fragment's sample
// durations need the whole run.
class Fmp4PartWriter : public SegmentWriter {
 public:
  Status setMediaInfo(const MediaInfo& info) override { return w_.setMediaInfo(info); }
  bool hasVideo() const override { return w_.hasVideo(); }
  bool hasAudio() const override { return w_.hasAudio(); }
  BufferRef initSegment() const override { return w_.initSegment(); }
  void beginPart() override { frames_.clear(); }
  void addFrame(const Frame& f) override { frames_.push_back(f); }
  BufferRef endPart() override {
    if (frames_.empty()) return {};
    BufferRef b = w_.fragment(frames_, ++sequence_);
    frames_.clear();
    return b;
  }

 private:
  Fmp4Writer w_;
  std::vector<Frame> frames_;
  uint32_t sequence_ = 0;
};

}  // namespace

std::unique_ptr<SegmentWriter> makeTsWriter() {
  return std::make_unique<TsWriter>();
}

std::unique_ptr<SegmentWriter> makeFmp4Writer() {
  return std::make_unique<Fmp4PartWriter>();
}

std::unique_ptr<SegmentWriter> makeWriter(Container c) {
  return c == Container::kFmp4 ? makeFmp4Writer() : makeTsWriter();
}

}  // namespace xl::hls
