// Buffer: bytes with an intrusive atomic refcount. A buffer is written by its creator, then
// frozen by handing out BufferRefs; after that it is immutable and may cross threads freely.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <utility>

namespace xl {

class Buffer {
 public:
  // One allocation holds header and bytes.
  static Buffer* allocate(size_t capacity);
  static void release(Buffer* b) {
    if (b->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) free(b);
  }
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }

  uint8_t* data() { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(this + 1); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  void setSize(size_t n) { size_ = n; }

 private:
  Buffer() = default;
  static void free(Buffer* b);
  std::atomic<uint32_t> refs_{1};
  uint32_t capacity_ = 0;
  size_t size_ = 0;
};

// Shared, read-only view of a whole Buffer.
class BufferRef {
 public:
  BufferRef() = default;
  // Adopts the creator's reference.
  static BufferRef adopt(Buffer* b) {
    BufferRef r;
    r.b_ = b;
    return r;
  }
  static BufferRef copyOf(const void* data, size_t n);
  static BufferRef copyOf(std::string_view s) { return copyOf(s.data(), s.size()); }

  BufferRef(const BufferRef& o) : b_(o.b_) {
    if (b_) b_->retain();
  }
  BufferRef(BufferRef&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  BufferRef& operator=(BufferRef o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~BufferRef() {
    if (b_) Buffer::release(b_);
  }

  explicit operator bool() const { return b_ != nullptr; }
  const uint8_t* data() const { return b_ ? b_->data() : nullptr; }
  size_t size() const { return b_ ? b_->size() : 0; }
  std::span<const uint8_t> span() const { return {data(), size()}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size()}; }

 private:
  Buffer* b_ = nullptr;
};

// Growable byte writer that freezes into a BufferRef without copying.
class BufferWriter {
 public:
  explicit BufferWriter(size_t initial = 256);
  BufferWriter(const BufferWriter&) = delete;
  BufferWriter& operator=(const BufferWriter&) = delete;
  ~BufferWriter() {
    if (b_) Buffer::release(b_);
  }

  void reserve(size_t extra);
  void append(const void* p, size_t n) {
    if (n == 0) return;
    reserve(n);
    std::memcpy(b_->data() + b_->size(), p, n);
    b_->setSize(b_->size() + n);
  }
  void append(std::span<const uint8_t> s) { append(s.data(), s.size()); }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void u8(uint8_t v) { append(&v, 1); }
  void be16(uint16_t v) {
    uint8_t t[2] = {uint8_t(v >> 8), uint8_t(v)};
    append(t, 2);
  }
  void be24(uint32_t v) {
    uint8_t t[3] = {uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    append(t, 3);
  }
  void be32(uint32_t v) {
    uint8_t t[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
    append(t, 4);
  }
  void le32(uint32_t v) {
    uint8_t t[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    append(t, 4);
  }
  size_t size() const { return b_ ? b_->size() : 0; }
  uint8_t* data() {
    if (!b_) reserve(0);
    return b_->data();
  }
  // Empties the writer but keeps its memory, for scratch use.
  void clear() {
    if (b_) b_->setSize(0);
  }
  // Hands the bytes over; the writer is empty afterwards.
  BufferRef freeze();

 private:
  Buffer* b_;
};

}  // namespace xl
