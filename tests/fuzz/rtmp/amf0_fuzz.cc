// Decode arbitrary AMF0; whatever decodes must re-encode and decode to the same values.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "rtmp/amf0.h"

namespace {
// NaN != NaN, so compare trees only when they hold no NaN.
bool hasNan(const xl::rtmp::Amf0Value& v) {
  if (v.isNumber() && std::isnan(v.asNumber())) return true;
  if (auto* d = std::get_if<xl::rtmp::Amf0Date>(&v.v); d && std::isnan(d->ms)) return true;
  if (auto* p = v.properties()) {
    for (const auto& [k, c] : *p) {
      if (hasNan(c)) return true;
    }
  }
  if (auto* items = v.items()) {
    for (const auto& c : *items) {
      if (hasNan(c)) return true;
    }
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto values = xl::rtmp::amf0::decodeAll({data, size});
  if (!values) return 0;
  xl::BufferWriter w;
  for (const auto& v : *values) xl::rtmp::amf0::encode(w, v);
  xl::BufferRef b = w.freeze();
  auto again = xl::rtmp::amf0::decodeAll(b.span());
  if (!again) __builtin_trap();
  bool nan = false;
  for (const auto& v : *values) nan = nan || hasNan(v);
  // Object-end markers at top level re-encode as themselves; ECMA arrays gain an end marker.
  if (!nan && *again != *values) __builtin_trap();
  return 0;
}
