#include "rtmp/amf0.h"

#include <bit>
#include <cstring>

namespace xl::rtmp {
namespace {

std::string fmtErr(const char* what, size_t need, size_t have) {
  return std::string("amf0: ") + what + " " + std::to_string(need) + " exceeds remaining " +
         std::to_string(have) + " bytes";
}

uint32_t readBe(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

double readDouble(const uint8_t* p) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
  return std::bit_cast<double>(bits);
}

}  // namespace

const Amf0Value* Amf0Value::get(std::string_view key) const {
  const Amf0Properties* props = properties();
  if (!props) return nullptr;
  for (const auto& [k, val] : *props) {
    if (k == key) return &val;
  }
  return nullptr;
}

Result<Amf0Value> Amf0Decoder::next() {
  Amf0Value v;
  Status s = readValue(v, 0);
  if (!s) return s;
  return v;
}

Status Amf0Decoder::readUtf8(std::string& out, size_t lengthBytes) {
  if (remaining() < lengthBytes) {
    return Status::error(fmtErr("string length field of", lengthBytes, remaining()));
  }
  size_t len = readBe(data_.data() + pos_, lengthBytes);
  pos_ += lengthBytes;
  // AMF0 §2.4/§2.14: the length is checked against what is left before anything is copied.
  if (len > remaining()) return Status::error(fmtErr("string length", len, remaining()));
  out.assign(reinterpret_cast<const char*>(data_.data() + pos_), len);
  pos_ += len;
  return Status::ok();
}

// Object (§2.5) and ECMA array (§2.10) bodies: UTF-8 key + value pairs ended by an empty key and
// the object-end marker. Some encoders end an ECMA array at the end of the message without the
// marker; `endOptional` accepts that.
Status Amf0Decoder::readProperties(Amf0Properties& out, int depth, bool endOptional) {
  for (;;) {
    if (endOptional && remaining() == 0) return Status::ok();
    std::string key;
    if (Status s = readUtf8(key, 2); !s) return s;
    if (key.empty()) {
      if (remaining() == 0) {
        if (endOptional) return Status::ok();
        return Status::error("amf0: object missing end marker");
      }
      if (data_[pos_] == static_cast<uint8_t>(Amf0Type::kObjectEnd)) {
        ++pos_;
        return Status::ok();
      }
    }
    Amf0Value value;
    if (Status s = readValue(value, depth + 1); !s) return s;
    out.emplace_back(std::move(key), std::move(value));
  }
}

Status Amf0Decoder::readValue(Amf0Value& out, int depth) {
  if (depth >= kMaxDepth) {
    return Status::error("amf0: nesting deeper than " + std::to_string(kMaxDepth));
  }
  if (remaining() == 0) return Status::error("amf0: truncated, expected a type marker");
  uint8_t marker = data_[pos_++];
  switch (static_cast<Amf0Type>(marker)) {
    case Amf0Type::kNumber:  // §2.2: IEEE-754 double, big-endian
      if (remaining() < 8) return Status::error(fmtErr("number size", 8, remaining()));
      out = Amf0Value::number(readDouble(data_.data() + pos_));
      pos_ += 8;
      return Status::ok();
    case Amf0Type::kBoolean:  // §2.3
      if (remaining() < 1) return Status::error(fmtErr("boolean size", 1, remaining()));
      out = Amf0Value::boolean(data_[pos_++] != 0);
      return Status::ok();
    case Amf0Type::kString:        // §2.4
    case Amf0Type::kLongString: {  // §2.14
      std::string s;
      bool isLong = marker == static_cast<uint8_t>(Amf0Type::kLongString);
      if (Status st = readUtf8(s, isLong ? 4 : 2); !st) return st;
      out.type = isLong ? Amf0Type::kLongString : Amf0Type::kString;
      out.v = std::move(s);
      return Status::ok();
    }
    case Amf0Type::kObject: {  // §2.5
      Amf0Properties props;
      if (Status s = readProperties(props, depth, false); !s) return s;
      out = Amf0Value::object(std::move(props));
      return Status::ok();
    }
    case Amf0Type::kNull:
      out = Amf0Value::null();
      return Status::ok();
    case Amf0Type::kUndefined:
      out = Amf0Value::undefined();
      return Status::ok();
    case Amf0Type::kEcmaArray: {  // §2.10: the count is only a hint, the end marker decides
      if (remaining() < 4) return Status::error(fmtErr("ecma array count size", 4, remaining()));
      pos_ += 4;
      Amf0Properties props;
      if (Status s = readProperties(props, depth, true); !s) return s;
      out = Amf0Value::ecmaArray(std::move(props));
      return Status::ok();
    }
    case Amf0Type::kObjectEnd:
      out = Amf0Value::objectEnd();
      return Status::ok();
    case Amf0Type::kStrictArray: {  // §2.12
      if (remaining() < 4) return Status::error(fmtErr("strict array count size", 4, remaining()));
      uint32_t count = readBe(data_.data() + pos_, 4);
      pos_ += 4;
      // Every value takes at least one byte: bound the count before reserving memory.
      if (count > remaining())
        return Status::error(fmtErr("strict array count", count, remaining()));
      Amf0Items items;
      items.reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        Amf0Value item;
        if (Status s = readValue(item, depth + 1); !s) return s;
        items.push_back(std::move(item));
      }
      out = Amf0Value::strictArray(std::move(items));
      return Status::ok();
    }
    case Amf0Type::kDate: {  // §2.13: double ms + S16 time zone
      if (remaining() < 10) return Status::error(fmtErr("date size", 10, remaining()));
      double ms = readDouble(data_.data() + pos_);
      auto tz = static_cast<int16_t>(readBe(data_.data() + pos_ + 8, 2));
      pos_ += 10;
      out = Amf0Value::date(ms, tz);
      return Status::ok();
    }
  }
  // MovieClip, reference, unsupported, recordset, XML, typed object, AVM+ (AMF3 switch).
  return Status::error(
      "amf0: unsupported type marker 0x" + std::string(1, "0123456789abcdef"[marker >> 4]) +
      std::string(1, "0123456789abcdef"[marker & 15]) + " at offset " + std::to_string(pos_ - 1));
}

namespace amf0 {
namespace {
void writeDouble(BufferWriter& w, double d) {
  uint64_t bits = std::bit_cast<uint64_t>(d);
  w.be32(static_cast<uint32_t>(bits >> 32));
  w.be32(static_cast<uint32_t>(bits));
}
}  // namespace

Result<std::vector<Amf0Value>> decodeAll(std::span<const uint8_t> data) {
  Amf0Decoder d(data);
  std::vector<Amf0Value> out;
  while (!d.done()) {
    auto v = d.next();
    if (!v) return v.status();
    out.push_back(std::move(*v));
  }
  return out;
}

void writeNumber(BufferWriter& w, double d) {
  w.u8(static_cast<uint8_t>(Amf0Type::kNumber));
  writeDouble(w, d);
}

void writeBoolean(BufferWriter& w, bool b) {
  w.u8(static_cast<uint8_t>(Amf0Type::kBoolean));
  w.u8(b ? 1 : 0);
}

void writeString(BufferWriter& w, std::string_view s) {
  if (s.size() > 0xFFFF) {
    w.u8(static_cast<uint8_t>(Amf0Type::kLongString));
    w.be32(static_cast<uint32_t>(s.size()));
  } else {
    w.u8(static_cast<uint8_t>(Amf0Type::kString));
    w.be16(static_cast<uint16_t>(s.size()));
  }
  if (!s.empty()) w.append(s);
}

void writeNull(BufferWriter& w) {
  w.u8(static_cast<uint8_t>(Amf0Type::kNull));
}

void writeObjectBegin(BufferWriter& w) {
  w.u8(static_cast<uint8_t>(Amf0Type::kObject));
}

void writeEcmaArrayBegin(BufferWriter& w, uint32_t countHint) {
  w.u8(static_cast<uint8_t>(Amf0Type::kEcmaArray));
  w.be32(countHint);
}

void writeKey(BufferWriter& w, std::string_view key) {
  if (key.size() > 0xFFFF) key = key.substr(0, 0xFFFF);
  w.be16(static_cast<uint16_t>(key.size()));
  if (!key.empty()) w.append(key);
}

void writeObjectEnd(BufferWriter& w) {
  w.be16(0);
  w.u8(static_cast<uint8_t>(Amf0Type::kObjectEnd));
}

void encode(BufferWriter& w, const Amf0Value& value) {
  switch (value.type) {
    case Amf0Type::kNumber:
      writeNumber(w, value.asNumber());
      return;
    case Amf0Type::kBoolean:
      writeBoolean(w, value.asBoolean());
      return;
    case Amf0Type::kString:
    case Amf0Type::kLongString: {
      std::string_view s = value.asString();
      if (value.type == Amf0Type::kLongString) {  // keep the form the caller chose
        w.u8(static_cast<uint8_t>(Amf0Type::kLongString));
        w.be32(static_cast<uint32_t>(s.size()));
        if (!s.empty()) w.append(s);
      } else {
        writeString(w, s);
      }
      return;
    }
    case Amf0Type::kObject:
    case Amf0Type::kEcmaArray: {
      const Amf0Properties* props = value.properties();
      size_t n = props ? props->size() : 0;
      if (value.type == Amf0Type::kObject) {
        writeObjectBegin(w);
      } else {
        writeEcmaArrayBegin(w, static_cast<uint32_t>(n));
      }
      if (props) {
        for (const auto& [k, v] : *props) {
          writeKey(w, k);
          encode(w, v);
        }
      }
      writeObjectEnd(w);
      return;
    }
    case Amf0Type::kNull:
    case Amf0Type::kUndefined:
    case Amf0Type::kObjectEnd:
      w.u8(static_cast<uint8_t>(value.type));
      return;
    case Amf0Type::kStrictArray: {
      const Amf0Items* items = value.items();
      w.u8(static_cast<uint8_t>(Amf0Type::kStrictArray));
      w.be32(items ? static_cast<uint32_t>(items->size()) : 0);
      if (items) {
        for (const auto& item : *items) encode(w, item);
      }
      return;
    }
    case Amf0Type::kDate: {
      const auto* d = std::get_if<Amf0Date>(&value.v);
      w.u8(static_cast<uint8_t>(Amf0Type::kDate));
      writeDouble(w, d ? d->ms : 0);
      w.be16(static_cast<uint16_t>(d ? d->timezone : 0));
      return;
    }
  }
  w.u8(static_cast<uint8_t>(Amf0Type::kNull));  // unknown enum value: keep the stream valid
}

}  // namespace amf0
}  // namespace xl::rtmp
