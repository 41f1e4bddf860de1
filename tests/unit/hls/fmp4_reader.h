// A small ISO BMFF box reader for the tests: walks the box tree with bounds checks (every child
// must fit its parent exactly) and decodes the fragment boxes the fMP4 writer produces. Also
// run by the fmp4_reader_fuzz target, so it rejects any malformed input with a reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace xl::test {

struct Mp4Box {
  std::string type;
  size_t offset = 0;  // of the header in the file
  size_t size = 0;    // whole box
  size_t body = 0;    // offset of the payload after the 8-byte header (version/flags if full)
  std::vector<Mp4Box> children;
  const Mp4Box* child(const std::string& t, size_t nth = 0) const {
    for (const auto& c : children)
      if (c.type == t && nth-- == 0) return &c;
    return nullptr;
  }
  size_t count(const std::string& t) const {
    size_t n = 0;
    for (const auto& c : children) n += c.type == t;
    return n;
  }
};

struct Mp4Reader {
  std::span<const uint8_t> d;
  std::string error;

  uint32_t u32(size_t at) const {
    return uint32_t(d[at]) << 24 | uint32_t(d[at + 1]) << 16 | uint32_t(d[at + 2]) << 8 | d[at + 3];
  }
  uint16_t u16(size_t at) const { return static_cast<uint16_t>(d[at] << 8 | d[at + 1]); }
  uint64_t u64(size_t at) const { return uint64_t(u32(at)) << 32 | u32(at + 4); }
  bool fail(const std::string& why) {
    if (error.empty()) error = why;
    return false;
  }

  // Bytes of a container box's payload before its child boxes.
  static size_t childrenSkip(const std::string& t) {
    if (t == "stsd" || t == "dref") return 8;   // version/flags + entry_count
    if (t == "avc1" || t == "hvc1") return 78;  // VisualSampleEntry fields
    if (t == "mp4a" || t == "Opus") return 28;  // AudioSampleEntry fields
    return 0;
  }
  static bool isContainer(const std::string& t) {
    static const std::set<std::string> k = {"moov", "trak", "mdia", "minf", "stbl",
                                            "dinf", "mvex", "moof", "traf", "stsd",
                                            "dref", "avc1", "hvc1", "mp4a", "Opus"};
    return k.count(t) > 0;
  }

  bool parse(size_t begin, size_t end, std::vector<Mp4Box>& out, int depth = 0) {
    if (depth > 16) return fail("nesting too deep");
    size_t at = begin;
    while (at < end) {
      if (end - at < 8) return fail("truncated box header at " + std::to_string(at));
      Mp4Box b;
      b.offset = at;
      b.size = u32(at);
      b.type.assign(reinterpret_cast<const char*>(d.data() + at + 4), 4);
      b.body = at + 8;
      if (b.size < 8 || b.size > end - at)
        return fail("box " + b.type + " size " + std::to_string(b.size) + " does not fit");
      if (isContainer(b.type)) {
        size_t skip = childrenSkip(b.type);
        if (b.size - 8 < skip) return fail("box " + b.type + " too short");
        if (!parse(b.body + skip, at + b.size, b.children, depth + 1)) return false;
      }
      out.push_back(std::move(b));
      at += out.back().size;
    }
    return true;
  }
  bool parse(std::vector<Mp4Box>& out) { return parse(0, d.size(), out); }

  struct Sample {
    uint32_t duration = 0, size = 0, flags = 0;
    int32_t cto = 0;
  };
  struct Trun {
    uint32_t flags = 0;
    int32_t dataOffset = 0;
    std::vector<Sample> samples;
  };
  // trun (14496-12 8.8.8) with the optional fields its flags announce.
  bool readTrun(const Mp4Box& b, Trun& t) {
    size_t end = b.offset + b.size;
    if (b.size < 16) return fail("trun too short");
    t.flags = u32(b.body) & 0xffffff;
    uint32_t count = u32(b.body + 4);
    size_t at = b.body + 8;
    auto take = [&](uint32_t& v) {
      if (end - at < 4) return fail("trun truncated");
      v = u32(at);
      at += 4;
      return true;
    };
    uint32_t v = 0;
    if (t.flags & 0x1) {
      if (!take(v)) return false;
      t.dataOffset = static_cast<int32_t>(v);
    }
    if (t.flags & 0x4 && !take(v)) return false;
    size_t per =
        4 * (!!(t.flags & 0x100) + !!(t.flags & 0x200) + !!(t.flags & 0x400) + !!(t.flags & 0x800));
    if (per && count > (end - at) / per) return fail("trun sample count exceeds box");
    if (!per && count > 1000000) return fail("trun sample count too large");
    t.samples.resize(count);
    for (auto& s : t.samples) {
      if (t.flags & 0x100 && !take(s.duration)) return false;
      if (t.flags & 0x200 && !take(s.size)) return false;
      if (t.flags & 0x400 && !take(s.flags)) return false;
      if (t.flags & 0x800) {
        if (!take(v)) return false;
        s.cto = static_cast<int32_t>(v);
      }
    }
    return at == end || fail("trun has trailing bytes");
  }
  // tfdt (8.8.12): baseMediaDecodeTime.
  bool readTfdt(const Mp4Box& b, uint64_t& t) {
    if (b.size < 16) return fail("tfdt too short");
    bool v1 = d[b.body] == 1;
    if (b.size != (v1 ? 20u : 16u)) return fail("tfdt size");
    t = v1 ? u64(b.body + 4) : u32(b.body + 4);
    return true;
  }
};

}  // namespace xl::test
