// A small MPEG-TS reader for the tests (ISO/IEC 13818-1 2.4.3): checks packet structure and
// continuity counters, collects PCRs and reassembles PES packets per PID.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace xl::test {

struct TsPes {
  uint16_t pid = 0;
  uint8_t streamId = 0;
  uint16_t lengthField = 0;
  bool hasDts = false;
  uint64_t pts = 0, dts = 0;
  bool randomAccess = false;
  std::vector<uint8_t> payload;  // elementary stream bytes
};

struct TsReader {
  std::vector<std::string> errors;
  std::map<uint16_t, int> lastCc;
  std::vector<std::pair<uint16_t, uint64_t>> pcrs;  // (pid, base)
  std::vector<std::vector<uint8_t>> sections;       // PSI sections (after pointer_field)
  std::vector<uint16_t> sectionPids;
  std::vector<TsPes> pes;
  std::map<uint16_t, TsPes> open;
  std::map<uint16_t, std::vector<uint8_t>> raw;
  size_t stuffingBytes = 0;

  static uint64_t readTs(const uint8_t* p) {
    return (uint64_t(p[0] >> 1 & 7) << 30) | (uint64_t(p[1]) << 22) | (uint64_t(p[2] >> 1) << 15) |
           (uint64_t(p[3]) << 7) | (p[4] >> 1);
  }

  void closePes(uint16_t pid) {
    auto it = raw.find(pid);
    if (it == raw.end() || it->second.empty()) return;
    auto& b = it->second;
    TsPes p = open[pid];
    if (b.size() < 9 || b[0] != 0 || b[1] != 0 || b[2] != 1) {
      errors.push_back("bad PES start");
    } else {
      p.pid = pid;
      p.streamId = b[3];
      p.lengthField = uint16_t(b[4] << 8 | b[5]);
      uint8_t flags = b[7];
      size_t hl = b[8];
      if (flags & 0x80) p.pts = readTs(&b[9]);
      if ((flags & 0xC0) == 0xC0) {
        p.hasDts = true;
        p.dts = readTs(&b[14]);
      } else {
        p.dts = p.pts;
      }
      p.payload.assign(b.begin() + 9 + hl, b.end());
      if (p.lengthField && p.lengthField != b.size() - 6) errors.push_back("PES length mismatch");
      pes.push_back(std::move(p));
    }
    b.clear();
  }

  void feed(const uint8_t* d, size_t n) {
    if (n % 188) errors.push_back("not a whole number of packets");
    for (size_t off = 0; off + 188 <= n; off += 188) {
      const uint8_t* p = d + off;
      if (p[0] != 0x47) {
        errors.push_back("sync");
        continue;
      }
      bool pusi = p[1] & 0x40;
      uint16_t pid = uint16_t((p[1] & 0x1F) << 8 | p[2]);
      int afc = (p[3] >> 4) & 3;
      int cc = p[3] & 0xF;
      if (lastCc.count(pid) && ((lastCc[pid] + 1) & 0xF) != cc)
        errors.push_back("CC jump on pid " + std::to_string(pid));
      lastCc[pid] = cc;
      size_t pos = 4;
      bool rai = false;
      if (afc & 2) {
        size_t len = p[4];
        if (len > 183) {
          errors.push_back("af too long");
          continue;
        }
        if (len > 0) {
          uint8_t flags = p[5];
          rai = flags & 0x40;
          size_t q = 6;
          if (flags & 0x10) {
            uint64_t base = (uint64_t(p[6]) << 25) | (uint64_t(p[7]) << 17) |
                            (uint64_t(p[8]) << 9) | (uint64_t(p[9]) << 1) | (p[10] >> 7);
            pcrs.emplace_back(pid, base);
            q += 6;
          }
          for (size_t i = q; i < 5 + len; ++i) {
            if (p[i] != 0xFF) errors.push_back("stuffing byte not 0xFF");
            ++stuffingBytes;
          }
        } else {
          ++stuffingBytes;
        }
        pos = 5 + len;
      }
      if (!(afc & 1)) continue;
      if (pid == 0 || pid == 0x1000) {
        if (pusi) {
          size_t ptr = p[pos];
          sections.emplace_back(p + pos + 1 + ptr, p + 188);
          sectionPids.push_back(pid);
        }
        continue;
      }
      if (pusi) {
        closePes(pid);
        open[pid] = TsPes{};
        open[pid].randomAccess = rai;
      }
      raw[pid].insert(raw[pid].end(), p + pos, p + 188);
    }
  }
  void finish() {
    std::vector<uint16_t> pids;
    for (auto& [pid, _] : raw) pids.push_back(pid);
    for (auto pid : pids) closePes(pid);
  }
};

}  // namespace xl::test
