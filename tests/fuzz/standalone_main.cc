// Runs a libFuzzer target without libFuzzer, so every normal build (and CI) exercises each fuzz
// target: it replays the seed files given on the command line (files or folders), then a fixed
// number of deterministic mutations of them (bit flips, truncations, splices, random bytes).
// The coverage-guided search itself runs with `make fuzz` (clang, -DXUELIANG_FUZZ=ON).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using Bytes = std::vector<uint8_t>;

struct Rng {
  uint64_t s = 0x9E3779B97F4A7C15ull;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  size_t below(size_t n) { return n ? next() % n : 0; }
};

void collect(const std::filesystem::path& p, std::vector<Bytes>& seeds) {
  if (std::filesystem::is_directory(p)) {
    for (auto& e : std::filesystem::recursive_directory_iterator(p))
      if (e.is_regular_file()) collect(e.path(), seeds);
    return;
  }
  std::ifstream in(p, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (b.size() > (1 << 20)) b.resize(1 << 20);
  seeds.push_back(std::move(b));
}

Bytes mutate(const std::vector<Bytes>& seeds, Rng& rng) {
  Bytes b = seeds[rng.below(seeds.size())];
  int ops = 1 + static_cast<int>(rng.below(8));
  for (int i = 0; i < ops; ++i) {
    switch (rng.below(6)) {
      case 0:  // flip a bit
        if (!b.empty()) b[rng.below(b.size())] ^= static_cast<uint8_t>(1u << rng.below(8));
        break;
      case 1:  // truncate
        b.resize(rng.below(b.size() + 1));
        break;
      case 2:  // random byte, often an edge value
        if (!b.empty()) {
          static const uint8_t edges[] = {0, 1, 0x7F, 0x80, 0xFE, 0xFF};
          b[rng.below(b.size())] =
              rng.below(2) ? edges[rng.below(sizeof edges)] : static_cast<uint8_t>(rng.next());
        }
        break;
      case 3: {  // splice another seed in
        const Bytes& o = seeds[rng.below(seeds.size())];
        size_t at = rng.below(b.size() + 1);
        size_t from = rng.below(o.size() + 1);
        b.insert(b.begin() + at, o.begin() + from, o.end());
        break;
      }
      case 4: {  // duplicate a run
        if (b.empty()) break;
        size_t from = rng.below(b.size());
        size_t len = rng.below(std::min<size_t>(64, b.size() - from) + 1);
        Bytes run(b.begin() + from, b.begin() + from + len);
        b.insert(b.begin() + rng.below(b.size() + 1), run.begin(), run.end());
        break;
      }
      default:  // append random bytes
        for (size_t n = rng.below(32); n > 0; --n) b.push_back(static_cast<uint8_t>(rng.next()));
    }
  }
  if (b.size() > (1 << 20)) b.resize(1 << 20);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 20000;
  std::vector<Bytes> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) {
      iterations = std::atol(a.c_str() + 6);
      continue;
    }
    collect(a, seeds);
  }
  seeds.push_back({});
  Rng rng;
  Bytes noise(4096);
  for (auto& c : noise) c = static_cast<uint8_t>(rng.next());
  seeds.push_back(noise);
  for (const Bytes& s : seeds) LLVMFuzzerTestOneInput(s.data(), s.size());
  for (long i = 0; i < iterations; ++i) {
    Bytes b = mutate(seeds, rng);
    LLVMFuzzerTestOneInput(b.data(), b.size());
  }
  std::printf("replayed %zu seeds and %ld mutations without a crash\n", seeds.size(), iterations);
  return 0;
}
