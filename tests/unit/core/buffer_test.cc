#include "xueliang/buffer.h"

#include <gtest/gtest.h>

#include <string>

namespace xl {
namespace {

// Buffer is standard-layout with the refcount as its first member; reading it lets the tests
// check every retain and release instead of trusting that nothing crashed.
uint32_t refs(const Buffer* b) {
  return reinterpret_cast<const std::atomic<uint32_t>*>(b)->load();
}

TEST(BufferRef, CopyMoveAndReleaseAdjustRefcount) {
  Buffer* b = Buffer::allocate(16);
  b->setSize(4);
  b->retain();  // the test's own reference, so the buffer stays observable
  ASSERT_EQ(refs(b), 2u);
  {
    BufferRef r = BufferRef::adopt(b);  // adopts the creator's reference
    EXPECT_EQ(refs(b), 2u);
    EXPECT_EQ(r.data(), b->data());
    EXPECT_EQ(r.size(), 4u);
    {
      BufferRef c = r;  // copy: +1
      EXPECT_EQ(refs(b), 3u);
      BufferRef d(r);
      EXPECT_EQ(refs(b), 4u);
      BufferRef m = std::move(d);  // move: no change, source empty
      EXPECT_EQ(refs(b), 4u);
      EXPECT_FALSE(d);
      EXPECT_EQ(d.data(), nullptr);
      EXPECT_EQ(d.size(), 0u);
      EXPECT_EQ(m.data(), b->data());
    }
    EXPECT_EQ(refs(b), 2u);  // c and m released
    BufferRef e;
    e = r;  // copy-assign into empty
    EXPECT_EQ(refs(b), 3u);
    e = r;  // copy-assign the same buffer again: net unchanged
    EXPECT_EQ(refs(b), 3u);
    e = e;  // self-assignment keeps exactly one reference
    EXPECT_EQ(refs(b), 3u);
    e = BufferRef();  // assigning empty releases
    EXPECT_EQ(refs(b), 2u);
    BufferRef f;
    f = std::move(r);  // move-assign: no change
    EXPECT_EQ(refs(b), 2u);
    EXPECT_FALSE(r);
  }
  EXPECT_EQ(refs(b), 1u);
  Buffer::release(b);
}

TEST(BufferRef, AssignReleasesPreviousBuffer) {
  Buffer* x = Buffer::allocate(1);
  Buffer* y = Buffer::allocate(1);
  x->retain();
  y->retain();
  {
    BufferRef r = BufferRef::adopt(x);
    BufferRef s = BufferRef::adopt(y);
    r = s;
    EXPECT_EQ(refs(x), 1u);
    EXPECT_EQ(refs(y), 3u);
  }
  EXPECT_EQ(refs(y), 1u);
  Buffer::release(x);
  Buffer::release(y);
}

TEST(BufferRef, CopyOfCopiesBytes) {
  std::string s = "hello world";
  BufferRef r = BufferRef::copyOf(s);
  ASSERT_TRUE(r);
  EXPECT_NE(static_cast<const void*>(r.data()), static_cast<const void*>(s.data()));
  EXPECT_EQ(r.view(), "hello world");
  s[0] = 'J';
  EXPECT_EQ(r.view(), "hello world");
  EXPECT_EQ(r.span().size(), 11u);
  BufferRef empty = BufferRef::copyOf(nullptr, 0);
  EXPECT_TRUE(empty);
  EXPECT_EQ(empty.size(), 0u);
}

TEST(BufferWriter, FreezeHandsOverWithoutCopying) {
  BufferWriter w(64);
  w.append(std::string_view("abc"));
  const uint8_t* p = w.data();
  BufferRef r = w.freeze();
  EXPECT_EQ(r.data(), p);  // same memory: no copy on freeze
  EXPECT_EQ(r.view(), "abc");
  EXPECT_EQ(w.size(), 0u);  // the writer is empty afterwards
  // The writer is usable again and does not touch the frozen bytes.
  w.append(std::string_view("xyz"));
  EXPECT_NE(w.data(), p);
  EXPECT_EQ(r.view(), "abc");
  BufferRef r2 = w.freeze();
  EXPECT_EQ(r2.view(), "xyz");
  // Freezing an emptied writer gives an empty buffer, not a crash.
  BufferRef r3 = w.freeze();
  EXPECT_EQ(r3.size(), 0u);
}

TEST(BufferWriter, FrozenBufferHasOneReference) {
  BufferWriter w(8);
  w.u8(1);
  BufferRef r = w.freeze();
  // Reach the Buffer through the ref: its data sits right after the header.
  const Buffer* b = reinterpret_cast<const Buffer*>(r.data()) - 1;
  EXPECT_EQ(refs(b), 1u);
  BufferRef c = r;
  EXPECT_EQ(refs(b), 2u);
}

TEST(BufferWriter, GrowsAndKeepsContents) {
  BufferWriter w(4);
  std::string expect;
  for (int i = 0; i < 1000; ++i) {
    w.u8(static_cast<uint8_t>(i));
    expect.push_back(static_cast<char>(i));
  }
  w.append(std::string(5000, 'z'));
  expect.append(5000, 'z');
  ASSERT_EQ(w.size(), expect.size());
  BufferRef r = w.freeze();
  EXPECT_EQ(r.view(), expect);
}

TEST(BufferWriter, IntegerEncodings) {
  BufferWriter w;
  w.be16(0x0102);
  w.be24(0x030405);
  w.be32(0x06070809);
  w.le32(0x0d0c0b0a);
  BufferRef r = w.freeze();
  const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0x0a, 0x0b, 0x0c, 0x0d};
  ASSERT_EQ(r.size(), sizeof(want));
  EXPECT_EQ(0, std::memcmp(r.data(), want, sizeof(want)));
}

TEST(BufferWriter, ClearKeepsMemory) {
  BufferWriter w(128);
  w.append(std::string(100, 'a'));
  uint8_t* p = w.data();
  w.clear();
  EXPECT_EQ(w.size(), 0u);
  w.append(std::string(100, 'b'));
  EXPECT_EQ(w.data(), p);  // no reallocation: the memory was kept
  BufferRef r = w.freeze();
  EXPECT_EQ(r.view(), std::string(100, 'b'));
}

TEST(BufferWriter, ReserveAfterFreezeAllocatesAgain) {
  BufferWriter w(16);
  w.u8(7);
  BufferRef first = w.freeze();
  w.reserve(1000);
  w.append(std::string(1000, 'q'));
  BufferRef second = w.freeze();
  EXPECT_EQ(second.size(), 1000u);
  EXPECT_EQ(first.size(), 1u);
  EXPECT_EQ(first.data()[0], 7);
}

}  // namespace
}  // namespace xl
