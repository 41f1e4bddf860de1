// The server's side of the SDP answers the offer fuzzers produce: fixed ICE credentials,
// fingerprint, one host candidate and port.
#pragma once

#include "webrtc/sdp_answer.h"

inline xl::webrtc::AnswerParams fuzzAnswerParams() {
  xl::webrtc::AnswerParams p;
  p.ufrag = "abcd";
  p.pwd = "abcdefghijklmnopqrstuvwx";
  p.fingerprint = "AA:BB";
  p.candidates = {"127.0.0.1"};
  p.port = 8189;
  return p;
}
