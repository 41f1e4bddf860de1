#include "xueliang/frame.h"

namespace xl {

std::string_view codecName(Codec c) {
  switch (c) {
    case Codec::kH264:
      return "h264";
    case Codec::kH265:
      return "h265";
    case Codec::kAAC:
      return "aac";
    case Codec::kOpus:
      return "opus";
    case Codec::kG711A:
      return "pcma";
    case Codec::kG711U:
      return "pcmu";
    case Codec::kNone:
      break;
  }
  return "none";
}

}  // namespace xl
