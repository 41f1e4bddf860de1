#include "hls/fmp4_writer.h"

#include <algorithm>
#include <cstring>

#include "hls/mp4_boxes.h"
#include "xueliang/codec.h"

namespace xl::hls {

using mp4::Box;
using mp4::fourcc;

namespace {

// Sample flags (14496-12 8.8.3.1): sync samples depend on nothing; others depend on earlier
// samples and are not sync samples.
constexpr uint32_t kSyncSampleFlags = 0x02000000;
constexpr uint32_t kNonSyncSampleFlags = 0x01010000;

// trun flags (8.8.8.1).
constexpr uint32_t kTrunDataOffset = 0x000001;
constexpr uint32_t kTrunDuration = 0x000100;
constexpr uint32_t kTrunSize = 0x000200;
constexpr uint32_t kTrunFlags = 0x000400;
constexpr uint32_t kTrunCto = 0x000800;
constexpr uint32_t kVideoTrun = kTrunDataOffset | kTrunDuration | kTrunSize | kTrunFlags | kTrunCto;
constexpr uint32_t kAudioTrun = kTrunDataOffset | kTrunDuration | kTrunSize;
// tfhd flags (8.8.7.1).
constexpr uint32_t kTfhdDefaultFlags = 0x000020;
constexpr uint32_t kTfhdDefaultBaseIsMoof = 0x020000;

constexpr uint32_t kAacFrameSamples = 1024;
constexpr uint32_t kOpusRate = 48000;

struct VideoDesc {
  Codec codec = Codec::kNone;
  BufferRef config;
  int width = 0, height = 0;
};

struct AudioDesc {
  Codec codec = Codec::kNone;
  BufferRef asc;  // AAC
  uint32_t rate = 0;
  int channels = 0;
  // Opus (dOps, ISO/IEC 23003-5 / "Encapsulation of Opus in ISOBMFF" 4.3.2).
  uint16_t preSkip = 0;
  uint32_t inputRate = kOpusRate;
  int16_t gain = 0;
  uint8_t family = 0;
  uint8_t streams = 0, coupled = 0;
  const uint8_t* mapping = nullptr;  // `channels` bytes inside the OpusHead when family != 0
};

Result<VideoDesc> describeVideo(const VideoTrack& v) {
  VideoDesc d;
  d.codec = v.codec;
  d.config = v.config;
  if (v.codec == Codec::kH264) {
    auto c = h264::parseAvcC(v.config.span());
    if (!c) return Status::error("fmp4: avcC: " + c.message());
  } else if (v.codec == Codec::kH265) {
    auto c = h265::parseHvcC(v.config.span());
    if (!c) return Status::error("fmp4: hvcC: " + c.message());
  } else {
    return Status::error("fmp4: video codec not carried");
  }
  d.width = v.width;
  d.height = v.height;
  if (d.width <= 0 || d.height <= 0) {
    auto t = videoTrackFromConfig(v.codec, v.config);
    if (!t) return Status::error("fmp4: video size: " + t.message());
    d.width = t->width;
    d.height = t->height;
  }
  return d;
}

Result<AudioDesc> describeAudio(const AudioTrack& a) {
  AudioDesc d;
  d.codec = a.codec;
  if (a.codec == Codec::kAAC) {
    auto asc = aac::parseAsc(a.config.span());
    if (!asc) return Status::error("fmp4: AudioSpecificConfig: " + asc.message());
    if (asc->sampleRate <= 0) return Status::error("fmp4: AAC without a sampling rate");
    d.asc = a.config;
    d.rate = static_cast<uint32_t>(asc->sampleRate);
    d.channels = asc->channels ? asc->channels : (a.channels ? a.channels : 2);
    return d;
  }
  if (a.codec == Codec::kOpus) {
    d.rate = kOpusRate;
    d.channels = a.channels > 0 ? a.channels : 2;
    auto h = a.config.span();
    if (h.size() >= 19 && std::memcmp(h.data(), "OpusHead", 8) == 0) {
      // OpusHead (RFC 7845 5.1) is little-endian; dOps is big-endian.
      d.channels = h[9];
      d.preSkip = static_cast<uint16_t>(h[10] | h[11] << 8);
      d.inputRate =
          uint32_t(h[12]) | uint32_t(h[13]) << 8 | uint32_t(h[14]) << 16 | uint32_t(h[15]) << 24;
      d.gain = static_cast<int16_t>(h[16] | h[17] << 8);
      d.family = h[18];
      if (d.family != 0) {
        if (h.size() < 21u + d.channels) return Status::error("fmp4: OpusHead mapping truncated");
        d.streams = h[19];
        d.coupled = h[20];
        d.mapping = h.data() + 21;
      }
    } else if (!h.empty()) {
      return Status::error("fmp4: Opus config is not an OpusHead");
    }
    if (d.channels < 1 || (d.family == 0 && d.channels > 2))
      return Status::error("fmp4: Opus channel count needs a mapping table");
    return d;
  }
  return Status::error("fmp4: audio codec not carried");
}

void writeMvhd(BufferWriter& w) {
  Box b(w, fourcc("mvhd"), 0, 0);
  w.be32(0);           // creation_time
  w.be32(0);           // modification_time
  w.be32(1000);        // timescale
  w.be32(0);           // duration: unknown (fragments)
  w.be32(0x00010000);  // rate 1.0
  w.be16(0x0100);      // volume 1.0
  mp4::zeros(w, 10);
  mp4::unityMatrix(w);
  mp4::zeros(w, 24);  // pre_defined
  w.be32(3);          // next_track_ID
}

void writeTkhd(BufferWriter& w, uint32_t id, bool audio, int width, int height) {
  Box b(w, fourcc("tkhd"), 0, 0x000003);  // enabled, in movie
  w.be32(0);
  w.be32(0);
  w.be32(id);
  w.be32(0);  // reserved
  w.be32(0);  // duration
  mp4::zeros(w, 8);
  w.be16(0);  // layer
  w.be16(0);  // alternate_group
  w.be16(audio ? 0x0100 : 0);
  w.be16(0);
  mp4::unityMatrix(w);
  w.be32(static_cast<uint32_t>(width) << 16);
  w.be32(static_cast<uint32_t>(height) << 16);
}

void writeMdhdHdlr(BufferWriter& w, uint32_t timescale, bool audio) {
  {
    Box b(w, fourcc("mdhd"), 0, 0);
    w.be32(0);
    w.be32(0);
    w.be32(timescale);
    w.be32(0);
    w.be16(0x55c4);  // language "und" (ISO-639-2/T packed 5-bit letters)
    w.be16(0);
  }
  Box b(w, fourcc("hdlr"), 0, 0);
  w.be32(0);
  w.be32(audio ? fourcc("soun") : fourcc("vide"));
  mp4::zeros(w, 12);
  const char* name = audio ? "SoundHandler" : "VideoHandler";
  w.append(name, std::strlen(name) + 1);
}

void writeDinf(BufferWriter& w) {
  Box dinf(w, fourcc("dinf"));
  Box dref(w, fourcc("dref"), 0, 0);
  w.be32(1);
  Box url(w, fourcc("url "), 0, 1);  // media data in the same file
}

// Empty sample tables: all samples live in fragments.
void writeEmptyTables(BufferWriter& w) {
  for (uint32_t type : {fourcc("stts"), fourcc("stsc"), fourcc("stco")}) {
    Box b(w, type, 0, 0);
    w.be32(0);
  }
  Box b(w, fourcc("stsz"), 0, 0);
  w.be32(0);
  w.be32(0);
}

void writeVideoEntry(BufferWriter& w, const VideoDesc& v) {
  bool hevc = v.codec == Codec::kH265;
  Box entry(w, hevc ? fourcc("hvc1") : fourcc("avc1"));
  mp4::zeros(w, 6);
  w.be16(1);  // data_reference_index
  mp4::zeros(w, 16);
  w.be16(static_cast<uint16_t>(v.width));
  w.be16(static_cast<uint16_t>(v.height));
  w.be32(0x00480000);  // 72 dpi
  w.be32(0x00480000);
  w.be32(0);
  w.be16(1);          // frame_count
  mp4::zeros(w, 32);  // compressorname
  w.be16(0x0018);     // depth
  w.be16(0xffff);     // pre_defined = -1
  Box cfg(w, hevc ? fourcc("hvcC") : fourcc("avcC"));
  size_t at = w.size();
  w.append(v.config.span());
  // Frames carry 4-byte lengths whatever the source's record said (lengthSizeMinusOne = 3).
  if (hevc)
    w.data()[at + 21] |= 0x03;
  else
    w.data()[at + 4] |= 0x03;
}

void writeAudioEntry(BufferWriter& w, const AudioDesc& a) {
  bool opus = a.codec == Codec::kOpus;
  Box entry(w, opus ? fourcc("Opus") : fourcc("mp4a"));
  mp4::zeros(w, 6);
  w.be16(1);  // data_reference_index
  mp4::zeros(w, 8);
  w.be16(static_cast<uint16_t>(a.channels));
  w.be16(16);  // samplesize
  w.be32(0);   // pre_defined, reserved
  w.be32(a.rate <= 0xffff ? a.rate << 16 : 0);
  if (opus) {
    Box dops(w, fourcc("dOps"));
    w.u8(0);  // Version
    w.u8(static_cast<uint8_t>(a.channels));
    w.be16(a.preSkip);
    w.be32(a.inputRate);
    w.be16(static_cast<uint16_t>(a.gain));
    w.u8(a.family);
    if (a.family != 0) {
      w.u8(a.streams);
      w.u8(a.coupled);
      w.append(a.mapping, static_cast<size_t>(a.channels));
    }
    return;
  }
  // esds (ISO/IEC 14496-14 5.6): ES_Descriptor > DecoderConfigDescriptor > DecoderSpecificInfo
  // (the AudioSpecificConfig), then SLConfigDescriptor.
  Box esds(w, fourcc("esds"), 0, 0);
  size_t dsi = a.asc.size();
  size_t dcd = 13 + mp4::descriptorHeaderSize(dsi) + dsi;
  size_t es = 3 + mp4::descriptorHeaderSize(dcd) + dcd + 3;
  mp4::descriptorHeader(w, 0x03, es);
  w.be16(0);  // ES_ID
  w.u8(0);    // no dependency, URL or OCR stream
  mp4::descriptorHeader(w, 0x04, dcd);
  w.u8(0x40);  // objectTypeIndication: MPEG-4 Audio
  w.u8(0x15);  // streamType audio (5) << 2 | reserved 1
  w.be24(0);   // bufferSizeDB
  w.be32(0);   // maxBitrate
  w.be32(0);   // avgBitrate
  mp4::descriptorHeader(w, 0x05, dsi);
  w.append(a.asc.span());
  mp4::descriptorHeader(w, 0x06, 1);
  w.u8(0x02);  // predefined: MP4
}

template <typename Entry>
void writeTrak(BufferWriter& w, uint32_t id, uint32_t timescale, bool audio, int width, int height,
               Entry&& entry) {
  Box trak(w, fourcc("trak"));
  writeTkhd(w, id, audio, width, height);
  Box mdia(w, fourcc("mdia"));
  writeMdhdHdlr(w, timescale, audio);
  Box minf(w, fourcc("minf"));
  if (audio) {
    Box smhd(w, fourcc("smhd"), 0, 0);
    w.be32(0);  // balance, reserved
  } else {
    Box vmhd(w, fourcc("vmhd"), 0, 1);
    mp4::zeros(w, 8);  // graphicsmode, opcolor
  }
  writeDinf(w);
  Box stbl(w, fourcc("stbl"));
  {
    Box stsd(w, fourcc("stsd"), 0, 0);
    w.be32(1);
    entry();
  }
  writeEmptyTables(w);
}

void writeTrex(BufferWriter& w, uint32_t id) {
  Box b(w, fourcc("trex"), 0, 0);
  w.be32(id);
  w.be32(1);  // default_sample_description_index
  w.be32(0);
  w.be32(0);
  w.be32(0);
}

}  // namespace

uint32_t opusPacketSamples(std::span<const uint8_t> packet) {
  if (packet.empty()) return 960;
  uint8_t toc = packet[0];
  uint8_t config = toc >> 3;
  uint32_t frame;  // samples per frame at 48 kHz
  if (config < 12) {
    static constexpr uint32_t kSilk[4] = {480, 960, 1920, 2880};
    frame = kSilk[config & 3];
  } else if (config < 16) {
    frame = (config & 1) ? 960 : 480;
  } else {
    static constexpr uint32_t kCelt[4] = {120, 240, 480, 960};
    frame = kCelt[config & 3];
  }
  uint32_t count = 1;
  switch (toc & 3) {
    case 0:
      count = 1;
      break;
    case 1:
    case 2:
      count = 2;
      break;
    default:
      if (packet.size() < 2 || (packet[1] & 0x3f) == 0) return 960;
      count = packet[1] & 0x3f;
  }
  uint32_t total = frame * count;
  return total <= 5760 ? total : 960;  // at most 120 ms per packet
}

Status Fmp4Writer::setMediaInfo(const MediaInfo& info) {
  video_ = {};
  audio_ = {};
  warning_.clear();
  init_ = {};
  VideoDesc vd;
  AudioDesc ad;
  if (info.video) {
    auto d = describeVideo(*info.video);
    if (d) {
      vd = *d;
      video_.active = true;
      video_.id = kFmp4VideoTrackId;
      video_.timescale = kFmp4VideoTimescale;
      video_.codec = vd.codec;
      double fps = info.video->fps;
      video_.defaultDuration =
          fps >= 1 && fps <= 1000 ? static_cast<uint32_t>(kFmp4VideoTimescale / fps + 0.5) : 3600;
    } else {
      warning_ = d.message();
    }
  }
  if (info.audio) {
    auto d = describeAudio(*info.audio);
    if (d) {
      ad = *d;
      audio_.active = true;
      audio_.id = kFmp4AudioTrackId;
      audio_.timescale = ad.rate;
      audio_.codec = ad.codec;
    } else {
      warning_ += (warning_.empty() ? "" : "; ") + d.message();
    }
  }
  if (!video_.active && !audio_.active)
    return Status::error(warning_.empty() ? "fmp4: no track" : warning_);

  BufferWriter w(1024 + vd.config.size() + ad.asc.size());
  {
    Box ftyp(w, fourcc("ftyp"));
    w.be32(fourcc("iso6"));
    w.be32(0);
    for (uint32_t brand : {fourcc("iso6"), fourcc("cmfc"), fourcc("mp41")}) w.be32(brand);
  }
  Box moov(w, fourcc("moov"));
  writeMvhd(w);
  if (video_.active)
    writeTrak(w, video_.id, video_.timescale, false, vd.width, vd.height,
              [&] { writeVideoEntry(w, vd); });
  if (audio_.active)
    writeTrak(w, audio_.id, audio_.timescale, true, 0, 0, [&] { writeAudioEntry(w, ad); });
  {
    Box mvex(w, fourcc("mvex"));
    if (video_.active) writeTrex(w, video_.id);
    if (audio_.active) writeTrex(w, audio_.id);
  }
  moov.close();
  init_ = w.freeze();
  return Status::ok();
}

bool Fmp4Writer::carries(const TrackState& t, const Frame& f) const {
  return t.active && !f.flags.config && f.codec == t.codec && f.data.size() > 0;
}

uint64_t Fmp4Writer::toTimescale(const TrackState& t, int64_t ms) const {
  if (ms <= 0) return 0;
  return (static_cast<uint64_t>(ms) * t.timescale + 500) / 1000;
}

uint32_t Fmp4Writer::nominalSamples(const TrackState& t, const Frame& f) const {
  if (t.codec == Codec::kAAC) return kAacFrameSamples;
  if (t.codec == Codec::kOpus) return opusPacketSamples(f.data.span());
  return 0;  // video: no nominal duration, the timestamps rule
}

void Fmp4Writer::writeTraf(BufferWriter& out, TrackState& t, std::span<const Frame> frames,
                           size_t count, size_t& dataOffsetPos) {
  bool audio = t.codec == Codec::kAAC || t.codec == Codec::kOpus;
  auto nextOf = [&](size_t i) {
    for (++i; i < frames.size(); ++i)
      if (carries(t, frames[i])) return i;
    return frames.size();
  };
  size_t i = nextOf(static_cast<size_t>(-1));
  // Decode time of the first sample: audio continues the previous fragment's timeline while
  // the source agrees within half a frame.
  uint64_t cur = toTimescale(t, frames[i].dts);
  if (audio && t.haveNext) {
    uint64_t tol = nominalSamples(t, frames[i]) / 2;
    if ((cur > t.nextTime ? cur - t.nextTime : t.nextTime - cur) <= tol) cur = t.nextTime;
  }
  Box traf(out, fourcc("traf"));
  {
    Box tfhd(out, fourcc("tfhd"), 0, kTfhdDefaultBaseIsMoof | (audio ? kTfhdDefaultFlags : 0));
    out.be32(t.id);
    if (audio) out.be32(kSyncSampleFlags);
  }
  {
    Box tfdt(out, fourcc("tfdt"), 1, 0);
    mp4::be64(out, cur);
  }
  Box trun(out, fourcc("trun"), 1, audio ? kAudioTrun : kVideoTrun);
  out.be32(static_cast<uint32_t>(count));
  dataOffsetPos = out.size();
  out.be32(0);  // data_offset, patched once the moof size is known
  uint32_t prevDuration = t.lastDuration ? t.lastDuration : t.defaultDuration;
  for (; i < frames.size();) {
    const Frame& f = frames[i];
    size_t j = nextOf(i);
    uint32_t nominal = nominalSamples(t, f);
    uint32_t duration;
    if (j < frames.size()) {
      uint64_t next = toTimescale(t, frames[j].dts);
      if (audio) {
        uint64_t expect = cur + nominal;
        if ((next > expect ? next - expect : expect - next) <= nominal / 2) next = expect;
      }
      next = std::max(next, cur);
      duration = static_cast<uint32_t>(std::min<uint64_t>(next - cur, UINT32_MAX));
    } else {
      duration = audio ? nominal : prevDuration;
    }
    out.be32(duration);
    out.be32(static_cast<uint32_t>(f.data.size()));
    if (!audio) {
      out.be32(f.flags.key ? kSyncSampleFlags : kNonSyncSampleFlags);
      int64_t cto = (f.pts - f.dts) * (kFmp4VideoTimescale / 1000);
      cto = std::clamp<int64_t>(cto, INT32_MIN, INT32_MAX);
      out.be32(static_cast<uint32_t>(static_cast<int32_t>(cto)));
    }
    cur += duration;
    if (duration) prevDuration = duration;
    i = j;
  }
  t.lastDuration = prevDuration;
  t.nextTime = cur;
  t.haveNext = true;
}

BufferRef Fmp4Writer::fragment(std::span<const Frame> frames, uint32_t sequence) {
  size_t nv = 0, na = 0, bytesV = 0, bytesA = 0;
  for (const Frame& f : frames) {
    if (carries(video_, f)) {
      ++nv;
      bytesV += f.data.size();
    } else if (carries(audio_, f)) {
      ++na;
      bytesA += f.data.size();
    }
  }
  if (nv + na == 0) return {};
  // Exact size, so the fragment is one allocation: moof = header + mfhd + per traf (header,
  // tfhd, tfdt, trun header, per-sample entries), then the mdat header.
  auto trafSize = [](size_t n, bool audio) {
    return n ? 8 + (audio ? 20 : 16) + 20 + 20 + n * (audio ? 8 : 16) : 0;
  };
  size_t moofSize = 8 + 16 + trafSize(nv, false) + trafSize(na, true);
  size_t mdatSize = 8 + bytesV + bytesA;
  if (moofSize + mdatSize > UINT32_MAX) return {};
  BufferWriter out(moofSize + mdatSize);
  size_t posV = 0, posA = 0;
  {
    Box moof(out, fourcc("moof"));
    {
      Box mfhd(out, fourcc("mfhd"), 0, 0);
      out.be32(sequence);
    }
    if (nv) writeTraf(out, video_, frames, nv, posV);
    if (na) writeTraf(out, audio_, frames, na, posA);
  }
  // data_offset is from the start of the moof (default-base-is-moof) to the track's first byte.
  if (nv) mp4::patchBe32(out, posV, static_cast<uint32_t>(moofSize + 8));
  if (na) mp4::patchBe32(out, posA, static_cast<uint32_t>(moofSize + 8 + bytesV));
  out.be32(static_cast<uint32_t>(mdatSize));
  out.be32(fourcc("mdat"));
  for (const Frame& f : frames)
    if (carries(video_, f)) out.append(f.data.span());
  for (const Frame& f : frames)
    if (carries(audio_, f)) out.append(f.data.span());
  return out.freeze();
}

}  // namespace xl::hls
