// RAII for libuv handles: the handle is heap-allocated, closed with uv_close when the owner goes
// away, and freed in the close callback, as libuv's handle lifetime rules require.
#pragma once

#include <uv.h>

#include <utility>

namespace xl {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  ~UvHandle() { reset(); }

  // Allocates the handle; the caller then runs uv_xxx_init on get().
  T* make() {
    reset();
    h_ = new T{};
    return h_;
  }
  T* get() const { return h_; }
  // Gives up ownership: the caller closes the handle and frees it in its own close callback.
  T* release() { return std::exchange(h_, nullptr); }
  explicit operator bool() const { return h_ != nullptr; }

  void reset() {
    if (!h_) return;
    auto* h = reinterpret_cast<uv_handle_t*>(std::exchange(h_, nullptr));
    if (h->loop == nullptr) {  // never initialised
      delete reinterpret_cast<T*>(h);
      return;
    }
    h->data = nullptr;
    if (!uv_is_closing(h)) uv_close(h, [](uv_handle_t* x) { delete reinterpret_cast<T*>(x); });
  }

 private:
  T* h_ = nullptr;
};

}  // namespace xl
