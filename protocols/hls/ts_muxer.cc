// MPEG-2 TS packetization, ISO/IEC 13818-1: transport packets (2.4.3.2), adaptation field with
// PCR and stuffing (2.4.3.4), PES packets (2.4.3.6), PAT/PMT sections (2.4.4). H.264/H.265 are
// carried as Annex B byte streams with an access unit delimiter (ISO/IEC 13818-1 2.14 / 2.17),
// AAC as ADTS frames (ISO/IEC 13818-7 / 14496-3 1.A.2), as HLS requires (RFC 8216 3.2).
#include "hls/ts_muxer.h"

#include <algorithm>
#include <array>

namespace xl::hls {
namespace {

constexpr uint64_t kMask33 = (uint64_t{1} << 33) - 1;
constexpr uint8_t kStreamIdVideo = 0xE0;  // Table 2-22: video stream number 0
constexpr uint8_t kStreamIdAudio = 0xC0;  // audio stream number 0
constexpr uint8_t kStartCode[4] = {0, 0, 0, 1};

std::array<uint32_t, 256> makeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i << 24;
    for (int k = 0; k < 8; ++k) c = (c & 0x80000000u) ? (c << 1) ^ 0x04C11DB7u : c << 1;
    t[i] = c;
  }
  return t;
}

// PTS / DTS fields, 2.4.3.7: 4-bit prefix, then 33 bits split 3/15/15 with marker bits.
void putTimestamp(uint8_t* p, uint8_t prefix, uint64_t ts) {
  p[0] = static_cast<uint8_t>((prefix << 4) | (((ts >> 30) & 0x07) << 1) | 1);
  p[1] = static_cast<uint8_t>(ts >> 22);
  p[2] = static_cast<uint8_t>((((ts >> 15) & 0x7F) << 1) | 1);
  p[3] = static_cast<uint8_t>(ts >> 7);
  p[4] = static_cast<uint8_t>(((ts & 0x7F) << 1) | 1);
}

void appendNal(std::vector<uint8_t>& es, ByteSpan nal) {
  es.insert(es.end(), kStartCode, kStartCode + 4);
  es.insert(es.end(), nal.begin(), nal.end());
}

}  // namespace

uint32_t crc32Mpeg(std::span<const uint8_t> data) {
  static const std::array<uint32_t, 256> table = makeCrcTable();
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) crc = (crc << 8) ^ table[((crc >> 24) ^ b) & 0xFF];
  return crc;
}

uint64_t tsTime90k(int64_t ms) {
  return static_cast<uint64_t>(ms * 90 + kTsTimeOffset) & kMask33;
}

Status TsMuxer::setMediaInfo(const MediaInfo& info) {
  videoType_ = audioType_ = 0;
  videoCodec_ = Codec::kNone;
  ps_ = {};
  Status result;
  if (info.video) {
    const VideoTrack& v = *info.video;
    if (v.codec == Codec::kH264 && v.config) {
      auto c = h264::parseAvcC(v.config.span());
      if (c) {
        ps_.sps = c->sps;
        ps_.pps = c->pps;
        videoType_ = kStreamTypeH264;
      } else {
        result = c.status();
      }
    } else if (v.codec == Codec::kH265 && v.config) {
      auto c = h265::parseHvcC(v.config.span());
      if (c) {
        ps_ = c->ps;
        videoType_ = kStreamTypeH265;
      } else {
        result = c.status();
      }
    }
    if (videoType_) videoCodec_ = v.codec;
  }
  if (info.audio && info.audio->codec == Codec::kAAC && info.audio->config) {
    auto asc = aac::parseAsc(info.audio->config.span());
    if (asc) {
      asc_ = *asc;
      audioType_ = kStreamTypeAacAdts;
    } else if (result) {
      result = asc.status();
    }
  }
  return result;
}

uint8_t& TsMuxer::cc(uint16_t pid) {
  switch (pid) {
    case kPatPid:
      return ccPat_;
    case kPmtPid:
      return ccPmt_;
    case kVideoPid:
      return ccVideo_;
    default:
      return ccAudio_;
  }
}

void TsMuxer::writeSection(uint16_t pid, std::span<const uint8_t> section, BufferWriter& out) {
  // One packet: pointer_field 0, the section, 0xFF fill (2.4.4.2). Our sections are < 183 bytes.
  uint8_t pkt[kTsPacketSize];
  std::fill(pkt, pkt + kTsPacketSize, 0xFF);
  pkt[0] = 0x47;
  pkt[1] = static_cast<uint8_t>(0x40 | (pid >> 8));  // payload_unit_start_indicator
  pkt[2] = static_cast<uint8_t>(pid);
  pkt[3] = static_cast<uint8_t>(0x10 | (cc(pid) & 0x0F));  // payload only
  cc(pid) = (cc(pid) + 1) & 0x0F;
  pkt[4] = 0;  // pointer_field
  std::copy(section.begin(), section.end(), pkt + 5);
  out.append(pkt, kTsPacketSize);
}

void TsMuxer::writeTables(BufferWriter& out) {
  // program_association_section, 2.4.4.3: one program (number 1) whose PMT is on kPmtPid.
  uint8_t pat[16] = {0x00,
                     0xB0,
                     13,
                     0x00,
                     0x01,
                     0xC1,
                     0x00,
                     0x00,
                     0x00,
                     0x01,
                     static_cast<uint8_t>(0xE0 | (kPmtPid >> 8)),
                     static_cast<uint8_t>(kPmtPid)};
  uint32_t crc = crc32Mpeg({pat, 12});
  pat[12] = static_cast<uint8_t>(crc >> 24);
  pat[13] = static_cast<uint8_t>(crc >> 16);
  pat[14] = static_cast<uint8_t>(crc >> 8);
  pat[15] = static_cast<uint8_t>(crc);
  writeSection(kPatPid, {pat, 16}, out);

  // TS_program_map_section, 2.4.4.8.
  uint16_t pcrPid = videoType_ ? kVideoPid : kAudioPid;
  uint8_t pmt[32];
  size_t n = 0;
  pmt[n++] = 0x02;
  pmt[n++] = 0xB0;  // section_syntax_indicator, '0', reserved; length filled below
  pmt[n++] = 0;
  pmt[n++] = 0x00;
  pmt[n++] = 0x01;  // program_number 1
  pmt[n++] = 0xC1;  // version 0, current_next_indicator
  pmt[n++] = 0x00;
  pmt[n++] = 0x00;
  pmt[n++] = static_cast<uint8_t>(0xE0 | (pcrPid >> 8));
  pmt[n++] = static_cast<uint8_t>(pcrPid);
  pmt[n++] = 0xF0;  // program_info_length 0
  pmt[n++] = 0x00;
  auto addStream = [&](uint8_t type, uint16_t pid) {
    pmt[n++] = type;
    pmt[n++] = static_cast<uint8_t>(0xE0 | (pid >> 8));
    pmt[n++] = static_cast<uint8_t>(pid);
    pmt[n++] = 0xF0;  // ES_info_length 0
    pmt[n++] = 0x00;
  };
  if (videoType_) addStream(videoType_, kVideoPid);
  if (audioType_) addStream(audioType_, kAudioPid);
  size_t sectionLength = n - 3 + 4;  // after the length field, including CRC_32
  pmt[1] = static_cast<uint8_t>(0xB0 | (sectionLength >> 8));
  pmt[2] = static_cast<uint8_t>(sectionLength);
  crc = crc32Mpeg({pmt, n});
  pmt[n++] = static_cast<uint8_t>(crc >> 24);
  pmt[n++] = static_cast<uint8_t>(crc >> 16);
  pmt[n++] = static_cast<uint8_t>(crc >> 8);
  pmt[n++] = static_cast<uint8_t>(crc);
  writeSection(kPmtPid, {pmt, n}, out);
}

Status TsMuxer::buildVideoEs(const Frame& f) {
  es_.clear();
  // Access unit delimiter first (H.264 7.3.2.4 primary_pic_type 7 = any; H.265 7.3.2.5
  // pic_type 2 = any), as ISO/IEC 13818-1 2.14.1 requires for AVC in TS.
  if (videoCodec_ == Codec::kH264) {
    static constexpr uint8_t aud[] = {0x09, 0xF0};
    appendNal(es_, aud);
  } else {
    static constexpr uint8_t aud[] = {0x46, 0x01, 0x50};
    appendNal(es_, aud);
  }
  if (f.flags.key) {  // parameter sets before every keyframe so each segment decodes alone
    for (const Bytes& b : ps_.vps) appendNal(es_, b);
    for (const Bytes& b : ps_.sps) appendNal(es_, b);
    for (const Bytes& b : ps_.pps) appendNal(es_, b);
  }
  NalIterator it(f.data.span(), NalFormat::kLengthPrefixed, 4);
  ByteSpan nal;
  while (it.next(nal)) {
    uint8_t type = videoCodec_ == Codec::kH264 ? h264::nalType(nal[0]) : h265::nalType(nal[0]);
    bool isAud = videoCodec_ == Codec::kH264 ? type == h264::kNalAud : type == h265::kNalAud;
    if (!isAud) appendNal(es_, nal);
  }
  if (it.malformed()) return Status::error("ts: malformed length-prefixed access unit");
  return Status::ok();
}

Status TsMuxer::writeFrame(const Frame& f, BufferWriter& out) {
  if (f.flags.config) return Status::ok();
  if (f.kind == MediaKind::kVideo) {
    if (!videoType_ || f.codec != videoCodec_) return Status::ok();
    if (Status s = buildVideoEs(f); !s) return s;
    uint64_t dts = tsTime90k(f.dts);
    uint64_t pts = tsTime90k(std::max(f.pts, f.dts));
    writePes(kVideoPid, kStreamIdVideo, pts, pts == dts ? nullptr : &dts, true, f.flags.key, false,
             out);
    return Status::ok();
  }
  if (!audioType_ || f.codec != Codec::kAAC) return Status::ok();
  uint8_t adts[aac::kAdtsHeaderSize];
  if (Status s = aac::buildAdtsHeader(asc_, f.data.size(), adts); !s) return s;
  es_.assign(adts, adts + sizeof adts);
  es_.insert(es_.end(), f.data.data(), f.data.data() + f.data.size());
  // Audio-only streams carry the PCR on the audio PID; every AAC frame is a random access point.
  writePes(kAudioPid, kStreamIdAudio, tsTime90k(f.pts), nullptr, !videoType_, !videoType_, true,
           out);
  return Status::ok();
}

void TsMuxer::writePes(uint16_t pid, uint8_t streamId, uint64_t pts, const uint64_t* dts, bool pcr,
                       bool randomAccess, bool boundedLength, BufferWriter& out) {
  // PES header, 2.4.3.6: '10' marker, data_alignment_indicator, PTS (and DTS) flags.
  uint8_t head[19];
  size_t hl = 0;
  head[hl++] = 0;
  head[hl++] = 0;
  head[hl++] = 1;
  head[hl++] = streamId;
  size_t optional = 3 + (dts ? 10 : 5);
  size_t pesLength = optional + es_.size();
  // PES_packet_length 0 (unbounded) is allowed for video only (2.4.3.7).
  uint16_t lengthField =
      boundedLength && pesLength <= 0xFFFF ? static_cast<uint16_t>(pesLength) : 0;
  head[hl++] = static_cast<uint8_t>(lengthField >> 8);
  head[hl++] = static_cast<uint8_t>(lengthField);
  head[hl++] = 0x84;               // '10', data_alignment_indicator
  head[hl++] = dts ? 0xC0 : 0x80;  // PTS_DTS_flags
  head[hl++] = dts ? 10 : 5;       // PES_header_data_length
  putTimestamp(head + hl, dts ? 0x3 : 0x2, pts);
  hl += 5;
  if (dts) {
    putTimestamp(head + hl, 0x1, *dts);
    hl += 5;
  }

  size_t total = hl + es_.size();
  size_t done = 0;
  bool first = true;
  uint8_t pkt[kTsPacketSize];
  while (done < total) {
    size_t afBase = 0;  // adaptation field bytes before stuffing (length and flags, PCR)
    bool withPcr = first && pcr;
    bool withRai = first && randomAccess;
    if (withPcr || withRai) afBase = 2 + (withPcr ? 6 : 0);
    size_t room = 184 - afBase;
    size_t left = total - done;
    size_t payload = std::min(room, left);
    size_t stuffing = room - payload;
    size_t afSize = afBase + stuffing;  // 2.4.3.4: stuffing bytes are 0xFF inside the field

    pkt[0] = 0x47;
    pkt[1] = static_cast<uint8_t>((first ? 0x40 : 0x00) | (pid >> 8));
    pkt[2] = static_cast<uint8_t>(pid);
    pkt[3] = static_cast<uint8_t>((afSize ? 0x30 : 0x10) | (cc(pid) & 0x0F));
    cc(pid) = (cc(pid) + 1) & 0x0F;
    size_t p = 4;
    if (afSize) {
      pkt[p++] = static_cast<uint8_t>(afSize - 1);  // adaptation_field_length
      if (afSize >= 2) {
        pkt[p++] = static_cast<uint8_t>((withRai ? 0x40 : 0) | (withPcr ? 0x10 : 0));
        if (withPcr) {
          // program_clock_reference_base (33 bits), 6 reserved bits, extension 0 (2.4.3.5).
          uint64_t base = ((dts ? *dts : pts) + (uint64_t{1} << 33) - kPcrLead) & kMask33;
          pkt[p++] = static_cast<uint8_t>(base >> 25);
          pkt[p++] = static_cast<uint8_t>(base >> 17);
          pkt[p++] = static_cast<uint8_t>(base >> 9);
          pkt[p++] = static_cast<uint8_t>(base >> 1);
          pkt[p++] = static_cast<uint8_t>(((base & 1) << 7) | 0x7E);
          pkt[p++] = 0x00;
        }
        std::fill(pkt + p, pkt + 4 + afSize, 0xFF);
        p = 4 + afSize;
      }
    }
    // Payload: the rest of the PES header first, then elementary stream bytes.
    size_t n = payload;
    while (n > 0) {
      if (done < hl) {
        size_t k = std::min(n, hl - done);
        std::copy(head + done, head + done + k, pkt + p);
        p += k;
        done += k;
        n -= k;
      } else {
        size_t off = done - hl;
        std::copy(es_.data() + off, es_.data() + off + n, pkt + p);
        p += n;
        done += n;
        n = 0;
      }
    }
    out.append(pkt, kTsPacketSize);
    first = false;
  }
}

}  // namespace xl::hls
