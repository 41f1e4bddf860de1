// The server's side of an SDP answer in tests: fixed ICE credentials, fingerprint, port and video
// SSRC; the host candidates and the audio SSRC vary with the test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "webrtc/sdp_answer.h"

namespace xl::webrtc::test {

inline AnswerParams answerParams(std::vector<std::string> candidates = {"127.0.0.1"},
                                 uint32_t audioSsrc = 0) {
  AnswerParams p;
  p.ufrag = "srvufrag";
  p.pwd = "serverpasswordserverpass";
  p.fingerprint = "AA:BB:CC";
  p.candidates = std::move(candidates);
  p.port = 8189;
  p.videoSsrc = 1111;
  p.audioSsrc = audioSsrc;
  return p;
}

}  // namespace xl::webrtc::test
