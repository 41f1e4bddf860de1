#include "mp4_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

namespace xl::recorder {
namespace {

constexpr uint64_t kMaxMoov = 64u << 20;  // a moov this large is not one we wrote
constexpr uint64_t kMaxMoof = 16u << 20;
constexpr uint32_t kNonSync = 0x00010000;  // sample_is_non_sync_sample (ISO 14496-12 8.8.3.1)

constexpr uint32_t fourcc(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) << 24 | uint32_t(uint8_t(s[1])) << 16 |
         uint32_t(uint8_t(s[2])) << 8 | uint32_t(uint8_t(s[3]));
}

// Big-endian reads over a bounded span; any read past the end clears `ok` and yields 0.
struct Cursor {
  const uint8_t* p;
  size_t n;
  size_t pos = 0;
  bool ok = true;
  bool has(size_t k) const { return ok && n - pos >= k; }
  uint64_t be(size_t k) {
    if (!has(k)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < k; ++i) v = v << 8 | p[pos + i];
    pos += k;
    return v;
  }
  uint32_t u32() { return uint32_t(be(4)); }
  uint64_t u64() { return be(8); }
  void skip(size_t k) {
    if (!has(k))
      ok = false;
    else
      pos += k;
  }
};

struct Box {
  uint32_t type;
  const uint8_t* body;
  size_t size;
};

// Calls `fn` for every child box in [p, p+n); false if one is malformed.
template <typename Fn>
bool forEachBox(const uint8_t* p, size_t n, Fn&& fn) {
  size_t pos = 0;
  while (pos < n) {
    if (n - pos < 8) return false;
    Cursor c{p + pos, n - pos};
    uint64_t size = c.u32();
    uint32_t type = c.u32();
    size_t header = 8;
    if (size == 1) {
      size = c.u64();
      header = 16;
      if (!c.ok) return false;
    } else if (size == 0) {
      size = n - pos;
    }
    if (size < header || size > n - pos) return false;
    if (!fn(Box{type, p + pos + header, size_t(size - header)})) return false;
    pos += size;
  }
  return true;
}

struct TrackInfo {
  uint32_t id = 0;
  uint32_t timescale = 0;
  bool video = false;
  uint32_t defaultDuration = 0;  // trex
  uint32_t defaultFlags = 0;
};

bool parseTrak(const Box& trak, TrackInfo& t) {
  return forEachBox(trak.body, trak.size, [&](const Box& b) {
    if (b.type == fourcc("tkhd")) {
      Cursor c{b.body, b.size};
      uint32_t v = c.u32() >> 24;
      c.skip(v == 1 ? 16 : 8);
      t.id = c.u32();
      return c.ok;
    }
    if (b.type != fourcc("mdia")) return true;
    return forEachBox(b.body, b.size, [&](const Box& m) {
      Cursor c{m.body, m.size};
      if (m.type == fourcc("mdhd")) {
        uint32_t v = c.u32() >> 24;
        c.skip(v == 1 ? 16 : 8);
        t.timescale = c.u32();
        return c.ok;
      }
      if (m.type == fourcc("hdlr")) {
        c.skip(8);
        t.video = c.u32() == fourcc("vide");
        return c.ok;
      }
      return true;
    });
  });
}

Status parseMoov(const uint8_t* p, size_t n, std::vector<TrackInfo>& tracks) {
  std::vector<std::pair<uint32_t, std::pair<uint32_t, uint32_t>>> trex;
  bool ok = forEachBox(p, n, [&](const Box& b) {
    if (b.type == fourcc("trak")) {
      TrackInfo t;
      if (!parseTrak(b, t)) return false;
      tracks.push_back(t);
    } else if (b.type == fourcc("mvex")) {
      return forEachBox(b.body, b.size, [&](const Box& x) {
        if (x.type != fourcc("trex")) return true;
        Cursor c{x.body, x.size};
        c.skip(4);
        uint32_t id = c.u32();
        c.skip(4);
        uint32_t dur = c.u32();
        c.skip(4);
        uint32_t flags = c.u32();
        trex.push_back({id, {dur, flags}});
        return c.ok;
      });
    }
    return true;
  });
  if (!ok) return Status::error("malformed moov");
  if (tracks.empty()) return Status::error("moov has no track");
  for (auto& t : tracks) {
    if (t.timescale == 0) return Status::error("track without a timescale");
    for (auto& [id, d] : trex)
      if (id == t.id) std::tie(t.defaultDuration, t.defaultFlags) = d;
  }
  return Status::ok();
}

struct FragTiming {
  bool found = false;  // the moof has a traf for the timing track
  std::optional<uint64_t> baseTime;
  uint64_t duration = 0;
  bool keyframe = false;
};

bool parseTraf(const Box& traf, const TrackInfo& t, FragTiming& out) {
  uint32_t defDuration = t.defaultDuration, defFlags = t.defaultFlags;
  bool mine = false, firstSample = true;
  return forEachBox(traf.body, traf.size, [&](const Box& b) {
    Cursor c{b.body, b.size};
    if (b.type == fourcc("tfhd")) {
      uint32_t flags = c.u32() & 0xffffff;
      mine = c.u32() == t.id;
      if (flags & 0x01) c.skip(8);
      if (flags & 0x02) c.skip(4);
      if (flags & 0x08) defDuration = c.u32();
      if (flags & 0x10) c.skip(4);
      if (flags & 0x20) defFlags = c.u32();
      if (mine) out.found = true;
      return c.ok;
    }
    if (!mine) return true;
    if (b.type == fourcc("tfdt")) {
      uint32_t v = c.u32() >> 24;
      out.baseTime = v == 1 ? c.u64() : c.u32();
      return c.ok;
    }
    if (b.type == fourcc("trun")) {
      uint32_t flags = c.u32() & 0xffffff;
      uint32_t count = c.u32();
      if (flags & 0x01) c.skip(4);
      std::optional<uint32_t> firstFlags;
      if (flags & 0x04) firstFlags = c.u32();
      size_t per =
          4 * (!!(flags & 0x100) + !!(flags & 0x200) + !!(flags & 0x400) + !!(flags & 0x800));
      if (!c.ok || (per && count > (c.n - c.pos) / per)) return false;
      for (uint32_t i = 0; i < count; ++i) {
        uint32_t dur = flags & 0x100 ? c.u32() : defDuration;
        if (flags & 0x200) c.skip(4);
        uint32_t sf = flags & 0x400 ? c.u32() : defFlags;
        if (flags & 0x800) c.skip(4);
        if (i == 0 && firstFlags) sf = *firstFlags;
        if (firstSample) out.keyframe = !(sf & kNonSync);
        firstSample = false;
        out.duration += dur;
      }
      return c.ok;
    }
    return true;
  });
}

}  // namespace

Result<Mp4Index> indexMp4(uint64_t fileSize, const ReadAt& read) {
  Mp4Index idx;
  idx.fileSize = fileSize;
  std::vector<TrackInfo> tracks;
  const TrackInfo* timing = nullptr;
  std::vector<uint8_t> buf;
  std::optional<Mp4Fragment> pending;  // a moof waiting for its mdat
  std::optional<uint64_t> firstBase;
  uint64_t nextTime = 0;  // the timing track's decode time after the last fragment
  bool sawMoof = false;

  uint64_t off = 0;
  while (fileSize - off >= 8) {
    uint8_t h[16];
    size_t hn = fileSize - off >= 16 ? 16 : 8;
    if (!read(off, hn, h)) return Status::error("read error at " + std::to_string(off));
    Cursor c{h, hn};
    uint64_t size = c.u32();
    uint32_t type = c.u32();
    uint64_t header = 8;
    if (size == 1) {
      if (hn < 16) break;  // truncated
      size = c.u64();
      header = 16;
    } else if (size == 0) {
      size = fileSize - off;
    }
    if (size < header) return Status::error("malformed box at " + std::to_string(off));
    if (size > fileSize - off) break;  // cut short (crash while writing): ignored

    if (type == fourcc("moov")) {
      if (sawMoof) return Status::error("moov after a fragment");
      if (size > kMaxMoov) return Status::error("moov too large");
      buf.resize(size - header);
      if (!read(off + header, buf.size(), buf.data())) return Status::error("read error in moov");
      tracks.clear();
      if (Status s = parseMoov(buf.data(), buf.size(), tracks); !s) return s;
      timing = &tracks.front();
      for (const auto& t : tracks)
        if (t.video) {
          timing = &t;
          break;
        }
      idx.hasVideo = timing->video;
    } else if (type == fourcc("moof")) {
      if (!timing) return Status::error("fragment before moov");
      if (size > kMaxMoof) return Status::error("moof too large");
      if (!sawMoof) idx.initSize = off;
      sawMoof = true;
      buf.resize(size - header);
      if (!read(off + header, buf.size(), buf.data())) return Status::error("read error in moof");
      FragTiming ft;
      bool ok = forEachBox(buf.data(), buf.size(), [&](const Box& b) {
        return b.type != fourcc("traf") || parseTraf(b, *timing, ft);
      });
      if (!ok) return Status::error("malformed moof at " + std::to_string(off));
      uint64_t start = ft.baseTime.value_or(nextTime);
      if (!firstBase) firstBase = start;
      // Bounded so that the arithmetic below cannot overflow.
      constexpr uint64_t kMaxTicks = uint64_t(1) << 50;
      if (start < *firstBase) return Status::error("fragment time goes backwards");
      if (start > (kMaxTicks << 12) || start - *firstBase > kMaxTicks || ft.duration > kMaxTicks)
        return Status::error("fragment time out of range");
      nextTime = start + ft.duration;
      auto ms = [&](uint64_t t) { return int64_t((t - *firstBase) * 1000 / timing->timescale); };
      Mp4Fragment f;
      f.offset = off;
      f.startMs = ms(start);
      f.durationMs = ms(nextTime) - f.startMs;
      f.keyframe = ft.found && (ft.keyframe || !timing->video);
      pending = f;
    } else if (type == fourcc("mdat") && pending) {
      pending->size = off + size - pending->offset;
      idx.fragments.push_back(*pending);
      pending.reset();
    } else {
      pending.reset();
    }
    off += size;
  }
  if (!timing) return Status::error("no moov");
  if (!sawMoof) return Status::error("no fragment");
  return idx;
}

Result<Mp4Index> indexMp4(const uint8_t* data, size_t size) {
  return indexMp4(size, [data, size](uint64_t off, size_t len, uint8_t* out) {
    if (off > size || len > size - off) return false;
    std::memcpy(out, data + off, len);
    return true;
  });
}

Result<Mp4Index> indexMp4File(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::error(path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::error(path + ": " + std::strerror(errno));
  return indexMp4(uint64_t(st.st_size), [fd](uint64_t off, size_t len, uint8_t* out) {
    size_t done = 0;
    while (done < len) {
      ssize_t r = ::pread(fd, out + done, len - done, off_t(off + done));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      done += size_t(r);
    }
    return true;
  });
}

}  // namespace xl::recorder
