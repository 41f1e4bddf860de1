// AMF0 values, decoder and encoder (Adobe "Action Message Format -- AMF 0", 2007).
// Used by RTMP command (type 20) and data (type 18) messages and by FLV script tags.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "xueliang/buffer.h"
#include "xueliang/status.h"

namespace xl::rtmp {

// AMF0 type markers (AMF0 spec §2.1).
enum class Amf0Type : uint8_t {
  kNumber = 0x00,
  kBoolean = 0x01,
  kString = 0x02,
  kObject = 0x03,
  kNull = 0x05,
  kUndefined = 0x06,
  kEcmaArray = 0x08,
  kObjectEnd = 0x09,
  kStrictArray = 0x0A,
  kDate = 0x0B,
  kLongString = 0x0C,
};

struct Amf0Value;
// Properties keep their wire order: onMetaData and connect objects are read by humans.
using Amf0Properties = std::vector<std::pair<std::string, Amf0Value>>;
using Amf0Items = std::vector<Amf0Value>;
struct Amf0Date {
  double ms = 0;         // milliseconds since the Unix epoch
  int16_t timezone = 0;  // reserved by the spec, should be 0
  bool operator==(const Amf0Date&) const = default;
};

// One AMF0 value. `type` tells apart kinds that share a representation (string/long string,
// object/ECMA array, null/undefined/object end).
struct Amf0Value {
  Amf0Type type = Amf0Type::kNull;
  std::variant<std::monostate, double, bool, std::string, Amf0Properties, Amf0Items, Amf0Date> v;

  static Amf0Value number(double d) { return {Amf0Type::kNumber, d}; }
  static Amf0Value boolean(bool b) { return {Amf0Type::kBoolean, b}; }
  // Picks the long-string form when the string does not fit a 16-bit length.
  static Amf0Value string(std::string s) {
    Amf0Type t = s.size() > 0xFFFF ? Amf0Type::kLongString : Amf0Type::kString;
    return {t, std::move(s)};
  }
  static Amf0Value null() { return {Amf0Type::kNull, std::monostate{}}; }
  static Amf0Value undefined() { return {Amf0Type::kUndefined, std::monostate{}}; }
  static Amf0Value objectEnd() { return {Amf0Type::kObjectEnd, std::monostate{}}; }
  static Amf0Value object(Amf0Properties p = {}) { return {Amf0Type::kObject, std::move(p)}; }
  static Amf0Value ecmaArray(Amf0Properties p = {}) { return {Amf0Type::kEcmaArray, std::move(p)}; }
  static Amf0Value strictArray(Amf0Items items) {
    return {Amf0Type::kStrictArray, std::move(items)};
  }
  static Amf0Value date(double ms, int16_t tz = 0) { return {Amf0Type::kDate, Amf0Date{ms, tz}}; }

  bool isNumber() const { return type == Amf0Type::kNumber; }
  bool isBoolean() const { return type == Amf0Type::kBoolean; }
  bool isString() const { return type == Amf0Type::kString || type == Amf0Type::kLongString; }
  bool isNull() const { return type == Amf0Type::kNull || type == Amf0Type::kUndefined; }
  // Object or ECMA array: both are key/value maps on the wire.
  bool isMap() const { return type == Amf0Type::kObject || type == Amf0Type::kEcmaArray; }

  // Typed accessors; they return a neutral value when the type does not match, so command
  // handlers can read optional fields without a check per field.
  double asNumber(double fallback = 0) const { return isNumber() ? std::get<double>(v) : fallback; }
  bool asBoolean(bool fallback = false) const { return isBoolean() ? std::get<bool>(v) : fallback; }
  std::string_view asString() const {
    return isString() ? std::string_view(std::get<std::string>(v)) : std::string_view();
  }
  const Amf0Properties* properties() const {
    return isMap() ? &std::get<Amf0Properties>(v) : nullptr;
  }
  const Amf0Items* items() const {
    return type == Amf0Type::kStrictArray ? &std::get<Amf0Items>(v) : nullptr;
  }
  // First property with this key in an object/ECMA array, or nullptr.
  const Amf0Value* get(std::string_view key) const;

  bool operator==(const Amf0Value&) const = default;
};

// Reads AMF0 values one at a time from a byte span it does not own.
class Amf0Decoder {
 public:
  static constexpr int kMaxDepth = 32;

  explicit Amf0Decoder(std::span<const uint8_t> data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  size_t offset() const { return pos_; }
  // Decodes the next value; on error the position is unspecified and decoding should stop.
  Result<Amf0Value> next();

 private:
  Status readValue(Amf0Value& out, int depth);
  Status readProperties(Amf0Properties& out, int depth, bool endOptional);
  Status readUtf8(std::string& out, size_t lengthBytes);
  size_t remaining() const { return data_.size() - pos_; }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
};

namespace amf0 {

// Decodes every value in `data` (a command or data message body).
Result<std::vector<Amf0Value>> decodeAll(std::span<const uint8_t> data);

void encode(BufferWriter& w, const Amf0Value& value);
// Shorthands for building command messages without constructing Amf0Value trees.
void writeNumber(BufferWriter& w, double d);
void writeBoolean(BufferWriter& w, bool b);
void writeString(BufferWriter& w, std::string_view s);  // long-string form if > 65535 bytes
void writeNull(BufferWriter& w);
// Object/ECMA-array bodies: begin, then writeKey + a value per property, then end.
void writeObjectBegin(BufferWriter& w);
void writeEcmaArrayBegin(BufferWriter& w, uint32_t countHint);
void writeKey(BufferWriter& w, std::string_view key);  // keys are truncated at 65535 bytes
void writeObjectEnd(BufferWriter& w);

}  // namespace amf0
}  // namespace xl::rtmp
