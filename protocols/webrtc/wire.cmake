# xueliang_webrtc_wire: STUN, SDP answer, DTLS and SRTP. No sockets or event loop, so unit tests
# and fuzzers link it alone. Idempotent: tests include it too.
if(TARGET xueliang_webrtc_wire)
  return()
endif()
include(${CMAKE_CURRENT_LIST_DIR}/../rtp/rtp.cmake)
pkg_check_modules(LIBSRTP2 REQUIRED IMPORTED_TARGET libsrtp2)
add_library(xueliang_webrtc_wire STATIC
  ${CMAKE_CURRENT_LIST_DIR}/stun.cc
  ${CMAKE_CURRENT_LIST_DIR}/sdp_answer.cc
  ${CMAKE_CURRENT_LIST_DIR}/dtls.cc
  ${CMAKE_CURRENT_LIST_DIR}/srtp.cc
  ${CMAKE_CURRENT_LIST_DIR}/srtp_libsrtp.cc
  ${CMAKE_CURRENT_LIST_DIR}/srtp_rtp_sender.cc
  ${CMAKE_CURRENT_LIST_DIR}/rtcp_feedback.cc
  ${CMAKE_CURRENT_LIST_DIR}/congestion_control.cc)
target_include_directories(xueliang_webrtc_wire PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
# WHIP: the answer to a publisher's offer, and trickle ICE PATCH bodies.
target_sources(xueliang_webrtc_wire PRIVATE ${CMAKE_CURRENT_LIST_DIR}/whip_answer.cc
  ${CMAKE_CURRENT_LIST_DIR}/whip_nack.cc ${CMAKE_CURRENT_LIST_DIR}/trickle.cc)
# The answers' host candidates: the addresses the media socket serves (IPv4 and IPv6).
target_sources(xueliang_webrtc_wire PRIVATE ${CMAKE_CURRENT_LIST_DIR}/host_candidates.cc)
target_link_libraries(xueliang_webrtc_wire PUBLIC xueliang_rtp xueliang_base OpenSSL::SSL
  OpenSSL::Crypto PkgConfig::LIBSRTP2)
# Debian builds libsrtp2 on NSS, which then sets up an NSS context for every cipher (milliseconds
# per session) unless NSS is initialised once for the process.
pkg_check_modules(XL_NSS IMPORTED_TARGET nss)
if(XL_NSS_FOUND)
  target_link_libraries(xueliang_webrtc_wire PRIVATE PkgConfig::XL_NSS)
  target_compile_definitions(xueliang_webrtc_wire PRIVATE XL_SRTP_INIT_NSS=1)
endif()
