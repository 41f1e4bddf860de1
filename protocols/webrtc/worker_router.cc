#include "webrtc/worker_router.h"

#include <netinet/in.h>

#include <cstring>
#include <new>

namespace xl::webrtc {
namespace {

// RFC 8839 §5.4 ice-chars (the "+" and "/" left out: they need escaping in some clients).
constexpr std::string_view kIceChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int iceCharValue(char c) {
  size_t at = kIceChars.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

std::string ufragPrefix(int index) {
  const int base = static_cast<int>(kIceChars.size());
  return {kIceChars[(index / base) % base], kIceChars[index % base]};
}

int workerOfUfrag(std::string_view ufrag) {
  if (ufrag.size() < 2) return -1;
  int hi = iceCharValue(ufrag[0]), lo = iceCharValue(ufrag[1]);
  if (hi < 0 || lo < 0) return -1;
  return hi * static_cast<int>(kIceChars.size()) + lo;
}

std::string addressKey(const UdpAddress& a) {
  std::string k;
  if (a.addr.ss_family == AF_INET) {
    auto* s = reinterpret_cast<const sockaddr_in*>(&a.addr);
    k.assign(1, '4');
    k.append(reinterpret_cast<const char*>(&s->sin_port), 2);
    k.append(reinterpret_cast<const char*>(&s->sin_addr), 4);
  } else if (a.addr.ss_family == AF_INET6) {
    auto* s = reinterpret_cast<const sockaddr_in6*>(&a.addr);
    k.assign(1, '6');
    k.append(reinterpret_cast<const char*>(&s->sin6_port), 2);
    k.append(reinterpret_cast<const char*>(&s->sin6_addr), 16);
  }
  return k;
}

struct ParcelPool::Parcel final : Task {
  Parcel(ParcelSink& sink, const uint8_t* d, size_t len, const UdpAddress& f)
      : to(sink), from(f), n(len) {
    std::memcpy(data, d, len);
  }
  void run() override { to.onForwarded(data, n, from); }
  // The worker deletes a task after running it (or when it is destroyed with the task unrun):
  // the memory goes back to its pool instead of the heap.
  static void operator delete(void* p);

  ParcelSink& to;
  UdpAddress from;
  size_t n;
  uint8_t data[kMaxDatagram];
};

struct ParcelPool::Slot {
  ParcelPool* pool;
  Slot* nextFree;
  alignas(Parcel) unsigned char object[sizeof(Parcel)];
};

void ParcelPool::Parcel::operator delete(void* p) {
  auto* slot = reinterpret_cast<Slot*>(static_cast<unsigned char*>(p) - offsetof(Slot, object));
  slot->pool->giveBack(slot);
}

ParcelPool::ParcelPool(size_t parcels)
    : size_(parcels), storage_(new unsigned char[parcels * sizeof(Slot)]), free_(parcels) {}

ParcelPool::~ParcelPool() = default;  // slots are trivially destructible

ParcelPool::Slot* ParcelPool::take() {
  if (!local_) local_ = returned_.exchange(nullptr, std::memory_order_acquire);
  Slot* s = local_;
  if (s) {
    local_ = s->nextFree;
  } else if (carved_ < size_) {
    // Recycled slots first: a never-used one is carved only when all in use are in flight.
    s = new (storage_.get() + carved_++ * sizeof(Slot)) Slot;
    s->pool = this;
  } else {
    return nullptr;
  }
  free_.fetch_sub(1, std::memory_order_relaxed);
  return s;
}

void ParcelPool::giveBack(Slot* s) {
  // Producers only push and the owner takes the whole list at once, so there is no ABA.
  Slot* head = returned_.load(std::memory_order_relaxed);
  do {
    s->nextFree = head;
  } while (!returned_.compare_exchange_weak(head, s, std::memory_order_release,
                                            std::memory_order_relaxed));
  free_.fetch_add(1, std::memory_order_relaxed);
}

bool ParcelPool::forward(Worker& worker, ParcelSink& to, const uint8_t* data, size_t n,
                         const UdpAddress& from) {
  Slot* s = n <= kMaxDatagram ? take() : nullptr;
  if (!s) {
    ++dropped_;
    return false;
  }
  ++forwarded_;
  worker.post(new (s->object) Parcel(to, data, n, from));
  return true;
}

}  // namespace xl::webrtc
