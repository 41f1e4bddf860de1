#include "xueliang/buffer.h"

#include <cstdlib>
#include <new>

namespace xl {

Buffer* Buffer::allocate(size_t capacity) {
  void* p = std::malloc(sizeof(Buffer) + capacity);
  if (!p) throw std::bad_alloc();
  auto* b = new (p) Buffer();
  b->capacity_ = static_cast<uint32_t>(capacity);
  return b;
}

void Buffer::free(Buffer* b) {
  b->~Buffer();
  std::free(b);
}

BufferRef BufferRef::copyOf(const void* data, size_t n) {
  Buffer* b = Buffer::allocate(n);
  if (n) std::memcpy(b->data(), data, n);
  b->setSize(n);
  return adopt(b);
}

BufferWriter::BufferWriter(size_t initial) : b_(Buffer::allocate(initial)) {}

void BufferWriter::reserve(size_t extra) {
  if (!b_) b_ = Buffer::allocate(extra > 256 ? extra : 256);
  size_t need = b_->size() + extra;
  if (need <= b_->capacity()) return;
  size_t cap = b_->capacity() * 2;
  if (cap < need) cap = need;
  Buffer* n = Buffer::allocate(cap);
  std::memcpy(n->data(), b_->data(), b_->size());
  n->setSize(b_->size());
  Buffer::release(b_);
  b_ = n;
}

BufferRef BufferWriter::freeze() {
  if (!b_) return BufferRef::copyOf(nullptr, 0);
  return BufferRef::adopt(std::exchange(b_, nullptr));
}

}  // namespace xl
